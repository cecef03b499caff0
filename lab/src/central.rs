//! The OVN central every host shares: the Northbound and Southbound
//! databases, each its own `ovsdb-server` on a unix socket (a file, so
//! reachable from any network namespace), and `ovn-northd` between them.
//! A central for other machines (`lab provision central`) also listens on
//! TCP, OVN's ports 6641 (NB) and 6642 (SB).

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::cmd;
use super::env::{CentralEnv, NB_PORT, SB_PORT};
use super::process::Daemon;
use super::{offload, ovsdb};

/// Starts whatever of the central is not running.
pub fn start(central: &CentralEnv) -> anyhow::Result<()> {
    std::fs::create_dir_all(&central.dir)
        .with_context(|| format!("cannot create {}", central.dir.display()))?;
    let (nb, sb) = servers(central);
    ovsdb::ensure(&nb, &central.nb)?;
    ovsdb::ensure(&sb, &central.sb)?;
    init_nb(central)?;
    northd(central).ensure(Daemon::start_detaching)?;
    if let Some(ip) = central.listen_ip {
        offload::send_complete_checksums(ip);
    }
    Ok(())
}

/// Stops northd, then the databases.
pub fn stop(central: &CentralEnv) -> anyhow::Result<()> {
    northd(central).stop()?;
    let (nb, sb) = servers(central);
    nb.stop()?;
    sb.stop()
}

/// The Northbound and Southbound `ovsdb-server`s.
fn servers(central: &CentralEnv) -> (Daemon, Daemon) {
    let tcp = |port: u16| -> Vec<String> {
        central
            .listen_ip
            .map(|ip| format!("ptcp:{port}:{ip}"))
            .into_iter()
            .collect()
    };
    let nb = ovsdb::server(
        "central: OVN NB ovsdb-server",
        &central.nb,
        &tcp(NB_PORT),
        None,
    );
    let sb = ovsdb::server(
        "central: OVN SB ovsdb-server",
        &central.sb,
        &tcp(SB_PORT),
        None,
    );
    (nb, sb)
}

/// Creates the NB_Global row now, so a driver that starts before northd
/// has run once still finds an initialized database.
fn init_nb(central: &CentralEnv) -> anyhow::Result<()> {
    let mut init = cmd::command("ovn-nbctl");
    init.arg(format!("--db={}", central.nb.remote()))
        .args(["--no-wait", "--timeout=30", "init"]);
    cmd::run(init, Duration::from_secs(40)).context("initializing the OVN Northbound database")?;
    Ok(())
}

fn northd(central: &CentralEnv) -> Daemon {
    let files = &central.northd;
    let mut daemon = Daemon::new(
        "central: ovn-northd",
        "ovn-northd",
        files.pidfile.clone(),
        files.log.clone(),
    );
    daemon.args = vec![
        format!("--ovnnb-db={}", central.nb.remote()),
        format!("--ovnsb-db={}", central.sb.remote()),
    ];
    daemon.args.extend(ovsdb::ovs_daemon_args(files));
    daemon.env = ovn_dirs(&central.dir);
    daemon.marker = Some(files.pidfile.display().to_string());
    daemon
}

/// `OVN_*DIR` and `OVS_*DIR` all pointing at `dir`.
pub fn ovn_dirs(dir: &Path) -> Vec<(&'static str, OsString)> {
    let mut dirs = ovsdb::ovs_dirs(dir);
    dirs.extend(
        ["OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR"]
            .into_iter()
            .map(|key| (key, dir.as_os_str().to_owned())),
    );
    dirs
}
