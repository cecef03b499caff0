//! Logical switch ports: one per endpoint, bound to its host's chassis.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ovsdb_client::rows::{LogicalSwitch, LogicalSwitchPort, Qos, TypedRow};
use ovsdb_client::transaction::{Condition, Mutation, Transaction};
use ovsdb_client::{Row, Tables, Uuid, Value};

use super::SwitchInfo;
use super::{DB, Northbound, owned};
use crate::error::{DriverError, Result};
use crate::external_ids::*;
use crate::mac::MacAddr;

impl Northbound {
    /// Every address a logical switch port holds, plus the aux addresses
    /// of the driver's networks: what the IPAM driver must not reclaim.
    pub fn addresses_in_use(&self) -> HashSet<IpAddr> {
        self.replica.read(|t| {
            let mut in_use = HashSet::new();
            let mut add = |text: &str| {
                in_use.extend(text.split(' ').filter_map(|w| w.parse::<IpAddr>().ok()))
            };
            for (_, row) in t.rows(LogicalSwitchPort::TABLE) {
                let addresses = row.get("addresses").map(|v| v.atoms()).unwrap_or_default();
                addresses
                    .iter()
                    .filter_map(|a| a.as_str())
                    .for_each(&mut add);
            }
            for (_, row) in t.rows(LogicalSwitch::TABLE) {
                let ids = row
                    .get("external_ids")
                    .and_then(Value::as_map)
                    .unwrap_or_default();
                ids.iter()
                    .filter(|(k, _)| k.as_str().is_some_and(|k| k.starts_with(AUX_PREFIX)))
                    .filter_map(|(_, v)| v.as_str())
                    .for_each(&mut add);
            }
            in_use
        })
    }

    /// The port of endpoint `endpoint`, if the driver made one.
    pub fn port(&self, endpoint: &str) -> Option<PortInfo> {
        self.replica.read(|t| find_port(t, endpoint))
    }

    /// Waits until endpoint `endpoint`'s port satisfies `check`, for at
    /// most `timeout`; `None` if it did not.
    pub async fn wait_port<T>(
        &self,
        endpoint: &str,
        timeout: Duration,
        check: impl Fn(&PortInfo) -> Option<T>,
    ) -> Option<T> {
        let what = format!("logical switch port {endpoint}");
        self.replica
            .wait_for(timeout, &what, |t| {
                find_port(t, endpoint).and_then(|p| check(&p))
            })
            .await
            .ok()
    }

    /// Every port the driver made on `host`.
    pub fn ports_of_host(&self, host: &str) -> Vec<PortInfo> {
        self.replica.read(|t| {
            t.rows(LogicalSwitchPort::TABLE)
                .filter(|(_, row)| owned(row) && row.map_str("external_ids", HOST) == Some(host))
                .filter_map(|(uuid, row)| port_info(uuid, row))
                .collect()
        })
    }

    /// Creates the logical switch port of a new endpoint on `switch`.
    /// Retrying with the same endpoint and addresses succeeds; with other
    /// addresses it is a conflict.
    pub async fn create_port(&self, switch: &SwitchInfo, port: &NewPort<'_>) -> Result<()> {
        let addresses = port.addresses();
        if let Some(existing) = self.port(port.endpoint) {
            if existing.addresses == addresses && existing.network == port.network {
                return Ok(());
            }
            return Err(DriverError::Conflict(format!(
                "endpoint {} already exists with addresses {}",
                port.endpoint, existing.addresses
            )));
        }
        let (txn, link) = create_port_transaction(switch.uuid, port);
        let outcome = self.client.transact(&txn).await.map_err(DriverError::nb)?;
        if outcome.count(link) != Some(1) {
            // The switch vanished; the unreferenced port was collected.
            return Err(DriverError::UnknownNetwork {
                network: port.network.to_string(),
            });
        }
        Ok(())
    }

    /// The QoS rows of endpoint `endpoint`'s rate limit.
    fn rate_rows_of(&self, endpoint: &str) -> Vec<Uuid> {
        self.replica.read(|t| {
            t.rows(Qos::TABLE)
                .filter(|(_, row)| {
                    owned(row) && row.map_str("external_ids", ENDPOINT) == Some(endpoint)
                })
                .map(|(uuid, _)| uuid)
                .collect()
        })
    }

    /// Deletes endpoint `endpoint`'s port (and its rate limit's rows);
    /// `Ok(false)` if there was none.
    pub async fn delete_port(&self, endpoint: &str) -> Result<bool> {
        let Some(port) = self.port(endpoint) else {
            return Ok(false);
        };
        let mut txn = Transaction::new(DB);
        txn.unlink(LogicalSwitch::TABLE, "ports", port.uuid);
        for qos in self.rate_rows_of(endpoint) {
            txn.unlink(LogicalSwitch::TABLE, "qos_rules", qos);
        }
        txn.comment(&format!("docker-ovn: delete endpoint {endpoint}"));
        self.client.transact(&txn).await.map_err(DriverError::nb)?;
        Ok(true)
    }
}

/// A logical switch port of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub uuid: Uuid,
    pub endpoint: String,
    pub network: String,
    pub host: String,
    pub mac: MacAddr,
    pub addresses: String,
    pub up: bool,
    /// When CreateEndpoint made it (seconds since the epoch), if recorded.
    pub created_at: Option<u64>,
    /// A nested container's VLAN tag under its VM's port, once ovn-northd
    /// has picked it.
    pub tag: Option<u16>,
}

/// What a new endpoint's port holds.
#[derive(Debug, Clone)]
pub struct NewPort<'a> {
    pub endpoint: &'a str,
    pub network: &'a str,
    pub host: &'a str,
    pub mac: MacAddr,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// When it is made (unix seconds): reconciliation's clock for an
    /// endpoint never joined.
    pub created: u64,
    /// Its network's per-container rate limit (`ovn.rate`).
    pub rate_mbit: Option<u32>,
    /// On a Docker host that is a VM: the VM's logical port, whose child
    /// this port is (`parent_name`), on a VLAN ovn-northd picks.
    pub parent: Option<&'a str>,
}

impl NewPort<'_> {
    /// `"MAC [IPv4] [IPv6]"`, the form of `addresses` and `port_security`.
    fn addresses(&self) -> String {
        let mut text = self.mac.to_string();
        for ip in [
            self.ipv4.map(|a| a.to_string()),
            self.ipv6.map(|a| a.to_string()),
        ]
        .into_iter()
        .flatten()
        {
            text.push(' ');
            text.push_str(&ip);
        }
        text
    }
}

/// CreateEndpoint's transaction: the logical switch port and the switch's
/// reference to it; the second value is the index of the reference's
/// result, whose count is 0 when the switch vanished. Its JSON is
/// `docs/golden/create-endpoint.northbound.json`.
pub fn create_port_transaction(switch: Uuid, port: &NewPort<'_>) -> (Transaction, usize) {
    let mut txn = Transaction::new(DB);
    let lsp = txn.insert(LogicalSwitchPort::TABLE, port_row(port, &port.addresses()));
    let mut mutations = vec![Mutation::insert("ports", Value::from(lsp))];
    if let Some(rate) = port.rate_mbit {
        let rows = super::policy::rate_rows(port.endpoint, rate);
        let qos: Vec<_> = rows
            .into_iter()
            .map(|row| txn.insert(Qos::TABLE, row))
            .collect();
        mutations.push(Mutation::insert("qos_rules", Value::set(qos)));
    }
    let link = txn.mutate(
        LogicalSwitch::TABLE,
        vec![Condition::uuid(switch)],
        mutations,
    );
    txn.comment(&format!("docker-ovn: endpoint {}", port.endpoint));
    (txn, link)
}

fn port_row(port: &NewPort<'_>, addresses: &str) -> Row {
    let row = Row::new()
        .with("name", port.endpoint)
        .with("addresses", Value::set([addresses]))
        .with("port_security", Value::set([addresses]));
    // A child is bound wherever its parent is: no chassis of its own;
    // `tag_request` 0 has ovn-northd pick a tag unique under the parent
    // (no pool to race for).
    let row = match port.parent {
        None => row.with("options", Value::map([("requested-chassis", port.host)])),
        Some(parent) => row
            .with("parent_name", parent)
            .with("tag_request", Value::from(0_i64)),
    };
    row.with(
        "external_ids",
        Value::map([
            (OWNER, OWNER_VALUE),
            (NETWORK, port.network),
            (ENDPOINT, port.endpoint),
            (HOST, port.host),
            (CREATED, &port.created.to_string()),
        ]),
    )
}

fn find_port(tables: &Tables, endpoint: &str) -> Option<PortInfo> {
    let (uuid, row) = tables.find_by(LogicalSwitchPort::TABLE, "name", endpoint)?;
    if !owned(row) {
        return None;
    }
    port_info(uuid, row)
}

/// An endpoint's port read through its typed row; `None` for a row that
/// is no endpoint's (no `"MAC ..."` address).
fn port_info(uuid: Uuid, row: &Row) -> Option<PortInfo> {
    let port = LogicalSwitchPort::from_row(uuid, row).ok()?;
    let addresses = port.addresses.first()?.clone();
    let mac = addresses.split(' ').next()?.parse().ok()?;
    let id = |key: &str| port.external_ids.get(key).cloned().unwrap_or_default();
    Some(PortInfo {
        uuid,
        network: id(NETWORK),
        host: id(HOST),
        mac,
        addresses,
        up: port.up == Some(true),
        created_at: port.external_ids.get(CREATED).and_then(|t| t.parse().ok()),
        tag: port
            .tag
            .and_then(|t| u16::try_from(t).ok())
            .filter(|t| *t > 0),
        endpoint: port.name,
    })
}
