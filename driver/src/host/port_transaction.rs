//! The one transaction that adds a port to a bridge: every port the
//! driver makes (endpoints, gateways, tunnels, uplinks) is added by it.

use std::time::Duration;

use ovsdb_client::Row;
use ovsdb_client::Value;
use ovsdb_client::rows::{Bridge, Interface, Port, TypedRow};
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};

const DB: &str = "Open_vSwitch";

/// The transaction that adds port `name` to `bridge`: Interface
/// `interface` and Port `port` (each named and marked here), and the
/// bridge's reference, linked by named UUIDs; it fails whole when the
/// bridge is missing. Join's is `docs/golden/join.open_vswitch.json`.
pub fn add_port_transaction(
    bridge: &str,
    name: &str,
    (interface, port): (Row, Row),
    external_ids: &[(String, String)],
) -> Transaction {
    let ids = Value::map(external_ids.iter().cloned());
    let mut txn = Transaction::new(DB);
    txn.wait(
        Bridge::TABLE,
        vec![Condition::eq("name", bridge)],
        &["name"],
        WaitUntil::NotEqual,
        vec![],
        Some(Duration::ZERO),
    );
    let interface = txn.insert(
        Interface::TABLE,
        interface
            .with("name", name)
            .with("external_ids", ids.clone()),
    );
    let port = txn.insert(
        Port::TABLE,
        port.with("name", name)
            .with("interfaces", Value::from(interface))
            .with("external_ids", ids),
    );
    txn.mutate(
        Bridge::TABLE,
        vec![Condition::eq("name", bridge)],
        vec![Mutation::insert("ports", Value::from(port))],
    );
    txn.comment(&format!("docker-ovn: add port {name}"));
    txn
}
