//! `-d ovs` across hosts over VXLAN, on the lab of `docker-ovn-lab up
//! --hosts 3` (the lab lists every host in each host's
//! `docker-ovn-peers`): host1 with the real dockerd, hosts 2 and 3 in
//! network namespaces with their own ovs-vswitchd and driver, driven over
//! their `ovs.sock` as dockerd would. Each host's `--ip-range` slice of
//! the shared subnet is its own, so no address is handed out twice.
//! What is on the wire is read with `tcpdump` in the underlay namespace.
//!
//! The tests take one lock: one of them changes host1's peers.
//! Needs root, the lab and tcpdump; fails (never skips) without them.

use std::net::Ipv4Addr;

use serde_json::json;
use test_support::cross_host::{
    CrossHostNetwork, Spanned, assert_apart_across, assert_full_size_crosses,
    assert_pings_return_after_host2_switch_restart, assert_reach_each_other,
    assert_removed_peer_is_cut_off_and_back,
};
use test_support::lab::LabHost;
use test_support::lab_bridge::{DRIVER_COOKIES, LabBridge};
use test_support::underlay::on_the_wire;
use test_support::{DockerNetwork, Lab, PluginClient, RemoteEndpoint, RemoteNetwork, serial};

/// The underlay's 1500 minus VXLAN's 50.
const CONTAINER_MTU: u32 = 1450;

/// One VXLAN network of these tests: `name` on `10.<second>.0.0/16`,
/// gateway `.0.1` on every host, host K's slice `10.<second>.K.0/24`.
struct Vxlan {
    name: &'static str,
    second: u8,
}

impl Vxlan {
    fn subnet(&self) -> String {
        format!("10.{}.0.0/16", self.second)
    }
}

impl CrossHostNetwork for Vxlan {
    fn name(&self) -> &'static str {
        self.name
    }

    /// `--ip-range` host1's slice.
    fn on_host1(&self) -> (DockerNetwork, String) {
        let option = format!("ovs.network={}", self.name);
        let range = format!("10.{}.1.0/24", self.second);
        let subnet = self.subnet();
        let args = ["-o", &option, "--subnet", &subnet, "--ip-range", &range];
        let mut network = DockerNetwork::create_on("ovs", self.name, &args);
        network.run(&self.container(), &[]);
        let address = network.address(&self.container());
        (network, address)
    }

    fn on(&self, host: &LabHost) -> RemoteNetwork {
        let gateway = format!("10.{}.0.1/16", self.second);
        RemoteNetwork::create(
            PluginClient::new(&host.ovs_socket),
            json!({"ovs.network": self.name}),
            json!([{"AddressSpace": "LocalDefault", "Pool": self.subnet(), "Gateway": gateway}]),
        )
    }

    /// An endpoint at `10.<second>.K.10` in the sandbox `<name>-hK`.
    fn endpoint(&self, host: &LabHost, network: &RemoteNetwork) -> RemoteEndpoint {
        let k = host.name.trim_start_matches("host");
        let cidr = format!("10.{}.{k}.10/16", self.second);
        RemoteEndpoint::join(host, network, &cidr, &format!("{}-h{k}", self.name))
    }
}

#[test]
fn a_vxlan_network_spans_docker_and_the_other_hosts() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Vxlan {
        name: "dovn-ovx",
        second: 71,
    };
    let span = Spanned::three_hosts(&lab, &net);
    let (a, b) = (&span.a, &span.b);
    assert_eq!(b.mtu(), CONTAINER_MTU, "VXLAN's 50 bytes");
    assert_reach_each_other(&net, a, &[b, &span.c]);
    span.remove();
}

#[test]
fn a_full_size_vxlan_packet_with_df_crosses_and_one_byte_more_does_not() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Vxlan {
        name: "dovn-ovm",
        second: 72,
    };
    // With VXLAN's 50 the underlay's 1500 exactly.
    assert_full_size_crosses(&lab, &net, CONTAINER_MTU);
}

#[test]
fn two_vxlan_networks_stay_apart_and_the_wire_shows_each_vni() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let hosts = lab.hosts();
    // One subnet for both: only the VNIs keep them apart.
    let red_net = Vxlan {
        name: "dovn-ovr",
        second: 73,
    };
    let blue_net = Vxlan {
        name: "dovn-ovb",
        second: 73,
    };
    assert_apart_across(&lab, &red_net, &blue_net, |on_red, _, a| {
        let red_vni = docker_ovn::ovs::network_mode::vni_of_name("dovn-ovr");
        // Between host3 and host1 only: blue's floods (from host2) are
        // other VNIs on the same wire.
        let filter = format!(
            "udp port 4789 and host {} and host {}",
            hosts[0].encap_ip, hosts[2].encap_ip
        );
        let wire = on_the_wire(&filter, || {
            let _ = on_red.sandbox.ping(a, &["-c", "2"]);
        });
        assert!(
            wire.contains(&format!("vni {red_vni}")),
            "VXLAN with red's VNI {red_vni} on the underlay: {wire}"
        );
    });
}

#[test]
fn a_removed_peer_leaves_no_flow_toward_it_and_an_added_one_is_reached() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Vxlan {
        name: "dovn-ovp",
        second: 74,
    };
    let bridge = LabBridge::of(&lab);
    // Tunnel flows name the peer in dotted or in hex form.
    let flows_toward = |host3: &str| -> Vec<String> {
        let hex = format!("{:#x}", u32::from(host3.parse::<Ipv4Addr>().unwrap()));
        bridge
            .flows(DRIVER_COOKIES)
            .into_iter()
            .filter(|f| f.contains(host3) || f.contains(&hex))
            .collect()
    };
    assert_removed_peer_is_cut_off_and_back(&lab, &net, flows_toward);
}

#[test]
fn cross_host_pings_return_after_host2_s_ovs_vswitchd_is_killed_and_restarted() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Vxlan {
        name: "dovn-ovk",
        second: 75,
    };
    assert_pings_return_after_host2_switch_restart(&lab, &net, env!("CARGO_BIN_EXE_docker-ovn"));
}
