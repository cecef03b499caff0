//! The `-d ovs` pipeline ([`docker_ovn::ovs::pipeline`]) in a real
//! ovs-vswitchd: installed in one bundle through the `flows` crate, then
//! judged by `ofproto/trace`: the ARP responder answers out of the port
//! the request came in on, spoofed sources are dropped, networks are
//! apart, unicast goes to the one port of its MAC.
//!
//! Needs root (the switch runs in a namespace of its own) and the Debian
//! package openvswitch-switch; fails loudly without them.

use std::net::Ipv4Addr;

use docker_ovn::ovs::cookie::{MARK, MARK_MASK};
use docker_ovn::ovs::pipeline::{
    EndpointFlows, GatewayPort, NetworkFlows, TunnelFlows, VlanFlows, base_flows, endpoint_flows,
    network_flows,
};
use flows::{Client, Config, Flow, Target};
use test_support::vswitchd::Switch;

const GATEWAY_MAC: &str = "0a:5a:0a:01:00:01";
const BLUE_MAC: &str = "0a:5a:0a:01:00:02";
const RED_MAC: &str = "0a:5a:0a:02:00:02";

const VXLAN_PORT: u32 = 3;
const UPLINK_PORT: u32 = 4;
const VLAN: u16 = 100;

/// How network 1 reaches other hosts in a test.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    Local,
    /// Over VXLAN to two peers.
    Vxlan,
    /// On VLAN [`VLAN`] of the uplink, port [`UPLINK_PORT`].
    Vlan,
}
const VNI: u32 = 5001;
const PEER_A: &str = "172.31.250.12";
const PEER_B: &str = "172.31.250.13";

/// Network 1 with its gateway on port 2 and an endpoint on port 5,
/// reaching other hosts as `reach` says; network 2, internal, with an
/// endpoint on port 6.
fn pipeline(reach: Reach) -> Vec<Flow> {
    let mut flows = base_flows(1);
    let blue = NetworkFlows {
        index: 1,
        gateway: Some(GatewayPort {
            ofport: 2,
            mac: GATEWAY_MAC.parse().unwrap(),
            address: Ipv4Addr::new(10, 1, 0, 1),
        }),
        tunnel: (reach == Reach::Vxlan).then(|| TunnelFlows {
            ofport: VXLAN_PORT,
            vni: VNI,
            peers: vec![PEER_A.parse().unwrap(), PEER_B.parse().unwrap()],
        }),
        vlan: (reach == Reach::Vlan).then_some(VlanFlows {
            ofport: UPLINK_PORT,
            vid: VLAN,
        }),
        isolated: false,
    };
    flows.extend(network_flows(1, &blue));
    flows.extend(endpoint_flows(
        1,
        &EndpointFlows {
            network: 1,
            ofport: 5,
            mac: BLUE_MAC.parse().unwrap(),
            ipv4: Some(Ipv4Addr::new(10, 1, 0, 2)),
            ipv6: Some("fd00:1::2".parse().unwrap()),
            rate_kbps: None,
        },
    ));
    flows.extend(endpoint_flows(
        1,
        &EndpointFlows {
            network: 2,
            ofport: 6,
            mac: RED_MAC.parse().unwrap(),
            ipv4: Some(Ipv4Addr::new(10, 1, 0, 3)),
            ipv6: None,
            rate_kbps: None,
        },
    ));
    flows
}

async fn installed() -> Switch {
    installed_with(Reach::Local).await.0
}

async fn installed_with(reach: Reach) -> (Switch, Client) {
    let switch = Switch::start("br-ovs-pipe");
    for (name, ofport) in [("gw", 2), ("blue", 5), ("red", 6)] {
        switch.add_internal_port(name, ofport);
    }
    if reach == Reach::Vlan {
        switch.add_internal_port("uplink", UPLINK_PORT);
    }
    if reach == Reach::Vxlan {
        switch.db.vsctl(&[
            "add-port",
            &switch.bridge,
            "vx",
            "--",
            "set",
            "interface",
            "vx",
            "type=vxlan",
            "options:remote_ip=flow",
            "options:key=flow",
            "ofport_request=3",
        ]);
    }
    let target = Target::parse(&switch.target()).expect("a target");
    let client = Client::connect(Config::new(target))
        .await
        .expect("connected");
    let flows = pipeline(reach);
    let mods: Vec<_> = flows.iter().map(Flow::add).collect();
    client.bundle(&mods).await.expect("the pipeline is taken");
    let ours = client
        .flows(MARK, MARK_MASK)
        .await
        .expect("flows read back");
    assert_eq!(ours.len(), flows.len(), "every flow is in, with its cookie");
    (switch, client)
}

/// The datapath actions `ofproto/trace` ends with.
fn datapath_actions(switch: &Switch, flow: &str) -> String {
    let trace = switch.trace(flow);
    trace
        .lines()
        .find_map(|line| line.strip_prefix("Datapath actions: "))
        .unwrap_or_else(|| panic!("no datapath actions in:\n{trace}"))
        .to_string()
}

/// The one datapath port a packet leaves by, after any `set(...)`s.
fn single_output(actions: &str) -> u32 {
    let last = actions.rsplit("),").next().unwrap_or(actions);
    last.parse()
        .unwrap_or_else(|_| panic!("not one output port: {actions}"))
}

fn arp_request(in_port: u32, mac: &str, spa: &str, tpa: &str) -> String {
    format!(
        "in_port={in_port},arp,dl_src={mac},dl_dst=ff:ff:ff:ff:ff:ff,\
         arp_op=1,arp_sha={mac},arp_spa={spa},arp_tpa={tpa}"
    )
}

#[tokio::test]
async fn the_pipeline_answers_guards_and_keeps_networks_apart() {
    let switch = installed().await;

    // The gateway's ARP is answered with its MAC, out of the asking port.
    let answer = datapath_actions(&switch, &arp_request(5, BLUE_MAC, "10.1.0.2", "10.1.0.1"));
    assert!(
        answer.contains(&format!("src={GATEWAY_MAC},dst={BLUE_MAC}"))
            && answer.contains("sip=10.1.0.1,tip=10.1.0.2,op=2"),
        "an ARP reply from the gateway: {answer}"
    );
    // The host asking for the endpoint is answered too.
    let host = datapath_actions(
        &switch,
        &arp_request(2, GATEWAY_MAC, "10.1.0.1", "10.1.0.2"),
    );
    assert!(host.contains("sip=10.1.0.2,tip=10.1.0.1,op=2"), "{host}");
    // Nobody answers for an address no endpoint has, and nothing floods.
    let unknown = datapath_actions(&switch, &arp_request(5, BLUE_MAC, "10.1.0.2", "10.1.0.77"));
    assert_eq!(unknown, "drop");

    // Spoof guard: another sender address, another source MAC.
    let spoofed = datapath_actions(&switch, &arp_request(5, BLUE_MAC, "10.1.0.9", "10.1.0.1"));
    assert_eq!(spoofed, "drop", "ARP with a foreign sender address");
    let other_mac = format!(
        "in_port=5,ip,dl_src=0a:00:00:00:00:99,dl_dst={GATEWAY_MAC},nw_src=10.1.0.2,nw_dst=10.9.0.1"
    );
    assert_eq!(datapath_actions(&switch, &other_mac), "drop");
    let other_ip = format!(
        "in_port=5,ip,dl_src={BLUE_MAC},dl_dst={GATEWAY_MAC},nw_src=10.1.0.200,nw_dst=10.9.0.1"
    );
    assert_eq!(datapath_actions(&switch, &other_ip), "drop");

    // Unicast to the gateway leaves by one port; a network apart cannot
    // reach it, nor the endpoint of the other network.
    let egress = format!(
        "in_port=5,ip,dl_src={BLUE_MAC},dl_dst={GATEWAY_MAC},nw_src=10.1.0.2,nw_dst=10.9.0.1"
    );
    let gateway_port = single_output(&datapath_actions(&switch, &egress));
    assert_eq!(
        single_output(&host),
        gateway_port,
        "the host's ARP is answered out of the gateway port it came in on"
    );
    let blue_port = single_output(&answer);
    assert_ne!(blue_port, gateway_port);
    let across =
        format!("in_port=6,ip,dl_src={RED_MAC},dl_dst={BLUE_MAC},nw_src=10.1.0.3,nw_dst=10.1.0.2");
    assert_eq!(datapath_actions(&switch, &across), "drop", "networks apart");
    let red_gateway = arp_request(6, RED_MAC, "10.1.0.3", "10.1.0.1");
    assert_eq!(
        datapath_actions(&switch, &red_gateway),
        "drop",
        "an internal network's endpoint gets no gateway"
    );
}

#[tokio::test]
async fn neighbour_solicitations_go_to_their_target_only() {
    let switch = installed().await;
    let solicit = |target: &str| {
        format!(
            "in_port=2,icmp6,dl_src={GATEWAY_MAC},dl_dst=33:33:ff:00:00:02,\
             ipv6_src=fe80::1,ipv6_dst=ff02::1:ff00:2,icmpv6_type=135,icmpv6_code=0,nd_target={target}"
        )
    };
    let to_blue = single_output(&datapath_actions(&switch, &solicit("fd00:1::2")));
    let ping = format!(
        "in_port=2,ip,dl_src={GATEWAY_MAC},dl_dst={BLUE_MAC},nw_src=10.1.0.1,nw_dst=10.1.0.2"
    );
    assert_eq!(
        to_blue,
        single_output(&datapath_actions(&switch, &ping)),
        "the solicitation goes to the port of its target, as unicast to its MAC does"
    );
    assert_eq!(datapath_actions(&switch, &solicit("fd00:1::77")), "drop");
    // An advertisement of an address that is not the endpoint's.
    let lie = format!(
        "in_port=5,icmp6,dl_src={BLUE_MAC},dl_dst={GATEWAY_MAC},ipv6_src=fd00:1::2,\
         ipv6_dst=fe80::1,icmpv6_type=136,icmpv6_code=0,nd_target=fd00:1::99"
    );
    assert_eq!(datapath_actions(&switch, &lie), "drop");
}

/// The OpenFlow actions `ofproto/trace` shows it running, in order.
fn traced_actions(switch: &Switch, flow: &str) -> String {
    switch.trace(flow)
}

#[tokio::test]
async fn a_vxlan_network_floods_what_is_not_local_and_learns_from_its_peers() {
    let (switch, client) = installed_with(Reach::Vxlan).await;
    let flood = |trace: &str| {
        trace.contains(&format!("set_field:{VNI:#x}->tun_id"))
            && trace.contains(&format!("set_field:{PEER_A}->tun_dst"))
            && trace.contains(&format!("set_field:{PEER_B}->tun_dst"))
    };
    // An endpoint's ARP for an address not on this host goes to each peer.
    let unknown = traced_actions(&switch, &arp_request(5, BLUE_MAC, "10.1.0.2", "10.1.0.77"));
    assert!(flood(&unknown), "flooded to both peers: {unknown}");
    // The host's does not: it reaches its own containers only.
    let from_host = traced_actions(
        &switch,
        &arp_request(2, GATEWAY_MAC, "10.1.0.1", "10.1.0.77"),
    );
    assert!(!flood(&from_host), "{from_host}");

    // A peer's frame to the endpoint is delivered, and teaches where its
    // source lives (`-generate`: side effects such as learn happen).
    let remote_mac = "0a:5a:0a:01:00:63";
    let from_peer = |peer: &str, dst: &str| {
        format!(
            "in_port={VXLAN_PORT},tun_id={VNI:#x},tun_src={peer},tun_dst=172.31.250.11,\
             ip,dl_src={remote_mac},dl_dst={dst},nw_src=10.1.0.99,nw_dst=10.1.0.2"
        )
    };
    let delivered = datapath_actions(&switch, &from_peer(PEER_A, BLUE_MAC));
    assert_eq!(
        single_output(&delivered),
        single_output(&datapath_actions(
            &switch,
            &format!(
                "in_port=2,ip,dl_src={GATEWAY_MAC},dl_dst={BLUE_MAC},nw_src=10.1.0.1,nw_dst=10.1.0.2"
            ),
        ))
    );
    assert_eq!(
        datapath_actions(&switch, &from_peer("172.31.250.99", BLUE_MAC)),
        "drop",
        "a host that is not a peer is not heard"
    );
    assert_eq!(
        datapath_actions(&switch, &from_peer(PEER_A, "0a:5a:0a:01:00:42")),
        "drop",
        "nothing goes from one peer to another"
    );
    let control = switch.db.dir().join("ovs-vswitchd.ctl");
    test_support::tool_ok(
        "ovs-appctl",
        &[
            "-t",
            &control.display().to_string(),
            "ofproto/trace",
            &switch.bridge,
            &from_peer(PEER_A, BLUE_MAC),
            "-generate",
        ],
    );
    let learned = switch.ofctl(&["dump-flows", "{}", "table=35"]);
    // A learned load prints its value in hex.
    let peer_a: Ipv4Addr = PEER_A.parse().unwrap();
    let to_peer_a = format!("load:{:#x}->NXM_NX_TUN_IPV4_DST[]", u32::from(peer_a));
    assert!(
        learned.contains(&format!("dl_dst={remote_mac}")) && learned.contains(&to_peer_a),
        "the peer's MAC is learned: {learned}"
    );
    // The learned flow reads back through the flows crate, and unicast to
    // that MAC now goes to that peer alone.
    let ours = client
        .flows(MARK, MARK_MASK)
        .await
        .expect("flows read back");
    assert!(ours.iter().any(|(f, _)| f.table == 35 && f.priority == 100));
    let unicast = traced_actions(
        &switch,
        &format!(
            "in_port=5,ip,dl_src={BLUE_MAC},dl_dst={remote_mac},nw_src=10.1.0.2,nw_dst=10.1.0.99"
        ),
    );
    assert!(
        unicast.contains(&to_peer_a) && !flood(&unicast),
        "to the learned peer only: {unicast}"
    );
}

#[tokio::test]
async fn a_vlan_network_answers_its_vlan_and_tags_what_leaves_by_the_uplink() {
    let (switch, _client) = installed_with(Reach::Vlan).await;
    let on_vlan = |vid: u16, rest: &str| format!("in_port={UPLINK_PORT},dl_vlan={vid},{rest}");
    let outside_mac = "0a:5a:0a:01:00:fe";
    // The physical network's ARP for the endpoint is answered by a flow,
    // back out of the uplink with its tag.
    let asked = on_vlan(
        VLAN,
        &format!(
            "arp,arp_op=1,dl_src={outside_mac},dl_dst=ff:ff:ff:ff:ff:ff,\
             arp_sha={outside_mac},arp_spa=10.1.0.254,arp_tpa=10.1.0.2"
        ),
    );
    let answer = traced_actions(&switch, &asked);
    assert!(
        answer.contains("IN_PORT") && !answer.contains("pop_vlan"),
        "answered, tagged, out of the uplink: {answer}"
    );
    // Not for the gateway, nor from another VLAN.
    let for_gateway = asked.replace("arp_tpa=10.1.0.2", "arp_tpa=10.1.0.1");
    assert_eq!(datapath_actions(&switch, &for_gateway), "drop");
    assert_eq!(
        datapath_actions(&switch, &asked.replace("dl_vlan=100", "dl_vlan=200")),
        "drop"
    );
    // Unicast to the endpoint arrives untagged, on the endpoint's port.
    let ip = |dst: &str| {
        format!("ip,dl_src={outside_mac},dl_dst={dst},nw_src=10.1.0.254,nw_dst=10.1.0.2")
    };
    let delivered = datapath_actions(&switch, &on_vlan(VLAN, &ip(BLUE_MAC)));
    assert!(delivered.contains("pop_vlan"), "untagged: {delivered}");
    let from_host = format!(
        "in_port=2,ip,dl_src={GATEWAY_MAC},dl_dst={BLUE_MAC},nw_src=10.1.0.1,nw_dst=10.1.0.2"
    );
    assert_eq!(
        delivered,
        format!("pop_vlan,{}", datapath_actions(&switch, &from_host)),
        "to the endpoint's port, as the host's unicast"
    );
    assert_eq!(
        datapath_actions(&switch, &on_vlan(VLAN, &ip(GATEWAY_MAC))),
        "drop",
        "the gateway is each host's own: nothing from the uplink reaches it"
    );
    // What the endpoint sends past this host leaves tagged by the uplink;
    // what the host sends does not leave.
    let leaving = datapath_actions(&switch, &arp_request(5, BLUE_MAC, "10.1.0.2", "10.1.0.254"));
    assert!(
        leaving.contains(&format!("push_vlan(vid={VLAN}")),
        "tagged {VLAN}: {leaving}"
    );
    let from_host = datapath_actions(
        &switch,
        &arp_request(2, GATEWAY_MAC, "10.1.0.1", "10.1.0.254"),
    );
    assert_eq!(from_host, "drop");
}
