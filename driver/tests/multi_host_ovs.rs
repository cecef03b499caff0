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

use std::process::Output;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use test_support::lab::LabHost;
use test_support::lab_bridge::{DRIVER_COOKIES, LabBridge};
use test_support::remote::assert_apart;
use test_support::underlay::{PeersOfHost1, on_the_wire, text};
use test_support::{
    DockerNetwork, Lab, LabDaemon, PluginClient, RemoteEndpoint, RemoteNetwork, container_pings,
    restart_missing,
};

/// The underlay's 1500 minus VXLAN's 50.
const CONTAINER_MTU: u32 = 1450;
const CROSS_HOST_TIMEOUT: Duration = Duration::from_secs(15);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

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

    /// host1's container on it.
    fn container(&self) -> String {
        format!("{}-a", self.name)
    }

    /// The network on host1's dockerd (`--ip-range` its slice) with its
    /// container started; the container's address.
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

    /// The network on host K, made as dockerd would make it there.
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

fn eventually(what: &str, attempt: impl FnMut() -> Output) {
    test_support::eventually(what, CROSS_HOST_TIMEOUT, attempt);
}

#[test]
fn a_vxlan_network_spans_docker_and_the_other_hosts() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let hosts = lab.hosts();
    let net = Vxlan {
        name: "dovn-ovx",
        second: 71,
    };
    let (local, a) = net.on_host1();
    let (on2, on3) = (net.on(&hosts[1]), net.on(&hosts[2]));
    let b = net.endpoint(&hosts[1], &on2);
    let c = net.endpoint(&hosts[2], &on3);
    assert_eq!(b.mtu(), CONTAINER_MTU, "VXLAN's 50 bytes");
    for remote in [&b, &c] {
        eventually(&format!("host1's container -> {}", remote.address), || {
            container_pings(&net.container(), &remote.address)
        });
        let back = remote.sandbox.ping(&a, &[]);
        assert!(back.status.success(), "back to host1: {}", text(&back));
    }
    let between = b.sandbox.ping(&c.address, &[]);
    assert!(
        between.status.success(),
        "host2 -> host3: {}",
        text(&between)
    );
    drop((b, c, on2, on3));
    local.remove();
}

#[test]
fn a_full_size_vxlan_packet_with_df_crosses_and_one_byte_more_does_not() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let hosts = lab.hosts();
    let net = Vxlan {
        name: "dovn-ovm",
        second: 72,
    };
    let on2 = net.on(&hosts[1]);
    let b = net.endpoint(&hosts[1], &on2);
    let (local, a) = net.on_host1();
    eventually("a small ping across", || b.sandbox.ping(&a, &[]));
    // Payload + 8 (ICMP) + 20 (IPv4) = the MTU; with VXLAN's 50 the
    // underlay's 1500 exactly.
    let fits = (CONTAINER_MTU - 28).to_string();
    let output = b.sandbox.ping(&a, &["-M", "do", "-s", &fits]);
    assert!(
        output.status.success(),
        "{fits} bytes with DF: {}",
        text(&output)
    );
    let too_big = (CONTAINER_MTU - 27).to_string();
    let output = b.sandbox.ping(&a, &["-M", "do", "-s", &too_big]);
    assert!(
        !output.status.success(),
        "{too_big} bytes with DF got through"
    );
    drop((b, on2));
    local.remove();
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
    let (red, a) = red_net.on_host1();
    let red3 = red_net.on(&hosts[2]);
    let blue2 = blue_net.on(&hosts[1]);
    let on_red = red_net.endpoint(&hosts[2], &red3);
    let on_blue = blue_net.endpoint(&hosts[1], &blue2);
    eventually("red on host3 -> red on host1", || {
        on_red.sandbox.ping(&a, &[])
    });
    let red_vni = docker_ovn::ovs::network_mode::vni_of_name("dovn-ovr");
    // Between host3 and host1 only: blue's floods (from host2) are other
    // VNIs on the same wire.
    let filter = format!(
        "udp port 4789 and host {} and host {}",
        hosts[0].encap_ip, hosts[2].encap_ip
    );
    let wire = on_the_wire(&filter, || {
        let _ = on_red.sandbox.ping(&a, &["-c", "2"]);
    });
    assert!(
        wire.contains(&format!("vni {red_vni}")),
        "VXLAN with red's VNI {red_vni} on the underlay: {wire}"
    );
    assert_apart(&on_blue, &[&a, &on_red.address], &red_net.container());
    drop((on_red, on_blue, red3, blue2));
    red.remove();
}

#[test]
fn a_removed_peer_leaves_no_flow_toward_it_and_an_added_one_is_reached() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let hosts = lab.hosts();
    let net = Vxlan {
        name: "dovn-ovp",
        second: 74,
    };
    let (local, _) = net.on_host1();
    let on3 = net.on(&hosts[2]);
    let c = net.endpoint(&hosts[2], &on3);
    eventually("host1 -> host3", || {
        container_pings(&net.container(), &c.address)
    });
    let peers = PeersOfHost1::take(&lab);
    let host3 = hosts[2].encap_ip.clone();
    let toward = |bridge: &LabBridge| -> Vec<String> {
        let host3_hex = format!(
            "{:#x}",
            u32::from(host3.parse::<std::net::Ipv4Addr>().unwrap())
        );
        bridge
            .flows(DRIVER_COOKIES)
            .into_iter()
            .filter(|f| f.contains(&host3) || f.contains(&host3_hex))
            .collect()
    };
    assert!(
        !toward(&peers.bridge).is_empty(),
        "host3 is a peer: flows toward it"
    );
    let others: Vec<String> = hosts
        .iter()
        .filter(|h| h.encap_ip != host3)
        .map(|h| h.encap_ip.clone())
        .collect();
    peers.set(&others.join(","));
    let mut left = toward(&peers.bridge);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = toward(&peers.bridge);
    }
    assert!(left.is_empty(), "flows toward a removed peer: {left:#?}");
    let output = container_pings(&net.container(), &c.address);
    assert!(!output.status.success(), "a removed peer is still reached");
    drop(peers);
    eventually("host3 again once it is a peer again", || {
        container_pings(&net.container(), &c.address)
    });
    drop((c, on3));
    local.remove();
}

#[test]
fn cross_host_pings_return_after_host2_s_ovs_vswitchd_is_killed_and_restarted() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let hosts = lab.hosts();
    let net = Vxlan {
        name: "dovn-ovk",
        second: 75,
    };
    let (local, a) = net.on_host1();
    let on2 = net.on(&hosts[1]);
    let b = net.endpoint(&hosts[1], &on2);
    eventually("host2 -> host1 before", || b.sandbox.ping(&a, &[]));
    let switch = LabDaemon::HostOvsVswitchd(2);
    switch.require_started_by_lab(&lab);
    switch.kill(&lab, libc::SIGKILL);
    let down = b.sandbox.ping(&a, &["-c", "1", "-W", "1"]);
    assert!(
        !down.status.success(),
        "a ping crossed with host2's switch dead"
    );
    restart_missing(&lab, env!("CARGO_BIN_EXE_docker-ovn"));
    // The switch comes back empty: host2's driver puts its flows back on
    // the reconnection, and the VXLAN port is in its database.
    eventually("host2 -> host1 after the restart", || {
        b.sandbox.ping(&a, &[])
    });
    eventually("host1 -> host2 after the restart", || {
        container_pings(&net.container(), &b.address)
    });
    drop((b, on2));
    local.remove();
}
