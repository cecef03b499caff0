//! The driver driven over its plugin socket the way dockerd drives it, on
//! the lab's real OVS and OVN: a `docker-ovn serve` of its own (own
//! socket), network namespaces standing in for sandboxes, pings between
//! them, idempotent retries, rejected bad input, and nothing left behind.
//! Needs root and the lab (`docker-ovn-lab up`); fails without.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use test_support::{DriverDaemon, Lab, Sandbox, link_names};

fn start_daemon(lab: &Lab) -> DriverDaemon {
    DriverDaemon::start(
        Path::new(env!("CARGO_BIN_EXE_docker-ovn")),
        &lab.ovs_db(),
        &lab.nb_db(),
    )
}

fn id(seed: &str) -> String {
    format!("{seed:0<64}")
}

fn create_network(daemon: &DriverDaemon, network: &str, pool: &str, gateway: &str) {
    daemon.ok(
        "NetworkDriver.CreateNetwork",
        json!({"NetworkID": network, "Options": {"com.docker.network.generic": {}},
               "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": pool, "Gateway": gateway}],
               "IPv6Data": []}),
    );
}

/// CreateEndpoint + Join, then what libnetwork does in the sandbox.
fn add_endpoint(
    daemon: &DriverDaemon,
    network: &str,
    endpoint: &str,
    cidr: &str,
    sandbox: &Sandbox,
) -> String {
    let created = daemon.ok(
        "NetworkDriver.CreateEndpoint",
        json!({"NetworkID": network, "EndpointID": endpoint,
               "Interface": {"Address": cidr, "AddressIPv6": "", "MacAddress": ""}, "Options": {}}),
    );
    let mac = created["Interface"]["MacAddress"]
        .as_str()
        .expect("driver chose a MAC")
        .to_string();
    let joined = daemon.ok(
        "NetworkDriver.Join",
        json!({"NetworkID": network, "EndpointID": endpoint,
               "SandboxKey": format!("/var/run/netns/{}", sandbox.name), "Options": {}}),
    );
    assert_eq!(joined["InterfaceName"]["DstPrefix"], "eth");
    let src = joined["InterfaceName"]["SrcName"]
        .as_str()
        .expect("SrcName")
        .to_string();
    assert!(
        link_names().contains(&src),
        "Join returned {src}, which does not exist"
    );
    sandbox.attach(None, &src, cidr, None);
    mac
}

fn remove_endpoint(daemon: &DriverDaemon, network: &str, endpoint: &str) {
    let body = json!({"NetworkID": network, "EndpointID": endpoint});
    daemon.ok("NetworkDriver.Leave", body.clone());
    daemon.ok("NetworkDriver.DeleteEndpoint", body);
}

#[test]
fn endpoints_in_two_sandboxes_ping_and_leave_nothing() {
    let lab = Lab::require();
    let daemon = start_daemon(&lab);
    let caps = daemon.ok("NetworkDriver.GetCapabilities", json!({}));
    assert_eq!(caps["Scope"], "local");
    assert_eq!(caps["ConnectivityScope"], "global");
    let network = id("aaaa0001");
    let (ep_a, ep_b) = (id("bbbb0001"), id("bbbb0002"));
    create_network(&daemon, &network, "10.96.0.0/24", "10.96.0.1/24");
    // A retried CreateNetwork succeeds without duplicating anything.
    create_network(&daemon, &network, "10.96.0.0/24", "10.96.0.1/24");
    let (a, b) = (Sandbox::new("dovn-flow-a"), Sandbox::new("dovn-flow-b"));
    let mac = add_endpoint(&daemon, &network, &ep_a, "10.96.0.2/24", &a);
    assert_eq!(
        mac, "0a:5a:0a:60:00:02",
        "MAC derived from the IPv4 address"
    );
    add_endpoint(&daemon, &network, &ep_b, "10.96.0.3/24", &b);
    assert!(
        a.ping("10.96.0.3", &[]).status.success(),
        "a cannot reach b right after Join"
    );
    assert!(
        b.ping("10.96.0.2", &[]).status.success(),
        "b cannot reach a"
    );

    remove_endpoint(&daemon, &network, &ep_a);
    remove_endpoint(&daemon, &network, &ep_b);
    // Deleting what is already gone succeeds.
    remove_endpoint(&daemon, &network, &ep_b);
    daemon.ok("NetworkDriver.DeleteNetwork", json!({"NetworkID": network}));
    daemon.ok("NetworkDriver.DeleteNetwork", json!({"NetworkID": network}));
    // Left endpoints' pairs go in the reaper's next batch, a few hundred
    // ms later at most.
    let veth_of = |endpoint: &str| {
        link_names()
            .into_iter()
            .find(|l| l.ends_with(&endpoint[..12]))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    for endpoint in [&ep_a, &ep_b] {
        while let Some(veth) = veth_of(endpoint) {
            assert!(
                Instant::now() < deadline,
                "veth {veth} of {endpoint} left after 5 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let lab = Lab::require();
    let daemon = start_daemon(&lab);
    let network = id("aaaa0002");
    let cases = [
        (
            "NetworkDriver.CreateNetwork",
            json!({"NetworkID": "../../etc", "IPv4Data": [{"Pool": "10.97.0.0/24"}]}),
        ),
        (
            "NetworkDriver.CreateNetwork",
            json!({"NetworkID": network, "IPv4Data": [{"Pool": "not-a-cidr"}]}),
        ),
        (
            "NetworkDriver.CreateNetwork",
            json!({"NetworkID": network, "Options": {"com.docker.network.generic": {"ovn.network": "bad name"}}, "IPv4Data": [{"Pool": "10.97.0.0/24"}]}),
        ),
        ("NetworkDriver.CreateNetwork", json!({"NetworkID": 42})),
        (
            "NetworkDriver.CreateEndpoint",
            json!({"NetworkID": network, "EndpointID": id("cccc0001"), "Interface": {"Address": "10.97.0.2/24"}}),
        ),
    ];
    for (method, body) in cases {
        let reply = daemon.client.call(method, &body);
        assert!(
            (400..500).contains(&reply.status),
            "{method} {body} -> {}",
            reply.status
        );
        let message = reply.body["Err"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{method} {body}: no Err message");
    }
    let raw = daemon
        .client
        .call_raw("NetworkDriver.CreateNetwork", b"{not json");
    assert_eq!(raw.status, 400);
    // None of it created a switch for the network.
    create_network(&daemon, &network, "10.97.0.0/24", "10.97.0.1/24");
    let sandbox = Sandbox::new("dovn-flow-bad");
    let endpoint = id("cccc0002");
    add_endpoint(&daemon, &network, &endpoint, "10.97.0.2/24", &sandbox);
    // An address outside the subnet is refused at CreateEndpoint.
    let reply = daemon.client.call(
        "NetworkDriver.CreateEndpoint",
        &json!({"NetworkID": network, "EndpointID": id("cccc0003"), "Interface": {"Address": "10.98.0.2/24"}}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    remove_endpoint(&daemon, &network, &endpoint);
    daemon.ok("NetworkDriver.DeleteNetwork", json!({"NetworkID": network}));
}
