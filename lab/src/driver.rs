//! The docker-ovn driver of each host: the `docker-ovn` binary beside this
//! one (or `$DOCKER_OVN_BINARY`) as `docker-ovn serve`, in the host's network namespace, pointed at the host's
//! Open_vSwitch database and the Northbound database. host1's serves the
//! plugin sockets dockerd discovers (`ovn.sock` and `ovs.sock`); the
//! others' serve `<dir>/hostK/ovn.sock` and `ovs.sock`,
//! where tests speak the plugin protocol as dockerd would.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use super::cmd::say;
use super::env::HostEnv;
use super::process::{self, Daemon};

/// The driver's program name.
const DRIVER_BINARY: &str = "docker-ovn";

/// From spawn until the plugin socket accepts connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts the driver unless the lab's driver already serves the socket.
pub fn start(host: &HostEnv, binary: &Path) -> anyhow::Result<()> {
    let daemon = daemon(host, Some(binary));
    let socket = host.driver.socket.as_path();
    if let Some(pid) = daemon.running() {
        say(format!(
            "{}: driver already running (pid {pid}, socket {})",
            host.name,
            socket.display()
        ));
        return Ok(());
    }
    if answers(socket) {
        bail!(
            "{} is served by a process that is not this lab's driver: stop it first",
            socket.display()
        );
    }
    if let Some(parent) = socket.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let child = daemon.spawn()?;
    process::write_pidfile(&daemon.pidfile, child.id())?;
    write_program(host, &daemon.program)?;
    daemon.wait_ready(child, READY_TIMEOUT, || answers(socket))
}

/// Stops the host's driver, if it runs.
pub fn stop(host: &HostEnv) -> anyhow::Result<()> {
    daemon(host, None).stop()?;
    let file = program_file(&host.driver.pidfile);
    match std::fs::remove_file(&file) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(error).with_context(|| file.display().to_string())
        }
        _ => Ok(()),
    }
}

/// Beside the driver's pidfile, the name of the binary it was started
/// from: `--driver-binary` may name another file than `docker-ovn`, and
/// `down` (and the stale-lab check) must still know the process as the
/// lab's.
fn program_file(pidfile: &Path) -> PathBuf {
    pidfile.with_extension("program")
}

fn write_program(host: &HostEnv, program: &str) -> anyhow::Result<()> {
    let file = program_file(&host.driver.pidfile);
    std::fs::write(&file, program).with_context(|| format!("cannot write {}", file.display()))
}

/// The program the driver whose pidfile is `pidfile` was started as, as
/// its start recorded it (`docker-ovn` when it did not).
pub fn recorded_program(pidfile: &Path) -> String {
    let recorded = std::fs::read_to_string(program_file(pidfile)).ok();
    or_default_program(recorded.map(|text| text.trim().to_string()))
}

/// The driver's program name: of `binary` when starting, else as the
/// start recorded it.
fn program_of(host: &HostEnv, binary: Option<&Path>) -> String {
    match binary {
        Some(binary) => {
            or_default_program(binary.file_name().map(|n| n.to_string_lossy().into_owned()))
        }
        None => recorded_program(&host.driver.pidfile),
    }
}

fn or_default_program(name: Option<String>) -> String {
    name.filter(|name| !name.is_empty())
        .unwrap_or_else(|| DRIVER_BINARY.to_string())
}

/// The host's driver as a daemon: started from `binary`, or only to be
/// found and stopped (`None`).
fn daemon(host: &HostEnv, binary: Option<&Path>) -> Daemon {
    let mut daemon = Daemon::new(
        format!("{}: docker-ovn serve", host.name),
        program_of(host, binary),
        host.driver.pidfile.clone(),
        host.driver.log.clone(),
    );
    daemon.exe = binary.map(Path::to_path_buf);
    daemon.args = vec![
        "serve".to_string(),
        "--ovs-db".to_string(),
        host.ovsdb.remote(),
        "--bridge".to_string(),
        host.bridge.clone(),
        "--socket".to_string(),
        host.driver.socket.display().to_string(),
        // The same daemon serves -d ovs beside -d ovn.
        "--ovs-socket".to_string(),
        host.driver.ovs_socket.display().to_string(),
    ];
    if !host.nb_remote.is_empty() {
        daemon
            .args
            .extend(["--nb-db".to_string(), host.nb_remote.clone()]);
    }
    // The log is a file: no colour codes, and no error backtraces that would
    // push the error itself out of the log tail `up` shows on failure.
    daemon.args.extend(host.driver.extra_args.iter().cloned());
    daemon.env = vec![("NO_COLOR", "1".into()), ("RUST_LIB_BACKTRACE", "0".into())];
    daemon.netns = host.netns.clone();
    daemon.marker = Some(host.ovsdb.remote());
    daemon
}

/// Where the driver binary is: `given` (`--driver-binary` or
/// `$DOCKER_OVN_BINARY`), else `docker-ovn` in this program's directory
/// (cargo builds both into one target directory).
pub fn binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .context("cannot find this program's path")?
            .with_file_name(DRIVER_BINARY),
    };
    if !path.is_file() {
        bail!(
            "the driver binary {} is missing: build it beside docker-ovn-lab \
             (`cargo build --release` in the repository) or name it with --driver-binary",
            path.display()
        );
    }
    Ok(path)
}

/// Whether something accepts connections on the unix socket `path`.
fn answers(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}
