//! `-d ovs` VLAN networks (`-o ovs.mode=vlan -o ovs.vlan=N -o
//! ovs.uplink=IFACE`) on the lab of `docker-ovn-lab up --hosts 3`: each
//! host K has a trunk `dovn-trkK` to the lab's physical switch (an Open
//! vSwitch in the underlay's namespace; this kernel has no 802.1Q
//! devices), and the outside hosts `dovn-vlan100` and `dovn-vlan200` sit
//! on access ports of VLANs 100 and 200, both at 10.250.0.254. host1 runs
//! the real dockerd; hosts 2 and 3 are driven over their `ovs.sock` as
//! dockerd would. What is on the wire is read with `tcpdump` on the
//! switch's end of a trunk.
//!
//! The tests take one lock: one kills host2's switch. Needs root, the lab,
//! tcpdump and busybox; fails (never skips) without them.

use std::process::Output;
use std::time::Duration;

use serde_json::json;
use test_support::cross_host::{
    CrossHostNetwork, Spanned, assert_apart_across, assert_full_size_crosses,
    assert_pings_return_after_host2_switch_restart, assert_reach_each_other,
    assert_refused_and_nothing_changed, eventually,
};
use test_support::lab::LabHost;
use test_support::underlay::{on_the_wire_at, text};
use test_support::{
    DockerNetwork, Lab, LabBridge, PluginClient, RemoteEndpoint, RemoteNetwork, docker_ok, ip,
    serial,
};

/// The physical network's MTU, all of it: the tag is not the IP MTU's.
const CONTAINER_MTU: u32 = 1500;
/// Every outside host's address, each on its own VLAN.
const OUTSIDE: &str = "10.250.0.254";

/// One VLAN network of these tests: VLAN `vid` on each host's trunk,
/// 10.250.0.0/24 with the gateway .1 on every host; host1's containers
/// from .16/28, host K's sandbox at .(16 K + 10).
struct Vlan {
    name: &'static str,
    vid: u16,
}

impl CrossHostNetwork for Vlan {
    fn name(&self) -> &'static str {
        self.name
    }

    fn on_host1(&self) -> (DockerNetwork, String) {
        let vlan = format!("ovs.vlan={}", self.vid);
        let args = [
            "-o",
            "ovs.mode=vlan",
            "-o",
            &vlan,
            "-o",
            "ovs.uplink=dovn-trk1",
            "--subnet",
            "10.250.0.0/24",
            "--ip-range",
            "10.250.0.16/28",
            "--gateway",
            "10.250.0.1",
        ];
        let mut network = DockerNetwork::create_on("ovs", self.name, &args);
        network.run(&self.container(), &[]);
        let address = network.address(&self.container());
        (network, address)
    }

    fn on(&self, host: &LabHost) -> RemoteNetwork {
        RemoteNetwork::create(
            PluginClient::new(&host.ovs_socket),
            json!({"ovs.mode": "vlan", "ovs.vlan": self.vid.to_string(),
                   "ovs.uplink": format!("dovn-trk{}", host.number())}),
            json!([{"AddressSpace": "LocalDefault", "Pool": "10.250.0.0/24",
                    "Gateway": "10.250.0.1/24"}]),
        )
    }

    /// An endpoint at 10.250.0.(16 K + 10) in the sandbox `<name>-hK`.
    fn endpoint(&self, host: &LabHost, network: &RemoteNetwork) -> RemoteEndpoint {
        let k: u8 = host.number().parse().expect("hostK");
        let cidr = format!("10.250.0.{}/24", 16 * k + 10);
        RemoteEndpoint::join(host, network, &cidr, &format!("{}-h{k}", self.name))
    }
}

/// `ip netns exec dovn-vlanVID ARGS...`: the outside host on VLAN `vid`.
fn outside(vid: u16, args: &[&str]) -> Output {
    let netns = format!("dovn-vlan{vid}");
    let mut all = vec!["netns", "exec", netns.as_str()];
    all.extend_from_slice(args);
    ip(&all)
}

#[test]
fn a_vlan_network_spans_docker_and_the_other_hosts_tagged_on_the_wire() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Vlan {
        name: "dovn-ovl",
        vid: 100,
    };
    let span = Spanned::three_hosts(&lab, &net);
    let (a, b) = (&span.a, &span.b);
    assert_eq!(b.mtu(), CONTAINER_MTU, "no encapsulation: the full MTU");
    assert_reach_each_other(&net, a, &[b, &span.c]);
    let wire = on_the_wire_at("dovn-trk2-s", "vlan 100 and icmp", || {
        let _ = b.sandbox.ping(a, &["-c", "2"]);
    });
    assert!(
        wire.contains("vlan 100")
            && wire.contains(&format!("{} > {a}: ICMP echo request", b.address)),
        "ICMP between the containers' own addresses, tagged 100, on host2's trunk: {wire}"
    );
    span.remove();
    // The trunk port goes with the last VLAN network that uses it (the
    // lab's demo may have one).
    let bridge = LabBridge::of(&lab);
    let records = bridge.records();
    let ports = bridge.vsctl(&["list-ports", "br-docker"]);
    assert_eq!(
        ports.lines().any(|p| p == "dovn-trk1"),
        records.contains("uplink=dovn-trk1"),
        "the uplink is a port exactly while a VLAN network uses it: {ports}"
    );
}

#[test]
fn a_full_size_vlan_packet_with_df_crosses_and_one_byte_more_does_not() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Vlan {
        name: "dovn-olm",
        vid: 100,
    };
    assert_full_size_crosses(&lab, &net, CONTAINER_MTU);
}

#[test]
fn the_outside_host_on_the_vlan_reaches_a_container_directly_and_sees_its_mac() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let busybox = test_support::require_binary("busybox");
    let net = Vlan {
        name: "dovn-olo",
        vid: 100,
    };
    let (local, a) = net.on_host1();
    let mac = test_support::endpoint_field(&net.container(), net.name, "MacAddress");
    docker_ok(&[
        "exec",
        "-d",
        &net.container(),
        "sh",
        "-c",
        "echo hello-from-the-vlan | nc -l -p 8080",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let script = format!("sleep 2 | {} nc {a} 8080", busybox.display());
    let output = outside(100, &["sh", "-c", &script]);
    assert!(
        text(&output).contains("hello-from-the-vlan"),
        "the outside host on VLAN 100 to {a}:8080 (nothing published): {}",
        text(&output)
    );
    let neighbours = text(&outside(100, &["ip", "neigh", "show", &a]));
    assert!(
        neighbours.contains(&mac),
        "the outside host knows the container by its own MAC {mac}: {neighbours}"
    );
    let on_200 = outside(200, &["ping", "-c1", "-W1", &a]);
    assert!(
        !on_200.status.success(),
        "the host on VLAN 200 reached VLAN 100"
    );
    drop(lab);
    local.remove();
}

#[test]
fn two_vlan_networks_stay_apart_across_hosts() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    // One subnet for both: only the VLANs keep them apart.
    let red_net = Vlan {
        name: "dovn-olred",
        vid: 100,
    };
    let blue_net = Vlan {
        name: "dovn-olblue",
        vid: 200,
    };
    assert_apart_across(&lab, &red_net, &blue_net, |_, on_blue, _| {
        eventually("blue on host2 -> the outside host of VLAN 200", || {
            on_blue.sandbox.ping(OUTSIDE, &[])
        });
    });
}

#[test]
fn a_vlan_network_without_its_uplink_or_vlan_is_refused_and_changes_nothing() {
    let _one = serial();
    let lab = Lab::require();
    // One subnet for every case: only the VLAN options are wrong.
    let cases = [
        (
            vec![
                "-o",
                "ovs.mode=vlan",
                "-o",
                "ovs.vlan=100",
                "-o",
                "ovs.uplink=dovn-nosuch",
            ],
            "no such interface",
        ),
        (
            vec!["-o", "ovs.mode=vlan", "-o", "ovs.uplink=dovn-trk1"],
            "needs -o ovs.vlan",
        ),
        (
            vec![
                "-o",
                "ovs.mode=vlan",
                "-o",
                "ovs.vlan=4095",
                "-o",
                "ovs.uplink=dovn-trk1",
            ],
            "from 1 to 4094",
        ),
    ]
    .map(|(args, says)| {
        let mut all = vec!["--subnet", "10.251.0.0/24"];
        all.extend(args);
        (all, says)
    });
    assert_refused_and_nothing_changed(&lab, "dovn-olbad", &cases);
}

#[test]
fn vlan_pings_return_after_host2_s_ovs_vswitchd_is_killed_and_restarted() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Vlan {
        name: "dovn-olk",
        vid: 100,
    };
    assert_pings_return_after_host2_switch_restart(&lab, &net, env!("CARGO_BIN_EXE_docker-ovn"));
}

#[test]
fn an_uplink_port_deleted_by_hand_is_put_back_by_reconciliation() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let net = Vlan {
        name: "dovn-olr",
        vid: 100,
    };
    let (local, a) = net.on_host1();
    let on2 = net.on(&lab.hosts()[1]);
    let b = net.endpoint(&lab.hosts()[1], &on2);
    eventually("host2 -> host1 before", || b.sandbox.ping(&a, &[]));
    let bridge = LabBridge::of(&lab);
    bridge.vsctl(&["del-port", "br-docker", "dovn-trk1"]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_docker-ovn"))
        .args(["reconcile", "--ovs-db", &lab.ovs_db()])
        .output()
        .expect("run docker-ovn reconcile");
    assert!(output.status.success(), "reconcile: {}", text(&output));
    let ports = bridge.vsctl(&["list-ports", "br-docker"]);
    assert!(
        ports.lines().any(|p| p == "dovn-trk1"),
        "the VLAN network's uplink is a port again: {ports}"
    );
    // Its flows follow the port's new number.
    eventually("host2 -> host1 after the repair", || {
        b.sandbox.ping(&a, &[])
    });
    drop((b, on2));
    local.remove();
}
