//! Published ports (`docker run -p`) end to end with the lab's dockerd, on
//! both drivers: a web server's TCP port reached from the host (127.0.0.1
//! and an address of its own), from an outside namespace routed to the
//! host, from a container of the same network (hairpin) and of another;
//! a UDP echo published on 127.0.0.1 only; a port already published
//! refused with nothing added; `docker-ovn status` listing them; nothing
//! left once the containers are gone. Needs root and the lab; fails
//! (never skips) without them.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use test_support::netns::Outside;
use test_support::udp::{UdpEcho, answer_text, container_netns, named_netns, udp_ask};
use test_support::{
    DockerNetwork, IMAGE, Lab, docker, docker_ok, eventually, published_port_rules,
};

/// The binary under test, for `docker-ovn status`.
const DOCKER_OVN: &str = env!("CARGO_BIN_EXE_docker-ovn");

/// How long a fresh web server may take to answer.
const START: Duration = Duration::from_secs(10);

/// `docker run -d` of a busybox httpd on port 8080 of `net` whose `/page`
/// is its own name, with `publish` (the `-p` flags).
fn run_web(net: &mut DockerNetwork, name: &str, publish: &[&str]) {
    let _ = docker(&["rm", "-f", name]);
    let network = net.name.clone();
    let mut args = vec!["run", "-d", "--name", name, "--network", &network];
    args.extend_from_slice(publish);
    let script =
        format!("mkdir -p /www && echo {name} > /www/page && exec httpd -f -p 8080 -h /www");
    args.extend([IMAGE, "sh", "-c", &script]);
    docker_ok(&args);
    net.adopt(name);
}

/// busybox wget of `url` from the namespace `netns` (`None`: the host),
/// under `timeout` (busybox 1.35's static `wget -T` crashes).
fn wget(netns: Option<&str>, url: &str) -> Output {
    let mut command = match netns {
        Some(ns) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", ns, "timeout", "3"]);
            command
        }
        None => {
            let mut command = Command::new("timeout");
            command.arg("3");
            command
        }
    };
    command
        .args(["busybox", "wget", "-qO-", url])
        .output()
        .expect("run busybox wget (Debian package busybox-static)")
}

/// Insists that `/page` at `address:port` answers `expected`, from where
/// `get` asks (retried while the server starts).
fn page_answers(what: &str, expected: &str, mut get: impl FnMut() -> Output) {
    eventually(what, START, || {
        let mut output = get();
        if output.status.success() && String::from_utf8_lossy(&output.stdout).trim() != expected {
            output.stderr =
                format!("answered {:?}", String::from_utf8_lossy(&output.stdout)).into();
            output.status = Command::new("false").status().expect("false");
        }
        output
    });
}

/// The driver's DNAT rules for host port `port`, as `iptables -S` lists them.
fn dnat_rules_of_port(port: u16) -> Vec<String> {
    let rules = published_port_rules(None).into_iter();
    rules
        .filter(|l| l.contains(&format!("--dport {port} ")))
        .collect()
}

fn status(lab: &Lab) -> String {
    let output = Command::new(DOCKER_OVN)
        .args(["status", "--ovs-db", &lab.ovs_db(), "--nb-db", &lab.nb_db()])
        .output()
        .expect("run docker-ovn status");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The whole check on `driver`: `names` prefixes every network and
/// container, `tcp` is the published TCP port and `tcp + 1` the UDP one.
fn published_ports_answer_everywhere(driver: &str, subnets: [&str; 2], tcp: u16, outside: &str) {
    let lab = Lab::require();
    let prefix = format!("pp-{driver}");
    let mut net = DockerNetwork::create_on(driver, &prefix, &["--subnet", subnets[0]]);
    let mut other = DockerNetwork::create(&format!("{prefix}-other"), &["--subnet", subnets[1]]);
    let web = format!("{prefix}-web");
    let udp = tcp + 1;
    let publish = [format!("{tcp}:8080"), format!("127.0.0.1:{udp}:5353/udp")];
    run_web(&mut net, &web, &["-p", &publish[0], "-p", &publish[1]]);
    let _echo = UdpEcho::start(&container_netns(&web), 5353);
    let (same, across) = (format!("{prefix}-same"), format!("{prefix}-across"));
    net.run(&same, &[]);
    other.run(&across, &[]);
    let outside = Outside::new(&format!("{prefix}-out"), outside);

    for host_address in ["127.0.0.1", outside.near.as_str()] {
        let url = format!("http://{host_address}:{tcp}/page");
        page_answers(&format!("the host to {url}"), &web, || wget(None, &url));
    }
    let url = format!("http://{}:{tcp}/page", outside.near);
    page_answers("the outside namespace", &web, || {
        wget(Some(&outside.ns.name), &url)
    });
    for client in [&same, &across] {
        page_answers(&format!("container {client}"), &web, || {
            docker(&["exec", client, "timeout", "3", "wget", "-qO-", &url])
        });
    }

    let loopback: SocketAddr = format!("127.0.0.1:{udp}").parse().unwrap();
    assert_eq!(
        answer_text(udp_ask(None, loopback, b"ping")),
        "ping",
        "UDP on 127.0.0.1"
    );
    let near: SocketAddr = format!("{}:{udp}", outside.near).parse().unwrap();
    let from_outside = udp_ask(Some(&named_netns(&outside.ns.name)), near, b"ping");
    assert_eq!(from_outside, None, "published on 127.0.0.1 only");

    let shown = status(&lab);
    for port in [format!("0.0.0.0:{tcp} "), format!("127.0.0.1:{udp} ")] {
        assert!(shown.contains(&port), "status lacks {port}: {shown}");
    }

    let rules = dnat_rules_of_port(tcp);
    assert_eq!(rules.len(), 2, "PREROUTING and OUTPUT: {rules:?}");
    let busy = format!("{prefix}-busy");
    let taken = docker(&[
        "run",
        "-d",
        "--name",
        &busy,
        "--network",
        &net.name,
        "-p",
        &publish[0],
        IMAGE,
        "sleep",
        "60",
    ]);
    let _ = docker(&["rm", "-f", &busy]);
    let refusal = String::from_utf8_lossy(&taken.stderr);
    assert!(
        !taken.status.success(),
        "a second container took port {tcp}"
    );
    assert!(refusal.contains("already published"), "{refusal}");
    assert_eq!(
        dnat_rules_of_port(tcp),
        rules,
        "the refused container added rules"
    );

    let endpoints = [&web, &same].map(|c| net.endpoint(c));
    net.remove_leaving_nothing(&lab, &endpoints);
    other.remove();
    for port in [tcp, udp] {
        assert_eq!(
            dnat_rules_of_port(port),
            Vec::<String>::new(),
            "rules of port {port}"
        );
    }
}

#[test]
fn ovn_published_ports_answer_the_host_the_outside_and_other_containers() {
    published_ports_answer_everywhere(
        "ovn",
        ["10.96.10.0/24", "10.96.11.0/24"],
        18480,
        "198.18.84",
    );
}

#[test]
fn ovs_published_ports_answer_the_host_the_outside_and_other_containers() {
    published_ports_answer_everywhere(
        "ovs",
        ["10.96.12.0/24", "10.96.13.0/24"],
        18490,
        "198.18.85",
    );
}

/// `-p 8080` (no host port) takes one of the kernel's ephemeral ports,
/// and `docker-ovn status` says which; a range takes its first free port;
/// a host port held by a process of the host is refused, naming it.
#[test]
fn an_unnamed_host_port_is_chosen_a_range_gives_its_first_free_and_one_in_use_is_refused() {
    let lab = Lab::require();
    let mut net = DockerNetwork::create("pp-choose", &["--subnet", "10.96.14.0/24"]);
    let web = "pp-choose-web";
    run_web(&mut net, web, &["-p", "8080"]);
    let endpoint = net.endpoint(web);
    let shown = status(&lab);
    let line = shown
        .lines()
        .find(|l| l.starts_with("ovn ") && l.contains(&endpoint[..12]))
        .unwrap_or_else(|| panic!("status lacks endpoint {endpoint}: {shown}"));
    let host = line.split_whitespace().nth(2).expect("the HOST column");
    let port: u16 = host.trim_start_matches("0.0.0.0:").parse().expect("a port");
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let bounds: Vec<u16> = range
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    assert!(
        (bounds[0]..=bounds[1]).contains(&port),
        "{port} outside {range}"
    );
    let url = format!("http://127.0.0.1:{port}/page");
    page_answers("the chosen port", web, || wget(None, &url));

    // A range: its first port is taken (by the listener), the next is free.
    let first = std::net::TcpListener::bind("0.0.0.0:18496").expect("a listener of the host");
    let ranged = "pp-choose-range";
    run_web(&mut net, ranged, &["-p", "18496-18498:8080"]);
    drop(first);
    let url = "http://127.0.0.1:18497/page";
    page_answers("the range's first free port", ranged, || wget(None, url));
    assert_eq!(dnat_rules_of_port(18496), Vec::<String>::new());
    let ranged_endpoint = net.endpoint(ranged);

    let listener = std::net::TcpListener::bind("0.0.0.0:18499").expect("a listener of the host");
    let taken = docker(&[
        "run",
        "-d",
        "--name",
        "pp-choose-busy",
        "--network",
        &net.name,
        "-p",
        "18499:8080",
        IMAGE,
        "sleep",
        "60",
    ]);
    let _ = docker(&["rm", "-f", "pp-choose-busy"]);
    drop(listener);
    let refusal = String::from_utf8_lossy(&taken.stderr);
    assert!(!taken.status.success(), "port 18499 was taken by the host");
    assert!(
        refusal.contains("in use by a process of this host"),
        "{refusal}"
    );
    assert_eq!(dnat_rules_of_port(18499), Vec::<String>::new());
    net.remove_leaving_nothing(&lab, &[endpoint, ranged_endpoint]);
}
