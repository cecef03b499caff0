//! The running lab (`docker-ovn lab up`) as end-to-end tests see it: its
//! database sockets from `<dir>/lab.env`, and `docker` commands.

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
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Lab { dir, vars }
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

    pub fn plugin_socket(&self) -> PathBuf {
        PathBuf::from(self.var("PLUGIN_SOCKET"))
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
