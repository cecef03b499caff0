//! What reconciliation reads: the host's ports, veths, logical ports and
//! gateways, and when things count as stale.

use std::time::Duration;

use crate::mac::MacAddr;

/// When things are old enough to be stale.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Now, in seconds since the Unix epoch.
    pub now: u64,
    /// Age after which a logical port never joined is deleted.
    pub unjoined_grace: Duration,
    /// Age after which a veth pair that never left the driver's namespace
    /// is a failed Join (longer than Join's readiness wait).
    pub join_grace: Duration,
}

/// This host's OVS ports, veths and logical ports, as owned by the driver,
/// and its gateways.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub ports: Vec<PortState>,
    pub veths: Vec<VethState>,
    pub logical_ports: Vec<LogicalPortState>,
    /// The gateways this host should have.
    pub gateways: Vec<GatewayWanted>,
    pub gateway_ports: Vec<GatewayPortState>,
    /// Per switch named by one of the driver's iptables rules.
    pub gateway_rules: Vec<GatewayRulesState>,
    /// The endpoints with published ports (read after `ports`).
    pub published: Vec<String>,
}

/// A gateway this host should hold.
#[derive(Debug, Clone)]
pub struct GatewayWanted {
    pub switch: String,
    pub interface: String,
    /// The switch has its localport.
    pub localport: bool,
}

/// One of this host's gateway ports on the integration bridge.
#[derive(Debug, Clone)]
pub struct GatewayPortState {
    pub switch: String,
    pub interface: String,
    /// `None`: no device; else whether it is up with its MTU, MAC and
    /// address.
    pub configured: Option<bool>,
}

/// The driver's iptables rules of one switch.
#[derive(Debug, Clone)]
pub struct GatewayRulesState {
    pub switch: String,
    /// Exactly the rules its gateway wants.
    pub complete: bool,
}

/// One of the driver's ports on the integration bridge.
#[derive(Debug, Clone)]
pub struct PortState {
    pub interface: String,
    pub endpoint: String,
    /// When Join added it (seconds since the epoch), if recorded.
    pub joined_at: Option<u64>,
}

/// The host side of one of the driver's veth pairs.
#[derive(Debug, Clone)]
pub struct VethState {
    pub interface: String,
    pub endpoint: String,
    /// The container side was moved into a sandbox.
    pub peer_in_sandbox: bool,
    /// When Join created it (seconds since the epoch).
    pub created_at: u64,
}

/// One of the driver's logical switch ports bound to this host.
#[derive(Debug, Clone)]
pub struct LogicalPortState {
    pub endpoint: String,
    pub network: String,
    pub mac: MacAddr,
    /// When CreateEndpoint made it (seconds since the epoch), if recorded.
    pub created_at: Option<u64>,
}
