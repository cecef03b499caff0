//! Reconciliation: what to do so that this host's OVS ports, veth pairs
//! and logical switch ports agree again.
//!
//! Docker replays nothing to a driver after a restart, and skips `Leave`
//! and `DeleteEndpoint` when the driver is down or a sandbox dies under
//! it. What the driver owns is marked (rows by `external_ids`, veths by
//! their alias), so the truth can be read back: a [`Snapshot`] of the
//! three, and [`plan`], a pure function from it to [`Action`]s that
//! [`crate::overlay::Overlay::reconcile`] applies or, with `--dry-run`,
//! prints.
//!
//! The rules, per endpoint of this host:
//! - An OVS port whose veth is gone: the sandbox was destroyed, so the
//!   port goes, and the logical port with it (Docker never joins an
//!   endpoint a second time).
//! - A veth pair still wholly in the driver's namespace: a Join that never
//!   finished (Docker moves the peer as soon as Join answers), once the
//!   pair is older than the join grace (Join's readiness wait and more).
//! - A veth in a sandbox with no OVS port (ovs-vswitchd's database reset,
//!   the port deleted by hand): the port is added again.
//! - A logical port never joined and older than the grace: an endpoint
//!   whose Join Docker will never send.
//! - A veth in a sandbox without a logical port is reported and left
//!   alone: removing it would cut a running container off.
//!
//! And per gateway ([`crate::gateway`]) of a switch this host has a Docker
//! network on:
//! - No OVS port: the port, its address and rules are added.
//! - A port whose device lacks its address, is down or has another MTU or
//!   MAC (ovs-vswitchd restarted on the userspace datapath and made the
//!   tap anew): the device is set up again. No device at all: reported
//!   (ovs-vswitchd is down; the next pass sees it back).
//! - Rules missing or different: they are put back.
//! - No localport on the switch (a network from before gateways): added.
//! - A gateway port or rules of a switch this host no longer has a Docker
//!   network on (or that is gone): removed, with the device's addresses.
//!
//! Only this host's rows and veths count (a veth's alias names its host),
//! so daemons sharing a kernel leave each other alone. The databases are
//! read before the kernel's links are listed, and the steps of a Join
//! (veth, then port) and of a Leave (port, then veth) are ordered so that
//! a call in flight never looks like any case above.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use crate::error::Result;
use crate::external_ids::{ENDPOINT, HOST, JOINED};
use crate::links::Links;
use crate::local_switch::{LocalSwitch, id_of};
use crate::mac::MacAddr;
use crate::names::{DockerId, host_interface};
use crate::northbound::Northbound;
use crate::veth_alias::{self, VethAlias};

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
        other => write!(f, "{other:?}"),
    }
}

/// What one endpoint looks like across the three sources.
#[derive(Default)]
struct Endpoint<'a> {
    port: Option<&'a PortState>,
    veth: Option<&'a VethState>,
    logical: Option<&'a LogicalPortState>,
}

/// The actions that bring `snapshot` back to agreement, in a stable order.
pub fn plan(snapshot: &Snapshot, policy: &Policy) -> Vec<Action> {
    let mut actions = BTreeSet::new();
    for (interface, endpoint) in by_interface(snapshot) {
        plan_endpoint(&interface, &endpoint, policy, &mut actions);
    }
    plan_gateways(snapshot, &mut actions);
    actions.into_iter().collect()
}

fn plan_gateways(snapshot: &Snapshot, actions: &mut BTreeSet<Action>) {
    for wanted in &snapshot.gateways {
        plan_wanted_gateway(snapshot, wanted, actions);
    }
    let wanted = |switch: &str, interface: Option<&str>| {
        snapshot
            .gateways
            .iter()
            .any(|g| g.switch == switch && interface.is_none_or(|i| i == g.interface))
    };
    for port in &snapshot.gateway_ports {
        if !wanted(&port.switch, Some(&port.interface)) {
            actions.insert(Action::RemoveGateway {
                switch: port.switch.clone(),
                interface: port.interface.clone(),
            });
        }
    }
    let has_port = |switch: &str| snapshot.gateway_ports.iter().any(|p| p.switch == switch);
    for rules in &snapshot.gateway_rules {
        if !wanted(&rules.switch, None) && !has_port(&rules.switch) {
            actions.insert(Action::RemoveGatewayRules {
                switch: rules.switch.clone(),
            });
        }
    }
}

fn plan_wanted_gateway(
    snapshot: &Snapshot,
    wanted: &GatewayWanted,
    actions: &mut BTreeSet<Action>,
) {
    let (switch, interface) = (wanted.switch.clone(), wanted.interface.clone());
    if !wanted.localport {
        actions.insert(Action::AddLocalport {
            switch: switch.clone(),
        });
    }
    let port = snapshot
        .gateway_ports
        .iter()
        .find(|p| p.switch == switch && p.interface == interface);
    let Some(port) = port else {
        actions.insert(Action::AddGateway { switch, interface });
        return;
    };
    let rules_complete = snapshot
        .gateway_rules
        .iter()
        .any(|r| r.switch == switch && r.complete);
    if !rules_complete {
        actions.insert(Action::AddGatewayRules {
            switch: switch.clone(),
        });
    }
    match port.configured {
        Some(true) => {}
        Some(false) => {
            actions.insert(Action::ConfigureGateway { switch, interface });
        }
        None => {
            actions.insert(Action::GatewayDeviceMissing { switch, interface });
        }
    }
}

fn by_interface(snapshot: &Snapshot) -> BTreeMap<String, Endpoint<'_>> {
    let mut endpoints: BTreeMap<String, Endpoint<'_>> = BTreeMap::new();
    for port in &snapshot.ports {
        endpoints.entry(port.interface.clone()).or_default().port = Some(port);
    }
    for veth in &snapshot.veths {
        endpoints.entry(veth.interface.clone()).or_default().veth = Some(veth);
    }
    for logical in &snapshot.logical_ports {
        // A name that is not a Docker id cannot be one of our endpoints.
        if let Ok(id) = DockerId::parse("endpoint", &logical.endpoint) {
            endpoints.entry(host_interface(&id)).or_default().logical = Some(logical);
        }
    }
    endpoints
}

fn plan_endpoint(
    interface: &str,
    endpoint: &Endpoint<'_>,
    policy: &Policy,
    actions: &mut BTreeSet<Action>,
) {
    let id = endpoint_id(endpoint);
    let delete_logical = |why| Action::DeleteLogicalPort {
        endpoint: id.clone(),
        interface: interface.to_string(),
        why,
    };
    match (endpoint.port, endpoint.veth) {
        (Some(_), None) => {
            actions.insert(Action::RemovePort {
                interface: interface.to_string(),
                endpoint: id.clone(),
            });
            if endpoint.logical.is_some() {
                actions.insert(delete_logical(
                    "its sandbox is gone and Docker never joins an endpoint twice",
                ));
            }
        }
        (_, Some(veth)) if !veth.peer_in_sandbox => {
            if older_than(Some(veth.created_at), policy.join_grace, policy.now) {
                actions.insert(Action::Unplug {
                    interface: interface.to_string(),
                    endpoint: id.clone(),
                });
            }
        }
        (None, Some(_)) => match endpoint.logical {
            Some(logical) => {
                actions.insert(Action::Replug {
                    interface: interface.to_string(),
                    endpoint: id.clone(),
                    network: logical.network.clone(),
                    mac: logical.mac,
                });
            }
            None => {
                actions.insert(report(interface, &id));
            }
        },
        (Some(_), Some(_)) => {
            if endpoint.logical.is_none() {
                actions.insert(report(interface, &id));
            }
        }
        (None, None) => {
            if let Some(logical) = endpoint.logical
                && older_than(logical.created_at, policy.unjoined_grace, policy.now)
            {
                actions.insert(delete_logical(
                    "never joined, and older than the grace period",
                ));
            }
        }
    }
}

fn report(interface: &str, endpoint: &str) -> Action {
    Action::Report {
        interface: interface.to_string(),
        endpoint: endpoint.to_string(),
        why: "its container is running but its logical switch port is gone; \
              `docker rm -f` the container or re-create its network",
    }
}

/// A missing timestamp is a row from before they were recorded: old.
fn older_than(at: Option<u64>, grace: Duration, now: u64) -> bool {
    at.is_none_or(|at| now.saturating_sub(at) > grace.as_secs())
}

fn endpoint_id(endpoint: &Endpoint<'_>) -> String {
    let from_port = endpoint.port.map(|p| &p.endpoint);
    let from_veth = endpoint.veth.map(|v| &v.endpoint);
    let from_logical = endpoint.logical.map(|l| &l.endpoint);
    from_logical
        .or(from_port)
        .or(from_veth)
        .cloned()
        .unwrap_or_default()
}

/// Reads this host's side of things: the databases' replicas first, then
/// the kernel (see the module doc for why that order).
pub async fn snapshot(
    ovs: &LocalSwitch,
    nb: &Northbound,
    links: &Links,
    host: &str,
) -> Result<Snapshot> {
    let ports = ovs
        .owned_ports()
        .into_iter()
        .filter(|p| id_of(p, HOST) == Some(host))
        .filter_map(|p| {
            Some(PortState {
                endpoint: id_of(&p, ENDPOINT)?.to_string(),
                joined_at: id_of(&p, JOINED).and_then(|t| t.parse().ok()),
                interface: p.name,
            })
        })
        .collect();
    let logical_ports = nb
        .ports_of_host(host)
        .into_iter()
        .map(|p| LogicalPortState {
            endpoint: p.endpoint,
            network: p.network,
            mac: p.mac,
            created_at: p.created_at,
        })
        .collect();
    let veths = links
        .with_alias_prefix(veth_alias::PREFIX)
        .await?
        .into_iter()
        .filter_map(|link| {
            let alias = VethAlias::parse(&link.alias).filter(|a| a.host == host)?;
            Some(VethState {
                endpoint: alias.endpoint.to_string(),
                interface: link.name,
                peer_in_sandbox: link.peer_elsewhere,
                created_at: alias.created,
            })
        })
        .collect();
    Ok(Snapshot {
        ports,
        veths,
        logical_ports,
        ..Snapshot::default()
    })
}

#[cfg(test)]
mod tests;
