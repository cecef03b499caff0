//! End to end with the real dockerd of the lab (`docker-ovn-lab up`, as
//! `scripts/test.sh` starts it): `docker network create -d ovn`, `docker
//! run`, ping, connect/disconnect, rm, and after each step a check that no
//! logical switch port, OVS port or veth of the removed endpoints is left.
//! Needs root and the lab; fails (never skips) without them.

use std::time::Duration;

use docker_ovn::mac::MacAddr;
use docker_ovn::names::{gateway_interface, gateway_logical_port};
use ovsdb_client::{Client, Value};
use test_support::leftovers::named_rows;
use test_support::{
    DockerNetwork, GatewayOnHost, IMAGE, Lab, Outside, Removed, assert_clean, docker, docker_ok,
    endpoint_field, exec_ok, first_command_pings, gateway_kinds, gateway_parts, localports,
    tcp_bytes_received, wait_until,
};

/// The container's interface holding `address` (Docker may have added a
/// docker_gwbridge interface, so names are not predictable).
fn interface_with_address(container: &str, address: &str) -> String {
    let listing = exec_ok(container, &["ip", "-o", "-4", "addr", "show"]);
    listing
        .lines()
        .find(|line| line.contains(&format!(" {address}/")))
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("{container} has no interface with {address}:\n{listing}"))
        .to_string()
}

/// Checks that the endpoints' ports, interfaces and veths are gone, and
/// with `network_removed` the network's logical switch too.
fn assert_gone(lab: &Lab, network_id: &str, endpoints: &[String], network_removed: bool) {
    let networks = [network_id.to_string()];
    assert_clean(
        lab,
        &Removed {
            networks: &networks,
            endpoints,
            networks_removed: network_removed,
        },
    );
}

#[test]
fn two_containers_ping_and_everything_is_removed() {
    let lab = Lab::require();
    let mut net = DockerNetwork::create("e2e-ping", &["--subnet", "10.91.0.0/24"]);
    let a = net.run("e2e-ping-a", &[]);
    let b = net.run("e2e-ping-b", &[]);
    let ip_b = endpoint_field(&b, &net.name, "IPAddress");
    let ip_a = endpoint_field(&a, &net.name, "IPAddress");
    exec_ok(&a, &["ping", "-c2", "-W2", &ip_b]);
    exec_ok(&b, &["ping", "-c2", "-W2", &ip_a]);
    for _ in 0..3 {
        first_command_pings(&net.name, &ip_a);
    }
    let endpoints = vec![
        endpoint_field(&a, &net.name, "EndpointID"),
        endpoint_field(&b, &net.name, "EndpointID"),
    ];
    let eth = interface_with_address(&a, &ip_a);
    let mtu = exec_ok(&a, &["cat", &format!("/sys/class/net/{eth}/mtu")]);
    assert_eq!(
        mtu, "1442",
        "container MTU must be the underlay's 1500 minus Geneve's 58"
    );
    let network_id = net.id.clone();
    net.remove();
    assert_gone(&lab, &network_id, &endpoints, true);
}

#[test]
fn static_ip_mac_connect_disconnect_and_several_networks() {
    let lab = Lab::require();
    let mut red = DockerNetwork::create("e2e-red", &["--subnet", "10.92.0.0/24"]);
    let blue = DockerNetwork::create(
        "e2e-blue",
        &[
            "--subnet",
            "10.93.0.0/24",
            "-o",
            "com.docker.network.driver.mtu=1400",
        ],
    );
    let server = red.run(
        "e2e-red-server",
        &["--ip", "10.92.0.50", "--mac-address", "02:42:0a:5c:00:32"],
    );
    assert_eq!(
        endpoint_field(&server, &red.name, "IPAddress"),
        "10.92.0.50"
    );
    let red_if = interface_with_address(&server, "10.92.0.50");
    let mac = exec_ok(
        &server,
        &["cat", &format!("/sys/class/net/{red_if}/address")],
    );
    assert_eq!(mac, "02:42:0a:5c:00:32");
    first_command_pings(&red.name, "10.92.0.50");

    docker_ok(&[
        "network",
        "connect",
        "--ip",
        "10.93.0.60",
        &blue.name,
        &server,
    ]);
    let blue_endpoint = endpoint_field(&server, &blue.name, "EndpointID");
    let blue_if = interface_with_address(&server, "10.93.0.60");
    let blue_mtu = exec_ok(&server, &["cat", &format!("/sys/class/net/{blue_if}/mtu")]);
    assert_eq!(blue_mtu, "1400", "-o com.docker.network.driver.mtu=1400");
    first_command_pings(&blue.name, "10.93.0.60");
    // Two networks are two logical switches: no path between them.
    let output = docker(&[
        "run",
        "--rm",
        "--network",
        &blue.name,
        IMAGE,
        "ping",
        "-c1",
        "-W1",
        "10.92.0.50",
    ]);
    assert!(!output.status.success(), "blue reached red's address");

    docker_ok(&["network", "disconnect", &blue.name, &server]);
    assert_gone(&lab, &blue.id, &[blue_endpoint], false);
    first_command_pings(&red.name, "10.92.0.50");
}

#[test]
fn ipv6_and_internal_networks() {
    let _lab = Lab::require();
    let mut v6 = DockerNetwork::create(
        "e2e-v6",
        &[
            "--ipv6",
            "--subnet",
            "10.94.0.0/24",
            "--subnet",
            "fd00:94::/64",
        ],
    );
    let a = v6.run("e2e-v6-a", &[]);
    let ip6 = endpoint_field(&a, &v6.name, "GlobalIPv6Address");
    assert!(ip6.starts_with("fd00:94::"), "{ip6}");
    let output = docker(&[
        "run",
        "--rm",
        "--network",
        &v6.name,
        IMAGE,
        "ping6",
        "-c1",
        "-W2",
        &ip6,
    ]);
    assert!(
        output.status.success(),
        "ping6 failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );

    let mut internal =
        DockerNetwork::create("e2e-internal", &["--internal", "--subnet", "10.95.0.0/24"]);
    let b = internal.run("e2e-internal-b", &[]);
    let ip_b = endpoint_field(&b, &internal.name, "IPAddress");
    first_command_pings(&internal.name, &ip_b);
}

#[test]
fn shared_network_takes_addresses_from_the_ovn_ipam_driver() {
    let lab = Lab::require();
    let _ = docker(&["network", "rm", "e2e-refused"]);
    let refused = docker(&[
        "network",
        "create",
        "-d",
        "ovn",
        "-o",
        "ovn.network=e2e-refused",
        "--subnet",
        "10.87.0.0/24",
        "e2e-refused",
    ]);
    if refused.status.success() {
        let _ = docker(&["network", "rm", "e2e-refused"]);
        panic!("a shared network with Docker's IPAM was accepted");
    }
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("--ipam-driver ovn"), "{message}");

    let mut shared = DockerNetwork::create(
        "e2e-shared",
        &[
            "--ipam-driver",
            "ovn",
            "-o",
            "ovn.network=e2e-shared",
            "--subnet",
            "10.86.0.0/24",
        ],
    );
    let a = shared.run("e2e-shared-a", &[]);
    let b = shared.run("e2e-shared-b", &["--ip", "10.86.0.99"]);
    let ip_a = endpoint_field(&a, &shared.name, "IPAddress");
    assert_eq!(ip_a, "10.86.0.2", "the first address after the gateway");
    assert_eq!(endpoint_field(&b, &shared.name, "IPAddress"), "10.86.0.99");
    exec_ok(&b, &["ping", "-c1", "-W2", &ip_a]);
    let taken = docker(&[
        "run",
        "--rm",
        "--network",
        &shared.name,
        "--ip",
        "10.86.0.99",
        IMAGE,
        "true",
    ]);
    assert!(!taken.status.success(), "10.86.0.99 handed out twice");
    let endpoints = vec![
        endpoint_field(&a, &shared.name, "EndpointID"),
        endpoint_field(&b, &shared.name, "EndpointID"),
    ];
    let network_id = shared.id.clone();
    shared.remove();
    assert_gone(&lab, &network_id, &endpoints, true);
    assert!(
        pool_rows(&lab, "10.86.0.0/24").is_empty(),
        "the address pool outlived its network"
    );
}

/// Names of the IPAM pools (Address_Set rows) of `subnet` in Northbound.
fn pool_rows(lab: &Lab, subnet: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let nb = Client::connect(&lab.nb_db()).await.expect("connect to NB");
        let pool = Value::map([("docker-ovn:pool", subnet)]);
        named_rows(&nb, "OVN_Northbound", "Address_Set", &pool).await
    })
}

/// TCP, not only ping: a 200 KiB stream between two containers. The
/// userspace datapath drops segments whose checksum was left to offload,
/// so this fails unless Join turns that offload off.
#[test]
fn tcp_streams_between_containers() {
    let _lab = Lab::require();
    let mut net = DockerNetwork::create("e2e-tcp", &["--subnet", "10.83.0.0/24"]);
    let server = net.run("e2e-tcp-server", &[]);
    let ip = endpoint_field(&server, &net.name, "IPAddress");
    let received = tcp_bytes_received(&net.name, &server, &ip);
    assert_eq!(received, "204800", "TCP stream cut short");
}

/// The logical switch of a network created without `-o ovn.network`.
fn private_switch(network: &DockerNetwork) -> String {
    format!("docker-{}", &network.id[..12])
}

/// The network's gateway port, address and rules on host1, and its
/// localport in Northbound.
fn gateway_of(lab: &Lab, switch: &str, address: &str) -> Vec<String> {
    let host = &lab.hosts()[0];
    let interface = gateway_interface(switch);
    let mut parts = gateway_parts(&GatewayOnHost {
        host,
        switch,
        interface: &interface,
        address,
    });
    parts.extend(localports(lab, switch));
    parts
}

/// A container on a non-internal network has one interface, its default
/// route via the network's gateway on this host, and reaches a namespace
/// outside (masqueraded: the outside has no route back but to the host);
/// `docker network rm` removes port, address, rules and localport.
#[test]
fn the_gateway_routes_to_the_outside_and_goes_with_its_network() {
    let lab = Lab::require();
    let outside = Outside::new("dovn-e2e-out", "198.18.81");
    let mut net = DockerNetwork::create("e2e-gw", &["--subnet", "10.81.0.0/24"]);
    let switch = private_switch(&net);
    let a = net.run("e2e-gw-a", &[]);
    let networks = docker_ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        &a,
    ]);
    assert_eq!(networks, "e2e-gw", "no docker_gwbridge or other network");
    let interfaces = exec_ok(&a, &["ls", "/sys/class/net"]);
    let mut interfaces: Vec<&str> = interfaces.split_whitespace().collect();
    interfaces.sort_unstable();
    assert_eq!(interfaces, ["eth0", "lo"], "one interface besides lo");
    let routes = exec_ok(&a, &["ip", "route"]);
    assert!(
        routes.contains("default via 10.81.0.1 dev eth0"),
        "{routes}"
    );
    exec_ok(&a, &["ping", "-c1", "-W2", "10.81.0.1"]);
    // The gateway port's MAC, not that of the host side of the container's
    // veth: the kernel sees that side's frames too and would answer ARP
    // for any of its own addresses there.
    let arp = exec_ok(&a, &["cat", "/proc/net/arp"]);
    let gateway_mac = MacAddr::from_ipv4("10.81.0.1".parse().unwrap()).to_string();
    assert!(
        arp.lines()
            .any(|l| l.starts_with("10.81.0.1 ") && l.contains(&gateway_mac)),
        "the gateway resolved to another MAC than {gateway_mac}: {arp}"
    );

    let parts = gateway_of(&lab, &switch, "10.81.0.1/24");
    let kinds: Vec<&str> = parts.iter().filter_map(|p| p.split(' ').next()).collect();
    assert_eq!(
        kinds,
        gateway_kinds(&["Logical_Switch_Port"]),
        "port, device, address, rules, localport: {parts:?}"
    );
    assert!(parts.contains(&format!(
        "Logical_Switch_Port {}",
        gateway_logical_port(&switch)
    )));

    // The outside has a route only to 198.18.81.0/24: an answer means the
    // host put its own address there in the container's place.
    let no_route = test_support::ip(&["-n", &outside.ns.name, "route", "get", "10.81.0.2"]);
    assert!(
        !no_route.status.success(),
        "the outside must not route to the containers"
    );
    exec_ok(&a, &["ping", "-c2", "-W2", &outside.far]);
    assert_eq!(
        outside.neighbours(),
        std::slice::from_ref(&outside.near),
        "the outside saw only the host's address"
    );

    net.remove();
    wait_until(
        "the gateway to go with its network",
        Duration::from_secs(10),
        || gateway_of(&lab, &switch, "10.81.0.1/24").is_empty(),
    );
}

/// An `--internal` network gets no gateway: no port, no rules, no
/// localport, and its containers no default route.
#[test]
fn an_internal_network_has_no_gateway() {
    let lab = Lab::require();
    let mut net = DockerNetwork::create("e2e-gw-int", &["--internal", "--subnet", "10.80.0.0/24"]);
    let switch = private_switch(&net);
    let a = net.run("e2e-gw-int-a", &[]);
    let routes = exec_ok(&a, &["ip", "route"]);
    assert!(!routes.contains("default"), "{routes}");
    assert_eq!(
        gateway_of(&lab, &switch, "10.80.0.1/24"),
        Vec::<String>::new()
    );
    net.remove();
}

/// The lab deletes the driver's gateway taps by their prefix without
/// linking the driver; the two must name the same prefix.
#[test]
fn the_lab_knows_the_driver_s_gateway_prefix() {
    assert_eq!(
        docker_ovn_lab::taps::GATEWAY_INTERFACE_PREFIX,
        docker_ovn::names::GATEWAY_INTERFACE_PREFIX
    );
}
