//! `lab up` and `lab down`: the order in which the parts start and stop.
//! `lab provision` (see [`super::provision`]) brings its parts up through
//! [`bring_up`] too.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::cmd::say;
use super::env::{DEFAULT_DIR, DIR_VARIABLE, LabEnv, Layout, MAX_HOSTS, lab_env_with};
use super::env_file::{read_layout, render_env_file};
use super::{
    central, cross_host_demo, demo, docker, driver, host, image, nested_vm, ovs_cross_host_demo,
    packages, stale, summary, underlay, vlan_switch,
};

/// `docker-ovn-lab up`.
#[derive(Debug, Clone, clap::Args)]
pub struct UpOptions {
    /// The lab's directory: databases, pidfiles, logs and lab.env.
    #[arg(long, env = DIR_VARIABLE, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Then run the demo: one host, the ovn-demo network, two containers on
    /// it and a ping; several hosts, one network across all of them and
    /// pings between host1's container and a sandbox on every other host.
    #[arg(long, conflicts_with_all = ["no_docker", "no_driver"])]
    pub demo: bool,
    /// Neither start nor use Docker (OVS, OVN and the driver only).
    #[arg(long)]
    pub no_docker: bool,
    /// Do not start the drivers (`docker-ovn serve`).
    #[arg(long)]
    pub no_driver: bool,
    /// The driver binary the lab starts. [default: `docker-ovn` beside
    /// this program]
    #[arg(long, env = "DOCKER_OVN_BINARY")]
    pub driver_binary: Option<PathBuf>,
    /// Number of hosts: host1 here (with dockerd), the others each in a
    /// network namespace `dovn-hostK` with a driver of its own; Geneve
    /// between them over an underlay 172.31.250.0/24. [default: as many
    /// as the running lab has, else 1]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=MAX_HOSTS as i64))]
    pub hosts: Option<u16>,
    /// No OVN daemon at all: `-d ovs` alone, as on hosts with plain Open
    /// vSwitch (host1 with dockerd; with `--hosts N`, the others peers of
    /// it over the underlay).
    #[arg(long)]
    pub no_ovn: bool,
    /// Also a VM on host1 (namespace `dovn-vm1`, its own Open vSwitch and
    /// driver) whose NIC is logical port `vm1`: nested containers' host.
    #[arg(long, conflicts_with = "no_ovn")]
    pub nested: bool,
}

/// `docker-ovn-lab down`.
#[derive(Debug, Clone, clap::Args)]
pub struct DownOptions {
    /// The lab's directory, as given to `lab up`.
    #[arg(long, env = DIR_VARIABLE, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Only if none of the lab's daemons runs any more (a lab left by a
    /// machine that restarted); a running lab stays up.
    #[arg(long)]
    pub if_stale: bool,
}

/// Which optional parts [`bring_up`] starts.
#[derive(Debug, Clone)]
pub struct Parts {
    pub docker: bool,
    /// The driver binary to start on every host; `None`: no drivers.
    pub driver: Option<PathBuf>,
    /// The nested VM too ([`nested_vm`]).
    pub nested: bool,
}

/// Starts whatever of the lab is not running; safe to repeat.
pub fn up(options: &UpOptions) -> anyhow::Result<()> {
    let was_stale = clear_stale_lab(&options.dir)?;
    let hosts = host_count(&options.dir, options.hosts.map(usize::from), options.no_ovn)?;
    let layout = match options.no_ovn {
        true => Layout::LocalNoOvn { hosts },
        false => Layout::Local { hosts },
    };
    let ovn = !options.no_ovn;
    let env = lab_env_with(&options.dir, layout);
    let parts = Parts {
        docker: !options.no_docker,
        driver: match options.no_driver {
            true => None,
            false => Some(driver::binary(options.driver_binary.as_deref())?),
        },
        nested: options.nested,
    };
    bring_up(&env, &parts)?;
    if was_stale && parts.docker {
        // Docker kept the stale lab's demo; the drivers lost it with the
        // lab's databases: its networks would be unknown to them.
        demo::remove()?;
    }
    if options.demo {
        if env.hosts.len() > 1 && !ovn {
            ovs_cross_host_demo::run(&env)?;
        } else if env.hosts.len() > 1 {
            cross_host_demo::run(&env)?;
        } else {
            demo::run(ovn)?;
        }
    }
    summary::print(&env, &parts);
    Ok(())
}

/// Takes down a lab of `dir` none of whose daemons runs any more, so that
/// `up` starts afresh instead of holding to that lab's layout. Whether it
/// did.
fn clear_stale_lab(dir: &Path) -> anyhow::Result<bool> {
    if read_layout(dir)?.is_none() || !stale::is_stale(dir) {
        return Ok(false);
    }
    say(format!(
        "{}: a lab none of whose daemons runs (machine restarted?): taking it down first",
        dir.display()
    ));
    down(&DownOptions {
        dir: dir.to_path_buf(),
        if_stale: false,
    })?;
    Ok(true)
}

/// How many hosts `up` makes: as asked, else as many as the lab in `dir`
/// has. A lab grows (host1 then moves its tunnel endpoint onto the
/// underlay) but never shrinks: that would strand the hosts left out. A
/// lab with OVN and one without are never mixed.
fn host_count(dir: &Path, asked: Option<usize>, no_ovn: bool) -> anyhow::Result<usize> {
    let running = match (read_layout(dir)?, no_ovn) {
        (None, _) => None,
        (Some(Layout::Local { hosts }), false) | (Some(Layout::LocalNoOvn { hosts }), true) => {
            Some(hosts)
        }
        (Some(Layout::LocalNoOvn { .. }), false) => bail!(
            "{} holds a lab without OVN (`up --no-ovn`): give --no-ovn, or `docker-ovn-lab down` first",
            dir.display()
        ),
        (Some(Layout::Local { .. }), true) => bail!(
            "{} holds a lab with OVN: run `docker-ovn-lab down` first for one without",
            dir.display()
        ),
        (Some(other), _) => bail!(
            "{} holds a provisioned machine ({other:?}), not a local lab: use `lab provision` or `lab down`",
            dir.display()
        ),
    };
    match (asked, running) {
        (Some(asked), Some(running)) if asked < running => bail!(
            "the lab in {} has {running} hosts; run `docker-ovn-lab down` first to have {asked}",
            dir.display()
        ),
        (Some(asked), _) => Ok(asked),
        (None, running) => Ok(running.unwrap_or(1)),
    }
}

/// Installs what is missing, then starts the central, the underlay, the
/// hosts, Docker and the drivers that `env` has and are not running.
pub fn bring_up(env: &LabEnv, parts: &Parts) -> anyhow::Result<()> {
    let docker = parts.docker && env.has_docker_host();
    packages::ensure(docker, is_root())?;
    require_root("lab up")?;
    prepare_dir(env)?;
    if let Some(central) = &env.central {
        central::start(central)?;
    }
    if let Some(underlay) = &env.underlay {
        underlay::create(underlay)?;
    }
    for host in &env.hosts {
        if let Some(underlay) = &env.underlay {
            underlay::create_host(host, underlay)?;
        }
        host::start(host)?;
    }
    if let Some(underlay) = &env.underlay {
        vlan_switch::start(underlay)?;
        for host in &env.hosts {
            vlan_switch::connect(host, underlay)?;
        }
    }
    if docker {
        docker::start(&env.docker)?;
        image::ensure(&env.dir)?;
    }
    if let Some(binary) = &parts.driver {
        for host in &env.hosts {
            driver::start(host, binary)?;
        }
    }
    if parts.nested {
        nested_vm::start(env, parts.driver.as_deref())?;
    }
    Ok(())
}

/// Stops what `up` or `provision` started and removes what it made. Every
/// part is tried even when one fails; the directory (with the pidfiles and
/// lab.env) is then kept, so that `down` can be repeated.
pub fn down(options: &DownOptions) -> anyhow::Result<()> {
    require_root("lab down")?;
    let dir = options.dir.as_path();
    if !dir.exists() {
        say(format!("no lab in {}: nothing to do", dir.display()));
        return Ok(());
    }
    if options.if_stale && !stale::is_stale(dir) {
        say(format!("{}: the lab runs: left up", dir.display()));
        return Ok(());
    }
    let layout = read_layout(dir)?.unwrap_or_else(|| guess_layout(dir));
    let env = lab_env_with(dir, layout);
    let failed = take_down(&env);
    if !failed.is_empty() {
        bail!(
            "lab down: {} failed; {} kept",
            failed.join(", "),
            dir.display()
        );
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    say(format!("removed {}", dir.display()));
    Ok(())
}

/// Stops and removes every part; returns the names of those that failed.
fn take_down(env: &LabEnv) -> Vec<String> {
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
    if env.has_docker_host()
        && let Err(error) = demo::remove()
    {
        say(format!(
            "demo (not removed, see `docker ps -a`, `docker network ls`): {error:#}"
        ));
    }
    // The other hosts' demo endpoints, through their drivers.
    attempt("cross-host demo", cross_host_demo::remove(env));
    attempt("-d ovs cross-host demo", ovs_cross_host_demo::remove(env));
    // dockerd before the drivers: a stopping dockerd still calls its driver.
    attempt("docker", docker::stop(&env.docker));
    // The VM before host1 and the central, which it is plugged into.
    attempt("nested VM", nested_vm::stop(env));
    for host in env.hosts.iter().rev() {
        attempt(&format!("{} driver", host.name), driver::stop(host));
    }
    for host in env.hosts.iter().rev() {
        // The namespace goes only once nothing of the lab runs inside it.
        let stopped = host::stop(host);
        let removed = stopped.and_then(|()| underlay::remove_host(host));
        attempt(&host.name, removed);
    }
    if let Some(central) = &env.central {
        attempt("central", central::stop(central));
    }
    if let Some(underlay) = &env.underlay {
        attempt("physical switch", vlan_switch::stop(underlay));
        attempt("underlay", underlay::remove(underlay));
    }
    failed
}

/// The layout of a lab directory without `lab.env` (an `up` that failed
/// before writing it, or a removed file): local, with as many hosts as
/// there are `hostK` directories.
fn guess_layout(dir: &Path) -> Layout {
    let hosts = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name();
            name.to_str()?.strip_prefix("host")?.parse::<usize>().ok()
        })
        .filter(|index| (1..=MAX_HOSTS).contains(index))
        .max()
        .unwrap_or(1);
    Layout::Local { hosts }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_grows_but_does_not_shrink() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(host_count(dir.path(), None, false).expect("new lab"), 1);
        assert_eq!(host_count(dir.path(), Some(3), false).expect("new lab"), 3);
        let env = lab_env_with(dir.path(), Layout::Local { hosts: 2 });
        prepare_dir(&env).expect("lab.env");
        assert_eq!(host_count(dir.path(), None, false).expect("running"), 2);
        assert_eq!(host_count(dir.path(), Some(3), false).expect("grows"), 3);
        let error = host_count(dir.path(), Some(1), false).expect_err("shrinks");
        assert!(error.to_string().contains("lab down"), "{error}");
    }

    #[test]
    fn labs_with_and_without_ovn_are_never_mixed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = lab_env_with(dir.path(), Layout::LocalNoOvn { hosts: 3 });
        prepare_dir(&env).expect("lab.env");
        assert_eq!(host_count(dir.path(), None, true).expect("running"), 3);
        let error = host_count(dir.path(), None, false).expect_err("with OVN");
        assert!(error.to_string().contains("--no-ovn"), "{error}");
        // Several hosts without OVN list each other as peers.
        let host2 = &env.hosts[1];
        assert!(!host2.has_ovn() && env.underlay.is_some());
        assert_eq!(
            host2.host_cidr.map(|c| c.to_string()).as_deref(),
            Some("10.230.2.0/24")
        );
        assert_eq!(host2.peers.len(), 3);
        assert!(host2.peers[0].starts_with(&format!("{}=", env.hosts[0].encap_ip)));
    }

    #[test]
    fn without_lab_env_the_host_directories_tell_the_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(guess_layout(dir.path()), Layout::Local { hosts: 1 });
        for name in ["host1", "host3", "hostx", "central"] {
            std::fs::create_dir(dir.path().join(name)).expect("mkdir");
        }
        assert_eq!(guess_layout(dir.path()), Layout::Local { hosts: 3 });
    }
}
