//! Nested containers: a Docker host that is a VM whose NIC is the logical
//! switch port `vm1`, its driver serving `--nested-parent vm1 --vm-bridge
//! br-vm`, on the lab of `docker-ovn-lab up --hosts 3 --nested` (the VM is
//! the namespace `dovn-vm1` on host1, with an Open vSwitch of its own and
//! no ovn-controller). The test is the VM's dockerd, calling its driver
//! over the plugin socket; host1's containers are `docker run`.
//!
//! The tests take turns: one kills and restarts the VM's driver. Needs
//! root and the lab; fails (never skips) without them.

use std::time::Duration;

use serde_json::json;
use test_support::cross_host::eventually;
use test_support::lab::LabHost;
use test_support::lab_daemons::{LabDaemon, restart_missing};
use test_support::remote::ipam_address;
use test_support::underlay::text;
use test_support::{
    DockerNetwork, Lab, PluginClient, RemoteEndpoint, RemoteNetwork, container_pings, ip, serial,
    wait_until,
};

const DOCKER_OVN: &str = env!("CARGO_BIN_EXE_docker-ovn");
/// The VM's own logical port, the parent of every nested container.
const PARENT: &str = "vm1";
/// The shared network of the first test, on host1, host2 and the VM.
const SUBNET: &str = "10.85.0.0/24";

/// What Northbound holds of an endpoint's logical port: its parent, its
/// VLAN tag and whether it is up (empty strings for a missing column or
/// port).
fn child_port(lab: &Lab, endpoint: &str) -> (String, String, String) {
    let found = lab.nbctl(&[
        "--bare",
        "--columns=parent_name,tag,up",
        "find",
        "Logical_Switch_Port",
        &format!("name={endpoint}"),
    ]);
    let mut lines = found.lines().map(str::to_string);
    let mut next = || lines.next().unwrap_or_default();
    (next(), next(), next())
}

/// The VLAN tag of endpoint `endpoint`'s port on the VM's bridge (its
/// veth's host end), empty when there is none.
fn vm_bridge_tag(vm: &LabHost, endpoint: &str) -> String {
    let port = format!("ovn{}", &endpoint[..12]);
    let output = std::process::Command::new("ovs-vsctl")
        .arg(format!("--db={}", vm.ovs_db))
        .args(["--timeout=10", "--if-exists", "get", "Port", &port, "tag"])
        .output()
        .expect("run ovs-vsctl (Debian package openvswitch-switch)");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// `dovn-nest` on `host`'s driver, as dockerd there would create it.
fn shared_on(host: &LabHost) -> RemoteNetwork {
    RemoteNetwork::create(
        PluginClient::new(&host.plugin_socket),
        json!({"ovn.network": "dovn-nest"}),
        json!([{"AddressSpace": "docker-ovn", "Pool": SUBNET}]),
    )
}

/// An endpoint of `network` on `host`, its address from that host's IPAM.
fn endpoint_on(host: &LabHost, network: &RemoteNetwork, sandbox: &str) -> RemoteEndpoint {
    let address = ipam_address(&network.client, SUBNET);
    RemoteEndpoint::join(host, network, &address, sandbox)
}

#[test]
fn nested_containers_are_tagged_children_of_the_vm_port_and_reach_both_hosts() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let (hosts, vm) = (lab.hosts(), lab.nested_vm());
    let shared = ["-o", "ovn.network=dovn-nest", "--ipam-driver", "ovn"];
    let mut local =
        DockerNetwork::create("dovn-nest", &[&shared[..], &["--subnet", SUBNET]].concat());
    local.run("dovn-nest-a", &[]);
    let a = local.address("dovn-nest-a");
    let on2 = shared_on(&hosts[1]);
    let b = endpoint_on(&hosts[1], &on2, "dovn-nest-h2");
    let in_vm = shared_on(&vm);
    let n1 = endpoint_on(&vm, &in_vm, "dovn-nest-n1");
    // Join has returned: the child is up already, no waiting here.
    let (parent, tag1, up) = child_port(&lab, &n1.id);
    assert_eq!(
        (parent.as_str(), up.as_str()),
        (PARENT, "true"),
        "n1's logical port"
    );
    let tag: u16 = tag1
        .parse()
        .unwrap_or_else(|_| panic!("n1 has no tag: {tag1:?}"));
    assert!((1..=4095).contains(&tag), "tag {tag}");
    assert_eq!(vm_bridge_tag(&vm, &n1.id), tag1, "n1's veth on br-vm");
    let n2 = endpoint_on(&vm, &in_vm, "dovn-nest-n2");
    let (_, tag2, _) = child_port(&lab, &n2.id);
    assert_ne!(tag1, tag2, "two children of {PARENT} share a tag");
    assert_eq!(vm_bridge_tag(&vm, &n2.id), tag2, "n2's veth on br-vm");
    eventually("nested -> host1's container", || n1.sandbox.ping(&a, &[]));
    eventually("nested -> host2's sandbox", || {
        n1.sandbox.ping(&b.address, &[])
    });
    eventually("host1's container -> nested", || {
        container_pings("dovn-nest-a", &n1.address)
    });
    eventually("nested -> nested", || n1.sandbox.ping(&n2.address, &[]));
    assert_spoofed_source_dropped(&n1, &a);
    drop((n1, n2, in_vm, b, on2));
    local.remove();
}

/// A source address the child's port does not hold is dropped by its
/// port security, while its own still passes.
fn assert_spoofed_source_dropped(nested: &RemoteEndpoint, target: &str) {
    let sandbox = nested.sandbox.name.as_str();
    let spoofed = "10.85.0.250";
    let added = ip(&[
        "-n",
        sandbox,
        "addr",
        "add",
        &format!("{spoofed}/32"),
        "dev",
        "eth0",
    ]);
    assert!(added.status.success(), "{}", text(&added));
    let output = nested.sandbox.ping(target, &["-c", "2", "-I", spoofed]);
    assert!(
        !output.status.success(),
        "a ping from {spoofed}, not {sandbox}'s address, got through: {}",
        text(&output)
    );
    let own = nested.sandbox.ping(target, &[]);
    assert!(own.status.success(), "its own address: {}", text(&own));
}

#[test]
fn a_nested_container_killed_without_leave_loses_its_child_port_after_a_driver_restart() {
    let _one = serial();
    let lab = Lab::require_hosts(1);
    let vm = lab.nested_vm();
    LabDaemon::NestedDriver.require_started_by_lab(&lab);
    let network = RemoteNetwork::create(
        PluginClient::new(&vm.plugin_socket),
        json!({}),
        json!([{"AddressSpace": "LocalDefault", "Pool": "10.84.0.0/24", "Gateway": "10.84.0.1/24"}]),
    );
    let nested = RemoteEndpoint::join(&vm, &network, "10.84.0.10/24", "dovn-nest-k");
    let endpoint = nested.id.clone();
    assert_eq!(child_port(&lab, &endpoint).0, PARENT);
    // With the driver gone nobody sends Leave; then the container dies
    // and its namespace (with the veth's inner end) with it.
    LabDaemon::NestedDriver.kill(&lab, libc::SIGKILL);
    let deleted = ip(&["netns", "del", &nested.sandbox.name]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    restart_missing(&lab, DOCKER_OVN);
    wait_until(
        "reconciliation to remove the child port and its VM-bridge port",
        Duration::from_secs(30),
        || child_port(&lab, &endpoint).0.is_empty() && vm_bridge_tag(&vm, &endpoint).is_empty(),
    );
    assert_eq!(
        lab.nbctl(&["lsp-get-up", PARENT]),
        "up",
        "the parent port was touched"
    );
    // dockerd in the VM would now clean up: Leave and DeleteEndpoint find
    // nothing and succeed.
    drop((nested, network));
}

/// `docker-ovn reconcile` inside the VM's namespace, where its veths are,
/// with its driver's flags.
fn reconcile_in_vm(lab: &Lab, vm: &LabHost) {
    let netns = vm.netns.as_deref().expect("the VM's namespace");
    let output = std::process::Command::new("ip")
        .args(["netns", "exec", netns, DOCKER_OVN, "reconcile"])
        .args(["--ovs-db", &vm.ovs_db, "--nb-db", &lab.nb_db()])
        .args(["--nested-parent", PARENT, "--vm-bridge", "br-vm"])
        .output()
        .expect("run docker-ovn reconcile");
    assert!(
        output.status.success(),
        "reconcile in the VM: {}",
        text(&output)
    );
}

#[test]
fn a_nested_port_deleted_by_hand_is_put_back_with_its_tag() {
    let _one = serial();
    let lab = Lab::require_hosts(1);
    let vm = lab.nested_vm();
    let network = RemoteNetwork::create(
        PluginClient::new(&vm.plugin_socket),
        json!({}),
        json!([{"AddressSpace": "LocalDefault", "Pool": "10.80.0.0/24", "Gateway": "10.80.0.1/24"}]),
    );
    let n1 = RemoteEndpoint::join(&vm, &network, "10.80.0.10/24", "dovn-nest-r1");
    let n2 = RemoteEndpoint::join(&vm, &network, "10.80.0.11/24", "dovn-nest-r2");
    eventually("nested -> nested", || n1.sandbox.ping(&n2.address, &[]));
    let tag = vm_bridge_tag(&vm, &n1.id);
    let port = format!("ovn{}", &n1.id[..12]);
    let deleted = std::process::Command::new("ovs-vsctl")
        .args([&format!("--db={}", vm.ovs_db), "del-port", "br-vm", &port])
        .output()
        .expect("run ovs-vsctl");
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert!(
        !n1.sandbox.ping(&n2.address, &[]).status.success(),
        "pinged without its port"
    );
    reconcile_in_vm(&lab, &vm);
    assert_eq!(
        vm_bridge_tag(&vm, &n1.id),
        tag,
        "the port put back on br-vm"
    );
    eventually("nested -> nested again", || {
        n1.sandbox.ping(&n2.address, &[])
    });
    drop((n1, n2, network));
}
