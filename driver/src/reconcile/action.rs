//! The steps a reconciliation pass plans, and how they read in logs and
//! in `docker-ovn reconcile --dry-run`.

use std::fmt;

use crate::mac::MacAddr;

/// One step of a reconciliation, with the reason for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Remove the OVS port of `interface`, whose veth is gone (checked
    /// again, by name, just before).
    RemovePort { interface: String, endpoint: String },
    /// Remove the veth pair and the OVS port of a Join that never finished.
    Unplug { interface: String, endpoint: String },
    /// Add the OVS port of a live endpoint's veth again.
    Replug {
        interface: String,
        endpoint: String,
        network: String,
        mac: MacAddr,
    },
    /// Delete the endpoint's logical switch port, unless a veth called
    /// `interface` exists by then.
    DeleteLogicalPort {
        endpoint: String,
        interface: String,
        why: &'static str,
    },
    /// Nothing is done, but an operator should know.
    Report {
        interface: String,
        endpoint: String,
        why: &'static str,
    },
    // Gateway steps, in the order they are applied: removals first, so
    // that a port of an old name goes (with its switch's rules) before
    // the new one is added.
    /// Remove the rules, addresses and port of a gateway no longer wanted.
    RemoveGateway { switch: String, interface: String },
    /// Remove the rules of a gateway no longer wanted that has no port.
    RemoveGatewayRules { switch: String },
    /// Add the switch's missing localport.
    AddLocalport { switch: String },
    /// Add the gateway of `switch` to this host: port, address, rules.
    AddGateway { switch: String, interface: String },
    /// Set the gateway device up with its MTU, MAC and address again.
    ConfigureGateway { switch: String, interface: String },
    /// Put the gateway's iptables rules back.
    AddGatewayRules { switch: String },
    /// Nothing is done: the port's device is missing (ovs-vswitchd down).
    GatewayDeviceMissing { switch: String, interface: String },
    /// Remove the published ports (DNAT rules) of an endpoint that has
    /// no port on this host any more, unless it has one by then.
    RemovePublishedPorts { endpoint: String },
    /// `-d ovs`: add the bridge's VXLAN port (the host has peers or a
    /// VXLAN network) or remove it (neither).
    SyncTunnel { bridge: String, add: bool },
    /// `-d ovs` direct routing: add the routes to peers a routed network
    /// needs, remove the driver's routes no longer wanted.
    SyncRoutes {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// `-d ovs` VLAN networks: make the bridge's uplink ports `wanted`
    /// (the VLAN networks' uplinks); `present` are there.
    SyncUplinks {
        bridge: String,
        wanted: Vec<String>,
        present: Vec<String>,
    },
    /// `-d ovs`: put the bridge's flows in again under a new round; they
    /// differ from what the databases call for.
    ResyncFlows {
        bridge: String,
        missing: usize,
        stale: usize,
    },
}

impl Action {
    /// What it acts on and what it does, as metrics label them
    /// (`("ovs_port", "remove")`).
    pub fn labels(&self) -> (&'static str, &'static str) {
        match self {
            Action::RemovePort { .. } => ("ovs_port", "remove"),
            Action::Unplug { .. } => ("endpoint", "unplug"),
            Action::Replug { .. } => ("ovs_port", "add"),
            Action::DeleteLogicalPort { .. } => ("logical_port", "delete"),
            Action::Report { .. } => ("endpoint", "report"),
            Action::RemoveGateway { .. } => ("gateway", "remove"),
            Action::RemoveGatewayRules { .. } => ("gateway_rules", "remove"),
            Action::AddLocalport { .. } => ("localport", "add"),
            Action::AddGateway { .. } => ("gateway", "add"),
            Action::ConfigureGateway { .. } => ("gateway", "configure"),
            Action::AddGatewayRules { .. } => ("gateway_rules", "add"),
            Action::GatewayDeviceMissing { .. } => ("gateway", "report"),
            Action::RemovePublishedPorts { .. } => ("published_ports", "remove"),
            Action::SyncTunnel { add: true, .. } => ("tunnel", "add"),
            Action::SyncTunnel { add: false, .. } => ("tunnel", "remove"),
            Action::SyncRoutes { .. } => ("routes", "sync"),
            Action::SyncUplinks { .. } => ("uplinks", "sync"),
            Action::ResyncFlows { .. } => ("flows", "resync"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::RemovePort {
                interface,
                endpoint,
            } => write!(
                f,
                "remove OVS port {interface} (endpoint {endpoint}): its veth is gone, \
                 the sandbox died without Leave"
            ),
            Action::Unplug {
                interface,
                endpoint,
            } => write!(
                f,
                "remove veth and OVS port {interface} (endpoint {endpoint}): \
                 a Join that never finished (the pair never left this namespace)"
            ),
            Action::Replug {
                interface,
                endpoint,
                network,
                ..
            } => write!(
                f,
                "add OVS port {interface} again (endpoint {endpoint}, network {network}): \
                 its container is running but the port is missing"
            ),
            Action::DeleteLogicalPort { endpoint, why, .. } => {
                write!(f, "delete logical switch port {endpoint}: {why}")
            }
            Action::Report {
                interface,
                endpoint,
                why,
            } => write!(f, "leave {interface} (endpoint {endpoint}) alone: {why}"),
            gateway => display_gateway(gateway, f),
        }
    }
}

fn display_gateway(action: &Action, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match action {
        Action::AddGateway { switch, interface } => write!(
            f,
            "add gateway port {interface} of {switch}: this host has a network on it but no port"
        ),
        Action::ConfigureGateway { switch, interface } => write!(
            f,
            "set gateway port {interface} of {switch} up with its address again: \
             its device lost them (ovs-vswitchd restarted?)"
        ),
        Action::AddGatewayRules { switch } => {
            write!(f, "put the iptables rules of {switch}'s gateway back")
        }
        Action::AddLocalport { switch } => {
            write!(f, "add the gateway's localport to logical switch {switch}")
        }
        Action::GatewayDeviceMissing { switch, interface } => write!(
            f,
            "leave gateway port {interface} of {switch} alone: its device is missing; \
             is ovs-vswitchd running?"
        ),
        Action::RemoveGateway { switch, interface } => write!(
            f,
            "remove gateway port {interface} and its rules: this host has no network on {switch}"
        ),
        Action::RemoveGatewayRules { switch } => write!(
            f,
            "remove the iptables rules of {switch}'s gateway: this host has no network on it"
        ),
        Action::RemovePublishedPorts { endpoint } => write!(
            f,
            "remove the published ports of endpoint {endpoint}: it has no port on this host \
             (its container is gone, and RevokeExternalConnectivity never came)"
        ),
        ovs => display_ovs_bridge(ovs, f),
    }
}

/// The steps of the `-d ovs` bridge and host that only it has.
fn display_ovs_bridge(action: &Action, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match action {
        Action::SyncTunnel { bridge, add: true } => write!(
            f,
            "add the VXLAN port of bridge {bridge}: the host has peers or a VXLAN network, and it is missing"
        ),
        Action::SyncTunnel { bridge, add: false } => write!(
            f,
            "remove the VXLAN port of bridge {bridge}: no peer and no VXLAN network is left"
        ),
        Action::SyncRoutes { add, remove } => write!(
            f,
            "routes to peers: add [{}], remove [{}] (routed networks and docker-ovn-peers call for them)",
            add.join(", "),
            remove.join(", ")
        ),
        Action::SyncUplinks {
            bridge,
            wanted,
            present,
        } => write!(
            f,
            "make the uplink ports of bridge {bridge} [{}] (the VLAN networks' uplinks), from [{}]",
            wanted.join(", "),
            present.join(", ")
        ),
        Action::ResyncFlows {
            bridge,
            missing,
            stale,
        } => write!(
            f,
            "resync the flows of bridge {bridge}: {missing} missing, {stale} not wanted \
             (ovs-vswitchd restarted, or flows changed by hand)"
        ),
        other => write!(f, "{other:?}"),
    }
}
