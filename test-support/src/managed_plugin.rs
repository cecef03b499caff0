//! docker-ovn as managed (v2) plugins in the lab's dockerd, built by
//! `scripts/build-plugin.sh` from the driver under test, set up for host1
//! of the lab (its OVS and OVN run directories, its databases) and
//! removed when dropped, even when the test failed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::lab::{Lab, docker, docker_ok};

/// The managed plugins of one test: `<prefix>-ovn` and `<prefix>-ovs`.
pub struct ManagedPlugins {
    pub ovn: String,
    pub ovs: String,
}

impl ManagedPlugins {
    /// Builds both plugins around `binary` (the driver under test) and
    /// sets them up for host1 of `lab`; neither is enabled.
    pub fn create(lab: &Lab, binary: &Path, prefix: &str) -> ManagedPlugins {
        let plugins = ManagedPlugins {
            ovn: format!("{prefix}-ovn:latest"),
            ovs: format!("{prefix}-ovs:latest"),
        };
        let script = workspace().join("scripts/build-plugin.sh");
        let output = Command::new(&script)
            .args(["--replace", &plugins.ovn, &plugins.ovs])
            .env("DOCKER_OVN_BINARY", binary)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            output.status.success(),
            "{} failed: {}{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let (rundir, _) = ManagedPlugins::ovs_socket(lab);
        let in_plugin = ManagedPlugins::ovs_db_setting(lab);
        let ovs_rundir = format!("ovs-rundir.source={}", rundir.display());
        for plugin in [&plugins.ovn, &plugins.ovs] {
            docker_ok(&["plugin", "set", plugin, &ovs_rundir, &in_plugin]);
        }
        // The Northbound's socket is under the central's directory: that
        // is the plugin's OVN run directory.
        let nb_db = lab.nb_db();
        let (ovn_rundir, nb_in_plugin) = match unix_socket(&nb_db) {
            Some((dir, name)) => (dir, format!("unix:/var/run/ovn/{name}")),
            None => (lab.dir.join("host1/ovn"), nb_db.clone()),
        };
        docker_ok(&[
            "plugin",
            "set",
            &plugins.ovn,
            &format!("ovn-rundir.source={}", ovn_rundir.display()),
            &format!("DOCKER_OVN_NB_DB={nb_in_plugin}"),
        ]);
        plugins
    }

    /// The setting that names host1's Open_vSwitch database as the plugin
    /// sees it, under its `ovs-rundir` mount.
    pub fn ovs_db_setting(lab: &Lab) -> String {
        let (_, name) = ManagedPlugins::ovs_socket(lab);
        format!("DOCKER_OVN_OVS_DB=unix:/var/run/openvswitch/{name}")
    }

    /// host1's OVS run directory (the plugin's `ovs-rundir`) and the name
    /// of its database socket there.
    pub fn ovs_socket(lab: &Lab) -> (PathBuf, String) {
        unix_socket(&lab.ovs_db()).expect("host1's Open_vSwitch database on a unix socket")
    }

    /// `docker plugin enable`, timed: the seconds it took.
    pub fn enable(plugin: &str) -> Duration {
        let started = Instant::now();
        docker_ok(&["plugin", "enable", plugin]);
        started.elapsed()
    }

    /// The pid of `plugin`'s process: the child of the containerd shim
    /// of the plugin's id (the plugin is this test's, and so is its
    /// process).
    pub fn pid(plugin: &str) -> Option<i32> {
        let id = docker_ok(&["plugin", "inspect", "-f", "{{.Id}}", plugin]);
        let shim = format!("-namespace plugins.moby -id {id} ");
        let cmdline = |pid: i32| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&raw).replace('\0', " ")
        };
        let parent = |pid: i32| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse::<i32>()
                .ok()
        };
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .find(|&pid| {
                cmdline(pid).starts_with("/usr/bin/docker-ovn serve")
                    && parent(pid).is_some_and(|shim_pid| cmdline(shim_pid).contains(&shim))
            })
    }
}

impl Drop for ManagedPlugins {
    fn drop(&mut self) {
        for plugin in [&self.ovn, &self.ovs] {
            let _ = docker(&["plugin", "rm", "-f", plugin]);
        }
    }
}

/// The directory and file name of a `unix:PATH` database target; `None`
/// for a TCP one.
fn unix_socket(target: &str) -> Option<(PathBuf, String)> {
    let path = Path::new(target.strip_prefix("unix:")?);
    let name = path.file_name()?.to_string_lossy().into_owned();
    Some((path.parent()?.to_path_buf(), name))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}
