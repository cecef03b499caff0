//! `-d ovn` provider networks (`-o ovn.physnet=physnet1`), on the lab of
//! `docker-ovn-lab up --hosts 3`: each host's `br-phy` (which also holds
//! its Geneve endpoint) is on the lab's physical network, an OVS switch
//! in the underlay's namespace with outside hosts: `dovn-flat` untagged
//! at 10.251.0.254, `dovn-vlan100` and `dovn-vlan200` at 10.250.0.254 on
//! VLANs 100 and 200. Containers on host1 are `docker run`; on hosts 2
//! and 3 the test is dockerd ([`test_support::RemoteEndpoint`]).
//!
//! The tests take turns: two capture or block traffic on the hosts'
//! uplinks, one changes host1's bridge mappings. Needs root and the lab;
//! fails (never skips) without them.

use std::process::{Command, Output};

use serde_json::json;
use test_support::cross_host::{
    CrossHostNetwork, Spanned, assert_apart_across, assert_full_size_crosses,
    assert_reach_each_other, eventually,
};
use test_support::lab::{LabHost, docker};
use test_support::remote::ipam_address;
use test_support::underlay::{on_the_wire_at, text};
use test_support::{
    DockerNetwork, Lab, PluginClient, RemoteEndpoint, RemoteNetwork, container_pings, exec_ok, ip,
    localports, serial,
};

/// The physical network's whole MTU: no tunnel overhead.
const CONTAINER_MTU: u32 = 1500;
/// The untagged outside host, and the VLAN ones (one address for both).
const FLAT_OUTSIDE: &str = "10.251.0.254";
const VLAN_OUTSIDE: &str = "10.250.0.254";

/// A provider network private to each host (a logical switch per host,
/// each with its localnet port): untagged on 10.251.0.0/24 or on VLAN
/// `vlan` on 10.250.0.0/24, the outside host as router; host1's
/// containers from .16/28, host K's sandbox at .(16 K + 10).
struct Provider {
    name: &'static str,
    vlan: Option<u16>,
}

impl Provider {
    fn subnet(&self) -> &'static str {
        match self.vlan {
            Some(_) => "10.250.0",
            None => "10.251.0",
        }
    }

    fn options(&self) -> serde_json::Value {
        match self.vlan {
            Some(vlan) => json!({"ovn.physnet": "physnet1", "ovn.vlan": vlan.to_string()}),
            None => json!({"ovn.physnet": "physnet1"}),
        }
    }
}

impl CrossHostNetwork for Provider {
    fn name(&self) -> &'static str {
        self.name
    }

    fn on_host1(&self) -> (DockerNetwork, String) {
        let net = self.subnet();
        let vlan = self.vlan.map(|v| format!("ovn.vlan={v}"));
        let (subnet, range, gateway) = (
            format!("{net}.0/24"),
            format!("{net}.16/28"),
            format!("{net}.254"),
        );
        let mut args = vec!["-o", "ovn.physnet=physnet1"];
        if let Some(vlan) = &vlan {
            args.extend(["-o", vlan]);
        }
        args.extend([
            "--subnet",
            &subnet,
            "--ip-range",
            &range,
            "--gateway",
            &gateway,
        ]);
        let mut network = DockerNetwork::create(self.name, &args);
        network.run(&self.container(), &[]);
        let address = network.address(&self.container());
        (network, address)
    }

    fn on(&self, host: &LabHost) -> RemoteNetwork {
        let net = self.subnet();
        RemoteNetwork::create(
            PluginClient::new(&host.plugin_socket),
            self.options(),
            json!([{"AddressSpace": "LocalDefault", "Pool": format!("{net}.0/24"),
                    "Gateway": format!("{net}.254/24")}]),
        )
    }

    fn endpoint(&self, host: &LabHost, network: &RemoteNetwork) -> RemoteEndpoint {
        let k: u8 = host.number().parse().expect("hostK");
        let cidr = format!("{}.{}/24", self.subnet(), 16 * k + 10);
        RemoteEndpoint::join(host, network, &cidr, &format!("{}-h{k}", self.name))
    }
}

/// The localnet ports of logical switch `switch`: `name,tag_request,tag,
/// options` each.
fn localnet_ports(lab: &Lab, switch: &str) -> Vec<String> {
    let key = format!("external_ids:docker-ovn\\:localnet={switch}");
    let found = lab.nbctl(&[
        "--format=csv",
        "--data=bare",
        "--no-headings",
        "--columns=name,tag_request,tag,options",
        "find",
        "Logical_Switch_Port",
        "type=localnet",
        &key,
    ]);
    found.lines().map(str::to_string).collect()
}

/// The private logical switch of Docker network `network` (by id).
fn switch_of(network_id: &str) -> String {
    format!("docker-{}", &network_id[..12])
}

/// `ip netns exec NETNS ARGS...`.
fn in_netns(netns: &str, args: &[&str]) -> Output {
    let mut all = vec!["netns", "exec", netns];
    all.extend_from_slice(args);
    ip(&all)
}

/// The MAC of `eth0` in namespace `netns`.
fn eth0_mac(netns: &str) -> String {
    let output = in_netns(netns, &["cat", "/sys/class/net/eth0/address"]);
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The neighbour entry host1's container `container` holds for `address`:
/// its line of `ip neigh`.
fn neighbour_in_container(container: &str, address: &str) -> String {
    exec_ok(container, &["ip", "neigh", "show", address])
}

#[test]
fn a_flat_provider_network_is_the_physical_network_itself_no_tunnel_no_nat() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Provider {
        name: "dovn-pflat",
        vlan: None,
    };
    let (network, address) = net.on_host1();
    let container = net.container();
    let switch = switch_of(&network.id);
    let localnet = localnet_ports(&lab, &switch);
    assert_eq!(
        localnet.len(),
        1,
        "localnet ports of {switch}: {localnet:?}"
    );
    assert!(
        localnet[0].contains("network_name=physnet1"),
        "{localnet:?}"
    );
    let mtu = exec_ok(&container, &["cat", "/sys/class/net/eth0/mtu"]);
    assert_eq!(mtu, CONTAINER_MTU.to_string(), "the container's MTU");
    let mac = exec_ok(&container, &["cat", "/sys/class/net/eth0/address"]);
    eventually("the outside host -> the container", || {
        in_netns("dovn-flat", &["ping", "-c1", "-W1", &address])
    });
    let neighbour =
        String::from_utf8_lossy(&ip(&["-n", "dovn-flat", "neigh", "show", &address]).stdout)
            .into_owned();
    assert!(
        neighbour.contains(&mac),
        "the outside host resolved {address} to another MAC than the container's {mac} \
         (routed or NATed?): {neighbour}"
    );
    let pid = docker_ok_pid(&container);
    let full = nsenter_ping(&pid, FLAT_OUTSIDE, CONTAINER_MTU - 28);
    assert!(full.status.success(), "1472 bytes with DF: {}", text(&full));
    assert_outside_connects_without_publishing(&container, &address);
    let wire = on_the_wire_at(
        "dovn-h1",
        &format!("ether host {mac} or udp port 6081"),
        || {
            let _ = container_pings(&container, FLAT_OUTSIDE);
        },
    );
    assert!(
        wire.contains(&mac),
        "the container's MAC is not on the wire:\n{wire}"
    );
    assert!(
        !wire.contains(".6081") && !wire.to_lowercase().contains("geneve"),
        "Geneve on the physical network:\n{wire}"
    );
    network.remove();
    assert_eq!(
        localnet_ports(&lab, &switch),
        Vec::<String>::new(),
        "left behind"
    );
}

/// The container's main process, for `nsenter`.
fn docker_ok_pid(container: &str) -> String {
    let output = docker(&["inspect", "-f", "{{.State.Pid}}", container]);
    assert!(
        output.status.success(),
        "inspect {container}: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// iputils' ping (busybox's has no `-M`) with DF and `payload` bytes, in
/// the network namespace of process `pid`.
fn nsenter_ping(pid: &str, target: &str, payload: u32) -> Output {
    let payload = payload.to_string();
    Command::new("nsenter")
        .args([
            "-t", pid, "-n", "ping", "-c1", "-W2", "-M", "do", "-s", &payload, target,
        ])
        .output()
        .expect("run nsenter (util-linux)")
}

/// The outside host opens a TCP connection to the container's own address
/// and port, which nothing publishes, and reads what it sends.
fn assert_outside_connects_without_publishing(container: &str, address: &str) {
    docker(&[
        "exec",
        "-d",
        container,
        "sh",
        "-c",
        "echo straight-from-the-container | nc -l -p 8080",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let script = format!("sleep 2 | timeout 10 busybox nc {address} 8080");
    let output = in_netns("dovn-flat", &["sh", "-c", &script]);
    assert!(
        text(&output).contains("straight-from-the-container"),
        "the outside host could not connect to {address}:8080: {}",
        text(&output)
    );
}

#[test]
fn a_provider_network_spans_hosts_at_full_mtu() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let net = Provider {
        name: "dovn-pspan",
        vlan: None,
    };
    let span = Spanned::three_hosts(&lab, &net);
    assert_reach_each_other(&net, &span.a, &[&span.b, &span.c]);
    eventually("host2's sandbox -> the outside host", || {
        span.b.sandbox.ping(FLAT_OUTSIDE, &[])
    });
    span.remove();
    assert_full_size_crosses(&lab, &net, CONTAINER_MTU);
}

#[test]
fn vlan_provider_networks_reach_only_their_own_vlan() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let red = Provider {
        name: "dovn-pv100",
        vlan: Some(100),
    };
    let blue = Provider {
        name: "dovn-pv200",
        vlan: Some(200),
    };
    let (vlan100, vlan200) = (eth0_mac("dovn-vlan100"), eth0_mac("dovn-vlan200"));
    assert_ne!(vlan100, vlan200);
    assert_apart_across(&lab, &red, &blue, |on_red, on_blue, _| {
        let container = red.container();
        eventually("red on host1 -> the outside host", || {
            container_pings(&container, VLAN_OUTSIDE)
        });
        let resolved = neighbour_in_container(&container, VLAN_OUTSIDE);
        assert!(
            resolved.contains(&vlan100),
            "VLAN 100 reached {resolved}, not {vlan100}"
        );
        for (endpoint, mac) in [(on_red, &vlan100), (on_blue, &vlan200)] {
            eventually("a sandbox -> the outside host of its VLAN", || {
                endpoint.sandbox.ping(VLAN_OUTSIDE, &[])
            });
            let neighbours = ip(&["-n", &endpoint.sandbox.name, "neigh", "show", VLAN_OUTSIDE]);
            let line = String::from_utf8_lossy(&neighbours.stdout).into_owned();
            assert!(
                line.contains(mac.as_str()),
                "{}: {line}, not {mac}",
                endpoint.sandbox.name
            );
        }
    });
    let (network, _) = red.on_host1();
    let tags = localnet_ports(&lab, &switch_of(&network.id));
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert!(
        tags[0].contains(",100,100,"),
        "tag_request and tag: {tags:?}"
    );
    network.remove();
}

/// Drops Geneve (UDP 6081) on every host's `br-phy` while alive.
struct GeneveDropped<'a> {
    hosts: &'a [LabHost],
}

const DROP_GENEVE: &str = "priority=65000,udp,tp_dst=6081";

impl<'a> GeneveDropped<'a> {
    fn on(hosts: &'a [LabHost]) -> GeneveDropped<'a> {
        for host in hosts {
            let flow = format!("{DROP_GENEVE},actions=drop");
            let output = ofctl(host, &["add-flow", "br-phy", &flow]);
            assert!(output.status.success(), "{}: {}", host.name, text(&output));
        }
        GeneveDropped { hosts }
    }
}

impl Drop for GeneveDropped<'_> {
    fn drop(&mut self) {
        for host in self.hosts {
            let _ = ofctl(host, &["--strict", "del-flows", "br-phy", DROP_GENEVE]);
        }
    }
}

/// `ovs-ofctl` on `host`'s own ovs-vswitchd (its run directory is beside
/// its database socket).
fn ofctl(host: &LabHost, args: &[&str]) -> Output {
    let db = host.ovs_db.trim_start_matches("unix:");
    let rundir = std::path::Path::new(db).parent().expect("run directory");
    Command::new("ovs-ofctl")
        .env("OVS_RUNDIR", rundir)
        .args(args)
        .output()
        .expect("run ovs-ofctl (Debian package openvswitch-common)")
}

#[test]
fn with_geneve_dropped_provider_pings_pass_and_overlay_pings_stop() {
    let _one = serial();
    let lab = Lab::require_hosts(3);
    let hosts = lab.hosts();
    let provider = Provider {
        name: "dovn-pgen",
        vlan: None,
    };
    let (local, a) = provider.on_host1();
    let on2 = provider.on(&hosts[1]);
    let b = provider.endpoint(&hosts[1], &on2);
    let shared = SharedOverlay::new(&hosts[1]);
    eventually("overlay: host2 -> host1", || {
        shared.b.sandbox.ping(&shared.a, &[])
    });
    eventually("provider: host2 -> host1", || b.sandbox.ping(&a, &[]));
    {
        let _dropped = GeneveDropped::on(&hosts);
        eventually("provider with Geneve dropped: host2 -> host1", || {
            b.sandbox.ping(&a, &[])
        });
        let overlay = shared.b.sandbox.ping(&shared.a, &["-c", "3"]);
        assert!(
            !overlay.status.success(),
            "an overlay ping crossed with Geneve dropped: {}",
            text(&overlay)
        );
    }
    eventually("overlay again once Geneve passes", || {
        shared.b.sandbox.ping(&shared.a, &[])
    });
    shared.remove();
    drop((b, on2));
    local.remove();
}

/// An overlay network shared by host1's dockerd and host2, one endpoint
/// on each, addresses from the `ovn` IPAM.
struct SharedOverlay {
    local: DockerNetwork,
    a: String,
    b: RemoteEndpoint,
    remote: RemoteNetwork,
}

impl SharedOverlay {
    fn new(host2: &LabHost) -> SharedOverlay {
        let (local, a, remote, b) = shared_pair(host2, "dovn-pgen-sh", "10.86.0.0/24", &[]);
        SharedOverlay {
            local,
            a,
            b,
            remote,
        }
    }

    fn remove(self) {
        drop((self.b, self.remote));
        self.local.remove();
    }
}

/// A network shared (`ovn.network=NAME`, `--ipam-driver ovn`) by host1's
/// dockerd (container `NAME-a`) and host2, whose endpoint's address the
/// `ovn` IPAM of host2's driver hands out, as dockerd there would ask it.
fn shared_pair(
    host2: &LabHost,
    name: &str,
    subnet: &str,
    options: &[(&str, &str)],
) -> (DockerNetwork, String, RemoteNetwork, RemoteEndpoint) {
    let shared = format!("ovn.network={name}");
    let mut args = vec![
        "-o",
        shared.as_str(),
        "--ipam-driver",
        "ovn",
        "--subnet",
        subnet,
    ];
    let extra: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for option in &extra {
        args.extend(["-o", option.as_str()]);
    }
    let mut local = DockerNetwork::create(name, &args);
    let container = format!("{name}-a");
    local.run(&container, &[]);
    let a = local.address(&container);
    let client = PluginClient::new(&host2.plugin_socket);
    let address = ipam_address(&client, subnet);
    let mut generic = json!({"ovn.network": name});
    for (key, value) in options {
        generic[*key] = json!(value);
    }
    let remote = RemoteNetwork::create(
        client,
        generic,
        json!([{"AddressSpace": "docker-ovn", "Pool": subnet}]),
    );
    let b = RemoteEndpoint::join(host2, &remote, &address, &format!("{name}-h2"));
    (local, a, remote, b)
}

#[test]
fn two_hosts_on_one_shared_provider_network_get_unique_addresses() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let hosts = lab.hosts();
    let (local, a, remote, b) = shared_pair(
        &hosts[1],
        "dovn-pshared",
        "10.249.0.0/24",
        &[("ovn.physnet", "physnet1")],
    );
    assert_ne!(a, b.address, "both hosts were given {a}");
    eventually("host2 -> host1 on the shared provider network", || {
        b.sandbox.ping(&a, &[])
    });
    let localnet = localnet_ports(&lab, "dovn-pshared");
    assert_eq!(
        localnet.len(),
        1,
        "one localnet port for both hosts: {localnet:?}"
    );
    drop((b, remote));
    local.remove();
    assert_eq!(localnet_ports(&lab, "dovn-pshared"), Vec::<String>::new());
}

/// host1's Open_vSwitch with a bridge of another datapath type mapped as
/// `physsys` while alive; the mappings put back after.
struct ForeignMapping {
    lab: Lab,
    mappings: String,
}

impl ForeignMapping {
    fn add(lab: &Lab) -> ForeignMapping {
        let mappings = vsctl(
            lab,
            &[
                "get",
                "Open_vSwitch",
                ".",
                "external_ids:ovn-bridge-mappings",
            ],
        );
        let mappings = mappings.trim_matches('"').to_string();
        let with = format!("external_ids:ovn-bridge-mappings=\"{mappings},physsys:dovn-sysbr\"");
        vsctl(
            lab,
            &[
                "--no-wait",
                "--may-exist",
                "add-br",
                "dovn-sysbr",
                "--",
                "set",
                "Bridge",
                "dovn-sysbr",
                "datapath_type=system",
                "--",
                "set",
                "Open_vSwitch",
                ".",
                &with,
            ],
        );
        ForeignMapping {
            lab: lab.clone(),
            mappings,
        }
    }
}

impl Drop for ForeignMapping {
    fn drop(&mut self) {
        let back = format!("external_ids:ovn-bridge-mappings=\"{}\"", self.mappings);
        let _ = try_vsctl(&self.lab, &["set", "Open_vSwitch", ".", &back]);
        let _ = try_vsctl(&self.lab, &["--if-exists", "del-br", "dovn-sysbr"]);
    }
}

fn try_vsctl(lab: &Lab, args: &[&str]) -> Output {
    Command::new("ovs-vsctl")
        .arg(format!("--db={}", lab.ovs_db()))
        .arg("--timeout=10")
        .args(args)
        .output()
        .expect("run ovs-vsctl (Debian package openvswitch-switch)")
}

fn vsctl(lab: &Lab, args: &[&str]) -> String {
    let output = try_vsctl(lab, args);
    assert!(
        output.status.success(),
        "ovs-vsctl {args:?}: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn an_unmapped_or_mismatched_physnet_is_refused_and_changes_nothing() {
    let _one = serial();
    let lab = Lab::require();
    let _foreign = ForeignMapping::add(&lab);
    // What a network would write: its switch and ports in Northbound, a
    // gateway port (`dovngw...`) on host1; endpoints of the other tests,
    // which come and go meanwhile, are not compared.
    let northbound = || lab.nbctl(&["show"]);
    let bridges = || {
        let ports = vsctl(&lab, &["list-ports", "br-int"]);
        let gateways: Vec<&str> = ports.lines().filter(|p| p.starts_with("dovngw")).collect();
        (vsctl(&lab, &["list-br"]), gateways.join(" "))
    };
    let before = (northbound(), bridges());
    let cases = [
        (
            vec!["-o", "ovn.physnet=physnet9"],
            "maps no bridge to physical network \"physnet9\"",
        ),
        (
            vec!["-o", "ovn.physnet=physsys"],
            "datapath type \"system\"",
        ),
        (vec!["-o", "ovn.vlan=100"], "add -o ovn.physnet"),
        (
            vec!["-o", "ovn.physnet=physnet1", "-o", "ovn.vlan=5000"],
            "1 to 4094",
        ),
    ];
    for (args, says) in cases {
        let mut create = vec![
            "network",
            "create",
            "-d",
            "ovn",
            "--subnet",
            "10.248.0.0/24",
        ];
        create.extend(&args);
        create.push("dovn-pbad");
        let output = docker(&create);
        let _ = docker(&["network", "rm", "dovn-pbad"]);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(text(&output).contains(says), "{args:?}: {}", text(&output));
    }
    assert_eq!(
        before,
        (northbound(), bridges()),
        "a refused network changed a database"
    );
}

#[test]
fn with_the_host_as_gateway_a_provider_network_routes_through_this_host() {
    let _one = serial();
    let lab = Lab::require_hosts(2);
    let args = [
        "-o",
        "ovn.physnet=physnet1",
        "-o",
        "ovn.gateway=host",
        "--subnet",
        "10.247.0.0/24",
    ];
    let mut network = DockerNetwork::create("dovn-phost", &args);
    network.run("dovn-phost-a", &[]);
    let switch = switch_of(&network.id);
    assert_eq!(localnet_ports(&lab, &switch).len(), 1, "its localnet port");
    assert_eq!(
        localports(&lab, &switch).len(),
        1,
        "the host gateway's localport"
    );
    let routes = exec_ok("dovn-phost-a", &["ip", "route"]);
    assert!(routes.contains("default via 10.247.0.1"), "{routes}");
    eventually("the container -> this host's gateway", || {
        container_pings("dovn-phost-a", "10.247.0.1")
    });
    network.remove();
    assert_eq!(
        localports(&lab, &switch),
        Vec::<String>::new(),
        "left behind"
    );
}
