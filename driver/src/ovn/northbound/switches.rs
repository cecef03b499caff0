//! Logical switches: one per Docker network, or one shared by the
//! networks of every host that name it; each switch's gateway localport,
//! and a provider network's localnet port ([`super::localnet`]).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ovsdb_client::rows::{Acl, LogicalSwitch, LogicalSwitchPort, TypedRow};
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};
use ovsdb_client::{Row, Uuid, Value};

use super::localnet::{is_switch_port, localnet_row, provider_keys, provider_of};
use super::{CREATE_ATTEMPTS, DB, Northbound, owned};
use crate::docker::network_spec::NetworkSpec;
use crate::docker::provider_network::ProviderNetwork;
use crate::error::{DriverError, Result};
use crate::external_ids::*;
use crate::mac::MacAddr;
use crate::names::gateway_logical_port;

impl Northbound {
    /// Every switch the driver owns.
    pub fn switches(&self) -> Vec<SwitchInfo> {
        self.replica.read(|t| {
            t.rows(LogicalSwitch::TABLE)
                .filter(|(_, row)| owned(row))
                .map(|(uuid, row)| switch_info(uuid, row))
                .collect()
        })
    }

    /// The switch Docker network `network` is mapped onto.
    pub fn switch_of(&self, network: &str) -> Option<SwitchInfo> {
        let key = docker_network_key(network);
        self.replica.read(|t| {
            t.find(LogicalSwitch::TABLE, |row| {
                owned(row) && row.map_str("external_ids", &key).is_some()
            })
            .map(|(uuid, row)| switch_info(uuid, row))
        })
    }

    /// Maps the Docker network of `spec` onto its logical switch, creating
    /// the switch unless another host (or network) already did.
    pub async fn create_network(&self, spec: &NetworkSpec, host: &str) -> Result<()> {
        // A retry must not map the network onto a second switch.
        if let Some(mapped) = self.switch_of(spec.network.as_str())
            && mapped.name != spec.switch
        {
            return Err(DriverError::Conflict(format!(
                "network {} already exists on logical switch {}, not {}",
                spec.network, mapped.name, spec.switch
            )));
        }
        for _ in 0..CREATE_ATTEMPTS {
            let existing = self.replica.read(|t| {
                t.find(LogicalSwitch::TABLE, |row| {
                    row.get_str("name") == Some(spec.switch.as_str())
                })
                .map(|(uuid, row)| (uuid, row.clone()))
            });
            let done = match existing {
                None => self.insert_switch(spec, host).await?,
                Some((uuid, row)) => self.join_switch(spec, host, uuid, &row).await?,
            };
            if done {
                return Ok(());
            }
        }
        Err(DriverError::Conflict(format!(
            "logical switch {} kept changing while network {} was being created; try again",
            spec.switch, spec.network
        )))
    }

    /// `Ok(false)` when someone created the switch first.
    async fn insert_switch(&self, spec: &NetworkSpec, host: &str) -> Result<bool> {
        let mut txn = Transaction::new(DB);
        txn.wait(
            LogicalSwitch::TABLE,
            vec![Condition::eq("name", spec.switch.as_str())],
            &["name"],
            WaitUntil::Equal,
            vec![],
            Some(Duration::ZERO),
        );
        let mut ids = spec_external_ids(spec);
        ids.extend(network_keys(spec, host));
        let mut row = Row::new().with("name", spec.switch.as_str());
        if let Some(acl) = super::policy::isolation_acl(spec) {
            let acl = txn.insert(Acl::TABLE, acl);
            row = row.with("acls", Value::set([acl]));
        }
        let mut ports = Vec::new();
        if let Some(provider) = &spec.provider {
            ids.extend(provider_keys(provider));
            let localnet = localnet_row(&spec.switch, provider);
            ports.push(txn.insert(LogicalSwitchPort::TABLE, localnet));
        }
        let host_gateway = spec.provider.as_ref().is_none_or(|p| p.host_gateway);
        if let Some(IpAddr::V4(gateway)) = spec.gateway4.filter(|_| !spec.internal && host_gateway)
        {
            let localport = localport_row(&spec.switch, gateway);
            ports.push(txn.insert(LogicalSwitchPort::TABLE, localport));
        }
        if !ports.is_empty() {
            row = row.with("ports", Value::set(ports));
        }
        row = row.with("external_ids", Value::map(ids));
        txn.insert(LogicalSwitch::TABLE, row);
        txn.comment(&format!("docker-ovn: create network {}", spec.network));
        match self.client.transact(&txn).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_timed_out_at(0) => Ok(false),
            Err(e) => Err(DriverError::nb(e)),
        }
    }

    /// Adds this Docker network to an existing switch after checking it
    /// is ours and defined the same way. `Ok(false)` if it vanished.
    async fn join_switch(
        &self,
        spec: &NetworkSpec,
        host: &str,
        uuid: Uuid,
        row: &Row,
    ) -> Result<bool> {
        if !owned(row) {
            return Err(DriverError::Conflict(format!(
                "logical switch {} exists and is not managed by docker-ovn",
                spec.switch
            )));
        }
        let info = switch_info(uuid, row);
        check_same_definition(spec, &info)?;
        let mut txn = Transaction::new(DB);
        // Networks from before gateways existed get their localport here.
        let guarded = self.push_localport(&mut txn, &info);
        let mutate = txn.mutate(
            LogicalSwitch::TABLE,
            vec![Condition::uuid(uuid)],
            vec![Mutation::insert(
                "external_ids",
                Value::map(network_keys(spec, host)),
            )],
        );
        txn.comment(&format!(
            "docker-ovn: map network {} onto {}",
            spec.network, spec.switch
        ));
        match self.client.transact(&txn).await {
            Ok(outcome) => Ok(outcome.count(mutate) == Some(1)),
            // Another host added the localport first: read again.
            Err(e) if guarded && e.is_timed_out_at(0) => Ok(false),
            Err(e) => Err(DriverError::nb(e)),
        }
    }

    /// Whether `switch` has its gateway's localport.
    pub fn has_localport(&self, switch: &SwitchInfo) -> bool {
        let name = gateway_logical_port(&switch.name);
        self.replica.read(|t| {
            switch.ports.iter().any(|uuid| {
                t.get(LogicalSwitchPort::TABLE, *uuid)
                    .is_some_and(|row| owned(row) && row.get_str("name") == Some(name.as_str()))
            })
        })
    }

    /// Appends to `txn` (as its first operations) the creation of the
    /// localport of `switch`'s gateway, if it should have one and has
    /// none; the first operation fails if another client made it
    /// meanwhile. Returns whether anything was appended.
    fn push_localport(&self, txn: &mut Transaction, switch: &SwitchInfo) -> bool {
        let Some(gateway) = switch.gateway() else {
            return false;
        };
        if self.has_localport(switch) {
            return false;
        }
        let name = gateway_logical_port(&switch.name);
        txn.wait(
            LogicalSwitchPort::TABLE,
            vec![Condition::eq("name", name.as_str())],
            &["name"],
            WaitUntil::Equal,
            vec![],
            Some(Duration::ZERO),
        );
        let localport = txn.insert(
            LogicalSwitchPort::TABLE,
            localport_row(&switch.name, gateway),
        );
        txn.mutate(
            LogicalSwitch::TABLE,
            vec![Condition::uuid(switch.uuid)],
            vec![Mutation::insert("ports", Value::set([localport]))],
        );
        true
    }

    /// Adds the gateway's localport to `switch` if it lacks one (a switch
    /// from before gateways, or one whose localport was deleted by hand).
    /// `Ok(false)` when nothing was needed or another client got there first.
    pub async fn ensure_localport(&self, switch: &SwitchInfo) -> Result<bool> {
        let mut txn = Transaction::new(DB);
        if !self.push_localport(&mut txn, switch) {
            return Ok(false);
        }
        txn.comment(&format!("docker-ovn: gateway of {}", switch.name));
        match self.client.transact(&txn).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_timed_out_at(0) => Ok(false),
            Err(e) => Err(DriverError::nb(e)),
        }
    }

    /// Unmaps Docker network `network`, deleting its ports made by `host`
    /// and the switch itself once no Docker network uses it.
    pub async fn delete_network(&self, network: &str, host: &str) -> Result<()> {
        let Some(switch) = self.switch_of(network) else {
            return Ok(());
        };
        let ours: Vec<Uuid> = self.replica.read(|t| {
            switch
                .ports
                .iter()
                .filter(|uuid| {
                    t.get(LogicalSwitchPort::TABLE, **uuid).is_some_and(|row| {
                        owned(row)
                            && row.map_str("external_ids", NETWORK) == Some(network)
                            && row.map_str("external_ids", HOST) == Some(host)
                    })
                })
                .copied()
                .collect()
        });
        let switch_ports = self.replica.read(|t| {
            let row = |uuid: &&Uuid| t.get(LogicalSwitchPort::TABLE, **uuid);
            let of_switch = |r: &Row| is_switch_port(r, &switch.name);
            switch
                .ports
                .iter()
                .filter(|u| row(u).is_some_and(of_switch))
                .count()
        });
        let last_user = switch.docker_networks.iter().all(|(n, _)| n == network);
        let mut txn = Transaction::new(DB);
        // Its localport and localnet port go with the switch: nobody
        // else's port is left.
        if last_user && ours.len() + switch_ports == switch.ports.len() {
            txn.delete(LogicalSwitch::TABLE, vec![Condition::uuid(switch.uuid)]);
        } else {
            txn.mutate(
                LogicalSwitch::TABLE,
                vec![Condition::uuid(switch.uuid)],
                vec![
                    Mutation::delete(
                        "external_ids",
                        Value::set([docker_network_key(network), aux_key(network)]),
                    ),
                    Mutation::delete("ports", Value::set(ours)),
                ],
            );
        }
        txn.comment(&format!("docker-ovn: delete network {network}"));
        self.client.transact(&txn).await.map_err(DriverError::nb)?;
        Ok(())
    }
}

/// A logical switch as the driver reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchInfo {
    pub uuid: Uuid,
    pub name: String,
    pub subnet4: Option<String>,
    pub subnet6: Option<String>,
    pub gateway4: Option<String>,
    pub gateway6: Option<String>,
    pub mtu: Option<u32>,
    pub internal: bool,
    /// Its containers reach each other (not `ovn.icc=false`).
    pub icc: bool,
    /// Each container's rate limit in Mbit/s (`ovn.rate`).
    pub rate_mbit: Option<u32>,
    /// The physical network of a provider network; `None` on the overlay.
    pub provider: Option<ProviderNetwork>,
    /// (Docker network id, host) of every Docker network mapped onto it.
    pub docker_networks: Vec<(String, String)>,
    pub ports: Vec<Uuid>,
}

impl SwitchInfo {
    /// The IPv4 gateway of a network that has one: not `--internal`, and
    /// given a gateway by IPAM.
    /// A provider network has one only with `ovn.gateway=host`: its
    /// gateway address is otherwise the physical network's router.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        if self.provider.as_ref().is_some_and(|p| !p.host_gateway) {
            return None;
        }
        self.router()
    }

    /// The IPv4 address containers route through: the network's gateway
    /// (this host's or, on a provider network, the physical router), none
    /// on an `--internal` network.
    pub fn router(&self) -> Option<Ipv4Addr> {
        if self.internal {
            return None;
        }
        self.gateway4.as_deref()?.parse().ok()
    }

    /// Whether Docker network `network` is not the only one of `host`
    /// mapped onto this switch.
    pub fn used_by_another_network_of(&self, host: &str, network: &str) -> bool {
        self.docker_networks
            .iter()
            .any(|(n, h)| h == host && n != network)
    }
}

/// The switch keys of one Docker network: its host, and its aux addresses.
fn network_keys(spec: &NetworkSpec, host: &str) -> Vec<(String, String)> {
    let mut keys = vec![(docker_network_key(spec.network.as_str()), host.to_string())];
    if !spec.aux.is_empty() {
        let aux: Vec<String> = spec.aux.iter().map(IpAddr::to_string).collect();
        keys.push((aux_key(spec.network.as_str()), aux.join(" ")));
    }
    keys
}

fn spec_external_ids(spec: &NetworkSpec) -> Vec<(String, String)> {
    let mut ids = vec![(OWNER.to_string(), OWNER_VALUE.to_string())];
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            ids.push((key.to_string(), value));
        }
    };
    put(SUBNET4, spec.subnet4.map(|s| s.to_string()));
    put(GATEWAY4, spec.gateway4.map(|g| g.to_string()));
    put(SUBNET6, spec.subnet6.map(|s| s.to_string()));
    put(GATEWAY6, spec.gateway6.map(|g| g.to_string()));
    put(MTU, spec.mtu.map(|m| m.to_string()));
    put(INTERNAL, spec.internal.then(|| "true".to_string()));
    put(ICC, (!spec.policy.icc).then(|| "false".to_string()));
    put(RATE, spec.policy.rate_mbit.map(|r| r.to_string()));
    ids
}

/// A second Docker network on a switch must agree on its addressing and
/// its policy.
fn check_same_definition(spec: &NetworkSpec, switch: &SwitchInfo) -> Result<()> {
    let same = switch.subnet4 == spec.subnet4.map(|s| s.to_string())
        && switch.subnet6 == spec.subnet6.map(|s| s.to_string());
    if !same {
        return Err(DriverError::Conflict(format!(
            "network {} already exists with subnets {}/{}; create it with the same --subnet on every host",
            switch.name,
            switch.subnet4.as_deref().unwrap_or("-"),
            switch.subnet6.as_deref().unwrap_or("-"),
        )));
    }
    if switch.provider != spec.provider {
        let describe = |p: Option<&ProviderNetwork>| {
            p.map_or("the overlay".to_string(), |p| {
                format!("physical network {}", p.describe())
            })
        };
        return Err(DriverError::Conflict(format!(
            "network {} already exists on {}; create it with the same ovn.physnet, ovn.vlan \
             and ovn.gateway on every host",
            switch.name,
            describe(switch.provider.as_ref()),
        )));
    }
    if (switch.icc, switch.rate_mbit) != (spec.policy.icc, spec.policy.rate_mbit) {
        let rate = switch
            .rate_mbit
            .map_or("none".to_string(), |r| r.to_string());
        return Err(DriverError::Conflict(format!(
            "network {} already exists with ovn.icc={} and ovn.rate={rate}; create it with \
             the same options on every host",
            switch.name, switch.icc
        )));
    }
    Ok(())
}

/// A switch row read through its typed row. ovsdb-server enforces the
/// schema, so a monitored column never has another type; such a row would
/// read as a switch with no settings.
fn switch_info(uuid: Uuid, row: &Row) -> SwitchInfo {
    let switch = LogicalSwitch::from_row(uuid, row).unwrap_or_else(|error| {
        tracing::warn!(%uuid, %error, "a logical switch row of an unexpected shape");
        LogicalSwitch {
            uuid,
            ..Default::default()
        }
    });
    let ids = &switch.external_ids;
    let id = |key: &str| ids.get(key).cloned();
    let docker_networks = ids
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(DOCKER_NETWORK_PREFIX)?.to_string(),
                v.clone(),
            ))
        })
        .collect();
    SwitchInfo {
        uuid,
        subnet4: id(SUBNET4),
        subnet6: id(SUBNET6),
        gateway4: id(GATEWAY4),
        gateway6: id(GATEWAY6),
        mtu: id(MTU).and_then(|m| m.parse().ok()),
        internal: id(INTERNAL).as_deref() == Some("true"),
        icc: id(ICC).as_deref() != Some("false"),
        rate_mbit: id(RATE).and_then(|r| r.parse().ok()),
        provider: provider_of(ids),
        docker_networks,
        name: switch.name,
        ports: switch.ports,
    }
}

/// The gateway's `localport`: bound on every host that has an OVS port
/// with its name as `iface-id`, and reached only from ports of that host.
/// No port security: the host routes traffic from anywhere through it.
fn localport_row(switch: &str, gateway: Ipv4Addr) -> Row {
    let addresses = format!("{} {gateway}", MacAddr::from_ipv4(gateway));
    Row::new()
        .with("name", gateway_logical_port(switch).as_str())
        .with("type", "localport")
        .with("addresses", Value::set([addresses]))
        .with(
            "external_ids",
            Value::map([(OWNER, OWNER_VALUE), (GATEWAY_OF, switch)]),
        )
}
