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
    }
    found
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
