//! A real `ovs-vswitchd` of a test's own, on the userspace datapath, with
//! one bridge whose OpenFlow socket (`<dir>/<bridge>.mgmt`) the test
//! speaks to. It runs in a network namespace of its own, so the tap
//! devices the userspace datapath makes (and leaves behind when killed)
//! never meet the lab's or the host's; the namespace goes with the switch.

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::binaries::{require_binary, tool_ok};
use crate::netns::{ip, ip_ok};
use crate::ovsdb::OvsdbServer;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// ovs-vswitchd with one bridge (`fail_mode=secure`, OpenFlow 1.3 only),
/// stopped and its namespace deleted when dropped.
pub struct Switch {
    pub db: OvsdbServer,
    pub bridge: String,
    netns: String,
    child: Option<Child>,
}

impl Switch {
    /// A fresh database, ovs-vswitchd and bridge `bridge` (OpenFlow 1.3).
    pub fn start(bridge: &str) -> Switch {
        Switch::start_with_protocols(bridge, "OpenFlow13")
    }

    /// The same with the bridge's `protocols` (`OpenFlow13,OpenFlow14`).
    pub fn start_with_protocols(bridge: &str, protocols: &str) -> Switch {
        let netns = format!(
            "flows-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let _ = ip(&["netns", "del", &netns]);
        ip_ok(&["netns", "add", &netns]);
        let db = OvsdbServer::start_open_vswitch("flows-test");
        let mut switch = Switch {
            db,
            bridge: bridge.to_string(),
            netns,
            child: None,
        };
        switch.spawn();
        switch.db.vsctl(&[
            "add-br",
            bridge,
            "--",
            "set",
            "bridge",
            bridge,
            "datapath_type=netdev",
            "fail_mode=secure",
            &format!("protocols={protocols}"),
        ]);
        switch.wait_for_bridge();
        switch
    }

    fn spawn(&mut self) {
        let dir = self.db.dir();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .arg(require_binary("ovs-vswitchd"))
            .arg(self.db.unix_target())
            .arg(format!(
                "--pidfile={}",
                dir.join("ovs-vswitchd.pid").display()
            ))
            .arg(format!(
                "--log-file={}",
                dir.join("ovs-vswitchd.log").display()
            ))
            .arg(format!(
                "--unixctl={}",
                dir.join("ovs-vswitchd.ctl").display()
            ))
            .arg("-vconsole:off")
            // Where ovs-vswitchd puts `<bridge>.mgmt`.
            .env("OVS_RUNDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ovs-vswitchd (Debian package openvswitch-switch)");
        self.child = Some(child);
    }

    /// The network namespace it runs in.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The bridge's OpenFlow socket.
    pub fn mgmt(&self) -> PathBuf {
        self.db.dir().join(format!("{}.mgmt", self.bridge))
    }

    /// `unix:<mgmt>`, for a client and for `ovs-ofctl`.
    pub fn target(&self) -> String {
        format!("unix:{}", self.mgmt().display())
    }

    fn wait_for_bridge(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(self.mgmt()).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("ovs-vswitchd exited with {status}; log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not appear within 20 s; log:\n{}",
                self.mgmt().display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.db.dir().join("ovs-vswitchd.log")).unwrap_or_default()
    }

    /// Kills ovs-vswitchd (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts ovs-vswitchd again, which comes back with empty tables.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_for_bridge();
    }

    /// `ovs-ofctl -O OpenFlow13 ARGS` with `{}` in ARGS replaced by the
    /// bridge's target; panics with its stderr unless it succeeds.
    pub fn ofctl(&self, args: &[&str]) -> String {
        let target = self.target();
        let args: Vec<String> = ["-O", "OpenFlow13"]
            .iter()
            .chain(args)
            .map(|a| a.replace("{}", &target))
            .collect();
        tool_ok("ovs-ofctl", &args)
    }

    /// Adds an internal port `name` numbered `ofport` to the bridge (a
    /// tap in the switch's own namespace on the userspace datapath).
    pub fn add_internal_port(&self, name: &str, ofport: u32) {
        self.db.vsctl(&[
            "add-port",
            &self.bridge,
            name,
            "--",
            "set",
            "interface",
            name,
            "type=internal",
            &format!("ofport_request={ofport}"),
        ]);
    }

    /// `ofproto/trace` of `flow` (ovs-ofctl's flow syntax) through the
    /// bridge: the tables it passes and, last, its datapath actions.
    pub fn trace(&self, flow: &str) -> String {
        let control = self.db.dir().join("ovs-vswitchd.ctl");
        let control = control.display().to_string();
        tool_ok(
            "ovs-appctl",
            &["-t", &control, "ofproto/trace", &self.bridge, flow],
        )
    }

    /// The bridge's flows as `dump-flows --no-stats` prints them, sorted.
    pub fn flows(&self) -> Vec<String> {
        let mut flows: Vec<String> = self
            .ofctl(&["dump-flows", "--no-stats", "{}"])
            .lines()
            .filter(|line| !line.starts_with("OFPST_FLOW"))
            .map(|line| line.trim().to_string())
            .collect();
        flows.sort();
        flows
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.kill();
        let _ = ip(&["netns", "del", &self.netns]);
    }
}
