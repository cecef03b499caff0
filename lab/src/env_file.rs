//! `lab.env`: the lab's `KEY=VALUE` file. It tells humans, scripts and the
//! end-to-end tests where everything is, and it records the lab's
//! [`Layout`] so that `down` (and a repeated `up`) know what is there.
//!
//! Keys: `LAB_DIR`, `LAYOUT` (`local`, `central` or `host`), `HOSTS`,
//! `NB_DB`, `SB_DB`; host1's `OVS_DB`, `SYSTEM_ID`, `BRIDGE`, `OVS_RUNDIR`,
//! `PLUGIN_SOCKET`, `OVS_PLUGIN_SOCKET`, `DRIVER_PID`, `DRIVER_LOG`, `DOCKER_OVN_OVS_DB`,
//! `DOCKER_OVN_NB_DB` (as a single-host lab always had them); per host K:
//! `HOSTK_NAME`, `HOSTK_NETNS` (empty: the root namespace), `HOSTK_OVS_DB`,
//! `HOSTK_OVS_RUNDIR`, `HOSTK_SYSTEM_ID`, `HOSTK_PLUGIN_SOCKET`, `HOSTK_OVS_PLUGIN_SOCKET`,
//! `HOSTK_DRIVER_LOG`, `HOSTK_ENCAP_IP`, `HOSTK_UPLINK`; `UNDERLAY_NETNS`
//! and `UNDERLAY_SUBNET` (empty without an underlay); and for a provisioned
//! machine what it was provisioned with (`CENTRAL_LISTEN_IP`, or
//! `CENTRAL_IP`, `ENCAP_CIDR`, `UPLINK`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use super::env::{LabEnv, Layout, MAX_HOSTS, RemoteHost, lab_env_with};

/// The file, inside the lab directory, of `KEY=VALUE` lines.
pub const ENV_FILE: &str = "lab.env";

type Vars = Vec<(String, String)>;

impl LabEnv {
    /// The contents of `lab.env`, in a stable order.
    pub fn env_vars(&self) -> Vars {
        let mut vars = vec![var("LAB_DIR", path(&self.dir))];
        vars.extend(layout_vars(&self.layout));
        let (nb, sb) = self.ovn_remotes();
        vars.push(var("NB_DB", nb.clone()));
        vars.push(var("SB_DB", sb));
        if let Some(host) = self.first_host() {
            vars.extend([
                var("OVS_DB", host.ovsdb.remote()),
                var("SYSTEM_ID", host.system_id.clone()),
                var("BRIDGE", host.bridge.clone()),
                var("OVS_RUNDIR", path(&host.ovs_rundir)),
                var("PLUGIN_SOCKET", path(&host.driver.socket)),
                var("OVS_PLUGIN_SOCKET", path(&host.driver.ovs_socket)),
                var("DRIVER_PID", path(&host.driver.pidfile)),
                var("DRIVER_LOG", path(&host.driver.log)),
                // What `docker-ovn status` and `serve` read, so that sourcing
                // this file points them at the lab's host1.
                var("DOCKER_OVN_OVS_DB", host.ovsdb.remote()),
                var("DOCKER_OVN_NB_DB", nb),
            ]);
        }
        vars.extend(self.host_vars());
        let underlay = self.underlay.as_ref();
        vars.push(var(
            "UNDERLAY_NETNS",
            underlay.map(|u| u.netns.clone()).unwrap_or_default(),
        ));
        vars.push(var(
            "UNDERLAY_SUBNET",
            underlay.map(|u| u.subnet.to_string()).unwrap_or_default(),
        ));
        vars
    }

    /// The Northbound and Southbound remotes the lab's hosts use.
    fn ovn_remotes(&self) -> (String, String) {
        match (&self.central, self.first_host()) {
            (Some(central), _) => (central.nb.remote(), central.sb.remote()),
            (None, Some(host)) => (host.nb_remote.clone(), host.sb_remote.clone()),
            (None, None) => Default::default(),
        }
    }

    fn host_vars(&self) -> Vars {
        let mut vars = Vec::new();
        for (index, host) in self.hosts.iter().enumerate() {
            let key = |name: &str| format!("HOST{}_{name}", index + 1);
            let uplink = host.uplink.as_ref().map(|u| u.device.clone());
            vars.extend([
                (key("NAME"), host.name.clone()),
                (key("NETNS"), host.netns.clone().unwrap_or_default()),
                (key("OVS_DB"), host.ovsdb.remote()),
                (key("OVS_RUNDIR"), path(&host.ovs_rundir)),
                (key("SYSTEM_ID"), host.system_id.clone()),
                (key("PLUGIN_SOCKET"), path(&host.driver.socket)),
                (key("OVS_PLUGIN_SOCKET"), path(&host.driver.ovs_socket)),
                (key("DRIVER_LOG"), path(&host.driver.log)),
                (key("ENCAP_IP"), host.encap_ip.clone()),
                (key("UPLINK"), uplink.unwrap_or_default()),
            ]);
        }
        vars
    }
}

fn var(key: &str, value: String) -> (String, String) {
    (key.to_string(), value)
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// The keys that record the layout itself.
fn layout_vars(layout: &Layout) -> Vars {
    let hosts = var("HOSTS", layout.host_count().to_string());
    match layout {
        Layout::Local { .. } => vec![var("LAYOUT", "local".into()), hosts],
        Layout::LocalNoOvn { .. } => vec![var("LAYOUT", "local-no-ovn".into()), hosts],
        Layout::Central { listen_ip } => vec![
            var("LAYOUT", "central".into()),
            hosts,
            var("CENTRAL_LISTEN_IP", listen_ip.to_string()),
        ],
        Layout::Host(remote) => vec![
            var("LAYOUT", "host".into()),
            hosts,
            var("CENTRAL_IP", remote.central_ip.to_string()),
            var("ENCAP_CIDR", remote.encap.to_string()),
            // HOST1_SYSTEM_ID, among the host keys, is the system id.
            var("UPLINK", remote.uplink.clone()),
        ],
    }
}

/// `HOSTS` of a local lab, in range.
fn local_hosts(vars: &BTreeMap<String, String>) -> anyhow::Result<usize> {
    let hosts: usize = parse_var(vars, "HOSTS")?;
    if !(1..=MAX_HOSTS).contains(&hosts) {
        bail!("{ENV_FILE}: HOSTS={hosts} is out of range");
    }
    Ok(hosts)
}

/// The layout `lab.env` records. A file from before layouts existed has
/// none: it was a single-host local lab.
pub fn layout_from_vars(vars: &BTreeMap<String, String>) -> anyhow::Result<Layout> {
    match vars.get("LAYOUT").map(String::as_str) {
        None => Ok(Layout::Local { hosts: 1 }),
        Some("local") => Ok(Layout::Local {
            hosts: local_hosts(vars)?,
        }),
        // Before several hosts without OVN existed, HOSTS was 1 there.
        Some("local-no-ovn") => Ok(Layout::LocalNoOvn {
            hosts: local_hosts(vars)?,
        }),
        Some("central") => Ok(Layout::Central {
            listen_ip: parse_var(vars, "CENTRAL_LISTEN_IP")?,
        }),
        Some("host") => Ok(Layout::Host(RemoteHost {
            central_ip: parse_var(vars, "CENTRAL_IP")?,
            system_id: parse_var(vars, "HOST1_SYSTEM_ID")?,
            encap: parse_var(vars, "ENCAP_CIDR")?,
            uplink: parse_var(vars, "UPLINK")?,
        })),
        Some(other) => bail!("{ENV_FILE}: unknown LAYOUT={other:?}"),
    }
}

fn parse_var<T: std::str::FromStr>(
    vars: &BTreeMap<String, String>,
    key: &str,
) -> anyhow::Result<T> {
    let value = vars
        .get(key)
        .with_context(|| format!("{ENV_FILE} has no {key}"))?;
    value
        .parse()
        .map_err(|_| anyhow::anyhow!("{ENV_FILE}: {key}={value:?} is not valid"))
}

/// The layout recorded in `dir`'s `lab.env`; `None` if there is no file.
pub fn read_layout(dir: &Path) -> anyhow::Result<Option<Layout>> {
    let file = dir.join(ENV_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", file.display()));
        }
    };
    let vars = parse_env_file(&text).with_context(|| file.display().to_string())?;
    layout_from_vars(&vars)
        .with_context(|| file.display().to_string())
        .map(Some)
}

/// The lab in `dir` as its `lab.env` describes it; `None` without one.
pub fn read_lab(dir: &Path) -> anyhow::Result<Option<LabEnv>> {
    Ok(read_layout(dir)?.map(|layout| lab_env_with(dir, layout)))
}

/// `KEY=VALUE` lines that `source` in a shell reads back unchanged: values
/// outside a plain set of characters are single-quoted.
pub fn render_env_file(vars: &[(String, String)]) -> String {
    let mut text = String::from("# Written by `docker-ovn-lab`; paths of this lab.\n");
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
    use std::net::Ipv4Addr;

    use super::*;
    use crate::env::lab_env;

    fn round_trip(env: &LabEnv) -> BTreeMap<String, String> {
        parse_env_file(&render_env_file(&env.env_vars())).expect("parses")
    }

    #[test]
    fn single_host_keys_stay_as_they_were() {
        let vars = round_trip(&lab_env(Path::new("/tmp/lab")));
        assert_eq!(vars["OVS_DB"], "unix:/tmp/lab/host1/ovs/db.sock");
        assert_eq!(vars["NB_DB"], "unix:/tmp/lab/central/ovnnb_db.sock");
        assert_eq!(vars["SB_DB"], "unix:/tmp/lab/central/ovnsb_db.sock");
        assert_eq!(vars["SYSTEM_ID"], "lab-host1");
        assert_eq!(vars["BRIDGE"], "br-int");
        assert_eq!(vars["PLUGIN_SOCKET"], "/run/docker/plugins/ovn.sock");
        assert_eq!(vars["DRIVER_LOG"], "/tmp/lab/driver.log");
        assert_eq!(vars["HOSTS"], "1");
        assert_eq!(vars["HOST1_NETNS"], "");
        assert_eq!(vars["HOST1_ENCAP_IP"], "127.0.0.1");
        assert_eq!(vars["UNDERLAY_NETNS"], "");
        assert_eq!(
            layout_from_vars(&vars).expect("layout"),
            Layout::Local { hosts: 1 }
        );
    }

    #[test]
    fn every_host_has_its_keys() {
        let env = lab_env_with(Path::new("/tmp/lab"), Layout::Local { hosts: 3 });
        let vars = round_trip(&env);
        assert_eq!(vars["HOSTS"], "3");
        assert_eq!(vars["HOST1_NETNS"], "");
        assert_eq!(vars["HOST1_ENCAP_IP"], "172.31.250.11");
        assert_eq!(vars["HOST2_NETNS"], "dovn-host2");
        assert_eq!(vars["HOST2_OVS_DB"], "unix:/tmp/lab/host2/ovs/db.sock");
        assert_eq!(vars["HOST2_SYSTEM_ID"], "lab-host2");
        assert_eq!(vars["HOST3_PLUGIN_SOCKET"], "/tmp/lab/host3/ovn.sock");
        assert_eq!(vars["HOST3_ENCAP_IP"], "172.31.250.13");
        assert_eq!(vars["HOST3_UPLINK"], "dovn-upl3");
        assert_eq!(vars["UNDERLAY_NETNS"], "dovn-underlay");
        assert_eq!(vars["UNDERLAY_SUBNET"], "172.31.250.0/24");
        assert_eq!(vars["PLUGIN_SOCKET"], "/run/docker/plugins/ovn.sock");
        assert_eq!(layout_from_vars(&vars).expect("layout"), env.layout);
    }

    #[test]
    fn provisioned_layouts_round_trip() {
        let host = Layout::Host(RemoteHost {
            central_ip: Ipv4Addr::new(192, 168, 56, 10),
            system_id: "host2".into(),
            encap: "192.168.56.12/24".parse().expect("cidr"),
            uplink: "eth1".into(),
        });
        let central = Layout::Central {
            listen_ip: Ipv4Addr::new(192, 168, 56, 10),
        };
        for layout in [host, central] {
            let vars = round_trip(&lab_env_with(Path::new("/tmp/lab"), layout.clone()));
            assert_eq!(layout_from_vars(&vars).expect("layout"), layout);
        }
    }

    #[test]
    fn a_lab_without_ovn_has_one_host_with_no_ovn_setting() {
        let layout = Layout::LocalNoOvn { hosts: 1 };
        let env = lab_env_with(Path::new("/tmp/lab"), layout.clone());
        let vars = round_trip(&env);
        assert_eq!(layout_from_vars(&vars).expect("layout"), layout);
        assert!(env.central.is_none() && env.underlay.is_none());
        assert_eq!(env.hosts.len(), 1);
        assert!(!env.hosts[0].has_ovn());
        assert_eq!(vars["NB_DB"], "");
        assert_eq!(vars["OVS_PLUGIN_SOCKET"], "/run/docker/plugins/ovs.sock");
    }

    #[test]
    fn a_file_without_a_layout_is_a_single_host_lab() {
        let vars =
            parse_env_file("LAB_DIR=/x\nOVS_DB=unix:/x/host1/ovs/db.sock\n").expect("parses");
        assert_eq!(
            layout_from_vars(&vars).expect("layout"),
            Layout::Local { hosts: 1 }
        );
        let bad = parse_env_file("LAYOUT=local\nHOSTS=0\n").expect("parses");
        assert!(layout_from_vars(&bad).is_err());
    }

    #[test]
    fn env_file_round_trips_awkward_values() {
        let vars: Vars = [
            ("A", "plain/path"),
            ("B", "with space"),
            ("C", "it's"),
            ("D", ""),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        let text = render_env_file(&vars);
        assert!(text.contains("A=plain/path\n"), "{text}");
        assert!(text.contains("B='with space'\n"), "{text}");
        let parsed = parse_env_file(&text).expect("parses");
        for (key, value) in vars {
            assert_eq!(parsed[&key], value);
        }
    }

    #[test]
    fn env_file_rejects_garbage() {
        assert!(parse_env_file("NOEQUALS\n").is_err());
        assert!(parse_env_file("A='open\n").is_err());
    }
}
