//! The network policy options end to end with the lab's dockerd, on both
//! drivers: `icc=false` keeps containers apart but not the gateway,
//! egress or published ports; a subnet over a route of the host is
//! refused with nothing written, unless `allow-overlap=true`; `rate=MBIT`
//! holds a container to its limit both ways (iperf3, Debian's package,
//! run in the container's namespace), and without it the same run goes
//! well past the limit. Needs root and the lab; fails (never skips)
//! without them.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use test_support::netns::Outside;
use test_support::udp::container_netns;
use test_support::{DockerNetwork, Lab, LabBridge, container_pings, docker, docker_ok, eventually};

/// `docker-ovn` driver names, each with its option prefix.
const DRIVERS: [&str; 2] = ["ovn", "ovs"];

fn icc_off_keeps_containers_apart(driver: &str, subnet: &str, outside: &str, port: u16) {
    let _lab = Lab::require();
    let prefix = format!("icc-{driver}");
    let icc = format!("{driver}.icc=false");
    let mut net = DockerNetwork::create_on(driver, &prefix, &["--subnet", subnet, "-o", &icc]);
    let (a, b) = (format!("{prefix}-a"), format!("{prefix}-b"));
    net.run(&a, &[]);
    let publish = format!("{port}:8080");
    let script = "mkdir -p /www && echo isolated > /www/page && exec httpd -f -p 8080 -h /www";
    let network = net.name.clone();
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &b,
        "--network",
        &network,
        "-p",
        &publish,
        test_support::IMAGE,
        "sh",
        "-c",
        script,
    ]);
    net.adopt(&b);
    let outside = Outside::new(&format!("{prefix}-out"), outside);
    let gateway = subnet.replace("0/24", "1");

    eventually("the gateway", Duration::from_secs(10), || {
        container_pings(&a, &gateway)
    });
    eventually("egress to the outside", Duration::from_secs(10), || {
        container_pings(&a, &outside.far)
    });
    for (from, to) in [(&a, &b), (&b, &a)] {
        let address = net.address(to);
        let ping = container_pings(from, &address);
        assert!(
            !ping.status.success(),
            "{from} reached {to} ({address}) with icc off"
        );
    }
    let url = format!("http://{}:{port}/page", outside.near);
    eventually(
        "the published port from the host",
        Duration::from_secs(10),
        || {
            Command::new("timeout")
                .args(["3", "busybox", "wget", "-qO-", &url])
                .output()
                .unwrap()
        },
    );
    eventually(
        "the published port from a container of the network",
        Duration::from_secs(10),
        || docker(&["exec", &a, "timeout", "3", "wget", "-qO-", &url]),
    );
    net.remove();
}

#[test]
fn ovn_icc_off_keeps_containers_apart_but_not_the_gateway_egress_or_published_ports() {
    icc_off_keeps_containers_apart("ovn", "10.96.40.0/24", "198.18.86", 18510);
}

#[test]
fn ovs_icc_off_keeps_containers_apart_but_not_the_gateway_egress_or_published_ports() {
    icc_off_keeps_containers_apart("ovs", "10.96.41.0/24", "198.18.87", 18511);
}

/// What the databases hold of a network of `subnet`: the Northbound
/// switches and host1's `-d ovs` network records that name it (the other
/// tests of this file create networks meanwhile, of other subnets).
fn written_for(lab: &Lab, subnet: &str) -> Vec<String> {
    let switches = Command::new("ovn-nbctl")
        .args([
            "--db",
            &lab.nb_db(),
            "--bare",
            "--columns=name,external_ids",
        ])
        .args(["list", "Logical_Switch"])
        .output()
        .expect("run ovn-nbctl (Debian package ovn-central)");
    let switches = String::from_utf8_lossy(&switches.stdout).into_owned();
    let records = LabBridge::of(lab).records();
    let key = format!("subnet4={subnet}");
    [switches, records]
        .iter()
        .flat_map(|text| text.split(['\n', ',']))
        .filter(|part| part.contains(&key))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_subnet_over_a_route_of_the_host_is_refused_unless_overlap_is_allowed() {
    let lab = Lab::require();
    // A route of the host's own: the outside namespace's /24.
    let outside = Outside::new("route-clash", "198.18.88");
    for driver in DRIVERS {
        let name = format!("route-clash-{driver}");
        let refused = docker(&[
            "network",
            "create",
            "-d",
            driver,
            "--subnet",
            "198.18.88.128/25",
            &name,
        ]);
        let _ = docker(&["network", "rm", &name]);
        let said = String::from_utf8_lossy(&refused.stderr);
        assert!(
            !refused.status.success(),
            "-d {driver} took a subnet over a route"
        );
        let route = format!(
            "overlaps the host's route 198.18.88.0/24 dev {}",
            outside.veth
        );
        assert!(said.contains(&route), "-d {driver}: {said}");
        assert!(
            said.contains(&format!("{driver}.allow-overlap=true")),
            "{said}"
        );
        let written = written_for(&lab, "198.18.88.128/25");
        assert!(
            written.is_empty(),
            "-d {driver}: a refused network wrote {written:?}"
        );
        let allow = format!("{driver}.allow-overlap=true");
        let net = DockerNetwork::create_on(
            driver,
            &name,
            &["--subnet", "198.18.88.128/25", "-o", &allow],
        );
        // What the check above would have seen of a network written.
        assert!(
            !written_for(&lab, "198.18.88.128/25").is_empty(),
            "-d {driver}"
        );
        net.remove();
    }
}

/// An iperf3 server for one test in the container's namespace.
fn iperf3_server(container: &str) -> Child {
    Command::new("nsenter")
        .args([
            &format!("--net={}", container_netns(container)),
            "iperf3",
            "-s",
            "-1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run iperf3 (Debian package iperf3) under nsenter (util-linux)")
}

/// Mbit/s the receiver counted of an iperf3 run from the host to
/// `address` (`extra`: `-u -b 40M` for UDP, `-R` for the other way).
fn iperf3_mbits(container: &str, address: &str, extra: &[&str]) -> f64 {
    let mut server = iperf3_server(container);
    std::thread::sleep(Duration::from_millis(500));
    let mut args = vec!["-c", address, "-t", "4", "-f", "k"];
    args.extend_from_slice(extra);
    let output = Command::new("iperf3")
        .args(&args)
        .output()
        .expect("run iperf3");
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&output.stdout);
    let receiver = text
        .lines()
        .find(|l| l.ends_with("receiver"))
        .unwrap_or_else(|| panic!("iperf3 {args:?}: no receiver line: {text}"));
    let words: Vec<&str> = receiver.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "Kbits/sec")
        .expect("a rate");
    words[at - 1].parse::<f64>().expect("a number") / 1000.0
}

const LIMIT_MBIT: f64 = 20.0;

fn a_rate_limit_holds_a_container_both_ways(driver: &str, subnets: [&str; 2]) {
    let _lab = Lab::require();
    let rate = format!("{driver}.rate={LIMIT_MBIT}");
    let name = format!("rate-{driver}");
    let mut limited =
        DockerNetwork::create_on(driver, &name, &["--subnet", subnets[0], "-o", &rate]);
    let container = format!("{name}-a");
    limited.run(&container, &[]);
    let address = limited.address(&container);
    for direction in [&[][..], &["-R"][..]] {
        let mut udp = vec!["-u", "-b", "40M"];
        udp.extend_from_slice(direction);
        let measured = iperf3_mbits(&container, &address, &udp);
        let off = (measured - LIMIT_MBIT).abs() / LIMIT_MBIT;
        assert!(
            off <= 0.15,
            "UDP {direction:?}: {measured:.1} Mbit/s for a {LIMIT_MBIT} limit"
        );
        let tcp = iperf3_mbits(&container, &address, direction);
        eprintln!(
            "-d {driver} {direction:?}: UDP {measured:.1}, TCP {tcp:.1} Mbit/s (limit {LIMIT_MBIT})"
        );
        assert!(
            tcp <= LIMIT_MBIT * 1.15,
            "TCP {direction:?}: {tcp:.1} Mbit/s past the limit"
        );
        assert!(
            tcp >= LIMIT_MBIT * 0.5,
            "TCP {direction:?}: {tcp:.1} Mbit/s, starved"
        );
    }
    limited.remove();

    let mut free =
        DockerNetwork::create_on(driver, &format!("{name}-free"), &["--subnet", subnets[1]]);
    let container = format!("{name}-free-a");
    free.run(&container, &[]);
    let address = free.address(&container);
    let measured = iperf3_mbits(&container, &address, &["-u", "-b", "80M"]);
    eprintln!("-d {driver} without a limit: UDP {measured:.1} Mbit/s");
    assert!(
        measured > 3.0 * LIMIT_MBIT,
        "without a limit the same run got only {measured:.1} Mbit/s"
    );
    free.remove();
}

#[test]
fn ovn_a_rate_limit_holds_a_container_both_ways() {
    a_rate_limit_holds_a_container_both_ways("ovn", ["10.96.42.0/24", "10.96.43.0/24"]);
}

#[test]
fn ovs_a_rate_limit_holds_a_container_both_ways() {
    a_rate_limit_holds_a_container_both_ways("ovs", ["10.96.44.0/24", "10.96.45.0/24"]);
}

/// `--ipam-driver ovn` without `--subnet` picks a subnet clear of the
/// host's routes, as Docker's default IPAM does (CreateNetwork would
/// refuse one over a route): the first automatic /24 is routed to an
/// outside namespace here, so the network gets another.
#[test]
fn an_automatic_subnet_keeps_clear_of_the_host_s_routes() {
    let _lab = Lab::require();
    let _outside = Outside::new("auto-clear", "10.200.0");
    let net = DockerNetwork::create("auto-clear", &["--ipam-driver", "ovn"]);
    let subnet = docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        &net.name,
    ]);
    assert!(subnet.starts_with("10.200."), "{subnet}");
    assert_ne!(subnet, "10.200.0.0/24", "the routed subnet was handed out");
    net.remove();
}
