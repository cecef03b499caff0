//! The driver's one error type, and its single mapping onto the plugin
//! protocol's errors.

use plugin_api::PluginError;

/// Everything a driver call can fail with; each variant names what it was
/// about (network, endpoint, interface, database).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A request field failed validation; nothing was changed.
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },

    /// The network is not one this driver created (or it was deleted).
    #[error("network {network} is not known to docker-ovn")]
    UnknownNetwork { network: String },

    /// The endpoint is not one this driver created (or it was deleted).
    #[error("endpoint {endpoint} of network {network} is not known to docker-ovn")]
    UnknownEndpoint { network: String, endpoint: String },

    /// A row or device exists that conflicts with the request.
    #[error("{0}")]
    Conflict(String),

    /// An OVSDB request failed.
    #[error("{database} database: {source}")]
    Ovsdb {
        database: &'static str,
        #[source]
        source: ovsdb_client::Error,
    },

    /// An OpenFlow request to the `-d ovs` bridge failed (nothing of a
    /// refused bundle was applied).
    #[error("OpenFlow {target}: {source}")]
    OpenFlow {
        target: String,
        #[source]
        source: flows::FlowsError,
    },

    /// A netlink (veth, link) operation failed.
    #[error("interface {interface}: {operation} failed: {reason}")]
    Netlink {
        interface: String,
        operation: &'static str,
        reason: String,
    },

    /// ovn-controller did not report the port installed in time.
    #[error(
        "endpoint {endpoint}: ovn-controller did not set ovn-installed on interface {interface} within {seconds}s; \
         is ovn-controller running and connected to the southbound database?"
    )]
    NotReady {
        endpoint: String,
        interface: String,
        seconds: u64,
    },

    /// A nested container's logical port got no VLAN tag from ovn-northd,
    /// or was not reported up, in time.
    #[error(
        "endpoint {endpoint}: its logical port, a child of VM port {parent}, {missing} within \
         {seconds}s; is ovn-northd running, and is {parent} bound (up) on its chassis?"
    )]
    ChildNotReady {
        endpoint: String,
        parent: String,
        missing: &'static str,
        seconds: u64,
    },

    /// The network's gateway on this host could not be set up or removed;
    /// whatever was done of it was undone.
    #[error("network {network}: gateway {interface} on this host: {source}")]
    Gateway {
        network: String,
        interface: String,
        #[source]
        source: Box<DriverError>,
    },

    /// An `iptables` command failed.
    #[error("iptables {command}: {reason}")]
    Firewall { command: String, reason: String },

    /// No host port of a published port's request is free; nothing of
    /// the endpoint's port map was published.
    #[error("endpoint {endpoint}: cannot publish host port {port}: {reason}")]
    PortUnavailable {
        endpoint: String,
        port: String,
        reason: String,
    },

    /// A device did not appear in time.
    #[error("interface {interface}: {reason}")]
    DeviceMissing { interface: String, reason: String },

    /// This driver has no database to work with on this host (`-d ovn`
    /// without a Northbound database); the message says how to set one.
    #[error("{0}")]
    NotConfigured(String),

    /// The local Open_vSwitch configuration is missing something needed.
    #[error("Open_vSwitch configuration: {0}")]
    Setup(String),
}

impl DriverError {
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> DriverError {
        DriverError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// Wraps an error of the Open_vSwitch database client.
    pub fn ovs(source: ovsdb_client::Error) -> DriverError {
        DriverError::Ovsdb {
            database: "Open_vSwitch",
            source,
        }
    }

    /// Wraps an error of the OVN Northbound database client.
    pub fn nb(source: ovsdb_client::Error) -> DriverError {
        DriverError::Ovsdb {
            database: "OVN_Northbound",
            source,
        }
    }
}

impl From<DriverError> for PluginError {
    fn from(error: DriverError) -> PluginError {
        let message = error.to_string();
        match error {
            DriverError::Invalid { .. } => PluginError::bad_request(message),
            DriverError::UnknownNetwork { .. } | DriverError::UnknownEndpoint { .. } => {
                PluginError::not_found(message)
            }
            DriverError::Conflict(_) | DriverError::PortUnavailable { .. } => {
                PluginError::conflict(message)
            }
            DriverError::Ovsdb { ref source, .. } if source.is_connection_error() => {
                PluginError::unavailable(message)
            }
            DriverError::NotReady { .. } | DriverError::ChildNotReady { .. } => {
                PluginError::unavailable(message)
            }
            DriverError::OpenFlow {
                source: flows::FlowsError::Disconnected { .. } | flows::FlowsError::Timeout { .. },
                ..
            } => PluginError::unavailable(message),
            DriverError::NotConfigured(_) => PluginError::unavailable(message),
            _ => PluginError::internal(message),
        }
    }
}

pub type Result<T, E = DriverError> = std::result::Result<T, E>;
