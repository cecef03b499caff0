//! `-d ovs` end to end with the lab's real dockerd and host1's real
//! ovs-vswitchd: `docker network create -d ovs`, `docker run`, ping,
//! isolation judged by `ofproto/trace`, the spoof guard, the ARP
//! responder, IPv6, TCP, egress, connect and disconnect, and after
//! removal no port, veth, record or flow of the driver's cookies left.
//! Needs root and the lab (`scripts/test.sh`); fails, never skips,
//! without them.

use std::time::Duration;

use docker_ovn::mac::MacAddr;
use test_support::{
    DRIVER_COOKIES, DockerNetwork, Lab, LabBridge, Outside, Removed, assert_clean, docker,
    docker_ok, exec_ok, first_command_pings, tcp_bytes_received, wait_until,
};

/// A `-d ovs` network.
fn ovs_network(name: &str, extra: &[&str]) -> DockerNetwork {
    DockerNetwork::create_on("ovs", name, extra)
}

/// The cookie filter of every flow of network `index` (and its endpoints).
fn network_cookies(index: u16) -> String {
    format!(
        "{:#x}/0xff0000ffff000000",
        0xd000_0000_0000_0000_u64 | u64::from(index) << 24
    )
}

/// The cookie filter of every flow of the endpoint on port `ofport`.
fn port_cookies(ofport: u32) -> String {
    format!(
        "{:#x}/0xff00000000ffffff",
        0xd000_0000_0000_0000_u64 | u64::from(ofport)
    )
}

/// The host side of a container's veth: `ovn` + 12 digits of its endpoint.
fn port_of(network: &DockerNetwork, container: &str) -> String {
    format!("ovn{}", &network.endpoint(container)[..12])
}

/// Removes the network and insists that nothing of it is left: no port,
/// interface or veth of its endpoints, no record on the bridge, no flow
/// of its cookies or of its endpoints' ports.
fn remove_leaving_nothing(lab: &Lab, net: DockerNetwork, containers: &[&str]) {
    let bridge = LabBridge::of(lab);
    let index = bridge.network_index(&net.id);
    let endpoints: Vec<String> = containers.iter().map(|c| net.endpoint(c)).collect();
    let ofports: Vec<u32> = containers
        .iter()
        .map(|c| bridge.ofport(&port_of(&net, c)))
        .collect();
    let networks = [net.id.clone()];
    net.remove();
    assert_clean(
        lab,
        &Removed {
            networks: &networks,
            endpoints: &endpoints,
            networks_removed: true,
        },
    );
    wait_until(
        "the network's record and flows to go",
        Duration::from_secs(10),
        || {
            bridge.network_record(&networks[0]).is_none()
                && bridge.flows(&network_cookies(index)).is_empty()
                && ofports
                    .iter()
                    .all(|p| bridge.flows(&port_cookies(*p)).is_empty())
        },
    );
}

#[test]
fn ovs_two_containers_ping_by_address_and_name_and_nothing_is_left() {
    let lab = Lab::require();
    let mut net = ovs_network("ovs-ping", &["--subnet", "10.62.0.0/24"]);
    let a = net.run("ovs-ping-a", &[]);
    let b = net.run("ovs-ping-b", &[]);
    let (ip_a, ip_b) = (net.address(&a), net.address(&b));
    exec_ok(&a, &["ping", "-c2", "-W2", &ip_b]);
    exec_ok(&b, &["ping", "-c2", "-W2", &ip_a]);
    // Docker's DNS answers by container name on a remote driver's network.
    exec_ok(&a, &["ping", "-c1", "-W2", &b]);
    for _ in 0..3 {
        first_command_pings(&net.name, &ip_a);
    }
    let mtu = exec_ok(&a, &["cat", "/sys/class/net/eth0/mtu"]);
    assert_eq!(mtu, "1500", "no encapsulation on one host: the full MTU");
    let bridge = LabBridge::of(&lab);
    let ofport = bridge.ofport(&port_of(&net, &a));
    assert!(
        bridge.flows(&port_cookies(ofport)).len() >= 5,
        "classifier, guard, responder and forwarding flows of {a}"
    );
    remove_leaving_nothing(&lab, net, &["ovs-ping-a", "ovs-ping-b"]);
    assert!(
        !bridge.flows(DRIVER_COOKIES).is_empty(),
        "the pipeline's own flows stay"
    );
}

#[test]
fn ovs_networks_are_apart_and_the_trace_says_drop() {
    let lab = Lab::require();
    let mut red = ovs_network("ovs-red", &["--subnet", "10.63.0.0/24"]);
    let mut blue = ovs_network("ovs-blue", &["--subnet", "10.64.0.0/24"]);
    let r = red.run("ovs-red-a", &[]);
    let b = blue.run("ovs-blue-a", &[]);
    let ip_b = blue.address(&b);
    let across = docker(&["exec", &r, "ping", "-c1", "-W1", &ip_b]);
    assert!(!across.status.success(), "red reached blue at {ip_b}");
    // A frame from red's port straight to blue's MAC and address.
    let bridge = LabBridge::of(&lab);
    let in_port = bridge.ofport(&port_of(&red, &r));
    let mac_r = mac_of(&red, &r);
    let mac_b = MacAddr::from_ipv4(ip_b.parse().expect("IPv4"));
    let ip_r = red.address(&r);
    let trace = bridge.trace(&format!(
        "in_port={in_port},dl_src={mac_r},dl_dst={mac_b},ip,nw_src={ip_r},nw_dst={ip_b}"
    ));
    assert!(
        trace.contains("Datapath actions: drop"),
        "red's frame to blue's MAC must be dropped:\n{trace}"
    );
    // A ping inside one network passes the same pipeline.
    let neighbour = red.run("ovs-red-b", &[]);
    exec_ok(&r, &["ping", "-c1", "-W2", &red.address(&neighbour)]);
    blue.remove();
    red.remove();
}

/// The container's MAC on `network`.
fn mac_of(network: &DockerNetwork, container: &str) -> String {
    test_support::endpoint_field(container, &network.name, "MacAddress")
}

/// A container that takes another address or MAC cannot send: its spoof
/// guard flows match only its own.
#[test]
fn ovs_spoof_guard_drops_a_changed_address_or_mac() {
    let _lab = Lab::require();
    let mut net = ovs_network("ovs-spoof", &["--subnet", "10.65.0.0/24"]);
    let target = net.run("ovs-spoof-target", &[]);
    let ip_target = net.address(&target);
    let spoofer = net.run("ovs-spoof-x", &["--cap-add", "NET_ADMIN"]);
    let own = net.address(&spoofer);
    exec_ok(&spoofer, &["ping", "-c1", "-W2", &ip_target]);
    let sh = |script: &str| exec_ok(&spoofer, &["sh", "-c", script]);
    sh(&format!(
        "ip addr del {own}/24 dev eth0 && ip addr add 10.65.0.99/24 dev eth0 && ip neigh flush dev eth0"
    ));
    let spoofed = docker(&["exec", &spoofer, "ping", "-c2", "-W1", &ip_target]);
    assert!(!spoofed.status.success(), "a spoofed source address passed");
    sh(&format!(
        "ip addr del 10.65.0.99/24 dev eth0 && ip addr add {own}/24 dev eth0"
    ));
    exec_ok(&spoofer, &["ping", "-c1", "-W2", &ip_target]);
    sh(
        "ip link set eth0 down && ip link set eth0 address 02:00:00:00:00:99 && ip link set eth0 up && ip neigh flush dev eth0",
    );
    let spoofed = docker(&["exec", &spoofer, "ping", "-c2", "-W1", &ip_target]);
    assert!(!spoofed.status.success(), "a spoofed MAC passed");
    net.remove();
}

/// ARP for the gateway is answered by a flow with the gateway's MAC, out
/// of the asking port only.
#[test]
fn ovs_the_gateway_s_arp_is_answered_by_a_flow_to_the_asker_alone() {
    let lab = Lab::require();
    let mut net = ovs_network("ovs-arp", &["--subnet", "10.66.0.0/24"]);
    let a = net.run("ovs-arp-a", &[]);
    net.run("ovs-arp-b", &[]);
    let reply = exec_ok(&a, &["arping", "-c1", "-w2", "-I", "eth0", "10.66.0.1"]);
    let gateway_mac = MacAddr::from_ipv4("10.66.0.1".parse().expect("IPv4")).to_string();
    assert!(
        reply.to_lowercase().contains(&gateway_mac),
        "the gateway's ARP reply must carry {gateway_mac}: {reply}"
    );
    let bridge = LabBridge::of(&lab);
    let in_port = bridge.ofport(&port_of(&net, &a));
    let mac_a = mac_of(&net, &a);
    let ip_a = net.address(&a);
    let trace = bridge.trace(&format!(
        "in_port={in_port},dl_src={mac_a},dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,\
         arp_spa={ip_a},arp_tpa=10.66.0.1,arp_sha={mac_a}"
    ));
    let actions = trace
        .lines()
        .find_map(|l| l.strip_prefix("Datapath actions: "))
        .unwrap_or_else(|| panic!("no datapath actions in:\n{trace}"));
    let outputs: Vec<&str> = top_level(actions)
        .into_iter()
        .filter(|a| a.parse::<u32>().is_ok())
        .collect();
    assert!(
        trace.contains("IN_PORT") && outputs.len() == 1,
        "one output, back to the asker: {actions}\n{trace}"
    );
    net.remove();
}

/// The comma-separated parts of datapath actions, commas inside
/// parentheses (`set(eth(src=..,dst=..))`) left alone.
fn top_level(actions: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in actions.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&actions[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&actions[start..]);
    parts
}

#[test]
fn ovs_ipv6_dual_stack_pings() {
    let _lab = Lab::require();
    let mut net = ovs_network(
        "ovs-v6",
        &[
            "--ipv6",
            "--subnet",
            "10.67.0.0/24",
            "--subnet",
            "fd00:67::/64",
        ],
    );
    let a = net.run("ovs-v6-a", &[]);
    net.run("ovs-v6-b", &[]);
    let v6 = test_support::endpoint_field("ovs-v6-b", "ovs-v6", "GlobalIPv6Address");
    exec_ok(&a, &["ping", "-6", "-c2", "-W2", &v6]);
    net.remove();
}

/// TCP, not only ping: a 200 KiB stream (the userspace datapath needs
/// checksum offload off on the container's side).
#[test]
fn ovs_tcp_streams_200_kib() {
    let _lab = Lab::require();
    let mut net = ovs_network("ovs-tcp", &["--subnet", "10.68.0.0/24"]);
    let server = net.run("ovs-tcp-server", &[]);
    let ip = net.address(&server);
    let received = tcp_bytes_received(&net.name, &server, &ip);
    assert_eq!(received, "204800", "TCP stream cut short");
    net.remove();
}

/// The gateway and egress through the host, the same code as `-d ovn`'s;
/// `--internal` networks get none; the MTU option is honoured.
#[test]
fn ovs_egress_through_the_host_and_an_internal_network_without() {
    let _lab = Lab::require();
    let outside = Outside::new("dovn-ovs-out", "198.18.82");
    let mut net = ovs_network(
        "ovs-gw",
        &[
            "--subnet",
            "10.69.0.0/24",
            "-o",
            "com.docker.network.driver.mtu=1400",
        ],
    );
    let a = net.run("ovs-gw-a", &[]);
    let routes = exec_ok(&a, &["ip", "route"]);
    assert!(
        routes.contains("default via 10.69.0.1 dev eth0"),
        "{routes}"
    );
    assert_eq!(exec_ok(&a, &["cat", "/sys/class/net/eth0/mtu"]), "1400");
    exec_ok(&a, &["ping", "-c2", "-W2", &outside.far]);
    assert_eq!(
        outside.neighbours(),
        std::slice::from_ref(&outside.near),
        "masqueraded: the outside saw only the host"
    );
    let mut internal = ovs_network("ovs-int", &["--internal", "--subnet", "10.70.0.0/24"]);
    let i = internal.run("ovs-int-a", &[]);
    let routes = exec_ok(&i, &["ip", "route"]);
    assert!(!routes.contains("default"), "{routes}");
    internal.remove();
    net.remove();
}

/// `docker network connect` adds a second `-d ovs` network to a running
/// container, `disconnect` takes it away with its port and flows.
#[test]
fn ovs_connect_and_disconnect() {
    let lab = Lab::require();
    let mut first = ovs_network("ovs-conn-1", &["--subnet", "10.75.0.0/24"]);
    let mut second = ovs_network("ovs-conn-2", &["--subnet", "10.76.0.0/24"]);
    let a = first.run("ovs-conn-a", &[]);
    let peer = second.run("ovs-conn-peer", &[]);
    let ip_peer = second.address(&peer);
    docker_ok(&["network", "connect", &second.name, &a]);
    exec_ok(&a, &["ping", "-c1", "-W2", &ip_peer]);
    let endpoint = second.endpoint(&a);
    let bridge = LabBridge::of(&lab);
    let ofport = bridge.ofport(&format!("ovn{}", &endpoint[..12]));
    docker_ok(&["network", "disconnect", &second.name, &a]);
    wait_until(
        "the disconnected port's flows to go",
        Duration::from_secs(10),
        || bridge.flows(&port_cookies(ofport)).is_empty(),
    );
    // Only the container's veth and port on that network: the peer stays.
    assert_clean(
        &lab,
        &Removed {
            networks: &[],
            endpoints: &[endpoint],
            networks_removed: false,
        },
    );
    exec_ok(&a, &["ping", "-c1", "-W2", &first.address(&a)]);
    second.remove();
    first.remove();
}

/// Options `-d ovs` does not know, or `-d ovn`'s, are refused with a
/// clear error and leave no record on the bridge.
#[test]
fn ovs_unknown_options_are_refused_and_change_nothing() {
    let lab = Lab::require();
    let bridge = LabBridge::of(&lab);
    for option in ["ovs.bogus=1", "ovn.network=blue"] {
        let _ = docker(&["network", "rm", "ovs-bad"]);
        let output = docker(&[
            "network",
            "create",
            "-d",
            "ovs",
            "-o",
            option,
            "--subnet",
            "10.62.8.0/24",
            "ovs-bad",
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{option} was accepted");
        assert!(
            stderr.contains("unknown option") && stderr.contains("for -d ovs"),
            "{option}: {stderr}"
        );
    }
    // Other tests make networks meanwhile: none may have this subnet.
    let records = bridge.vsctl(&["get", "Bridge", &bridge.name, "external_ids"]);
    assert!(
        !records.contains("subnet4=10.62.8.0/24"),
        "a refused network was recorded: {records}"
    );
}
