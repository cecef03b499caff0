//! The `-d ovs` backend's own bridge in the Open_vSwitch database: made
//! when missing, its settings put back when changed, in one transaction
//! each, with no `ovs-vsctl`.
//!
//! What the bridge must be, and why:
//! - `fail_mode=secure`: with the driver away, ovs-vswitchd keeps the
//!   flows it has and adds no `NORMAL` flow, so networks stay apart.
//! - `protocols`: OpenFlow 1.3 (the driver's) and 1.4; 1.0 too, so that a
//!   plain `ovs-ofctl dump-flows br-docker` works for the engineer.
//! - `Flow_Table` names ([`Table::name`]): what `ovs-ofctl dump-table-features`
//!   and `ofproto/trace` show.
//! - `other_config:disable-in-band=true`: no hidden in-band flows.
//! - the datapath type asked for; an existing bridge keeps its own (a
//!   change would recreate the datapath under running containers) and
//!   the difference is logged.

use ovsdb_client::rows::{Bridge, Interface, OpenVSwitch, Port, TypedRow};
use ovsdb_client::transaction::{Condition, Mutation, Transaction};
use ovsdb_client::{Atom, Row, Value};

use crate::error::{DriverError, Result};
use crate::external_ids::{OWNER, OWNER_VALUE};
use crate::host::local_switch::LocalSwitch;
use crate::ovs::pipeline::Table;

const DB: &str = "Open_vSwitch";
const FLOW_TABLE: &str = "Flow_Table";
/// The OpenFlow versions the bridge accepts.
pub const PROTOCOLS: [&str; 3] = ["OpenFlow10", "OpenFlow13", "OpenFlow14"];

/// Where the kernel datapath's module shows when loaded.
const KERNEL_MODULE: &str = "/sys/module/openvswitch";

/// The datapath type for a new bridge when none is given: the kernel's
/// where its module is loaded, else the userspace one.
pub fn default_datapath_type() -> &'static str {
    if std::path::Path::new(KERNEL_MODULE).exists() {
        "system"
    } else {
        "netdev"
    }
}

/// Whether the bridge row `name` has the settings of [`PROTOCOLS`],
/// `fail_mode=secure` and named tables.
fn configured(row: &Row) -> bool {
    let protocols: Vec<&str> = row
        .get("protocols")
        .map(|v| v.atoms().iter().filter_map(Atom::as_str).collect())
        .unwrap_or_default();
    let tables = row.get("flow_tables").map_or(0, Value::len);
    row.get("fail_mode")
        .and_then(Value::atom)
        .and_then(Atom::as_str)
        == Some("secure")
        && PROTOCOLS.iter().all(|p| protocols.contains(p))
        && tables == Table::ALL.len()
}

/// The columns both a new and a repaired bridge get; the named tables
/// are inserted into `txn`.
fn settings(txn: &mut Transaction) -> Row {
    let tables: Vec<(Atom, Atom)> = Table::ALL
        .iter()
        .map(|table| {
            let row = txn.insert(FLOW_TABLE, Row::new().with("name", table.name()));
            (Atom::from(i64::from(table.number())), row)
        })
        .collect();
    Row::new()
        .with("fail_mode", "secure")
        .with("protocols", Value::set(PROTOCOLS))
        .with("flow_tables", Value::map(tables))
}

const IN_BAND_OFF: (&str, &str) = ("disable-in-band", "true");

/// The transaction that makes bridge `name`: its local port, named
/// tables and the settings above, linked into the Open_vSwitch row.
pub fn create_bridge_transaction(name: &str, datapath_type: &str) -> Transaction {
    let mut txn = Transaction::new(DB);
    let interface = txn.insert(
        Interface::TABLE,
        Row::new().with("name", name).with("type", "internal"),
    );
    let port = txn.insert(
        Port::TABLE,
        Row::new()
            .with("name", name)
            .with("interfaces", Value::from(interface)),
    );
    let bridge = settings(&mut txn)
        .with("name", name)
        .with("ports", Value::from(port))
        .with("datapath_type", datapath_type)
        .with("other_config", Value::map([IN_BAND_OFF]))
        .with("external_ids", Value::map([(OWNER, OWNER_VALUE)]));
    let bridge = txn.insert(Bridge::TABLE, bridge);
    txn.mutate(
        OpenVSwitch::TABLE,
        vec![],
        vec![Mutation::insert("bridges", Value::from(bridge))],
    );
    txn.comment(&format!("docker-ovn: create bridge {name}"));
    txn
}

/// The transaction that puts the settings of existing bridge `name` back.
pub fn configure_bridge_transaction(name: &str) -> Transaction {
    let mut txn = Transaction::new(DB);
    let row = settings(&mut txn);
    let this = || vec![Condition::eq("name", name)];
    txn.update(Bridge::TABLE, this(), row);
    // One key of other_config, not the column: keys set by hand stay.
    txn.mutate(
        Bridge::TABLE,
        this(),
        vec![
            Mutation::delete("other_config", Value::set([IN_BAND_OFF.0])),
            Mutation::insert("other_config", Value::map([IN_BAND_OFF])),
        ],
    );
    txn.comment(&format!("docker-ovn: configure bridge {name}"));
    txn
}

/// What [`ensure_bridge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeChange {
    Created,
    Reconfigured,
    AsItWas,
}

/// Makes the bridge of `ovs` (its [`LocalSwitch::bridge`]) as it must be.
pub async fn ensure_bridge(ovs: &LocalSwitch, datapath_type: &str) -> Result<BridgeChange> {
    let name = ovs.bridge();
    let found = ovs.replica().read(|t| {
        t.find_by(Bridge::TABLE, "name", name).map(|(_, row)| {
            let datapath = row.get_str("datapath_type").unwrap_or_default().to_string();
            (configured(row), datapath)
        })
    });
    let (txn, change) = match found {
        None => (
            create_bridge_transaction(name, datapath_type),
            BridgeChange::Created,
        ),
        Some((true, _)) => return Ok(BridgeChange::AsItWas),
        Some((false, datapath)) => {
            if datapath != datapath_type {
                tracing::warn!(bridge = %name, %datapath, asked = %datapath_type,
                    "the bridge keeps its datapath type");
            }
            (
                configure_bridge_transaction(name),
                BridgeChange::Reconfigured,
            )
        }
    };
    ovs.client()
        .transact(&txn)
        .await
        .map_err(|e| DriverError::Setup(format!("bridge {name}: {e}")))?;
    tracing::info!(bridge = %name, %datapath_type, ?change, "bridge ready");
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridge_with_settings_is_configured_and_one_without_is_not() {
        let mut txn = Transaction::new(DB);
        let row = settings(&mut txn).with(
            "flow_tables",
            Value::map(
                Table::ALL
                    .iter()
                    .map(|t| (i64::from(t.number()), ovsdb_client::Uuid::nil())),
            ),
        );
        assert!(configured(&row));
        assert!(!configured(&row.clone().with("fail_mode", "standalone")));
        assert!(!configured(
            &row.with("protocols", Value::set(["OpenFlow10"]))
        ));
    }

    #[test]
    fn creating_links_the_bridge_into_the_open_vswitch_row() {
        let txn = create_bridge_transaction("br-docker", "netdev");
        let text = txn.to_params().to_string();
        for expected in [
            "\"secure\"",
            "\"classifier\"",
            "\"output\"",
            "\"bridges\"",
            "\"netdev\"",
        ] {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    }
}
