use std::time::Duration;

use super::*;
use crate::names::{DockerId, host_interface};

const NOW: u64 = 1_800_000_000;
const A: &str = "aaaaaaaaaaaa0000000000000000000000000000000000000000000000000001";
const NET: &str = "bbbbbbbbbbbb0000000000000000000000000000000000000000000000000002";

fn interface() -> String {
    host_interface(&DockerId::parse("endpoint", A).unwrap())
}

fn policy() -> Policy {
    Policy {
        now: NOW,
        unjoined_grace: Duration::from_secs(600),
        join_grace: Duration::from_secs(80),
    }
}

fn port(joined_ago: u64) -> PortState {
    PortState {
        interface: interface(),
        endpoint: A.into(),
        joined_at: Some(NOW - joined_ago),
    }
}

fn veth(peer_in_sandbox: bool) -> VethState {
    veth_aged(peer_in_sandbox, 5)
}

fn veth_aged(peer_in_sandbox: bool, created_ago: u64) -> VethState {
    VethState {
        interface: interface(),
        endpoint: A.into(),
        peer_in_sandbox,
        created_at: NOW - created_ago,
    }
}

fn logical(created_ago: u64) -> LogicalPortState {
    LogicalPortState {
        endpoint: A.into(),
        network: NET.into(),
        mac: "0a:5a:0a:00:00:02".parse().unwrap(),
        created_at: Some(NOW - created_ago),
    }
}

fn snapshot(
    port: Option<PortState>,
    veth: Option<VethState>,
    logical: Option<LogicalPortState>,
) -> Snapshot {
    Snapshot {
        ports: port.into_iter().collect(),
        veths: veth.into_iter().collect(),
        logical_ports: logical.into_iter().collect(),
        ..Snapshot::default()
    }
}

/// The plan as the lines `--dry-run` prints, without the reasons.
fn kinds(snapshot: &Snapshot) -> Vec<&'static str> {
    plan(snapshot, &policy())
        .iter()
        .map(|action| match action {
            Action::RemovePort { .. } => "remove-port",
            Action::Unplug { .. } => "unplug",
            Action::Replug { .. } => "replug",
            Action::DeleteLogicalPort { .. } => "delete-logical",
            Action::Report { .. } => "report",
            Action::AddGateway { .. } => "add-gateway",
            Action::ConfigureGateway { .. } => "configure-gateway",
            Action::AddGatewayRules { .. } => "add-gateway-rules",
            Action::AddLocalport { .. } => "add-localport",
            Action::GatewayDeviceMissing { .. } => "gateway-device-missing",
            Action::RemoveGateway { .. } => "remove-gateway",
            Action::RemoveGatewayRules { .. } => "remove-gateway-rules",
            Action::ResyncFlows { .. } => "resync-flows",
            Action::SyncTunnel { .. } => "sync-tunnel",
            Action::SyncRoutes { .. } => "sync-routes",
            Action::SyncUplinks { .. } => "sync-uplinks",
            Action::RemovePublishedPorts { .. } => "remove-published",
        })
        .collect()
}

#[test]
fn a_live_endpoint_is_left_alone() {
    let live = snapshot(Some(port(5)), Some(veth(true)), Some(logical(5)));
    assert!(kinds(&live).is_empty());
    assert!(kinds(&live).is_empty());
}

#[test]
fn a_port_whose_sandbox_died_goes_with_its_logical_port() {
    let dead = snapshot(Some(port(5)), None, Some(logical(5)));
    assert_eq!(kinds(&dead), ["remove-port", "delete-logical"]);
    let no_logical = snapshot(Some(port(5)), None, None);
    assert_eq!(kinds(&no_logical), ["remove-port"]);
}

#[test]
fn a_missing_port_of_a_running_container_is_added_again() {
    let lost = snapshot(None, Some(veth(true)), Some(logical(5)));
    let actions = plan(&lost, &policy());
    assert_eq!(
        actions,
        [Action::Replug {
            interface: interface(),
            endpoint: A.into(),
            network: NET.into(),
            mac: "0a:5a:0a:00:00:02".parse().unwrap(),
        }]
    );
}

#[test]
fn a_running_container_without_logical_port_is_only_reported() {
    for port in [None, Some(port(5))] {
        let orphan = snapshot(port, Some(veth(true)), None);
        assert_eq!(kinds(&orphan), ["report"]);
    }
}

#[test]
fn an_unfinished_join_is_removed_once_old() {
    for port in [None, Some(port(5)), Some(port(300))] {
        let in_flight = snapshot(port.clone(), Some(veth(false)), Some(logical(5)));
        assert!(kinds(&in_flight).is_empty(), "{port:?}");
        let stuck = snapshot(port, Some(veth_aged(false, 81)), Some(logical(300)));
        assert_eq!(kinds(&stuck), ["unplug"]);
    }
}

#[test]
fn an_endpoint_never_joined_is_deleted_after_the_grace() {
    let young = snapshot(None, None, Some(logical(60)));
    assert!(kinds(&young).is_empty());
    let old = snapshot(None, None, Some(logical(601)));
    assert_eq!(kinds(&old), ["delete-logical"]);
    let undated = snapshot(
        None,
        None,
        Some(LogicalPortState {
            created_at: None,
            ..logical(0)
        }),
    );
    assert_eq!(kinds(&undated), ["delete-logical"]);
}

#[test]
fn logical_ports_not_named_by_a_docker_id_are_ignored() {
    let foreign = snapshot(
        None,
        None,
        Some(LogicalPortState {
            endpoint: "router-port".into(),
            ..logical(10_000)
        }),
    );
    assert!(kinds(&foreign).is_empty());
}

#[test]
fn dry_run_lines_name_the_interface_endpoint_and_reason() {
    let dead = snapshot(Some(port(5)), None, Some(logical(5)));
    let lines: Vec<String> = plan(&dead, &policy())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines[0],
        format!(
            "remove OVS port {} (endpoint {A}): its veth is gone, the sandbox died without Leave",
            interface()
        )
    );
    assert!(lines[1].starts_with(&format!("delete logical switch port {A}: ")));
}

const GW: &str = "dovngw0000000b1";

fn wanted(localport: bool) -> GatewayWanted {
    GatewayWanted {
        switch: "blue".into(),
        interface: GW.into(),
        localport,
    }
}

fn gateway_port(switch: &str, configured: Option<bool>) -> GatewayPortState {
    GatewayPortState {
        switch: switch.into(),
        interface: GW.into(),
        configured,
    }
}

fn rules(switch: &str, complete: bool) -> GatewayRulesState {
    GatewayRulesState {
        switch: switch.into(),
        complete,
    }
}

fn gateways(
    wanted: Option<GatewayWanted>,
    port: Option<GatewayPortState>,
    rule_state: Option<GatewayRulesState>,
) -> Snapshot {
    Snapshot {
        gateways: wanted.into_iter().collect(),
        gateway_ports: port.into_iter().collect(),
        gateway_rules: rule_state.into_iter().collect(),
        ..Snapshot::default()
    }
}

#[test]
fn a_complete_gateway_is_left_alone() {
    let fine = gateways(
        Some(wanted(true)),
        Some(gateway_port("blue", Some(true))),
        Some(rules("blue", true)),
    );
    assert!(kinds(&fine).is_empty());
}

#[test]
fn a_missing_gateway_port_is_added_with_everything() {
    let missing = gateways(Some(wanted(true)), None, None);
    let add = Action::AddGateway {
        switch: "blue".into(),
        interface: GW.into(),
    };
    assert_eq!(plan(&missing, &policy()), [add]);
    // The port brings its rules: no separate step for them.
    let rules_left = gateways(Some(wanted(true)), None, Some(rules("blue", true)));
    assert_eq!(kinds(&rules_left), ["add-gateway"]);
}

#[test]
fn a_device_that_lost_its_address_is_configured_again() {
    let lost = gateways(
        Some(wanted(true)),
        Some(gateway_port("blue", Some(false))),
        Some(rules("blue", true)),
    );
    assert_eq!(kinds(&lost), ["configure-gateway"]);
    let no_device = gateways(
        Some(wanted(true)),
        Some(gateway_port("blue", None)),
        Some(rules("blue", true)),
    );
    assert_eq!(kinds(&no_device), ["gateway-device-missing"]);
}

#[test]
fn missing_or_changed_rules_and_localport_are_put_back() {
    for rule_state in [None, Some(rules("blue", false))] {
        let broken = gateways(
            Some(wanted(true)),
            Some(gateway_port("blue", Some(true))),
            rule_state,
        );
        assert_eq!(kinds(&broken), ["add-gateway-rules"]);
    }
    let no_localport = gateways(
        Some(wanted(false)),
        Some(gateway_port("blue", Some(true))),
        Some(rules("blue", true)),
    );
    assert_eq!(kinds(&no_localport), ["add-localport"]);
}

#[test]
fn gateways_of_networks_gone_from_this_host_are_removed() {
    let stale = gateways(
        None,
        Some(gateway_port("red", Some(true))),
        Some(rules("red", false)),
    );
    // The port's removal takes its rules along.
    let remove = Action::RemoveGateway {
        switch: "red".into(),
        interface: GW.into(),
    };
    assert_eq!(plan(&stale, &policy()), [remove]);
    let rules_only = gateways(Some(wanted(true)), None, Some(rules("red", true)));
    assert_eq!(kinds(&rules_only), ["remove-gateway-rules", "add-gateway"]);
    let renamed = gateways(
        Some(GatewayWanted {
            interface: "dovngw0000000c2".into(),
            ..wanted(true)
        }),
        Some(gateway_port("blue", Some(true))),
        Some(rules("blue", true)),
    );
    assert_eq!(kinds(&renamed), ["remove-gateway", "add-gateway"]);
}

#[test]
fn gateway_lines_name_port_and_switch() {
    let stale = gateways(None, Some(gateway_port("red", Some(true))), None);
    let line = plan(&stale, &policy())[0].to_string();
    assert_eq!(
        line,
        format!("remove gateway port {GW} and its rules: this host has no network on red")
    );
}

#[test]
fn published_ports_stay_while_the_endpoint_has_its_port_and_go_after() {
    let mut live = snapshot(Some(port(5)), Some(veth(true)), Some(logical(5)));
    live.published = vec![live.ports[0].endpoint.clone()];
    assert!(kinds(&live).is_empty());
    let mut gone = snapshot(None, None, None);
    gone.published = live.published.clone();
    assert_eq!(kinds(&gone), ["remove-published"]);
    let mut dead = snapshot(Some(port(5)), None, Some(logical(5)));
    dead.published = live.published.clone();
    assert_eq!(
        kinds(&dead),
        ["remove-port", "delete-logical", "remove-published"],
        "the port goes first, then its published ports in the same pass"
    );
}
