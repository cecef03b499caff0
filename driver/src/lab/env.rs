//! Where everything of a lab lives, derived from its directory alone, and the
//! `lab.env` file that tells humans and scripts the same.
//!
//! Every path is a pure function of the lab directory so that `up`, `down`,
//! `status` and the end-to-end tests agree without reading any state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The lab directory when `--dir` is not given.
pub const DEFAULT_DIR: &str = "/var/run/docker-ovn-lab";
/// The environment variable that overrides [`DEFAULT_DIR`] for `lab up`
/// and `lab down`, and tells end-to-end tests where a running lab is.
pub const DIR_VARIABLE: &str = "DOCKER_OVN_LAB_DIR";
/// Where dockerd looks for the `ovn` plugin (`docker network create -d ovn`).
pub const PLUGIN_SOCKET: &str = "/run/docker/plugins/ovn.sock";
/// containerd's default socket, which dockerd is pointed at.
pub const CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";
/// The OVN integration bridge of every host.
pub const BRIDGE: &str = "br-int";
/// The file, inside the lab directory, of `KEY=VALUE` lines.
pub const ENV_FILE: &str = "lab.env";

/// Files of one daemon: its pidfile, log and unixctl (control) socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonFiles {
    pub pidfile: PathBuf,
    pub log: PathBuf,
    /// `None` for ovn-controller, which has no `--unixctl` option: its socket
    /// is `ovn-controller.<pid>.ctl` in its `OVN_RUNDIR`, found by
    /// `OVN_RUNDIR=<dir> ovn-appctl -t ovn-controller`.
    pub ctl: Option<PathBuf>,
}

impl DaemonFiles {
    fn new(dir: &Path, stem: &str) -> Self {
        DaemonFiles {
            pidfile: dir.join(format!("{stem}.pid")),
            log: dir.join(format!("{stem}.log")),
            ctl: Some(dir.join(format!("{stem}.ctl"))),
        }
    }
}

/// One standalone `ovsdb-server` serving one database on a unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvsdbEnv {
    /// The server's run directory (its `OVS_RUNDIR`).
    pub dir: PathBuf,
    pub schema: PathBuf,
    pub db: PathBuf,
    pub socket: PathBuf,
    pub files: DaemonFiles,
}

impl OvsdbEnv {
    fn new(dir: &Path, stem: &str, db_file: &str, socket: &str, schema: &str) -> Self {
        OvsdbEnv {
            schema: PathBuf::from(schema),
            db: dir.join(db_file),
            socket: dir.join(socket),
            files: DaemonFiles::new(dir, stem),
            dir: dir.to_path_buf(),
        }
    }

    /// The OVSDB remote clients use: `unix:<socket>`.
    pub fn remote(&self) -> String {
        format!("unix:{}", self.socket.display())
    }
}

/// The shared OVN central: Northbound and Southbound databases and northd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralEnv {
    pub dir: PathBuf,
    pub nb: OvsdbEnv,
    pub sb: OvsdbEnv,
    pub northd: DaemonFiles,
}

impl CentralEnv {
    fn new(dir: PathBuf) -> Self {
        let schema_dir = "/usr/share/ovn";
        CentralEnv {
            nb: OvsdbEnv::new(
                &dir,
                "ovnnb_db",
                "ovnnb_db.db",
                "ovnnb_db.sock",
                &format!("{schema_dir}/ovn-nb.ovsschema"),
            ),
            sb: OvsdbEnv::new(
                &dir,
                "ovnsb_db",
                "ovnsb_db.db",
                "ovnsb_db.sock",
                &format!("{schema_dir}/ovn-sb.ovsschema"),
            ),
            northd: DaemonFiles::new(&dir, "ovn-northd"),
            dir,
        }
    }
}

/// One host: its own ovsdb-server, ovs-vswitchd and ovn-controller, each
/// with run directories of its own, optionally inside a network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEnv {
    pub name: String,
    /// The OVN chassis name (`external_ids:system-id`).
    pub system_id: String,
    /// `None`: the root namespace (the only kind implemented so far).
    pub netns: Option<String>,
    pub dir: PathBuf,
    /// `OVS_RUNDIR` of the host's OVS daemons; `<bridge>.mgmt` lands here.
    pub ovs_rundir: PathBuf,
    /// `OVN_RUNDIR` of the host's ovn-controller.
    pub ovn_rundir: PathBuf,
    pub ovsdb: OvsdbEnv,
    pub vswitchd: DaemonFiles,
    pub controller: DaemonFiles,
    pub bridge: String,
    /// The tunnel endpoint address (`ovn-encap-ip`).
    pub encap_ip: String,
}

impl HostEnv {
    fn new(lab_dir: &Path, index: usize) -> Self {
        let name = format!("host{index}");
        let dir = lab_dir.join(&name);
        let ovs_rundir = dir.join("ovs");
        let ovn_rundir = dir.join("ovn");
        HostEnv {
            system_id: format!("lab-{name}"),
            netns: None,
            ovsdb: OvsdbEnv::new(
                &ovs_rundir,
                "ovsdb-server",
                "conf.db",
                "db.sock",
                "/usr/share/openvswitch/vswitch.ovsschema",
            ),
            vswitchd: DaemonFiles::new(&ovs_rundir, "ovs-vswitchd"),
            controller: DaemonFiles {
                ctl: None,
                ..DaemonFiles::new(&ovn_rundir, "ovn-controller")
            },
            bridge: BRIDGE.to_string(),
            // A single host tunnels to nobody; multi-host will use an underlay address.
            encap_ip: "127.0.0.1".to_string(),
            name,
            dir,
            ovs_rundir,
            ovn_rundir,
        }
    }

    /// The OpenFlow management socket ovs-vswitchd opens for the bridge.
    pub fn bridge_mgmt(&self) -> PathBuf {
        self.ovs_rundir.join(format!("{}.mgmt", self.bridge))
    }
}

/// containerd and dockerd, when the lab starts them. A pidfile here means
/// the lab started that daemon, and only then does `down` stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerEnv {
    pub dir: PathBuf,
    pub containerd_pidfile: PathBuf,
    pub containerd_log: PathBuf,
    pub containerd_socket: PathBuf,
    pub dockerd_pidfile: PathBuf,
    pub dockerd_log: PathBuf,
}

/// The docker-ovn driver (`docker-ovn serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverEnv {
    pub socket: PathBuf,
    pub pidfile: PathBuf,
    pub log: PathBuf,
}

/// Every path of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabEnv {
    pub dir: PathBuf,
    pub central: CentralEnv,
    pub hosts: Vec<HostEnv>,
    pub docker: DockerEnv,
    pub driver: DriverEnv,
}

/// The paths of the lab in `dir` (one host, in the root namespace).
pub fn lab_env(dir: &Path) -> LabEnv {
    let docker_dir = dir.join("docker");
    LabEnv {
        central: CentralEnv::new(dir.join("central")),
        hosts: vec![HostEnv::new(dir, 1)],
        docker: DockerEnv {
            containerd_pidfile: docker_dir.join("containerd.pid"),
            containerd_log: docker_dir.join("containerd.log"),
            containerd_socket: PathBuf::from(CONTAINERD_SOCKET),
            dockerd_pidfile: docker_dir.join("dockerd.pid"),
            dockerd_log: docker_dir.join("dockerd.log"),
            dir: docker_dir,
        },
        driver: DriverEnv {
            socket: PathBuf::from(PLUGIN_SOCKET),
            pidfile: dir.join("driver.pid"),
            log: dir.join("driver.log"),
        },
        dir: dir.to_path_buf(),
    }
}

/// The lab named by `$DOCKER_OVN_LAB_DIR`, if that is set and a lab is there
/// (its `lab.env` exists): how end-to-end tests find it.
pub fn lab_env_from_environment() -> Option<LabEnv> {
    let dir = std::env::var_os(DIR_VARIABLE)?;
    let env = lab_env(Path::new(&dir));
    env.env_file().is_file().then_some(env)
}

impl LabEnv {
    /// The host the driver runs on (the first).
    pub fn host(&self) -> &HostEnv {
        &self.hosts[0]
    }

    /// `<dir>/lab.env`.
    pub fn env_file(&self) -> PathBuf {
        self.dir.join(ENV_FILE)
    }

    /// The contents of `lab.env`, in a stable order.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let host = self.host();
        let path = |p: &Path| p.display().to_string();
        vec![
            ("LAB_DIR", path(&self.dir)),
            ("OVS_DB", host.ovsdb.remote()),
            ("NB_DB", self.central.nb.remote()),
            ("SB_DB", self.central.sb.remote()),
            ("SYSTEM_ID", host.system_id.clone()),
            ("BRIDGE", host.bridge.clone()),
            ("OVS_RUNDIR", path(&host.ovs_rundir)),
            ("PLUGIN_SOCKET", path(&self.driver.socket)),
            ("DRIVER_PID", path(&self.driver.pidfile)),
            ("DRIVER_LOG", path(&self.driver.log)),
            // What `docker-ovn status` and `serve` read, so that sourcing
            // this file points them at the lab.
            ("DOCKER_OVN_OVS_DB", host.ovsdb.remote()),
            ("DOCKER_OVN_NB_DB", self.central.nb.remote()),
        ]
    }
}

/// `KEY=VALUE` lines that `source` in a shell reads back unchanged: values
/// outside a plain set of characters are single-quoted.
pub fn render_env_file(vars: &[(&str, String)]) -> String {
    let mut text = String::from("# Written by `docker-ovn lab up`; paths of this lab.\n");
    for (key, value) in vars {
        text.push_str(&format!("{key}={}\n", shell_quote(value)));
    }
    text
}

fn shell_quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:,=@+-".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Reads back what [`render_env_file`] wrote (comments and blank lines skipped).
pub fn parse_env_file(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=VALUE, got {line:?}", number + 1);
        };
        let value = shell_unquote(value).with_context(|| format!("line {}", number + 1))?;
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

fn shell_unquote(value: &str) -> anyhow::Result<String> {
    if !value.starts_with('\'') {
        return Ok(value.to_string());
    }
    let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
        bail!("unterminated quote in {value:?}");
    };
    Ok(inner.replace(r"'\''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_directory() {
        let env = lab_env(Path::new("/tmp/lab"));
        assert_eq!(
            env.central.nb.remote(),
            "unix:/tmp/lab/central/ovnnb_db.sock"
        );
        assert_eq!(
            env.central.sb.socket,
            Path::new("/tmp/lab/central/ovnsb_db.sock")
        );
        assert_eq!(env.host().ovsdb.remote(), "unix:/tmp/lab/host1/ovs/db.sock");
        assert_eq!(
            env.host().bridge_mgmt(),
            Path::new("/tmp/lab/host1/ovs/br-int.mgmt")
        );
        assert_eq!(
            env.host().controller.pidfile,
            Path::new("/tmp/lab/host1/ovn/ovn-controller.pid")
        );
        assert_eq!(
            env.docker.dockerd_pidfile,
            Path::new("/tmp/lab/docker/dockerd.pid")
        );
        assert_eq!(env.driver.log, Path::new("/tmp/lab/driver.log"));
        assert_eq!(env.env_file(), Path::new("/tmp/lab/lab.env"));
    }

    #[test]
    fn env_file_has_the_documented_keys() {
        let env = lab_env(Path::new("/tmp/lab"));
        let vars = parse_env_file(&render_env_file(&env.env_vars())).expect("parses");
        assert_eq!(vars["OVS_DB"], "unix:/tmp/lab/host1/ovs/db.sock");
        assert_eq!(vars["NB_DB"], "unix:/tmp/lab/central/ovnnb_db.sock");
        assert_eq!(vars["SB_DB"], "unix:/tmp/lab/central/ovnsb_db.sock");
        assert_eq!(vars["SYSTEM_ID"], "lab-host1");
        assert_eq!(vars["BRIDGE"], "br-int");
        assert_eq!(vars["PLUGIN_SOCKET"], "/run/docker/plugins/ovn.sock");
        assert_eq!(vars["DRIVER_LOG"], "/tmp/lab/driver.log");
    }

    #[test]
    fn env_file_round_trips_awkward_values() {
        let vars = [
            ("A", "plain/path".to_string()),
            ("B", "with space".to_string()),
            ("C", "it's".to_string()),
            ("D", String::new()),
        ];
        let text = render_env_file(&vars);
        assert!(text.contains("A=plain/path\n"), "{text}");
        assert!(text.contains("B='with space'\n"), "{text}");
        let parsed = parse_env_file(&text).expect("parses");
        for (key, value) in vars {
            assert_eq!(parsed[key], value);
        }
    }

    #[test]
    fn env_file_rejects_garbage() {
        assert!(parse_env_file("NOEQUALS\n").is_err());
        assert!(parse_env_file("A='open\n").is_err());
    }
}
