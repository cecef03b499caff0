//! The pure rules: a [`Snapshot`] and a [`Policy`] in, [`Action`]s out.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::state::{GatewayWanted, LogicalPortState, PortState, VethState};
use super::{Action, Policy, Snapshot};
use crate::names::{DockerId, host_interface};

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
    plan_published(snapshot, &mut actions);
    actions.into_iter().collect()
}

/// A published port belongs to an endpoint joined on this host: from
/// Join, which adds its OVS port before Program, until Leave. A port this
/// plan removes counts as gone (its removal is applied first).
fn plan_published(snapshot: &Snapshot, actions: &mut BTreeSet<Action>) {
    let unplugged: BTreeSet<String> = actions
        .iter()
        .filter_map(|action| match action {
            Action::RemovePort { endpoint, .. } | Action::Unplug { endpoint, .. } => {
                Some(endpoint.clone())
            }
            _ => None,
        })
        .collect();
    for endpoint in &snapshot.published {
        let joined = snapshot.ports.iter().any(|p| p.endpoint == *endpoint);
        if !joined || unplugged.contains(endpoint) {
            actions.insert(Action::RemovePublishedPorts {
                endpoint: endpoint.clone(),
            });
        }
    }
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
    let interface = interface.to_string();
    let delete_logical = |why| Action::DeleteLogicalPort {
        endpoint: id.clone(),
        interface: interface.clone(),
        why,
    };
    let old = |at, grace| older_than(at, grace, policy.now);
    let planned: Vec<Action> = match (endpoint.port, endpoint.veth, endpoint.logical) {
        (Some(_), None, logical) => {
            let why = "its sandbox is gone and Docker never joins an endpoint twice";
            let remove = Action::RemovePort {
                interface: interface.clone(),
                endpoint: id.clone(),
            };
            [Some(remove), logical.map(|_| delete_logical(why))]
                .into_iter()
                .flatten()
                .collect()
        }
        (_, Some(veth), _) if !veth.peer_in_sandbox => {
            old(Some(veth.created_at), policy.join_grace)
                .then(|| Action::Unplug {
                    interface: interface.clone(),
                    endpoint: id.clone(),
                })
                .into_iter()
                .collect()
        }
        (None, Some(_), Some(logical)) => vec![Action::Replug {
            interface: interface.clone(),
            endpoint: id.clone(),
            network: logical.network.clone(),
            mac: logical.mac,
        }],
        (_, Some(_), None) => vec![report(&interface, &id)],
        (None, None, Some(logical)) if old(logical.created_at, policy.unjoined_grace) => {
            vec![delete_logical(
                "never joined, and older than the grace period",
            )]
        }
        (Some(_), Some(_), Some(_)) | (None, None, _) => vec![],
    };
    actions.extend(planned);
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
