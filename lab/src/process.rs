//! The lab's daemons as processes: starting them, pidfiles, telling whether
//! a pid is still ours, and stopping by pid.
//!
//! A pid is signalled only after `/proc/<pid>/cmdline` shows the expected
//! program with the expected instance marker (an argument naming a path in
//! the lab), so a recycled pid or a system daemon is never hit.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::cmd::{self, say};

/// How long a self-detaching daemon may take to report that it is ready.
const DETACH_TIMEOUT: Duration = Duration::from_secs(60);

/// One daemon of the lab, as both `up` and `down` know it.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// For messages, e.g. "OVN NB ovsdb-server".
    pub label: String,
    /// The program's name: what argv[0] of a running instance ends with.
    pub program: String,
    /// The file to run, when it is not `program` on the search path (the
    /// driver is this very binary).
    pub exe: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<(&'static str, OsString)>,
    pub netns: Option<String>,
    pub pidfile: PathBuf,
    /// Standard output and error go here (OVS daemons also log here).
    pub log: PathBuf,
    /// An argument substring that identifies this instance (`None`: the
    /// program name alone, for daemons started without arguments).
    pub marker: Option<String>,
    /// How long `stop` waits after SIGTERM before SIGKILL.
    pub grace: Duration,
}

impl Daemon {
    /// A daemon with no arguments, no environment, a 5 s grace period.
    pub fn new(
        label: impl Into<String>,
        program: impl Into<String>,
        pidfile: PathBuf,
        log: PathBuf,
    ) -> Self {
        Daemon {
            label: label.into(),
            program: program.into(),
            exe: None,
            args: Vec::new(),
            env: Vec::new(),
            netns: None,
            pidfile,
            log,
            marker: None,
            grace: Duration::from_secs(5),
        }
    }

    fn command(&self) -> anyhow::Result<std::process::Command> {
        let log = open_log(&self.log)?;
        let exe = self
            .exe
            .as_deref()
            .map_or(self.program.as_ref(), Path::as_os_str);
        let mut command = cmd::command_in(self.netns.as_deref(), exe);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        command.envs(self.env.iter().map(|(key, value)| (key, value)));
        keep_no_inherited_fds(&mut command);
        Ok(command)
    }

    /// The pid from the pidfile, if that process is alive and is this daemon.
    pub fn running(&self) -> Option<i32> {
        let pid = read_pidfile(&self.pidfile)?;
        (is_alive(pid) && self.is(pid)).then_some(pid)
    }

    fn is(&self, pid: i32) -> bool {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| cmdline_matches(&cmdline, &self.program, self.marker.as_deref()))
    }

    /// Starts an OVS/OVN daemon that forks itself (`--detach` must be among
    /// its arguments): its parent exits once the daemon is ready or failed.
    pub fn start_detaching(&self) -> anyhow::Result<i32> {
        let mut child = self
            .command()?
            .spawn()
            .with_context(|| format!("cannot start {}", self.label))?;
        let status =
            cmd::wait_timeout(&mut child, DETACH_TIMEOUT).with_context(|| self.label.clone())?;
        if !status.success() {
            bail!(
                "{} failed to start ({status}); {}",
                self.label,
                cmd::log_tail(&self.log, 15)
            );
        }
        read_pidfile(&self.pidfile).with_context(|| {
            format!(
                "{} started but wrote no pidfile {}",
                self.label,
                self.pidfile.display()
            )
        })
    }

    /// Spawns a daemon that stays in the foreground, in a process group of its
    /// own so that a Ctrl-C meant for `lab up` does not reach it. The caller
    /// decides who writes the pidfile (some daemons write their own).
    pub fn spawn(&self) -> anyhow::Result<Child> {
        let mut command = self.command()?;
        command.process_group(0);
        command
            .spawn()
            .with_context(|| format!("cannot start {}", self.label))
    }

    /// Waits until `ready` for a daemon from [`Daemon::spawn`]. If it exits or
    /// the deadline passes, it is stopped, its pidfile removed, and the error
    /// carries the tail of its log.
    pub fn wait_ready(
        &self,
        mut child: Child,
        timeout: Duration,
        ready: impl Fn() -> bool,
    ) -> anyhow::Result<()> {
        let pid = child.id();
        let waited = cmd::wait_until(&self.label, timeout, || {
            if let Some(status) = child.try_wait()? {
                bail!("exited ({status})");
            }
            Ok(ready())
        });
        if let Err(error) = waited {
            // Best effort: the error below is what matters.
            let _ = terminate(pid as i32, Duration::from_secs(5));
            let _ = child.try_wait();
            let _ = remove_file(&self.pidfile);
            bail!("{error:#}; {}", cmd::log_tail(&self.log, 20));
        }
        say(format!(
            "{}: started (pid {pid}, log {})",
            self.label,
            self.log.display()
        ));
        Ok(())
    }

    /// Leaves the daemon running if it is, else starts it with `start`.
    pub fn ensure(&self, start: impl FnOnce(&Self) -> anyhow::Result<i32>) -> anyhow::Result<i32> {
        if let Some(pid) = self.running() {
            say(format!("{}: already running (pid {pid})", self.label));
            return Ok(pid);
        }
        let pid = start(self)?;
        say(format!(
            "{}: started (pid {pid}, log {})",
            self.label,
            self.log.display()
        ));
        Ok(pid)
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL; removes the pidfile.
    /// Nothing to stop is success.
    pub fn stop(&self) -> anyhow::Result<()> {
        match read_pidfile(&self.pidfile) {
            None => {}
            Some(pid) if !is_alive(pid) => say(format!("{}: not running", self.label)),
            Some(pid) if !self.is(pid) => say(format!(
                "{}: pid {pid} is now another program; not signalled",
                self.label
            )),
            Some(pid) => {
                terminate(pid, self.grace).with_context(|| self.label.clone())?;
                say(format!("{}: stopped (pid {pid})", self.label));
            }
        }
        remove_file(&self.pidfile)
    }
}

/// Daemons outlive `lab up`: any descriptor it inherited (a `flock` lock
/// held around it, a pipe of the caller) must not stay open in them for
/// years. Marks every descriptor above stderr close-on-exec in the child.
fn keep_no_inherited_fds(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: close_range is async-signal-safe and touches only the
    // child's descriptor table; marking (not closing) keeps std's own
    // exec-error pipe, already close-on-exec, working.
    unsafe {
        command.pre_exec(|| {
            if libc::close_range(
                3,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
            ) == 0
            {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// Signals `pid` to stop, escalating to SIGKILL after `grace`.
pub fn terminate(pid: i32, grace: Duration) -> anyhow::Result<()> {
    signal(pid, Signal::SIGTERM)?;
    if wait_gone(pid, grace) {
        return Ok(());
    }
    say(format!(
        "pid {pid} ignored SIGTERM for {} s: SIGKILL",
        grace.as_secs()
    ));
    signal(pid, Signal::SIGKILL)?;
    if wait_gone(pid, Duration::from_secs(5)) {
        return Ok(());
    }
    bail!("pid {pid} survived SIGKILL")
}

fn signal(pid: i32, signal: Signal) -> anyhow::Result<()> {
    match kill(Pid::from_raw(pid), signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(error) => Err(error).with_context(|| format!("kill -{signal} {pid}")),
    }
}

fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Whether `pid` exists and is not a zombie (a zombie whose parent never
/// reaps it still has a /proc entry but is gone for our purposes).
pub fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| proc_state(&stat))
        .is_some_and(|state| !matches!(state, 'Z' | 'X' | 'x'))
}

/// The state letter of a `/proc/<pid>/stat` line. The command name in
/// parentheses may itself contain spaces and parentheses: the state follows
/// the last `)`.
fn proc_state(stat: &str) -> Option<char> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.trim_start().chars().next()
}

/// Whether a NUL-separated `/proc/<pid>/cmdline` is `program` (by basename of
/// argv[0]) with an argument containing `marker`.
pub fn cmdline_matches(cmdline: &[u8], program: &str, marker: Option<&str>) -> bool {
    let text = String::from_utf8_lossy(cmdline);
    let mut args = text.split('\0').filter(|arg| !arg.is_empty());
    let Some(argv0) = args.next() else {
        return false;
    };
    let name_matches = Path::new(argv0)
        .file_name()
        .is_some_and(|name| name == program);
    name_matches && marker.is_none_or(|marker| args.any(|arg| arg.contains(marker)))
}

/// The pid in a pidfile (`"1234\n"`; OVS and dockerd write the same shape).
pub fn parse_pid(text: &str) -> Option<i32> {
    text.trim().parse::<i32>().ok().filter(|pid| *pid > 0)
}

/// The pid in `path`, if the file exists and holds one.
pub fn read_pidfile(path: &Path) -> Option<i32> {
    parse_pid(&std::fs::read_to_string(path).ok()?)
}

pub fn write_pidfile(path: &Path, pid: u32) -> anyhow::Result<()> {
    std::fs::write(path, format!("{pid}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn open_log(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log {}", path.display()))
}

/// Removes a file; one that is already gone is fine.
pub fn remove_file(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pidfiles_parse_with_or_without_newline() {
        assert_eq!(parse_pid("1234\n"), Some(1234));
        assert_eq!(parse_pid("  77"), Some(77));
        assert_eq!(parse_pid(""), None);
        assert_eq!(parse_pid("0\n"), None);
        assert_eq!(parse_pid("-5"), None);
        assert_eq!(parse_pid("12ab"), None);
    }

    #[test]
    fn cmdline_matches_program_basename_and_marker() {
        let ovsdb =
            b"ovsdb-server\0/lab/central/ovnnb_db.db\0--remote=punix:/lab/central/ovnnb_db.sock\0";
        assert!(cmdline_matches(
            ovsdb,
            "ovsdb-server",
            Some("/lab/central/ovnnb_db.db")
        ));
        assert!(cmdline_matches(ovsdb, "ovsdb-server", None));
        assert!(!cmdline_matches(
            ovsdb,
            "ovsdb-server",
            Some("/lab/central/ovnsb_db.db")
        ));
        assert!(!cmdline_matches(ovsdb, "ovs-vswitchd", None));
        let driver =
            b"/work/target/debug/docker-ovn\0serve\0--ovs-db\0unix:/lab/host1/ovs/db.sock\0";
        assert!(cmdline_matches(driver, "docker-ovn", Some("/lab/")));
        // A system daemon with the same name but none of the lab's paths.
        assert!(!cmdline_matches(
            b"/usr/sbin/ovsdb-server\0/etc/openvswitch/conf.db\0",
            "ovsdb-server",
            Some("/lab/")
        ));
        assert!(!cmdline_matches(b"", "ovsdb-server", None));
    }

    #[test]
    fn proc_state_follows_the_last_parenthesis() {
        assert_eq!(proc_state("42 (ovsdb-server) S 1 42"), Some('S'));
        assert_eq!(proc_state("42 (odd) name) Z 1 42"), Some('Z'));
        assert_eq!(proc_state("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_matches_itself() {
        let pid = std::process::id() as i32;
        assert!(is_alive(pid));
        assert!(!is_alive(i32::MAX));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).expect("own cmdline");
        let exe = std::env::current_exe().expect("current_exe");
        let name = exe
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        assert!(cmdline_matches(&cmdline, name, None));
        assert!(!cmdline_matches(&cmdline, "ovsdb-server", None));
    }

    #[test]
    fn stop_without_a_pidfile_is_success() {
        let dir = tempfile::tempdir().expect("tempdir");
        let daemon = Daemon::new(
            "nothing",
            "true",
            dir.path().join("x.pid"),
            dir.path().join("x.log"),
        );
        daemon.stop().expect("nothing to stop");
        assert_eq!(daemon.running(), None);
    }

    #[test]
    fn spawned_daemon_is_found_and_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().display().to_string();
        let mut daemon = Daemon::new(
            "sleeper",
            "sleep",
            dir.path().join("s.pid"),
            dir.path().join("s.log"),
        );
        // `sleep` takes a duration; a marker argument would be rejected, so
        // identify it by program name alone here.
        daemon.args = vec!["30".into()];
        let mut child = daemon.spawn().expect("spawn sleep");
        write_pidfile(&daemon.pidfile, child.id()).expect("pidfile");
        assert_eq!(daemon.running(), Some(child.id() as i32));
        daemon.marker = Some(marker);
        assert_eq!(
            daemon.running(),
            None,
            "the marker is not among sleep's arguments"
        );
        daemon.marker = None;
        // Reap in the background so the test's own zombie does not linger.
        let reaper = thread::spawn(move || child.wait());
        daemon.stop().expect("stop");
        assert!(reaper.join().expect("reaper").is_ok());
        assert!(!daemon.pidfile.exists());
    }
}
