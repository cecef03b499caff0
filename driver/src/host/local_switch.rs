//! The local Open_vSwitch database: the integration bridge's ports and the
//! host's OVN settings.

use std::sync::Arc;
use std::time::Duration;

use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::rows::TypedRow;
use ovsdb_client::rows::{Bridge, Interface, OpenVSwitch, Port};
use ovsdb_client::transaction::Transaction;
use ovsdb_client::{Client, ClientConfig, Replica, Row, Tables, Uuid, Value};

use crate::error::{DriverError, Result};
use crate::external_ids::{ENDPOINT, IFACE_ID, OVN_INSTALLED, OWNER, OWNER_VALUE};
pub use crate::host::port_transaction::add_port_transaction;
use crate::host::veth_reaper::PortRemover;
use crate::mac::MacAddr;

const DB: &str = "Open_vSwitch";

/// One port on the bridge that the driver created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedPort {
    pub name: String,
    pub uuid: Uuid,
    /// The Interface's external_ids (endpoint, network, sandbox, ...),
    /// shared with the replica: reconciliation copies every port, and
    /// copies of the strings would be most of its memory at thousands of
    /// endpoints.
    pub external_ids: Vec<(Arc<str>, Arc<str>)>,
    pub installed: bool,
    /// The OpenFlow port number ovs-vswitchd gave it, once it has one.
    pub ofport: Option<u32>,
}

/// The Open_vSwitch database client and its replica.
#[derive(Clone)]
pub struct LocalSwitch {
    client: Client,
    replica: Replica,
    bridge: String,
}

/// What the driver replicates of Open_vSwitch: the columns it reads, no
/// more (`driver/benches/replica_memory.rs` measures these too).
pub fn monitor_requests() -> Vec<MonitorRequest> {
    vec![
        MonitorRequest::new(OpenVSwitch::TABLE).columns(&["external_ids", "bridges"]),
        // The settings too: the `-d ovs` backend checks its own bridge's.
        // external_ids too: the `-d ovs` networks are recorded there.
        MonitorRequest::new(Bridge::TABLE).columns(&[
            "name",
            "ports",
            "external_ids",
            "datapath_type",
            "fail_mode",
            "protocols",
            "flow_tables",
        ]),
        MonitorRequest::new(Port::TABLE).columns(&["name", "interfaces", "external_ids"]),
        // Found through their Port (by name, from the replica's index): a
        // name column here would only take memory.
        // mtu: a provider network's containers take its bridge's.
        MonitorRequest::new(Interface::TABLE).columns(&["external_ids", "ofport", "error", "mtu"]),
    ]
}

impl LocalSwitch {
    /// Connects (retrying in the background until `timeout` for each call)
    /// and replicates what the driver reads.
    pub async fn connect(target: &str, bridge: &str, timeout: Duration) -> Result<LocalSwitch> {
        let config = ClientConfig::new(target)
            .map_err(DriverError::ovs)?
            .request_timeout(timeout);
        let client = Client::connect_lazily(config);
        let replica = client
            .replicate(DB, &monitor_requests())
            .await
            .map_err(DriverError::ovs)?;
        Ok(LocalSwitch {
            client,
            replica,
            bridge: bridge.to_string(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// The same database connection and replica, for bridge `bridge`: one
    /// connection serves every backend.
    pub fn with_bridge(&self, bridge: &str) -> LocalSwitch {
        LocalSwitch {
            bridge: bridge.to_string(),
            ..self.clone()
        }
    }

    /// Waits until interface `name` has its OpenFlow port number, or
    /// ovs-vswitchd reports it cannot add it.
    pub async fn wait_ofport(&self, name: &str, timeout: Duration) -> Result<u32> {
        let what = format!("the ofport of {name}");
        let found = self
            .replica
            .wait_for(timeout, &what, |t| {
                let row = interface_of_port(t, name)?;
                match ofport_of(row) {
                    Some(ofport) => Some(Ok(ofport)),
                    None => error_of(row).map(Err),
                }
            })
            .await;
        match found {
            Ok(Ok(ofport)) => Ok(ofport),
            Ok(Err(reason)) => Err(DriverError::DeviceMissing {
                interface: name.to_string(),
                reason: format!("ovs-vswitchd cannot add it: {reason}"),
            }),
            Err(_) => Err(DriverError::DeviceMissing {
                interface: name.to_string(),
                reason: format!(
                    "ovs-vswitchd gave it no OpenFlow port within {} s; is it running?",
                    timeout.as_secs()
                ),
            }),
        }
    }

    /// A key of the Open_vSwitch row's external_ids (`system-id`, `ovn-nb`).
    pub fn external_id(&self, key: &str) -> Option<String> {
        self.replica.read(|t| {
            t.rows(OpenVSwitch::TABLE)
                .find_map(|(_, row)| row.map_str("external_ids", key).map(str::to_string))
        })
    }

    /// The chassis name ovn-controller registers (`external_ids:system-id`).
    pub fn system_id(&self) -> Result<String> {
        self.external_id("system-id").ok_or_else(|| {
            DriverError::Setup("external_ids:system-id is not set in the Open_vSwitch table".into())
        })
    }

    /// Ports on the bridge created by the driver.
    pub fn owned_ports(&self) -> Vec<OwnedPort> {
        self.replica.read(|t| owned_ports(t, &self.bridge))
    }

    /// The driver's port called `name` on the bridge, if any: the one
    /// port copied out of the replica, not all of them (calls that name a
    /// port come with every request, beside thousands of endpoints).
    pub fn owned_port(&self, name: &str) -> Option<OwnedPort> {
        self.replica.read(|t| {
            let (uuid, port) = t.find_by(Port::TABLE, "name", name)?;
            let on_bridge = t
                .find_by(Bridge::TABLE, "name", &self.bridge)?
                .1
                .get("ports")?
                .atoms()
                .iter()
                .any(|a| a.as_uuid() == Some(uuid));
            on_bridge.then(|| owned(t, uuid, port)).flatten()
        })
    }

    /// Whether a port called `name` exists anywhere in the database.
    pub fn has_port(&self, name: &str) -> bool {
        self.replica
            .read(|t| t.find_by(Port::TABLE, "name", name).is_some())
    }

    /// Adds port `name` (an existing system device) to the bridge, with
    /// `external_ids` (which must include the owner key) on its Port and
    /// Interface, in one transaction. `Ok(false)` if
    /// a port of that name already exists.
    pub async fn add_port(&self, name: &str, external_ids: &[(String, String)]) -> Result<bool> {
        self.insert_port(name, Row::new(), external_ids).await
    }

    /// Adds port `name` (an existing system device) as an access port of
    /// VLAN `tag`, marked as [`LocalSwitch::add_port`] marks it.
    pub async fn add_access_port(
        &self,
        name: &str,
        tag: u16,
        external_ids: &[(String, String)],
    ) -> Result<bool> {
        let port = Row::new().with("tag", Value::from(i64::from(tag)));
        self.insert_port_rows(name, (Row::new(), port), external_ids)
            .await
    }

    /// Adds an internal port `name` (a device ovs-vswitchd creates) with
    /// `mac` and `mtu`, marked with `external_ids`, in one transaction:
    /// Interface, Port and `Bridge.ports`. `Ok(false)` if a port of that
    /// name already exists.
    pub async fn add_internal_port(
        &self,
        name: &str,
        mac: MacAddr,
        mtu: u32,
        external_ids: &[(String, String)],
    ) -> Result<bool> {
        let interface = Row::new()
            .with("type", "internal")
            .with("mac", mac.to_string().as_str())
            .with("mtu_request", Value::from(i64::from(mtu)));
        self.insert_port(name, interface, external_ids).await
    }

    /// Inserts Interface `interface` (given its name and `external_ids`
    /// here), its Port and the bridge's reference in one transaction.
    pub async fn insert_port(
        &self,
        name: &str,
        interface: Row,
        external_ids: &[(String, String)],
    ) -> Result<bool> {
        self.insert_port_rows(name, (interface, Row::new()), external_ids)
            .await
    }

    async fn insert_port_rows(
        &self,
        name: &str,
        rows: (Row, Row),
        external_ids: &[(String, String)],
    ) -> Result<bool> {
        if self.has_port(name) {
            return Ok(false);
        }
        let txn = add_port_transaction(&self.bridge, name, rows, external_ids);
        match self.client.transact(&txn).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_timed_out_at(0) => Err(DriverError::Setup(format!(
                "bridge {} does not exist",
                self.bridge
            ))),
            Err(e) => Err(DriverError::ovs(e)),
        }
    }

    /// The MTU ovs-vswitchd reports for the interface of port `name` (a
    /// bridge's own port, say), once it has one.
    pub fn interface_mtu(&self, name: &str) -> Option<u32> {
        let mtu = self
            .replica
            .read(|t| interface_of_port(t, name)?.get("mtu")?.atom()?.as_i64());
        mtu.and_then(|m| u32::try_from(m).ok())
    }

    /// The `error` ovs-vswitchd reported for interface `name`, if any.
    pub fn interface_error(&self, name: &str) -> Option<String> {
        self.replica
            .read(|t| interface_of_port(t, name).and_then(error_of))
    }

    /// The endpoint (`docker-ovn:endpoint`) of port `name`: `Some("")`
    /// for a port of that name that is not the driver's, `None` if none.
    pub fn endpoint_of_port(&self, name: &str) -> Option<String> {
        if let Some(port) = self.owned_port(name) {
            return Some(id_of(&port, ENDPOINT).unwrap_or_default().to_string());
        }
        self.has_port(name).then(String::new)
    }

    /// Removes port `name` of endpoint `endpoint` from the bridge (its Port
    /// and Interface rows go with it). `Ok(false)` when there was none; a
    /// port of that name of another endpoint, or not created by the
    /// driver, is left alone.
    pub async fn remove_port(&self, name: &str, endpoint: &str) -> Result<bool> {
        self.remove_port_marked(name, ENDPOINT, endpoint).await
    }

    /// Removes the driver's port `name` if its `key` is `value` (an
    /// endpoint's, a gateway's); `Ok(false)` when there is no such port.
    pub async fn remove_port_marked(&self, name: &str, key: &str, value: &str) -> Result<bool> {
        let Some(port) = self.marked_port(name, key, value) else {
            return Ok(false);
        };
        let mut txn = Transaction::new(DB);
        txn.unlink(Bridge::TABLE, "ports", port);
        txn.comment(&format!("docker-ovn: remove port {name}"));
        self.client.transact(&txn).await.map_err(DriverError::ovs)?;
        Ok(true)
    }

    /// The Port row of the driver's port `name` if its `key` is `value`.
    pub fn marked_port(&self, name: &str, key: &str, value: &str) -> Option<Uuid> {
        self.owned_port(name)
            .filter(|p| id_of(p, key) == Some(value))
            .map(|p| p.uuid)
    }

    /// Waits until ovn-controller marks interface `name` installed.
    pub async fn wait_installed(
        &self,
        name: &str,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<()> {
        let what = format!("ovn-installed on {name}");
        self.replica
            .wait_for(timeout, &what, |t| {
                interface_of_port(t, name)
                    .filter(|row| row.map_str("external_ids", OVN_INSTALLED) == Some("true"))
                    .map(|_| ())
            })
            .await
            .map_err(|_| DriverError::NotReady {
                endpoint: endpoint.to_string(),
                interface: name.to_string(),
                seconds: timeout.as_secs(),
            })
    }
}

/// A batch of left endpoints' ports ([`crate::host::veth_reaper`]) in one
/// transaction, so that ovs-vswitchd and ovn-controller recompute once.
impl PortRemover for LocalSwitch {
    async fn remove_ports(&self, ports: &[Uuid]) -> Result<()> {
        let mut txn = Transaction::new(DB);
        for port in ports {
            txn.unlink(Bridge::TABLE, "ports", *port);
        }
        txn.comment(&format!(
            "docker-ovn: remove {} ports of left endpoints",
            ports.len()
        ));
        self.client.transact(&txn).await.map_err(DriverError::ovs)?;
        Ok(())
    }
}

fn owned_ports(tables: &Tables, bridge: &str) -> Vec<OwnedPort> {
    let on_bridge: Vec<Uuid> = tables
        .find_by(Bridge::TABLE, "name", bridge)
        .and_then(|(_, row)| row.get("ports"))
        .map(|ports| ports.atoms().iter().filter_map(|a| a.as_uuid()).collect())
        .unwrap_or_default();
    on_bridge
        .into_iter()
        .filter_map(|uuid| owned(tables, uuid, tables.get(Port::TABLE, uuid)?))
        .collect()
}

/// Port row `port` as an [`OwnedPort`], if the driver made it.
fn owned(tables: &Tables, uuid: Uuid, port: &Row) -> Option<OwnedPort> {
    if port.map_str("external_ids", OWNER) != Some(OWNER_VALUE) {
        return None;
    }
    Some(owned_port(uuid, port, first_interface(tables, port)))
}

/// The Interface of port `name` (each of the driver's ports has one,
/// named as the port).
fn interface_of_port<'t>(tables: &'t Tables, name: &str) -> Option<&'t Row> {
    first_interface(tables, tables.find_by(Port::TABLE, "name", name)?.1)
}

fn first_interface<'t>(tables: &'t Tables, port: &Row) -> Option<&'t Row> {
    let uuid = port.get("interfaces")?.atoms().first()?.as_uuid()?;
    tables.get(Interface::TABLE, uuid)
}

/// The `error` column of an Interface row, if set.
fn error_of(interface: &Row) -> Option<String> {
    interface
        .get("error")?
        .atoms()
        .first()?
        .as_str()
        .map(str::to_string)
}

/// A valid OpenFlow port number of an Interface row (not `[]` or -1).
fn ofport_of(interface: &Row) -> Option<u32> {
    let ofport = interface.get("ofport")?.atom()?.as_i64()?;
    u32::try_from(ofport).ok().filter(|p| *p > 0)
}

fn owned_port(uuid: Uuid, port: &Row, interface: Option<&Row>) -> OwnedPort {
    let external_ids: Vec<(Arc<str>, Arc<str>)> = interface
        .and_then(|i| i.get("external_ids"))
        .and_then(Value::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.as_shared_str()?.clone(), v.as_shared_str()?.clone())))
        .collect();
    let installed = external_ids
        .iter()
        .any(|(k, v)| &**k == OVN_INSTALLED && &**v == "true");
    OwnedPort {
        name: port.get_str("name").unwrap_or_default().to_string(),
        uuid,
        external_ids,
        installed,
        ofport: interface.and_then(ofport_of),
    }
}

/// The `iface-id` a port is bound to, if any.
pub fn iface_id(port: &OwnedPort) -> Option<&str> {
    id_of(port, IFACE_ID)
}

/// The value of `key` in a port's Interface `external_ids`.
pub fn id_of<'a>(port: &'a OwnedPort, key: &str) -> Option<&'a str> {
    port.external_ids
        .iter()
        .find(|(k, _)| &**k == key)
        .map(|(_, v)| &**v)
}
