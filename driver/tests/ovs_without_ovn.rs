//! A host with Open vSwitch and no OVN at all: its own ovsdb-server and
//! ovs-vswitchd (`test_support::Switch`, in a network namespace of its
//! own) and a `docker-ovn serve` given no Northbound database, driven over
//! both plugin sockets as dockerd would. `-d ovs` makes its bridge and
//! works; `-d ovn` answers with how to configure OVN. Needs root and the
//! OVS packages; fails, never skips, without them.

use serde_json::json;
use test_support::{DriverDaemon, Switch};

const DOCKER_OVN: &str = env!("CARGO_BIN_EXE_docker-ovn");
const NETWORK: &str = "0a5e000000000000000000000000000000000000000000000000000000000001";
const ENDPOINT: &str = "0a5e0e0000000000000000000000000000000000000000000000000000000002";

/// The driver's flows on `br-docker`, as `dump-flows` prints them.
fn driver_flows(switch: &Switch) -> Vec<String> {
    let target = format!("unix:{}", switch.db.dir().join("br-docker.mgmt").display());
    test_support::tool_ok(
        "ovs-ofctl",
        &[
            "-O",
            "OpenFlow13",
            "dump-flows",
            "--no-stats",
            &target,
            "cookie=0xd000000000000000/0xff00000000000000",
        ],
    )
    .lines()
    .filter(|l| !l.starts_with("OFPST_FLOW"))
    .map(str::to_string)
    .collect()
}

/// The network index in a flow's cookie (0: the pipeline's own).
fn network_of(flow: &str) -> u64 {
    let hex = flow
        .split("cookie=0x")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no cookie in {flow}"));
    let cookie = u64::from_str_radix(hex, 16).expect("a hex cookie");
    (cookie >> 24) & 0xffff
}

#[test]
fn a_host_without_ovn_serves_ovs_and_says_how_to_configure_ovn() {
    let switch = Switch::start("br-other");
    let rundir = switch.db.dir().display().to_string();
    let daemon = DriverDaemon::start_in_netns(
        switch.netns(),
        std::path::Path::new(DOCKER_OVN),
        &switch.db.unix_target(),
        "",
        &[
            "--ovs-bridge",
            "br-docker",
            "--ovs-rundir",
            &rundir,
            "--no-gateway",
        ],
    );
    let create = json!({"NetworkID": NETWORK, "Options": {},
        "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.150.0.0/24",
                      "Gateway": "10.150.0.1/24"}], "IPv6Data": []});
    // -d ovn: refused, saying what to configure; nothing made.
    let refused = daemon.call("NetworkDriver.CreateNetwork", create.clone());
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert!(
        refused.error_message().contains("external_ids:ovn-nb"),
        "{}",
        refused.body
    );
    // -d ovs: the network, an endpoint, its Join with the flows in.
    let ovs = daemon.ovs_client();
    ovs.ok("NetworkDriver.CreateNetwork", create);
    let created = ovs.ok(
        "NetworkDriver.CreateEndpoint",
        json!({"NetworkID": NETWORK, "EndpointID": ENDPOINT,
               "Interface": {"Address": "10.150.0.2/24", "AddressIPv6": "", "MacAddress": ""},
               "Options": {}}),
    );
    assert_eq!(created["Interface"]["MacAddress"], "0a:5a:0a:96:00:02");
    let joined = ovs.ok(
        "NetworkDriver.Join",
        json!({"NetworkID": NETWORK, "EndpointID": ENDPOINT,
               "SandboxKey": "/var/run/docker/netns/0a5e00000000", "Options": {}}),
    );
    assert_eq!(joined["InterfaceName"]["SrcName"], "ovc0a5e0e000000");
    let bridge = switch
        .db
        .vsctl(&["get", "Bridge", "br-docker", "fail_mode"]);
    assert_eq!(bridge.trim(), "secure");
    let flows = driver_flows(&switch);
    assert!(
        flows.iter().any(|f| f.contains("arp_tpa=10.150.0.2")),
        "the endpoint's ARP responder is in: {flows:#?}"
    );
    // Removal leaves the pipeline's own flows only.
    ovs.ok(
        "NetworkDriver.Leave",
        json!({"NetworkID": NETWORK, "EndpointID": ENDPOINT}),
    );
    ovs.ok(
        "NetworkDriver.DeleteEndpoint",
        json!({"NetworkID": NETWORK, "EndpointID": ENDPOINT}),
    );
    ovs.ok("NetworkDriver.DeleteNetwork", json!({"NetworkID": NETWORK}));
    let left: Vec<String> = driver_flows(&switch)
        .into_iter()
        .filter(|f| network_of(f) != 0)
        .collect();
    assert!(left.is_empty(), "flows of the network left: {left:#?}");
    drop(daemon);
}
