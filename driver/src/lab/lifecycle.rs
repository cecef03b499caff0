//! `lab up` and `lab down`: the order in which the parts start and stop.

use std::path::PathBuf;

use anyhow::{Context, bail};

use super::cmd::say;
use super::env::{DEFAULT_DIR, DIR_VARIABLE, LabEnv, lab_env, render_env_file};
use super::{central, demo, docker, driver, host, image, packages, summary};

/// `docker-ovn lab up`.
#[derive(Debug, Clone, clap::Args)]
pub struct UpOptions {
    /// The lab's directory: databases, pidfiles, logs and lab.env.
    #[arg(long, env = DIR_VARIABLE, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Then create the ovn-demo network, two containers on it, and ping.
    #[arg(long, conflicts_with_all = ["no_docker", "no_driver"])]
    pub demo: bool,
    /// Neither start nor use Docker (OVS, OVN and the driver only).
    #[arg(long)]
    pub no_docker: bool,
    /// Do not start the driver (`docker-ovn serve`).
    #[arg(long)]
    pub no_driver: bool,
    /// Number of hosts (only 1 so far; several hosts in network namespaces will come).
    #[arg(long, default_value_t = 1)]
    pub hosts: usize,
}

/// `docker-ovn lab down`.
#[derive(Debug, Clone, clap::Args)]
pub struct DownOptions {
    /// The lab's directory, as given to `lab up`.
    #[arg(long, env = DIR_VARIABLE, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

/// Starts whatever of the lab is not running; safe to repeat.
pub fn up(options: &UpOptions) -> anyhow::Result<()> {
    if options.hosts != 1 {
        bail!("--hosts {}: the lab has one host so far", options.hosts);
    }
    let env = lab_env(&options.dir);
    let with_docker = !options.no_docker;
    packages::ensure(with_docker, is_root())?;
    require_root("lab up")?;
    prepare_dir(&env)?;
    central::start(&env.central)?;
    for host in &env.hosts {
        host::start(host, &env.central)?;
    }
    if with_docker {
        docker::start(&env.docker)?;
        image::ensure(&env.dir)?;
    }
    if !options.no_driver {
        driver::start(&env)?;
    }
    if options.demo {
        demo::run()?;
    }
    summary::print(&env, with_docker, !options.no_driver);
    Ok(())
}

/// Stops what `up` started and removes what it made. Every part is tried
/// even when one fails; the directory (with the pidfiles) is then kept, so
/// that `down` can be repeated.
pub fn down(options: &DownOptions) -> anyhow::Result<()> {
    require_root("lab down")?;
    let env = lab_env(&options.dir);
    if !env.dir.exists() {
        say(format!("no lab in {}: nothing to do", env.dir.display()));
        return Ok(());
    }
    let mut failed = Vec::new();
    let mut attempt = |part: &str, result: anyhow::Result<()>| {
        if let Err(error) = result {
            say(format!("{part}: {error:#}"));
            failed.push(part.to_string());
        }
    };
    // The demo goes first: removing its network needs dockerd and the driver.
    // What is left of it is Docker's state, not the lab's: a warning only, so
    // a dead driver cannot keep the lab from coming down.
    if let Err(error) = demo::remove() {
        say(format!(
            "demo (not removed, see `docker ps -a`, `docker network ls`): {error:#}"
        ));
    }
    // dockerd before the driver: a stopping dockerd still calls the driver.
    attempt("docker", docker::stop(&env.docker));
    attempt("driver", driver::stop(&env));
    for host in env.hosts.iter().rev() {
        attempt(&host.name, host::stop(host));
    }
    attempt("central", central::stop(&env.central));
    if !failed.is_empty() {
        bail!(
            "lab down: {} failed; {} kept",
            failed.join(", "),
            env.dir.display()
        );
    }
    std::fs::remove_dir_all(&env.dir)
        .with_context(|| format!("cannot remove {}", env.dir.display()))?;
    say(format!("removed {}", env.dir.display()));
    Ok(())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn require_root(what: &str) -> anyhow::Result<()> {
    if !is_root() {
        bail!("{what} must run as root (it starts daemons and creates network devices)");
    }
    Ok(())
}

/// Creates the directory and writes lab.env first, so that even a lab that
/// fails half-way up can be found (and taken down).
fn prepare_dir(env: &LabEnv) -> anyhow::Result<()> {
    std::fs::create_dir_all(&env.dir)
        .with_context(|| format!("cannot create {}", env.dir.display()))?;
    let file = env.env_file();
    std::fs::write(&file, render_env_file(&env.env_vars()))
        .with_context(|| format!("cannot write {}", file.display()))?;
    say(format!(
        "directory {} (environment in {})",
        env.dir.display(),
        file.display()
    ));
    Ok(())
}
