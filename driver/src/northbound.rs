//! The OVN Northbound database: logical switches for Docker networks and
//! logical switch ports for endpoints.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};
use ovsdb_client::{Client, ClientConfig, Replica, Row, Tables, Uuid, Value};

use crate::error::{DriverError, Result};
use crate::external_ids::*;
use crate::mac::MacAddr;
use crate::names::gateway_logical_port;
use crate::network_spec::NetworkSpec;

const DB: &str = "OVN_Northbound";
/// Concurrent creators of one shared switch retry this often at most.
const CREATE_ATTEMPTS: usize = 5;

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
    /// (Docker network id, host) of every Docker network mapped onto it.
    pub docker_networks: Vec<(String, String)>,
    pub ports: Vec<Uuid>,
}

impl SwitchInfo {
    /// The IPv4 gateway of a network that has one: not `--internal`, and
    /// given a gateway by IPAM.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
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

/// The Northbound client and its replica of switches and ports.
#[derive(Clone)]
pub struct Northbound {
    client: Client,
    replica: Replica,
}

impl Northbound {
    pub async fn connect(target: &str, timeout: Duration) -> Result<Northbound> {
        let config = ClientConfig::new(target)
            .map_err(DriverError::nb)?
            .request_timeout(timeout);
        let client = Client::connect_lazily(config);
        let replica = client
            .replicate(
                DB,
                &[
                    MonitorRequest::new("Logical_Switch").columns(&[
                        "name",
                        "ports",
                        "external_ids",
                    ]),
                    MonitorRequest::new("Address_Set").columns(&[
                        "name",
                        "addresses",
                        "external_ids",
                    ]),
                    MonitorRequest::new("Logical_Switch_Port").columns(&[
                        "name",
                        "addresses",
                        "port_security",
                        "options",
                        "external_ids",
                        "up",
                    ]),
                ],
            )
            .await
            .map_err(DriverError::nb)?;
        Ok(Northbound { client, replica })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The replica (switches, ports and address sets).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Every switch the driver owns.
    pub fn switches(&self) -> Vec<SwitchInfo> {
        self.replica.read(|t| {
            t.rows("Logical_Switch")
                .filter(|(_, row)| owned(row))
                .map(|(uuid, row)| switch_info(uuid, row))
                .collect()
        })
    }

    /// The switch Docker network `network` is mapped onto.
    pub fn switch_of(&self, network: &str) -> Option<SwitchInfo> {
        let key = docker_network_key(network);
        self.replica.read(|t| {
            t.find("Logical_Switch", |row| {
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
                t.find("Logical_Switch", |row| {
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
            "Logical_Switch",
            vec![Condition::eq("name", spec.switch.as_str())],
            &["name"],
            WaitUntil::Equal,
            vec![],
            Some(Duration::ZERO),
        );
        let mut ids = spec_external_ids(spec);
        ids.extend(network_keys(spec, host));
        let mut row = Row::new()
            .with("name", spec.switch.as_str())
            .with("external_ids", Value::map(ids));
        if let Some(IpAddr::V4(gateway)) = spec.gateway4.filter(|_| !spec.internal) {
            let localport = txn.insert("Logical_Switch_Port", localport_row(&spec.switch, gateway));
            row = row.with("ports", Value::set([localport]));
        }
        txn.insert("Logical_Switch", row);
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
            "Logical_Switch",
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
                t.get("Logical_Switch_Port", *uuid)
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
            "Logical_Switch_Port",
            vec![Condition::eq("name", name.as_str())],
            &["name"],
            WaitUntil::Equal,
            vec![],
            Some(Duration::ZERO),
        );
        let localport = txn.insert("Logical_Switch_Port", localport_row(&switch.name, gateway));
        txn.mutate(
            "Logical_Switch",
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
                    t.get("Logical_Switch_Port", **uuid).is_some_and(|row| {
                        owned(row)
                            && row.map_str("external_ids", NETWORK) == Some(network)
                            && row.map_str("external_ids", HOST) == Some(host)
                    })
                })
                .copied()
                .collect()
        });
        let localports = usize::from(self.has_localport(&switch));
        let last_user = switch.docker_networks.iter().all(|(n, _)| n == network);
        let mut txn = Transaction::new(DB);
        // The localport goes with the switch: nobody else's port is left.
        if last_user && ours.len() + localports == switch.ports.len() {
            txn.delete("Logical_Switch", vec![Condition::uuid(switch.uuid)]);
        } else {
            txn.mutate(
                "Logical_Switch",
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

    /// Every address a logical switch port holds, plus the aux addresses
    /// of the driver's networks: what the IPAM driver must not reclaim.
    pub fn addresses_in_use(&self) -> HashSet<IpAddr> {
        self.replica.read(|t| {
            let mut in_use = HashSet::new();
            let mut add = |text: &str| {
                in_use.extend(text.split(' ').filter_map(|w| w.parse::<IpAddr>().ok()))
            };
            for (_, row) in t.rows("Logical_Switch_Port") {
                let addresses = row.get("addresses").map(|v| v.atoms()).unwrap_or_default();
                addresses
                    .iter()
                    .filter_map(|a| a.as_str())
                    .for_each(&mut add);
            }
            for (_, row) in t.rows("Logical_Switch") {
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

    /// Every port the driver made on `host`.
    pub fn ports_of_host(&self, host: &str) -> Vec<PortInfo> {
        self.replica.read(|t| {
            t.rows("Logical_Switch_Port")
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
        let mut txn = Transaction::new(DB);
        let lsp = txn.insert("Logical_Switch_Port", port_row(port, &addresses));
        let link = txn.mutate(
            "Logical_Switch",
            vec![Condition::uuid(switch.uuid)],
            vec![Mutation::insert("ports", Value::from(lsp))],
        );
        txn.comment(&format!("docker-ovn: endpoint {}", port.endpoint));
        let outcome = self.client.transact(&txn).await.map_err(DriverError::nb)?;
        if outcome.count(link) != Some(1) {
            // The switch vanished; the unreferenced port was collected.
            return Err(DriverError::UnknownNetwork {
                network: port.network.to_string(),
            });
        }
        Ok(())
    }

    /// Deletes endpoint `endpoint`'s port; `Ok(false)` if there was none.
    pub async fn delete_port(&self, endpoint: &str) -> Result<bool> {
        let Some(port) = self.port(endpoint) else {
            return Ok(false);
        };
        let mut txn = Transaction::new(DB);
        txn.unlink("Logical_Switch", "ports", port.uuid);
        txn.comment(&format!("docker-ovn: delete endpoint {endpoint}"));
        self.client.transact(&txn).await.map_err(DriverError::nb)?;
        Ok(true)
    }
}

fn owned(row: &Row) -> bool {
    row.map_str("external_ids", OWNER) == Some(OWNER_VALUE)
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
    ids
}

/// A second Docker network on a switch must agree on its addressing.
fn check_same_definition(spec: &NetworkSpec, switch: &SwitchInfo) -> Result<()> {
    let same = switch.subnet4 == spec.subnet4.map(|s| s.to_string())
        && switch.subnet6 == spec.subnet6.map(|s| s.to_string());
    if same {
        return Ok(());
    }
    Err(DriverError::Conflict(format!(
        "network {} already exists with subnets {}/{}; create it with the same --subnet on every host",
        switch.name,
        switch.subnet4.as_deref().unwrap_or("-"),
        switch.subnet6.as_deref().unwrap_or("-"),
    )))
}

fn switch_info(uuid: Uuid, row: &Row) -> SwitchInfo {
    let id = |key: &str| row.map_str("external_ids", key).map(str::to_string);
    let docker_networks = row
        .get("external_ids")
        .and_then(Value::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| {
            let network = k.as_str()?.strip_prefix(DOCKER_NETWORK_PREFIX)?;
            Some((network.to_string(), v.as_str()?.to_string()))
        })
        .collect();
    SwitchInfo {
        uuid,
        name: row.get_str("name").unwrap_or_default().to_string(),
        subnet4: id(SUBNET4),
        subnet6: id(SUBNET6),
        gateway4: id(GATEWAY4),
        gateway6: id(GATEWAY6),
        mtu: id(MTU).and_then(|m| m.parse().ok()),
        internal: id(INTERNAL).as_deref() == Some("true"),
        docker_networks,
        ports: row
            .get("ports")
            .map(|p| p.atoms().iter().filter_map(|a| a.as_uuid()).collect())
            .unwrap_or_default(),
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

fn port_row(port: &NewPort<'_>, addresses: &str) -> Row {
    Row::new()
        .with("name", port.endpoint)
        .with("addresses", Value::set([addresses]))
        .with("port_security", Value::set([addresses]))
        .with("options", Value::map([("requested-chassis", port.host)]))
        .with(
            "external_ids",
            Value::map([
                (OWNER, OWNER_VALUE),
                (NETWORK, port.network),
                (ENDPOINT, port.endpoint),
                (HOST, port.host),
                (CREATED, &unix_now().to_string()),
            ]),
        )
}

fn find_port(tables: &Tables, endpoint: &str) -> Option<PortInfo> {
    let (uuid, row) = tables.find_by("Logical_Switch_Port", "name", endpoint)?;
    if !owned(row) {
        return None;
    }
    port_info(uuid, row)
}

fn port_info(uuid: Uuid, row: &Row) -> Option<PortInfo> {
    let addresses = row.get("addresses")?.atoms().first()?.as_str()?.to_string();
    let mac = addresses.split(' ').next()?.parse().ok()?;
    let id = |key: &str| {
        row.map_str("external_ids", key)
            .unwrap_or_default()
            .to_string()
    };
    Some(PortInfo {
        uuid,
        endpoint: row.get_str("name").unwrap_or_default().to_string(),
        network: id(NETWORK),
        host: id(HOST),
        mac,
        addresses,
        up: row
            .get("up")
            .and_then(|v| v.atom())
            .and_then(|a| a.as_bool())
            == Some(true),
        created_at: row
            .map_str("external_ids", CREATED)
            .and_then(|t| t.parse().ok()),
    })
}
