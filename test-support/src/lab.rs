//! The running lab (`docker-ovn lab up [--hosts N]`) as end-to-end tests
//! see it: its database sockets and hosts from `<dir>/lab.env`, and
//! `docker` commands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Where `docker-ovn lab up` keeps its files unless told otherwise.
pub const DEFAULT_LAB_DIR: &str = "/var/run/docker-ovn-lab";

/// The lab's settings, read from `lab.env`.
#[derive(Debug, Clone)]
pub struct Lab {
    pub dir: PathBuf,
    vars: BTreeMap<String, String>,
}

impl Lab {
    /// The lab named by `DOCKER_OVN_LAB_DIR` (or the default directory).
    /// Panics, saying how to start it, when it is not up: end-to-end tests
    /// need real daemons and never skip.
    pub fn require() -> Lab {
        let dir = std::env::var("DOCKER_OVN_LAB_DIR").unwrap_or_else(|_| DEFAULT_LAB_DIR.into());
        let dir = PathBuf::from(dir);
        let env = dir.join("lab.env");
        let text = std::fs::read_to_string(&env).unwrap_or_else(|e| {
            panic!(
                "end-to-end tests need the lab (OVS, OVN, dockerd and the driver): cannot read {} ({e}); \
                 run `scripts/test.sh` or `docker-ovn lab up` first, as root",
                env.display()
            )
        });
        let vars = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), unquote(v.trim())))
            .collect();
        Lab { dir, vars }
    }

    /// The lab, which must have at least `count` hosts; panics saying how
    /// to start such a lab otherwise.
    pub fn require_hosts(count: usize) -> Lab {
        let lab = Lab::require();
        let hosts = lab.hosts().len();
        assert!(
            hosts >= count,
            "this test needs a lab with at least {count} hosts, and the lab in {} has {hosts}: \
             run `docker-ovn lab up --hosts {count}` (as root; `docker-ovn lab down` first if it \
             refuses to change a running lab)",
            lab.dir.display()
        );
        lab
    }

    /// The lab's hosts, host1 first. A lab.env from before multi-host labs
    /// describes one host with the single-host keys.
    pub fn hosts(&self) -> Vec<LabHost> {
        let count: usize = self
            .vars
            .get("HOSTS")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        (1..=count).map(|index| self.host(index)).collect()
    }

    fn host(&self, index: usize) -> LabHost {
        let get = |key: &str, single: &str| {
            let value = self.vars.get(&format!("HOST{index}_{key}"));
            match (value, index) {
                (Some(value), _) => value.clone(),
                (None, 1) => self.var(single),
                (None, _) => self.var(&format!("HOST{index}_{key}")),
            }
        };
        let netns = self
            .vars
            .get(&format!("HOST{index}_NETNS"))
            .filter(|ns| !ns.is_empty())
            .cloned();
        LabHost {
            name: format!("host{index}"),
            netns,
            ovs_db: get("OVS_DB", "OVS_DB"),
            system_id: get("SYSTEM_ID", "SYSTEM_ID"),
            plugin_socket: PathBuf::from(get("PLUGIN_SOCKET", "PLUGIN_SOCKET")),
            encap_ip: self
                .vars
                .get(&format!("HOST{index}_ENCAP_IP"))
                .cloned()
                .unwrap_or_else(|| "127.0.0.1".into()),
        }
    }

    /// A value of `lab.env`; panics naming the key when absent.
    pub fn var(&self, key: &str) -> String {
        self.vars
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{} has no {key}", self.dir.join("lab.env").display()))
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
    /// Its Geneve endpoint.
    pub encap_ip: String,
}

/// Undoes the single quotes `lab.env` puts around values with unusual
/// characters (and around empty ones).
fn unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace("'\\''", "'"),
        None => value.to_string(),
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

    fn lab(text: &str) -> Lab {
        let vars = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_string(), unquote(v)))
            .collect();
        Lab {
            dir: PathBuf::from("/lab"),
            vars,
        }
    }

    #[test]
    fn hosts_come_from_the_per_host_keys() {
        let lab = lab(
            "HOSTS=2\nHOST1_NETNS=''\nHOST1_OVS_DB=unix:/lab/host1/ovs/db.sock\n\
             HOST1_SYSTEM_ID=lab-host1\nHOST1_PLUGIN_SOCKET=/run/docker/plugins/ovn.sock\n\
             HOST1_ENCAP_IP=172.31.250.11\nHOST2_NETNS=dovn-host2\n\
             HOST2_OVS_DB=unix:/lab/host2/ovs/db.sock\nHOST2_SYSTEM_ID=lab-host2\n\
             HOST2_PLUGIN_SOCKET=/lab/host2/ovn.sock\nHOST2_ENCAP_IP=172.31.250.12",
        );
        let hosts = lab.hosts();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[0].netns, None);
        assert_eq!(hosts[1].netns.as_deref(), Some("dovn-host2"));
        assert_eq!(hosts[1].plugin_socket, PathBuf::from("/lab/host2/ovn.sock"));
        assert_eq!(hosts[1].encap_ip, "172.31.250.12");
    }

    #[test]
    fn an_old_lab_env_is_one_host() {
        let lab = lab("OVS_DB=unix:/lab/host1/ovs/db.sock\nSYSTEM_ID=lab-host1\n\
             PLUGIN_SOCKET=/run/docker/plugins/ovn.sock");
        let hosts = lab.hosts();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].system_id, "lab-host1");
        assert_eq!(hosts[0].encap_ip, "127.0.0.1");
    }

    #[test]
    fn quotes_are_undone() {
        assert_eq!(unquote("''"), "");
        assert_eq!(unquote("'a b'"), "a b");
        assert_eq!(unquote("'it'\\''s'"), "it's");
        assert_eq!(unquote("plain"), "plain");
    }
}
