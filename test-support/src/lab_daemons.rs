//! The lab's own daemons as fault tests need them: killed by the pid in
//! the pidfile the lab wrote (never by name), and started again by
//! `docker-ovn-lab up`, which starts whatever part is not running.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::lab::Lab;

/// A daemon of the lab (host1, the central, another host's switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabDaemon {
    /// host1's `docker-ovn serve`.
    Driver,
    Dockerd,
    OvsVswitchd,
    OvnController,
    /// The OVN Northbound ovsdb-server.
    Northbound,
    /// The ovs-vswitchd of host K (2 and up: host1's is `OvsVswitchd`).
    HostOvsVswitchd(u8),
    /// The `docker-ovn serve` of the nested VM (`lab up --nested`).
    NestedDriver,
}

impl LabDaemon {
    /// The program name its `/proc/<pid>/cmdline` starts with.
    fn program(self) -> &'static str {
        match self {
            LabDaemon::Driver | LabDaemon::NestedDriver => "docker-ovn",
            LabDaemon::Dockerd => "dockerd",
            LabDaemon::OvsVswitchd | LabDaemon::HostOvsVswitchd(_) => "ovs-vswitchd",
            LabDaemon::OvnController => "ovn-controller",
            LabDaemon::Northbound => "ovsdb-server",
        }
    }

    fn pidfile(self, lab: &Lab) -> PathBuf {
        let dir = &lab.dir;
        match self {
            LabDaemon::Driver => PathBuf::from(lab.var("DRIVER_PID")),
            LabDaemon::Dockerd => dir.join("docker/dockerd.pid"),
            LabDaemon::OvsVswitchd => PathBuf::from(lab.var("OVS_RUNDIR")).join("ovs-vswitchd.pid"),
            LabDaemon::OvnController => dir.join("host1/ovn/ovn-controller.pid"),
            LabDaemon::Northbound => dir.join("central/ovnnb_db.pid"),
            LabDaemon::HostOvsVswitchd(k) => dir.join(format!("host{k}/ovs/ovs-vswitchd.pid")),
            LabDaemon::NestedDriver => dir.join(docker_ovn_lab::nested_vm::VM).join("driver.pid"),
        }
    }

    /// Fails at once, with the reason in one line, unless the lab started
    /// this daemon (and so may kill and restart it): a dockerd that was
    /// already running when the lab came up is not the lab's.
    pub fn require_started_by_lab(self, lab: &Lab) {
        let pidfile = self.pidfile(lab);
        assert!(
            pidfile.exists(),
            "{self:?} was not started by the lab (no {}): a {} that was running before \
             `docker-ovn-lab up` is not the lab's to kill; stop it and run scripts/test.sh again",
            pidfile.display(),
            self.program()
        );
    }

    /// Its pid, checked against `/proc` so a reused pid is never signalled.
    pub fn pid(self, lab: &Lab) -> i32 {
        self.require_started_by_lab(lab);
        let pidfile = self.pidfile(lab);
        let text = std::fs::read_to_string(&pidfile)
            .unwrap_or_else(|e| panic!("{self:?}: cannot read {}: {e}", pidfile.display()));
        let pid: i32 = text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{self:?}: {} holds {text:?}", pidfile.display()));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let program = String::from_utf8_lossy(program);
        assert!(
            program.rsplit('/').next() == Some(self.program()),
            "{self:?}: pid {pid} from {} is {program:?}, not {}",
            pidfile.display(),
            self.program()
        );
        pid
    }

    /// Sends `signal` (e.g. `libc::SIGKILL`) and waits until it is gone.
    pub fn kill(self, lab: &Lab, signal: i32) {
        let pid = self.pid(lab);
        // SAFETY: kill(2) on a pid just checked to be this daemon.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "{self:?}: kill({pid}, {signal}) failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::path::Path::new(&format!("/proc/{pid}/stat")).exists() && !is_zombie(pid) {
            assert!(
                Instant::now() < deadline,
                "{self:?} (pid {pid}) did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = stat.rsplit_once(')')?.1;
            after_name.split_whitespace().next().map(|s| s == "Z")
        })
        .unwrap_or(true)
}

/// Starts every part of the lab that is not running (`docker-ovn-lab up`,
/// in this process) with `docker_ovn`, the driver binary the lab should run.
pub fn restart_missing(lab: &Lab, docker_ovn: &str) {
    // As the lab was made: with OVN, or without (`up --no-ovn`).
    let layout = docker_ovn_lab::env_file::read_layout(&lab.dir)
        .ok()
        .flatten();
    let options = docker_ovn_lab::UpOptions {
        no_ovn: matches!(layout, Some(docker_ovn_lab::env::Layout::LocalNoOvn { .. })),
        dir: lab.dir.clone(),
        demo: false,
        no_docker: false,
        no_driver: false,
        hosts: None,
        driver_binary: Some(docker_ovn.into()),
        // A VM the lab has stays, and gets its driver back too.
        nested: lab.dir.join(docker_ovn_lab::nested_vm::VM).exists(),
    };
    if let Err(error) = docker_ovn_lab::up(&options) {
        panic!("docker-ovn-lab up failed: {error:#}");
    }
}
