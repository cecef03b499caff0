//! A standalone `ovsdb-server` for one database on a unix socket: the OVN
//! Northbound and Southbound databases of the central and each host's
//! Open_vSwitch database are all this.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::cmd::{self, say};
use super::env::{DaemonFiles, OvsdbEnv};
use super::process::Daemon;

/// The daemon serving `db`. Every OVS/OVN daemon gets explicit run, log and
/// database directories so that nothing defaults to the system's
/// /var/run/openvswitch or /var/run/ovn.
pub fn server(label: &str, db: &OvsdbEnv, extra_remotes: &[String], netns: Option<&str>) -> Daemon {
    let files = &db.files;
    let mut daemon = Daemon::new(
        label,
        "ovsdb-server",
        files.pidfile.clone(),
        files.log.clone(),
    );
    daemon.args = vec![
        db.db.display().to_string(),
        format!("--remote=punix:{}", db.socket.display()),
    ];
    daemon.args.extend(ovs_daemon_args(files));
    daemon.args.extend(
        extra_remotes
            .iter()
            .map(|remote| format!("--remote={remote}")),
    );
    daemon.env = ovs_dirs(&db.dir);
    daemon.netns = netns.map(str::to_string);
    daemon.marker = Some(db.db.display().to_string());
    daemon
}

/// The options every OVS/OVN daemon of the lab gets: its files, no console
/// logging (the log file has it all), and `--detach`, whose parent exits only
/// once the daemon is ready (or has failed).
pub fn ovs_daemon_args(files: &DaemonFiles) -> Vec<String> {
    let mut args = vec![
        format!("--pidfile={}", files.pidfile.display()),
        format!("--log-file={}", files.log.display()),
    ];
    args.extend(
        files
            .ctl
            .iter()
            .map(|ctl| format!("--unixctl={}", ctl.display())),
    );
    args.extend(["-vconsole:off", "--no-chdir", "--detach"].map(String::from));
    args
}

/// `OVS_*DIR` all pointing at `dir`.
pub fn ovs_dirs(dir: &Path) -> Vec<(&'static str, OsString)> {
    ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR"]
        .into_iter()
        .map(|key| (key, dir.as_os_str().to_owned()))
        .collect()
}

/// Creates the database file from its schema unless it exists (a lab that
/// is brought up again keeps its contents).
fn create_db(label: &str, db: &OvsdbEnv) -> anyhow::Result<()> {
    if db.db.exists() {
        return Ok(());
    }
    let mut create = cmd::command("ovsdb-tool");
    create.arg("create").arg(&db.db).arg(&db.schema);
    cmd::run(create, Duration::from_secs(30))
        .with_context(|| format!("creating the {label} database"))?;
    say(format!("{label}: created {}", db.db.display()));
    Ok(())
}

/// Creates the database if needed and makes sure `server` (from
/// [`server`] for `db`) runs.
pub fn ensure(server: &Daemon, db: &OvsdbEnv) -> anyhow::Result<()> {
    create_db(&server.label, db)?;
    server.ensure(Daemon::start_detaching)?;
    Ok(())
}
