//! Running programs: the search path, one-shot commands with a deadline,
//! polling until something is true, and log tails for error messages.
//!
//! Programs run directly (no shell), so no argument is ever re-parsed.

use std::ffi::{OsStr, OsString};
use std::fmt::Display;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Directories searched after `$PATH`: a root shell without the sbin
/// directories on its `PATH` still finds `ovsdb-server` and `dockerd`.
const SYSTEM_DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Progress: one line per step.
pub fn say(message: impl Display) {
    println!("lab: {message}");
}

/// `$PATH` followed by the system directories it lacks.
fn search_path() -> OsString {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&current).collect();
    for dir in SYSTEM_DIRS {
        if !dirs.iter().any(|d| d == Path::new(dir)) {
            dirs.push(PathBuf::from(dir));
        }
    }
    std::env::join_paths(dirs).unwrap_or(current)
}

/// Where `program` is found on the search path, if anywhere.
pub fn find_binary(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&search_path())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// A command for `program`, found on the search path.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    // Setting PATH on the Command also makes std look `program` up in it.
    cmd.env("PATH", search_path());
    cmd
}

/// A command for `program` inside network namespace `netns` (`None`: here).
pub fn command_in(netns: Option<&str>, program: impl AsRef<OsStr>) -> Command {
    match netns {
        None => command(program),
        Some(netns) => {
            let mut cmd = command("ip");
            cmd.args(["netns", "exec", netns]).arg(program);
            cmd
        }
    }
}

/// `program arg...` for messages.
pub fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// What a finished one-shot command printed.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion, killing it after `timeout`.
pub fn capture(mut cmd: Command, timeout: Duration) -> anyhow::Result<Output> {
    let what = describe(&cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().with_context(|| format!("cannot run {what}"))?;
    // Drain both pipes while waiting, so a chatty command never blocks on a full pipe.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_timeout(&mut child, timeout).with_context(|| what.clone())?;
    Ok(Output {
        status,
        stdout: join_drain(stdout),
        stderr: join_drain(stderr),
    })
}

/// Runs `cmd` and returns its standard output; a failure is an error that
/// carries the command line and its standard error.
pub fn run(cmd: Command, timeout: Duration) -> anyhow::Result<String> {
    let what = describe(&cmd);
    let output = capture(cmd, timeout)?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            output.stderr.trim()
        );
    }
    Ok(output.stdout)
}

/// Whether `cmd` runs and exits 0 within `timeout`.
pub fn succeeds(cmd: Command, timeout: Duration) -> bool {
    capture(cmd, timeout).is_ok_and(|output| output.status.success())
}

/// Runs `cmd` with the terminal's standard output and error (long, chatty
/// commands such as apt-get whose progress the user wants to see).
pub fn run_visible(mut cmd: Command, timeout: Duration) -> anyhow::Result<()> {
    let what = describe(&cmd);
    cmd.stdin(Stdio::null());
    let mut child = cmd.spawn().with_context(|| format!("cannot run {what}"))?;
    let status = wait_timeout(&mut child, timeout).with_context(|| what.clone())?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

type Drain = Option<thread::JoinHandle<String>>;

fn drain(pipe: Option<impl Read + Send + 'static>) -> Drain {
    pipe.map(|mut pipe| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            // A read error only truncates what we show; the exit status decides.
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    })
}

fn join_drain(drain: Drain) -> String {
    drain
        .and_then(|handle| handle.join().ok())
        .unwrap_or_default()
}

/// Waits for `child`; kills it and fails once `timeout` has passed.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> anyhow::Result<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("did not finish within {} s (killed)", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `probe` until it says true; fails naming `what` after `timeout`.
/// A probe error ends the wait at once (something died: no use waiting).
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut interval = Duration::from_millis(20);
    loop {
        if probe().with_context(|| what.to_string())? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{what}: not ready after {} s", timeout.as_secs());
        }
        thread::sleep(interval);
        interval = (interval * 2).min(Duration::from_millis(500));
    }
}

/// The last `lines` lines of a log, indented, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Err(error) => format!("    ({}: {error})", path.display()),
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            let tail: Vec<String> = all[start..]
                .iter()
                .map(|line| format!("    {line}"))
                .collect();
            format!("last lines of {}:\n{}", path.display(), tail.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_adds_the_sbin_directories() {
        let dirs: Vec<PathBuf> = std::env::split_paths(&search_path()).collect();
        assert!(dirs.contains(&PathBuf::from("/usr/sbin")));
        assert!(dirs.contains(&PathBuf::from("/sbin")));
    }

    #[test]
    fn run_reports_stderr_and_status() {
        let mut cmd = command("ls");
        cmd.arg("/nonexistent-docker-ovn-lab-path");
        let error = run(cmd, Duration::from_secs(10))
            .expect_err("ls of a missing path fails")
            .to_string();
        assert!(
            error.contains("ls /nonexistent-docker-ovn-lab-path failed"),
            "{error}"
        );
        assert!(error.contains("nonexistent-docker-ovn-lab-path"), "{error}");
    }

    #[test]
    fn capture_kills_after_the_timeout() {
        let mut cmd = command("sleep");
        cmd.arg("5");
        let started = Instant::now();
        assert!(capture(cmd, Duration::from_millis(100)).is_err());
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("x.log");
        std::fs::write(&log, "one\ntwo\nthree\n").expect("write");
        let tail = log_tail(&log, 2);
        assert!(tail.ends_with("    two\n    three"), "{tail}");
        assert!(log_tail(&dir.path().join("missing"), 2).contains("missing"));
    }
}
