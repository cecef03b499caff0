//! Docker for the lab: a dockerd that already answers on the default socket
//! is used as it is; otherwise the lab starts containerd (unless one
//! answers) and dockerd. Their pidfiles in the lab directory record what
//! the lab started, and `down` stops only those.

use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use super::cmd::{self, say};
use super::env::DockerEnv;
use super::process::{self, Daemon};

const CONTAINERD_TIMEOUT: Duration = Duration::from_secs(30);
const DOCKERD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one `docker version` may take before the daemon counts as absent.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The client of Debian's docker.io, which matches the dockerd the lab
/// runs; a newer client earlier on `PATH` refuses some options (such as
/// `--mac-address`) against dockerd 20.10's API.
pub const DEBIAN_DOCKER_CLIENT: &str = "/usr/bin/docker";

/// A `docker` CLI command (default socket).
pub fn docker(args: &[&str]) -> Command {
    let client = if std::path::Path::new(DEBIAN_DOCKER_CLIENT).exists() {
        DEBIAN_DOCKER_CLIENT
    } else {
        "docker"
    };
    let mut docker = cmd::command(client);
    docker.args(args);
    docker
}

/// Whether a dockerd answers on the default socket.
pub fn answers() -> bool {
    cmd::succeeds(
        docker(&["version", "--format", "{{.Server.Version}}"]),
        PROBE_TIMEOUT,
    )
}

/// Makes sure a dockerd answers, starting containerd and dockerd if needed.
pub fn start(env: &DockerEnv) -> anyhow::Result<()> {
    std::fs::create_dir_all(&env.dir)
        .with_context(|| format!("cannot create {}", env.dir.display()))?;
    if let Some(pid) = dockerd(env).running() {
        say(format!(
            "docker: dockerd already running (pid {pid}, started by the lab)"
        ));
        return Ok(());
    }
    if answers() {
        say("docker: using the dockerd already running (the lab will not stop it)");
        return Ok(());
    }
    ensure_containerd(env)?;
    start_dockerd(env)
}

/// Stops dockerd and containerd if, and only if, the lab started them.
pub fn stop(env: &DockerEnv) -> anyhow::Result<()> {
    dockerd(env).stop()?;
    containerd(env).stop()
}

fn containerd(env: &DockerEnv) -> Daemon {
    // containerd runs with its defaults and no arguments, so it is known by
    // name alone; its pidfile exists only if the lab started it.
    let mut daemon = Daemon::new(
        "docker: containerd",
        "containerd",
        env.containerd_pidfile.clone(),
        env.containerd_log.clone(),
    );
    daemon.grace = Duration::from_secs(10);
    daemon
}

fn dockerd(env: &DockerEnv) -> Daemon {
    let mut daemon = Daemon::new(
        "docker: dockerd",
        "dockerd",
        env.dockerd_pidfile.clone(),
        env.dockerd_log.clone(),
    );
    daemon.args = vec![
        format!("--pidfile={}", env.dockerd_pidfile.display()),
        format!("--containerd={}", env.containerd_socket.display()),
    ];
    daemon.marker = Some(env.dockerd_pidfile.display().to_string());
    // dockerd gives containers up to 15 s to stop on shutdown.
    daemon.grace = Duration::from_secs(30);
    daemon
}

fn ensure_containerd(env: &DockerEnv) -> anyhow::Result<()> {
    let daemon = containerd(env);
    if let Some(pid) = daemon.running() {
        say(format!(
            "docker: containerd already running (pid {pid}, started by the lab)"
        ));
        return Ok(());
    }
    if UnixStream::connect(&env.containerd_socket).is_ok() {
        say("docker: using the containerd already running (the lab will not stop it)");
        return Ok(());
    }
    let child = daemon.spawn()?;
    process::write_pidfile(&daemon.pidfile, child.id())?;
    let socket = &env.containerd_socket;
    daemon.wait_ready(child, CONTAINERD_TIMEOUT, || {
        UnixStream::connect(socket).is_ok()
    })
}

fn start_dockerd(env: &DockerEnv) -> anyhow::Result<()> {
    let daemon = dockerd(env);
    // dockerd writes its own pidfile and refuses to start while it names a
    // process that exists, even a zombie: a dockerd killed earlier whose
    // parent (PID 1 in some containers) never reaps it. Not running (the
    // caller checked), so the pidfile is stale.
    process::remove_file(&daemon.pidfile)?;
    let child = daemon.spawn()?;
    daemon.wait_ready(child, DOCKERD_TIMEOUT, answers)
}
