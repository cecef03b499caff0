//! What the drivers left behind: logical switches and ports in OVN
//! Northbound, OVS ports and interfaces and veths on every lab host.

use std::time::Duration;

use ovsdb_client::transaction::{Condition, Transaction};
use ovsdb_client::{Client, Value};

use crate::lab::{Lab, LabHost};
use crate::netns::ip;

/// What to look for.
pub struct Removed<'a> {
    /// Docker network ids whose ports (and, with `networks_removed`,
    /// switches) must be gone.
    pub networks: &'a [String],
    /// Docker endpoint ids whose veths must be gone.
    pub endpoints: &'a [String],
    /// The networks were removed too, not only their endpoints.
    pub networks_removed: bool,
}

/// Insists, after a moment for Docker's asynchronous cleanup, that nothing
/// of `removed` is left on any host of the lab.
pub fn assert_clean(lab: &Lab, removed: &Removed<'_>) {
    let hosts = lab.hosts();
    let mut left = Vec::new();
    for _ in 0..50 {
        left = leftovers(lab, &hosts, removed);
        if left.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("left behind: {left:?}");
}

/// Everything of `removed` still present, one line each.
pub fn leftovers(lab: &Lab, hosts: &[LabHost], removed: &Removed<'_>) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut found = runtime.block_on(rows_left(lab, hosts, removed));
    for host in hosts {
        found.extend(veths_left(host, removed.endpoints));
        found.extend(published_left(host, removed.endpoints));
    }
    found
}

/// The published ports' DNAT rules of `endpoints` on `host`.
fn published_left(host: &LabHost, endpoints: &[String]) -> Vec<String> {
    published_port_rules(host.netns.as_deref())
        .into_iter()
        .filter(|line| endpoints.iter().any(|e| line.contains(&format!(":{e}@"))))
        .map(|line| format!("{}: {line}", host.name))
        .collect()
}

/// Every published port's DNAT rule (comment `docker-ovn-port:`) in the
/// nat table of the namespace `netns` (`None`: this one), as
/// `iptables -S` lists them.
pub fn published_port_rules(netns: Option<&str>) -> Vec<String> {
    let mut command = std::process::Command::new("iptables");
    if let Some(ns) = netns {
        command = std::process::Command::new("ip");
        command.args(["netns", "exec", ns, "iptables"]);
    }
    let output = command
        .args(["-w", "-t", "nat", "-S"])
        .output()
        .expect("run iptables");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("docker-ovn-port:"))
        .map(str::to_string)
        .collect()
}

async fn rows_left(lab: &Lab, hosts: &[LabHost], removed: &Removed<'_>) -> Vec<String> {
    let nb = Client::connect(&lab.nb_db()).await.expect("connect to NB");
    let mut found = Vec::new();
    for network in removed.networks {
        let key = Value::map([("docker-ovn:network", network.as_str())]);
        found.extend(named_rows(&nb, "OVN_Northbound", "Logical_Switch_Port", &key).await);
        if removed.networks_removed {
            found.extend(switches_of(&nb, network).await);
        }
        for host in hosts {
            let ovs = Client::connect(&host.ovs_db).await.expect("connect to OVS");
            for table in ["Port", "Interface"] {
                let rows = named_rows(&ovs, "Open_vSwitch", table, &key).await;
                found.extend(rows.into_iter().map(|row| format!("{}: {row}", host.name)));
            }
        }
    }
    found
}

/// The logical switches Docker network `network` is still mapped onto.
async fn switches_of(nb: &Client, network: &str) -> Vec<String> {
    let mut txn = Transaction::new("OVN_Northbound");
    let at = txn.select_columns("Logical_Switch", vec![], &["name", "external_ids"]);
    let outcome = nb.transact(&txn).await.expect("select switches");
    let key = format!("docker-ovn:docker-network:{network}");
    outcome
        .rows(at)
        .unwrap_or_default()
        .iter()
        .filter(|row| row.map_str("external_ids", &key).is_some())
        .map(|row| format!("Logical_Switch {}", row.get_str("name").unwrap_or_default()))
        .collect()
}

/// `"<table> <name>"` of every row whose `external_ids` include `ids`.
pub async fn named_rows(client: &Client, db: &str, table: &str, ids: &Value) -> Vec<String> {
    let mut txn = Transaction::new(db);
    let at = txn.select_columns(
        table,
        vec![Condition::includes("external_ids", ids.clone())],
        &["name"],
    );
    let outcome = client.transact(&txn).await.expect("select");
    outcome
        .rows(at)
        .unwrap_or_default()
        .iter()
        .map(|row| format!("{table} {}", row.get_str("name").unwrap_or_default()))
        .collect()
}

fn veths_left(host: &LabHost, endpoints: &[String]) -> Vec<String> {
    let mut args = vec![];
    if let Some(ns) = &host.netns {
        args.extend(["-n", ns.as_str()]);
    }
    args.extend(["-o", "link", "show"]);
    let links = String::from_utf8_lossy(&ip(&args).stdout).into_owned();
    endpoints
        .iter()
        .flat_map(|endpoint| ["ovn", "ovc"].map(|prefix| format!("{prefix}{}", &endpoint[..12])))
        .filter(|name| links.contains(&format!(" {name}")))
        .map(|name| format!("{}: veth {name}", host.name))
        .collect()
}

/// A logical switch's gateway as one lab host holds it.
pub struct GatewayOnHost<'a> {
    pub host: &'a LabHost,
    pub switch: &'a str,
    /// Its OVS internal port and device.
    pub interface: &'a str,
    /// The gateway address with prefix, as on the device (`10.1.0.1/24`).
    pub address: &'a str,
}

/// The iptables rules of a (not routed) network's gateway on a host: five
/// in the forward chain, three in nat `POSTROUTING`, one in raw
/// `PREROUTING` (`driver/src/host/firewall`).
pub const GATEWAY_RULES: usize = 9;

/// The kinds of a gateway's parts as [`gateway_parts`] lists them: its
/// port, device, address and [`GATEWAY_RULES`] rules, then `extra`.
pub fn gateway_kinds(extra: &[&'static str]) -> Vec<&'static str> {
    let mut kinds = vec!["Port", "device", "address"];
    kinds.extend(std::iter::repeat_n("rule", GATEWAY_RULES));
    kinds.extend_from_slice(extra);
    kinds
}

/// What of a gateway is present on its host, one line each: the OVS port,
/// the device, the address on any device, and the iptables rules (by
/// their comment `docker-ovn-gw:<switch>@<host>`).
pub fn gateway_parts(gateway: &GatewayOnHost<'_>) -> Vec<String> {
    let host = gateway.host;
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut found = runtime.block_on(async {
        let ovs = Client::connect(&host.ovs_db).await.expect("connect to OVS");
        let key = Value::map([("docker-ovn:gateway", gateway.switch)]);
        named_rows(&ovs, "Open_vSwitch", "Port", &key).await
    });
    let in_host = |args: &[&str]| -> String {
        let mut command = match &host.netns {
            Some(ns) => {
                let mut c = std::process::Command::new("ip");
                c.args(["netns", "exec", ns.as_str()]).args(args);
                c
            }
            None => {
                let mut c = std::process::Command::new(args[0]);
                c.args(&args[1..]);
                c
            }
        };
        let output = command
            .output()
            .expect("run a command in the host's namespace");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let links = in_host(&["ip", "-o", "link", "show"]);
    if links.contains(&format!(" {}:", gateway.interface)) {
        found.push(format!("device {}", gateway.interface));
    }
    let addresses = in_host(&["ip", "-o", "-4", "addr", "show"]);
    if addresses.contains(&format!(" {} ", gateway.address)) {
        found.push(format!("address {}", gateway.address));
    }
    let comment = format!("docker-ovn-gw:{}@{}\"", gateway.switch, host.system_id);
    for listing in [
        in_host(&["iptables", "-w", "-S"]),
        in_host(&["iptables", "-w", "-t", "nat", "-S", "POSTROUTING"]),
        in_host(&["iptables", "-w", "-t", "raw", "-S", "PREROUTING"]),
    ] {
        found.extend(
            listing
                .lines()
                .filter(|l| l.contains(&comment))
                .map(|l| format!("rule {l}")),
        );
    }
    found
}

/// The gateway's localport (`docker-ovn:gateway` = `switch`) in Northbound.
pub fn localports(lab: &Lab, switch: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let nb = Client::connect(&lab.nb_db()).await.expect("connect to NB");
        let key = Value::map([("docker-ovn:gateway", switch)]);
        named_rows(&nb, "OVN_Northbound", "Logical_Switch_Port", &key).await
    })
}
