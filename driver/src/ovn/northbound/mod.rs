//! The OVN Northbound database: logical switches for Docker networks,
//! logical switch ports for endpoints, and the ACL and QoS rows of the
//! networks' policies ([`policy`]).

use std::time::Duration;

use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::rows::TypedRow;
use ovsdb_client::rows::{AddressSet, LogicalSwitch, LogicalSwitchPort, Qos};
use ovsdb_client::{Client, ClientConfig, Replica, Row};

use crate::error::{DriverError, Result};
use crate::external_ids::*;

mod localnet;
mod policy;
mod ports;
mod switches;

pub use ports::{NewPort, PortInfo, create_port_transaction};
pub use switches::SwitchInfo;

const DB: &str = "OVN_Northbound";
/// Concurrent creators of one shared switch retry this often at most.
const CREATE_ATTEMPTS: usize = 5;

/// The Northbound client and its replica of switches and ports.
#[derive(Clone)]
pub struct Northbound {
    client: Client,
    replica: Replica,
}

/// What the driver replicates of OVN Northbound: the columns it reads,
/// no more (`driver/benches/replica_memory.rs` measures these too).
pub fn monitor_requests() -> Vec<MonitorRequest> {
    let port = [
        "name",
        "addresses",
        "port_security",
        "options",
        "external_ids",
        "up",
        // A nested container's: its VM's port and ovn-northd's VLAN tag.
        "parent_name",
        "tag",
    ];
    vec![
        MonitorRequest::new(LogicalSwitch::TABLE).columns(&["name", "ports", "external_ids"]),
        MonitorRequest::new(AddressSet::TABLE).columns(&["name", "addresses", "external_ids"]),
        MonitorRequest::new(LogicalSwitchPort::TABLE).columns(&port),
        // The rate limits' rows, found by endpoint when its port goes.
        MonitorRequest::new(Qos::TABLE).columns(&["external_ids"]),
    ]
}

impl Northbound {
    pub async fn connect(target: &str, timeout: Duration) -> Result<Northbound> {
        let config = ClientConfig::new(target)
            .map_err(DriverError::nb)?
            .request_timeout(timeout);
        let client = Client::connect_lazily(config);
        let replica = client
            .replicate(DB, &monitor_requests())
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
}

pub(super) fn owned(row: &Row) -> bool {
    row.map_str("external_ids", OWNER) == Some(OWNER_VALUE)
}
