//! `-d ovs` direct routing (`-o ovs.mode=routed`) on the lab of
//! `docker-ovn-lab up --hosts 3`: host K's routed networks lie in its
//! CIDR 10.230.K.0/24, and each host lists every other with its CIDR in
//! `docker-ovn-peers`. A network is one across hosts by its place in the
//! CIDRs: the tests' networks are the /26 at offset 0 or 64 of each.
//! host1 runs the real dockerd; hosts 2 and 3 are driven over their
//! `ovs.sock` as dockerd would. What is on the wire is read with
//! `tcpdump` in the underlay namespace.
//!
//! The tests take one lock: one changes host1's peers, one kills host2's
//! switch. Needs root, the lab and tcpdump; fails (never skips) without
//! them.

use serde_json::json;
use test_support::cross_host::{
    CrossHostNetwork, Spanned, assert_apart_across, assert_full_size_crosses,
    assert_pings_return_after_host2_switch_restart, assert_reach_each_other,
    assert_refused_and_nothing_changed, assert_removed_peer_is_cut_off_and_back, eventually,
};
use test_support::lab::LabHost;
use test_support::underlay::{on_the_wire, text};
use test_support::{
    DockerNetwork, Lab, LabBridge, PluginClient, RemoteEndpoint, RemoteNetwork, ip, serial,
};

/// The underlay's MTU, all of it: nothing is added to a routed packet.
const CONTAINER_MTU: u32 = 1500;

/// One routed network of these tests: on host K, `10.230.K.<offset>/26`
/// with the gateway at `.<offset + 1>` and the sandbox at `.<offset + 10>`.
struct Routed {
    name: &'static str,
    offset: u8,
}

impl Routed {
    fn subnet(&self, k: &str) -> String {
        format!("10.230.{k}.{}/26", self.offset)
    }
}

impl CrossHostNetwork for Routed {
    fn name(&self) -> &'static str {
        self.name
    }

    fn on_host1(&self) -> (DockerNetwork, String) {
        let subnet = self.subnet("1");
        let args = ["-o", "ovs.mode=routed", "--subnet", &subnet];
        let mut network = DockerNetwork::create_on("ovs", self.name, &args);
        network.run(&self.container(), &[]);
        let address = network.address(&self.container());
        (network, address)
    }

    fn on(&self, host: &LabHost) -> RemoteNetwork {
        let k = host.number();
        let gateway = format!("10.230.{k}.{}/26", self.offset + 1);
        RemoteNetwork::create(
            PluginClient::new(&host.ovs_socket),
            json!({"ovs.mode": "routed"}),
            json!([{"AddressSpace": "LocalDefault", "Pool": self.subnet(k), "Gateway": gateway}]),
        )
    }

    /// An endpoint at `10.230.K.<offset + 10>` in the sandbox `<name>-hK`.
    fn endpoint(&self, host: &LabHost, network: &RemoteNetwork) -> RemoteEndpoint {
        let k = host.number();
        let cidr = format!("10.230.{k}.{}/26", self.offset + 10);
        RemoteEndpoint::join(host, network, &cidr, &format!("{}-h{k}", self.name))
    }
}

/// host1's routes of the driver (route protocol 211), one per line.
fn driver_routes() -> String {
    let output = ip(&["-4", "route", "show", "proto", "211"]);
    assert!(output.status.success(), "ip route: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// With none of the test's networks left, host1 has the driver's routes
/// only if another routed network (the lab's demo) is on it.
fn assert_routes_only_for_other_networks(lab: &Lab) {
    let records = LabBridge::of(lab).records();
    let routes = driver_routes();
    match records.contains("mode=routed") {
        true => assert!(!routes.is_empty(), "a routed network without routes"),
        false => assert_eq!(routes, "", "routes left with no routed network"),
    }
}

#[test]
fn a_routed_network_spans_docker_and_the_other_hosts_in_plain_ip() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Routed {
        name: "dovn-orr",
        offset: 0,
    };
    let span = Spanned::three_hosts(&lab, &net);
    let (a, b) = (&span.a, &span.b);
    assert_eq!(b.mtu(), CONTAINER_MTU, "no encapsulation: the full MTU");
    assert_reach_each_other(&net, a, &[b, &span.c]);
    // The containers' own addresses on the underlay (no NAT), in plain
    // ICMP (no VXLAN around it).
    let wire = on_the_wire(&format!("icmp and host {}", b.address), || {
        let _ = b.sandbox.ping(a, &["-c", "2"]);
    });
    assert!(
        wire.contains(&format!("{} > {a}: ICMP echo request", b.address)),
        "plain ICMP between the containers' addresses on the underlay: {wire}"
    );
    let routes = driver_routes();
    for k in ["2", "3"] {
        assert!(
            routes.contains(&format!("10.230.{k}.0/24 via 172.31.250.1{k}")),
            "host1 routes host{k}'s CIDR via host{k}: {routes}"
        );
    }
    span.remove();
    assert_routes_only_for_other_networks(&lab);
}

#[test]
fn a_full_size_routed_packet_with_df_crosses_and_one_byte_more_does_not() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Routed {
        name: "dovn-orm",
        offset: 0,
    };
    assert_full_size_crosses(&lab, &net, CONTAINER_MTU);
}

#[test]
fn two_routed_networks_stay_apart_across_hosts() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let red_net = Routed {
        name: "dovn-orred",
        offset: 0,
    };
    let blue_net = Routed {
        name: "dovn-orblue",
        offset: 64,
    };
    assert_apart_across(&lab, &red_net, &blue_net, |_, on_blue, _| {
        eventually("blue on host2 -> its own gateway", || {
            on_blue.sandbox.ping("10.230.2.65", &[])
        });
    });
}

#[test]
fn a_routed_subnet_outside_the_host_cidr_or_a_named_routed_network_is_refused() {
    let _one = serial();
    let lab = Lab::require();
    let cases = [
        (
            vec!["-o", "ovs.mode=routed", "--subnet", "10.231.9.0/26"],
            "outside this host's docker-ovn-host-cidr 10.230.1.0/24",
        ),
        (
            vec![
                "-o",
                "ovs.mode=routed",
                "-o",
                "ovs.network=x",
                "--subnet",
                "10.230.1.128/26",
            ],
            "matched across hosts by its place",
        ),
    ];
    assert_refused_and_nothing_changed(&lab, "dovn-orbad", &cases);
    assert_routes_only_for_other_networks(&lab);
}

#[test]
fn a_removed_peer_leaves_no_route_toward_it_and_an_added_one_is_routed_again() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Routed {
        name: "dovn-orp",
        offset: 0,
    };
    let routes_toward = |host3: &str| -> Vec<String> {
        let via = format!("via {host3} ");
        driver_routes()
            .lines()
            .filter(|route| route.contains(&via))
            .map(str::to_string)
            .collect()
    };
    assert_removed_peer_is_cut_off_and_back(&lab, &net, routes_toward);
}

#[test]
fn routed_pings_return_after_host2_s_ovs_vswitchd_is_killed_and_restarted() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Routed {
        name: "dovn-ork",
        offset: 0,
    };
    // The gateway port's device comes back bare with the switch, and the
    // routes went with host2's br-phy: its driver sets both up again.
    assert_pings_return_after_host2_switch_restart(&lab, &net, env!("CARGO_BIN_EXE_docker-ovn"));
}
