//! Golden tests: the pipeline's own flows, one network's and one
//! endpoint's, in `ovs-ofctl` syntax, against `docs/golden/ovs-*.flows`.
//! After a deliberate change, `DOCKER_OVN_BLESS=1 cargo test -p docker-ovn
//! golden` rewrites the files and the diff shows it. The driver's
//! integration test `ovs_backend` feeds the same files to a real
//! ovs-vswitchd (`ovs-ofctl add-flows`), so they are flows OVS takes.

use std::path::PathBuf;

use super::*;

fn endpoint() -> EndpointFlows {
    EndpointFlows {
        network: 1,
        ofport: 5,
        mac: "0a:5a:0a:01:00:02".parse().unwrap(),
        ipv4: Some(Ipv4Addr::new(10, 1, 0, 2)),
        ipv6: Some("fd00:1::2".parse().unwrap()),
        rate_kbps: None,
    }
}

fn network() -> NetworkFlows {
    NetworkFlows {
        index: 1,
        gateway: Some(GatewayPort {
            ofport: 2,
            mac: "0a:5a:0a:01:00:01".parse().unwrap(),
            address: Ipv4Addr::new(10, 1, 0, 1),
        }),
        tunnel: None,
        vlan: None,
        isolated: false,
    }
}

fn vxlan_network() -> NetworkFlows {
    NetworkFlows {
        tunnel: Some(TunnelFlows {
            ofport: 3,
            vni: 5001,
            peers: vec![
                Ipv4Addr::new(172, 31, 250, 12),
                Ipv4Addr::new(172, 31, 250, 13),
            ],
        }),
        ..network()
    }
}

fn vlan_network() -> NetworkFlows {
    NetworkFlows {
        vlan: Some(VlanFlows {
            ofport: 4,
            vid: 100,
        }),
        ..network()
    }
}

fn golden(name: &str, flows: &[Flow]) {
    for flow in flows {
        flow.validate().unwrap_or_else(|e| panic!("{flow}: {e}"));
    }
    let text: String = flows.iter().map(|f| format!("{f}\n")).collect();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/golden")
        .join(name);
    if std::env::var_os("DOCKER_OVN_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write the golden file");
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(text, expected, "{name} differs; bless it if intended");
}

#[test]
fn golden_base_flows() {
    golden("ovs-base.flows", &base_flows(1));
}

#[test]
fn golden_network_flows() {
    golden("ovs-network.flows", &network_flows(1, &network()));
}

#[test]
fn golden_vxlan_network_flows() {
    golden(
        "ovs-vxlan-network.flows",
        &network_flows(1, &vxlan_network()),
    );
}

#[test]
fn golden_isolated_network_flows() {
    let isolated = NetworkFlows {
        isolated: true,
        ..network()
    };
    golden("ovs-isolated-network.flows", &network_flows(1, &isolated));
}

#[test]
fn a_limited_endpoint_sends_and_is_sent_through_meters_of_its_own() {
    let limited = EndpointFlows {
        rate_kbps: Some(20_000),
        ..endpoint()
    };
    let flows = endpoint_flows(1, &limited);
    let metered: Vec<(u8, Option<u32>)> = flows
        .iter()
        .filter(|f| f.meter.is_some())
        .map(|f| (f.table, f.meter))
        .collect();
    assert_eq!(
        metered,
        [
            (Table::Classifier.number(), Some(upload_meter(5))),
            (Table::Forwarding.number(), Some(download_meter(5)))
        ]
    );
    let meters = endpoint_meters(&limited);
    assert_eq!(meters.iter().map(|m| m.id).collect::<Vec<_>>(), [10, 11]);
    assert!(
        meters
            .iter()
            .all(|m| m.kbps == 20_000 && m.burst_kb == 5_000)
    );
    assert!(endpoint_meters(&endpoint()).is_empty());
    assert!(
        endpoint_flows(1, &endpoint())
            .iter()
            .all(|f| f.meter.is_none())
    );
}

#[test]
fn golden_vlan_network_flows() {
    golden("ovs-vlan-network.flows", &network_flows(1, &vlan_network()));
}

#[test]
fn a_vlan_network_takes_in_only_its_vlan_and_tags_what_leaves() {
    let flows = network_flows(1, &vlan_network());
    let text: Vec<String> = flows.iter().map(Flow::to_string).collect();
    let classified: Vec<&String> = text.iter().filter(|f| f.contains("in_port=4")).collect();
    assert_eq!(classified.len(), 1, "{text:#?}");
    assert!(classified[0].contains("dl_vlan=100"), "{}", classified[0]);
    let flood = text
        .iter()
        .find(|f| f.contains("table=38"))
        .expect("the flood flow");
    assert!(
        flood.contains("push_vlan:0x8100") && flood.contains("output:4"),
        "{flood}"
    );
}

#[test]
fn a_vxlan_network_without_peers_floods_to_nobody() {
    let mut alone = vxlan_network();
    if let Some(tunnel) = alone.tunnel.as_mut() {
        tunnel.peers.clear();
    }
    let flows = network_flows(1, &alone);
    assert!(
        flows.iter().all(|f| f.table != Table::Classifier.number()
            || f.matches.to_string().contains("in_port=2"))
    );
    let flood = flows
        .iter()
        .find(|f| f.table == Table::FloodToPeers.number())
        .expect("the flood flow");
    assert!(!flood.actions.iter().any(|a| matches!(a, Action::Output(_))));
}

#[test]
fn golden_endpoint_flows() {
    golden("ovs-endpoint.flows", &endpoint_flows(1, &endpoint()));
}

#[test]
fn every_table_ends_in_a_drop() {
    let base = base_flows(3);
    for table in Table::ALL {
        assert!(
            base.iter().any(|f| f.table == table.number()
                && f.priority == 0
                && f.actions.is_empty()
                && f.goto_table.is_none()),
            "{}",
            table.name()
        );
    }
}

#[test]
fn an_internal_network_has_no_flows_of_its_own() {
    let internal = NetworkFlows {
        gateway: None,
        ..network()
    };
    assert!(network_flows(1, &internal).is_empty());
}

#[test]
fn every_flow_carries_its_owners_cookie() {
    let owner = Owner::endpoint(1, 5);
    for flow in endpoint_flows(9, &endpoint()) {
        assert_eq!(flow.cookie, owner.cookie(9), "{flow}");
    }
}

#[test]
fn the_link_local_address_is_the_kernels_eui64() {
    let mac: Mac = "0a:5a:0a:01:00:02".parse().unwrap();
    assert_eq!(link_local(mac).to_string(), "fe80::85a:aff:fe01:2");
}
