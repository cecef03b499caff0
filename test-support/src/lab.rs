//! The running lab (`docker-ovn-lab up [--hosts N]`) as end-to-end tests
//! see it: its database sockets and hosts from `<dir>/lab.env`, read by the
//! lab's own parser, and `docker` commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use docker_ovn_lab::env::{DEFAULT_DIR, DIR_VARIABLE, LabEnv, lab_env_with};
use docker_ovn_lab::env_file::{ENV_FILE, layout_from_vars, parse_env_file};

/// The lab's settings, read from `lab.env`.
#[derive(Debug, Clone)]
pub struct Lab {
    pub dir: PathBuf,
    vars: BTreeMap<String, String>,
    env: LabEnv,
}

impl Lab {
    /// The lab named by `DOCKER_OVN_LAB_DIR` (or the default directory).
    /// Panics, saying how to start it, when it is not up: end-to-end tests
    /// need real daemons and never skip.
    pub fn require() -> Lab {
        let dir = std::env::var(DIR_VARIABLE).unwrap_or_else(|_| DEFAULT_DIR.into());
        Lab::read(Path::new(&dir)).unwrap_or_else(|e| {
            panic!(
                "end-to-end tests need the lab (OVS, OVN, dockerd and the driver): {e:#}; \
                 run `scripts/test.sh` or `docker-ovn-lab up` first, as root"
            )
        })
    }

    /// The lab whose `lab.env` is in `dir`.
    pub fn read(dir: &Path) -> anyhow::Result<Lab> {
        let file = dir.join(ENV_FILE);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("cannot read {} ({e})", file.display()))?;
        let vars = parse_env_file(&text)?;
        let env = lab_env_with(dir, layout_from_vars(&vars)?);
        Ok(Lab {
            dir: dir.to_path_buf(),
            vars,
            env,
        })
    }

    /// The lab, which must have at least `count` hosts; panics saying how
    /// to start such a lab otherwise.
    pub fn require_hosts(count: usize) -> Lab {
        let lab = Lab::require();
        let hosts = lab.hosts().len();
        assert!(
            hosts >= count,
            "this test needs a lab with at least {count} hosts, and the lab in {} has {hosts}: \
             run `docker-ovn-lab up --hosts {count}` (as root; `docker-ovn-lab down` first if it \
             refuses to change a running lab)",
            lab.dir.display()
        );
        lab
    }

    /// The lab's hosts, host1 first.
    pub fn hosts(&self) -> Vec<LabHost> {
        self.env
            .hosts
            .iter()
            .map(|host| LabHost {
                name: host.name.clone(),
                netns: host.netns.clone(),
                ovs_db: host.ovsdb.remote(),
                system_id: host.system_id.clone(),
                plugin_socket: host.driver.socket.clone(),
                ovs_socket: host.driver.ovs_socket.clone(),
                encap_ip: host.encap_ip.clone(),
            })
            .collect()
    }

    /// The VM of `docker-ovn-lab up --nested` as a host: its namespace,
    /// Open_vSwitch database and driver socket. Panics, saying how to
    /// start it, when the lab has none.
    pub fn nested_vm(&self) -> LabHost {
        let vm = docker_ovn_lab::nested_vm::vm_of(&self.env)
            .filter(|vm| vm.driver.pidfile.exists())
            .unwrap_or_else(|| {
                panic!(
                    "the lab has no nested VM: run `docker-ovn-lab up --nested` (scripts/test.sh does)"
                )
            });
        LabHost {
            name: vm.name.clone(),
            netns: vm.netns.clone(),
            ovs_db: vm.ovsdb.remote(),
            system_id: vm.system_id.clone(),
            plugin_socket: vm.driver.socket.clone(),
            ovs_socket: vm.driver.ovs_socket.clone(),
            encap_ip: vm.encap_ip.clone(),
        }
    }

    /// `ovn-nbctl ARGS...` against the lab's Northbound database: its
    /// stdout, trimmed; panics with its output when it fails.
    pub fn nbctl(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("ovn-nbctl")
            .arg(format!("--db={}", self.nb_db()))
            .arg("--timeout=10")
            .args(args)
            .output()
            .expect("run ovn-nbctl (Debian package ovn-common)");
        assert!(
            output.status.success(),
            "ovn-nbctl {args:?}: {}",
            crate::underlay::text(&output)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A value of `lab.env`; panics naming the key when absent.
    pub fn var(&self, key: &str) -> String {
        self.vars
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{} has no {key}", self.dir.join(ENV_FILE).display()))
    }

    pub fn ovs_db(&self) -> String {
        self.var("OVS_DB")
    }

    pub fn nb_db(&self) -> String {
        self.var("NB_DB")
    }

    pub fn sb_db(&self) -> String {
        self.var("SB_DB")
    }

    pub fn plugin_socket(&self) -> PathBuf {
        PathBuf::from(self.var("PLUGIN_SOCKET"))
    }
}

/// One host of the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabHost {
    /// `host1`, `host2`, ...
    pub name: String,
    /// Its network namespace; `None` for host1 (the root namespace, with dockerd).
    pub netns: Option<String>,
    /// Its Open_vSwitch database (`unix:...`).
    pub ovs_db: String,
    /// Its chassis name.
    pub system_id: String,
    /// Where its driver serves the plugin API (host1's is dockerd's).
    pub plugin_socket: PathBuf,
    /// Where its driver serves `-d ovs`.
    pub ovs_socket: PathBuf,
    /// Its Geneve endpoint.
    pub encap_ip: String,
}

impl LabHost {
    /// `2` of `host2`: where the host's addresses and names differ.
    pub fn number(&self) -> &str {
        self.name.trim_start_matches("host")
    }
}

/// Debian's docker.io client, which matches the lab's dockerd 20.10; a
/// newer client first on `PATH` refuses `--mac-address` against its API.
const DEBIAN_DOCKER_CLIENT: &str = "/usr/bin/docker";

/// Runs `docker args...` and returns its output (whatever the status).
pub fn docker(args: &[&str]) -> Output {
    let client = if std::path::Path::new(DEBIAN_DOCKER_CLIENT).exists() {
        DEBIAN_DOCKER_CLIENT
    } else {
        "docker"
    };
    Command::new(client)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker (Debian package docker.io): {e}"))
}

/// Runs `docker args...`, panics with its stderr unless it succeeds, and
/// returns its trimmed stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Names of the network devices in the test's namespace.
pub fn link_names() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use docker_ovn_lab::env::Layout;
    use docker_ovn_lab::env_file::render_env_file;

    /// A lab.env as `docker-ovn-lab up --hosts hosts` writes it, in a
    /// temporary directory.
    fn written(hosts: usize) -> (tempfile::TempDir, Lab) {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = lab_env_with(dir.path(), Layout::Local { hosts });
        std::fs::write(dir.path().join(ENV_FILE), render_env_file(&env.env_vars()))
            .expect("write lab.env");
        let lab = Lab::read(dir.path()).expect("read lab.env");
        (dir, lab)
    }

    #[test]
    fn hosts_come_from_the_lab_s_own_file() {
        let (dir, lab) = written(2);
        let hosts = lab.hosts();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].netns, None);
        assert_eq!(hosts[1].netns.as_deref(), Some("dovn-host2"));
        let host2_socket = PathBuf::from(lab.var("HOST2_PLUGIN_SOCKET"));
        assert_eq!(hosts[1].plugin_socket, host2_socket);
        assert!(host2_socket.starts_with(dir.path()));
        assert_eq!(hosts[1].encap_ip, lab.var("HOST2_ENCAP_IP"));
        assert_eq!(hosts[0].ovs_db, lab.ovs_db());
    }

    #[test]
    fn a_single_host_lab_is_one_host() {
        let (_dir, lab) = written(1);
        let hosts = lab.hosts();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].system_id, lab.var("SYSTEM_ID"));
    }

    #[test]
    fn a_missing_lab_says_which_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = Lab::read(dir.path()).expect_err("no lab.env");
        assert!(format!("{error:#}").contains("lab.env"));
    }
}
