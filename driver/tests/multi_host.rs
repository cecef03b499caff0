//! Across hosts, on the lab of `docker-ovn-lab up --hosts 3`: host1 with the
//! real dockerd, hosts 2 and 3 in network namespaces, each with its own OVS,
//! ovn-controller and driver, Geneve between them over the underlay.
//! Containers on host1 are `docker run`; on the other hosts the test is
//! dockerd: it calls the host's driver over its plugin socket and does what
//! libnetwork does with the answers (a sandbox namespace, the interface
//! moved in, renamed, given its address and MAC). Everything is removed
//! even when a test fails (Drop guards), and then checked to be gone.
//! Needs root and the lab; fails (never skips) without them.

use std::process::{Command, Output};
use std::time::Duration;

use docker_ovn::names::{gateway_interface, gateway_logical_port};
use ovsdb_client::{Client, Value};
use serde_json::json;
use test_support::lab::LabHost;
use test_support::leftovers::named_rows;
use test_support::remote::assert_apart;
use test_support::{
    DockerNetwork, GatewayOnHost, Lab, PluginClient, RemoteEndpoint, RemoteNetwork, Removed,
    assert_clean, container_pings, gateway_kinds, gateway_parts, localports,
};

/// `--ipam-driver` of the Docker side of shared networks: the driver's own,
/// which it requires for `-o ovn.network` (`None`: Docker's default). The
/// Docker side's `--ip-range` keeps its addresses below .128, where the
/// other hosts' endpoints, given theirs directly, are not.
const DOCKER_IPAM_DRIVER: Option<&str> = Some("ovn");
/// The address space of shared networks created over the plugin API: the
/// driver accepts `-o ovn.network` only from its own IPAM's space.
const ADDRESS_SPACE: &str = "docker-ovn";
/// The underlay's 1500 minus Geneve's 58.
const CONTAINER_MTU: u32 = 1442;
/// Cross-host paths need the remote chassis to have seen the port's binding.
const CROSS_HOST_TIMEOUT: Duration = Duration::from_secs(15);

/// A Docker network on host1 (`-d ovn -o ovn.network=NAME`): one side of
/// a shared logical switch.
fn shared_network(name: &str, subnet: &str, range: &str) -> DockerNetwork {
    let option = format!("ovn.network={name}");
    let mut args = vec!["-o", &option];
    if let Some(ipam) = DOCKER_IPAM_DRIVER {
        args.extend(["--ipam-driver", ipam]);
    }
    args.extend(["--subnet", subnet, "--ip-range", range]);
    DockerNetwork::create(name, &args)
}

/// Starts a container on `network`; returns its address there.
fn run_on(network: &mut DockerNetwork, container: &str) -> String {
    network.run(container, &[]);
    network.address(container)
}

/// A Docker network as dockerd on host K would create it through that
/// host's driver: one side of the shared logical switch `shared_name`.
fn remote_network(host: &LabHost, shared_name: &str, subnet: &str) -> RemoteNetwork {
    RemoteNetwork::create(
        PluginClient::new(&host.plugin_socket),
        json!({"ovn.network": shared_name}),
        json!([{"AddressSpace": ADDRESS_SPACE, "Pool": subnet}]),
    )
}

fn eventually(what: &str, attempt: impl FnMut() -> Output) {
    test_support::eventually(what, CROSS_HOST_TIMEOUT, attempt);
}

/// Insists that nothing of `networks` (removed) and `endpoints` is left on
/// any host.
fn assert_gone(lab: &Lab, networks: &[String], endpoints: &[String]) {
    assert_clean(
        lab,
        &Removed {
            networks,
            endpoints,
            networks_removed: true,
        },
    );
}

#[test]
fn every_chassis_is_in_the_southbound_with_its_encap_ip() {
    let lab = Lab::require_hosts(3);
    let output = Command::new("ovn-sbctl")
        .arg(format!("--db={}", lab.sb_db()))
        .args(["--timeout=10", "show"])
        .output()
        .expect("run ovn-sbctl (Debian package ovn-common)");
    assert!(output.status.success(), "ovn-sbctl show failed");
    let show = String::from_utf8_lossy(&output.stdout);
    for host in lab.hosts() {
        // `Chassis NAME`, then its `Encap geneve` with `ip: "ADDRESS"`.
        let section = show
            .split("Chassis ")
            .find(|s| s.trim_start_matches('"').starts_with(&host.system_id))
            .unwrap_or_else(|| panic!("no chassis {} in:\n{show}", host.system_id));
        assert!(
            section.contains("Encap geneve")
                && section.contains(&format!("ip: \"{}\"", host.encap_ip)),
            "chassis {} lacks geneve encap {}:\n{show}",
            host.system_id,
            host.encap_ip
        );
        assert_ne!(
            host.encap_ip, "127.0.0.1",
            "{} tunnels to nobody",
            host.name
        );
    }
}

#[test]
fn a_shared_network_spans_docker_and_the_other_hosts() {
    let lab = Lab::require_hosts(3);
    let hosts = lab.hosts();
    let (networks, endpoints) = {
        let mut local = shared_network("dovn-xh", "10.88.0.0/24", "10.88.0.0/25");
        let on_host2 = remote_network(&hosts[1], "dovn-xh", "10.88.0.0/24");
        let on_host3 = remote_network(&hosts[2], "dovn-xh", "10.88.0.0/24");
        let b = RemoteEndpoint::join(&hosts[1], &on_host2, "10.88.0.200/24", "dovn-xh-h2");
        let c = RemoteEndpoint::join(&hosts[2], &on_host3, "10.88.0.201/24", "dovn-xh-h3");
        let a_address = run_on(&mut local, "dovn-xh-a");
        eventually("host1 container -> host2 sandbox", || {
            container_pings("dovn-xh-a", &b.address)
        });
        eventually("host2 sandbox -> host1 container", || {
            b.sandbox.ping(&a_address, &[])
        });
        eventually("host2 sandbox -> host3 sandbox", || {
            b.sandbox.ping(&c.address, &[])
        });
        eventually("host3 sandbox -> host1 container", || {
            c.sandbox.ping(&a_address, &[])
        });
        let endpoints = vec![local.endpoint("dovn-xh-a"), b.id.clone(), c.id.clone()];
        let networks = vec![local.id.clone(), on_host2.id.clone(), on_host3.id.clone()];
        (networks, endpoints)
    };
    assert_gone(&lab, &networks, &endpoints);
}

#[test]
fn a_full_size_packet_with_df_crosses_and_one_byte_more_does_not() {
    let lab = Lab::require_hosts(2);
    let hosts = lab.hosts();
    let (networks, endpoints) = {
        let mut local = shared_network("dovn-xm", "10.85.0.0/24", "10.85.0.0/25");
        let remote = remote_network(&hosts[1], "dovn-xm", "10.85.0.0/24");
        let b = RemoteEndpoint::join(&hosts[1], &remote, "10.85.0.200/24", "dovn-xm-h2");
        let a_address = run_on(&mut local, "dovn-xm-a");
        assert_eq!(
            b.mtu(),
            CONTAINER_MTU,
            "the tunnel's overhead is not accounted for"
        );
        eventually("a small ping across", || b.sandbox.ping(&a_address, &[]));
        // ICMP payload + 8 (ICMP) + 20 (IPv4) = the MTU: the inner frame of
        // 1456 bytes plus Geneve's 58 fills the underlay's 1500 exactly.
        let fits = (CONTAINER_MTU - 28).to_string();
        let output = b.sandbox.ping(&a_address, &["-M", "do", "-s", &fits]);
        assert!(
            output.status.success(),
            "a {fits}-byte DF ping did not cross: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let too_big = (CONTAINER_MTU - 27).to_string();
        let output = b.sandbox.ping(&a_address, &["-M", "do", "-s", &too_big]);
        assert!(
            !output.status.success(),
            "a {too_big}-byte DF ping got through"
        );
        let endpoints = vec![local.endpoint("dovn-xm-a"), b.id.clone()];
        (vec![local.id.clone(), remote.id.clone()], endpoints)
    };
    assert_gone(&lab, &networks, &endpoints);
}

#[test]
fn different_shared_networks_do_not_reach_each_other_across_hosts() {
    let lab = Lab::require_hosts(3);
    let hosts = lab.hosts();
    let (networks, endpoints) = {
        // Both switches use one subnet, so only the switches keep them apart.
        let mut red = shared_network("dovn-xr", "10.84.0.0/24", "10.84.0.0/25");
        let red3 = remote_network(&hosts[2], "dovn-xr", "10.84.0.0/24");
        let blue2 = remote_network(&hosts[1], "dovn-xb", "10.84.0.0/24");
        let on_red = RemoteEndpoint::join(&hosts[2], &red3, "10.84.0.200/24", "dovn-xr-h3");
        let on_blue = RemoteEndpoint::join(&hosts[1], &blue2, "10.84.0.201/24", "dovn-xb-h2");
        let a_address = run_on(&mut red, "dovn-xr-a");
        // The same path works within one network: the negative below means something.
        eventually("red on host3 -> red on host1", || {
            on_red.sandbox.ping(&a_address, &[])
        });
        assert_apart(&on_blue, &[&a_address, &on_red.address], "dovn-xr-a");
        let endpoints = vec![
            red.endpoint("dovn-xr-a"),
            on_red.id.clone(),
            on_blue.id.clone(),
        ];
        (
            vec![red.id.clone(), red3.id.clone(), blue2.id.clone()],
            endpoints,
        )
    };
    assert_gone(&lab, &networks, &endpoints);
}

/// The OVS interfaces of `host` bound to the logical port `iface_id`.
fn bound_to(host: &LabHost, iface_id: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let ovs = Client::connect(&host.ovs_db).await.expect("connect to OVS");
        let key = Value::map([("iface-id", iface_id)]);
        named_rows(&ovs, "Open_vSwitch", "Interface", &key).await
    })
}

#[test]
fn each_host_has_its_own_gateway_port_on_the_shared_localport() {
    let lab = Lab::require_hosts(2);
    let hosts = lab.hosts();
    let switch = "dovn-xg";
    let interface = gateway_interface(switch);
    let on = |host| GatewayOnHost {
        host,
        switch,
        interface: &interface,
        address: "10.79.0.1/24",
    };
    let (networks, endpoints) = {
        let mut local = shared_network(switch, "10.79.0.0/24", "10.79.0.0/25");
        let remote = remote_network(&hosts[1], switch, "10.79.0.0/24");
        let b = RemoteEndpoint::join(&hosts[1], &remote, "10.79.0.200/24", "dovn-xg-h2");
        run_on(&mut local, "dovn-xg-a");
        let localport = gateway_logical_port(switch);
        for host in &hosts[..2] {
            let parts = gateway_parts(&on(host));
            let kinds: Vec<&str> = parts.iter().filter_map(|p| p.split(' ').next()).collect();
            assert_eq!(
                kinds,
                gateway_kinds(&[]),
                "{}: port, device, address, rules: {parts:?}",
                host.name
            );
            let bound = bound_to(host, &localport);
            assert_eq!(bound, [format!("Interface {interface}")], "{}", host.name);
        }
        assert_eq!(
            localports(&lab, switch).len(),
            1,
            "one localport per switch"
        );
        eventually("host1 container -> gateway", || {
            container_pings("dovn-xg-a", "10.79.0.1")
        });
        eventually("host2 sandbox -> gateway", || {
            b.sandbox.ping("10.79.0.1", &[])
        });
        let endpoints = vec![local.endpoint("dovn-xg-a"), b.id.clone()];
        (vec![local.id.clone(), remote.id.clone()], endpoints)
    };
    assert_gone(&lab, &networks, &endpoints);
    // ovs-vswitchd deletes a removed port's device in its own time.
    for host in &hosts[..2] {
        test_support::wait_until(
            &format!("the gateway of {switch} to leave {}", host.name),
            CROSS_HOST_TIMEOUT,
            || gateway_parts(&on(host)).is_empty(),
        );
    }
    assert!(
        localports(&lab, switch).is_empty(),
        "the localport outlived its switch"
    );
}
