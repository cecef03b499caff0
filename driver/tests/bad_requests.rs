//! Malformed, oversized, wrongly typed, invalid and unknown-field requests
//! to every method the plugin serves: each bad one gets a 4xx with an
//! `Err` that names the problem, and leaves both databases and the
//! driver's kernel links exactly as they were. Unknown fields are
//! accepted (dockerd sends fields the driver does not model) and change
//! nothing about whether the rest is valid.
//!
//! Self-contained: its own Open_vSwitch and OVN Northbound ovsdb-servers
//! and its own `docker-ovn serve`, run in a network namespace of its own
//! so that its veths and reconciliation never meet the lab's. No
//! ovn-controller runs: the test sets `ovn-installed` itself, as
//! ovn-controller would. Needs root, `ovsdb-server`, `ovs-vsctl` and
//! `ovsdb-client` (Debian: openvswitch-switch); fails without.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::{DriverDaemon, OvsdbServer, Sandbox, Schema, ip};

/// The namespace the driver runs (and makes its veths) in, and the
/// sandbox its joined endpoint's container side lives in.
const HOST_NETNS: &str = "dovn-bad-host";
const SANDBOX_NETNS: &str = "dovn-bad-sbx";
/// The shared logical switch, its subnet and gateway.
const SWITCH: &str = "bad-requests";
const SUBNET: &str = "10.77.0.0/24";
const GATEWAY: &str = "10.77.0.1";
/// The addresses IPAM hands the two endpoints.
const JOINED_ADDRESS: &str = "10.77.0.2/24";
const CREATED_ADDRESS: &str = "10.77.0.3/24";
/// Added to requests to show unknown fields are ignored.
const UNKNOWN: &str = "FieldFromAFutureDocker";

fn id(seed: &str) -> String {
    format!("{seed:0<64}")
}

/// Everything the requests could change: both databases, every link of
/// the driver's namespace and of the sandbox.
#[derive(Debug, PartialEq, Eq)]
struct State {
    northbound: String,
    open_vswitch: String,
    host_links: Vec<String>,
    sandbox_links: Vec<String>,
}

/// The test's host, and the state the bad requests must leave alone.
struct Host {
    daemon: DriverDaemon,
    ovs: OvsdbServer,
    nb: OvsdbServer,
    _netns: Sandbox,
    sandbox: Sandbox,
    network: String,
    joined: String,
    created: String,
    pool: String,
}

impl Host {
    fn start() -> Host {
        let nb = OvsdbServer::start(Schema::OvnNorthbound);
        let ovs = OvsdbServer::start_open_vswitch("bad-requests-host");
        ovs.vsctl(&["add-br", "br-int"]);
        let netns = Sandbox::new(HOST_NETNS);
        let daemon = DriverDaemon::start_in_netns(
            HOST_NETNS,
            Path::new(env!("CARGO_BIN_EXE_docker-ovn")),
            &ovs.unix_target(),
            &nb.unix_target(),
            // No ovs-vswitchd creates gateway ports' devices here.
            &["--ready-timeout", "10", "--no-gateway"],
        );
        let mut host = Host {
            daemon,
            ovs,
            nb,
            _netns: netns,
            sandbox: Sandbox::new(SANDBOX_NETNS),
            network: id("bad0a1"),
            joined: id("bad0e1"),
            created: id("bad0e2"),
            pool: String::new(),
        };
        host.create_valid_state();
        host
    }

    /// A shared network on an `ovn` IPAM pool, one endpoint joined and one
    /// only created: every request below carries an unknown field.
    fn create_valid_state(&mut self) {
        let pool = self.ok(
            "IpamDriver.RequestPool",
            json!({"AddressSpace": "docker-ovn", "Pool": SUBNET, "SubPool": "", "Options": {}, "V6": false, UNKNOWN: 1}),
        );
        self.pool = pool["PoolID"].as_str().expect("PoolID").to_string();
        let gateway =
            self.request_address(json!({"RequestAddressType": "com.docker.network.gateway"}));
        assert_eq!(gateway, format!("{GATEWAY}/24"));
        self.ok("NetworkDriver.CreateNetwork", self.create_network_body());
        for (endpoint, address) in [
            (self.joined.clone(), JOINED_ADDRESS),
            (self.created.clone(), CREATED_ADDRESS),
        ] {
            assert_eq!(self.request_address(json!({})), address);
            self.ok(
                "NetworkDriver.CreateEndpoint",
                json!({"NetworkID": self.network, "EndpointID": endpoint, UNKNOWN: "x",
                       "Interface": {"Address": address, "AddressIPv6": "", "MacAddress": "", UNKNOWN: []},
                       "Options": {}}),
            );
        }
        self.join();
    }

    fn request_address(&self, options: Value) -> String {
        let reply = self.ok(
            "IpamDriver.RequestAddress",
            json!({"PoolID": self.pool, "Address": "", "Options": options, UNKNOWN: null}),
        );
        reply["Address"].as_str().expect("Address").to_string()
    }

    fn create_network_body(&self) -> Value {
        json!({"NetworkID": self.network, UNKNOWN: {"a": 1},
               "Options": {"com.docker.network.generic": {"ovn.network": SWITCH}, "com.docker.network.enable_ipv6": false},
               "IPv4Data": [{"AddressSpace": "docker-ovn", "Pool": SUBNET, "Gateway": format!("{GATEWAY}/24"), "AuxAddresses": {}, UNKNOWN: 2}],
               "IPv6Data": []})
    }

    /// Join, with the test in ovn-controller's place, then what
    /// libnetwork does: the container side into the sandbox.
    fn join(&self) {
        let interface = format!("ovn{}", &self.joined[..12]);
        let joined = std::thread::scope(|scope| {
            scope.spawn(|| mark_installed(&self.ovs, &interface));
            self.ok(
                "NetworkDriver.Join",
                json!({"NetworkID": self.network, "EndpointID": self.joined, UNKNOWN: true,
                       "SandboxKey": format!("/var/run/netns/{SANDBOX_NETNS}"), "Options": {}}),
            )
        });
        let src = joined["InterfaceName"]["SrcName"]
            .as_str()
            .expect("SrcName");
        self.sandbox
            .attach(Some(HOST_NETNS), src, JOINED_ADDRESS, None);
    }

    fn ok(&self, method: &str, body: Value) -> Value {
        self.daemon.ok(method, body)
    }

    fn state(&self) -> State {
        State {
            northbound: self.nb.dump(),
            open_vswitch: self.ovs.dump(),
            host_links: links_of(HOST_NETNS),
            sandbox_links: links_of(SANDBOX_NETNS),
        }
    }
}

/// Sets `ovn-installed` on `interface` once the driver has added it, as
/// ovn-controller does once the port's flows are in.
fn mark_installed(ovs: &OvsdbServer, interface: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let installed = "external_ids:ovn-installed=true";
    while !ovs
        .try_vsctl(&["set", "Interface", interface, installed])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "Join never added {interface}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `ip -o link` of a namespace, one line per link (no counters).
fn links_of(netns: &str) -> Vec<String> {
    let output = ip(&["-n", netns, "-o", "link", "show"]);
    assert!(output.status.success(), "ip -n {netns} link show failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// One bad request: where it goes, its body, and what its `Err` must
/// mention.
struct Bad {
    method: &'static str,
    body: Vec<u8>,
    names: String,
}

impl Bad {
    fn json(method: &'static str, body: Value, names: &str) -> Bad {
        Bad {
            method,
            body: body.to_string().into_bytes(),
            names: names.to_string(),
        }
    }

    fn raw(method: &'static str, body: &[u8], names: &str) -> Bad {
        Bad {
            method,
            body: body.to_vec(),
            names: names.to_string(),
        }
    }

    /// The same request with an unknown field added: still refused.
    fn with_unknown_field(&self) -> Option<Bad> {
        let mut value: Value = serde_json::from_slice(&self.body).ok()?;
        value.as_object_mut()?.insert(UNKNOWN.into(), json!(1));
        Some(Bad::json(self.method, value, &self.names))
    }
}

/// Each `(body, what its Err names)` as a bad request to `method`.
fn bad_bodies<'a>(
    method: &'static str,
    bodies: impl IntoIterator<Item = (Value, &'a str)>,
) -> impl Iterator<Item = Bad> {
    bodies
        .into_iter()
        .map(move |(body, names)| Bad::json(method, body, names))
}

/// `base` with the member at JSON pointer `at` set to `value` (added if
/// its object lacks it).
fn with(base: &Value, at: &str, value: Value) -> Value {
    let mut changed = base.clone();
    let (parent, key) = at.rsplit_once('/').expect("a JSON pointer");
    let slot = match changed.pointer_mut(parent) {
        Some(Value::Object(object)) => object.entry(key).or_insert(Value::Null),
        Some(Value::Array(items)) => &mut items[key.parse::<usize>().expect("an index")],
        _ => panic!("{parent} is not an object or array in {base}"),
    };
    *slot = value;
    changed
}

/// Every plugin method the router serves.
const METHODS: &[&str] = &[
    "Plugin.Activate",
    "NetworkDriver.GetCapabilities",
    "NetworkDriver.CreateNetwork",
    "NetworkDriver.DeleteNetwork",
    "NetworkDriver.AllocateNetwork",
    "NetworkDriver.FreeNetwork",
    "NetworkDriver.GwAllocCheck",
    "NetworkDriver.CreateEndpoint",
    "NetworkDriver.EndpointOperInfo",
    "NetworkDriver.DeleteEndpoint",
    "NetworkDriver.Join",
    "NetworkDriver.Leave",
    "NetworkDriver.DiscoverNew",
    "NetworkDriver.DiscoverDelete",
    "NetworkDriver.ProgramExternalConnectivity",
    "NetworkDriver.RevokeExternalConnectivity",
    "IpamDriver.GetCapabilities",
    "IpamDriver.GetDefaultAddressSpaces",
    "IpamDriver.RequestPool",
    "IpamDriver.ReleasePool",
    "IpamDriver.RequestAddress",
    "IpamDriver.ReleaseAddress",
];

/// Methods dockerd calls without a body.
const BODYLESS: &[&str] = &[
    "Plugin.Activate",
    "NetworkDriver.GetCapabilities",
    "IpamDriver.GetCapabilities",
    "IpamDriver.GetDefaultAddressSpaces",
];

/// Methods that answer a call whose body dockerd's retry lost (the router
/// explains why): success, and nothing changes.
const ANSWERED_WITHOUT_BODY: &[&str] = &[
    "NetworkDriver.EndpointOperInfo",
    "NetworkDriver.DeleteEndpoint",
    "NetworkDriver.RevokeExternalConnectivity",
];

/// Bodies no method can decode: not JSON, cut short, not an object, or
/// over the router's body limit; and no body at all where one is needed.
fn undecodable(method: &'static str) -> Vec<Bad> {
    let mut oversized = br#"{"Padding": ""#.to_vec();
    oversized.resize(plugin_api::DEFAULT_BODY_LIMIT + 1, b'a');
    oversized.extend_from_slice(br#""}"#);
    let mut cases = Vec::new();
    if method == "NetworkDriver.ProgramExternalConnectivity" {
        cases.push(Bad::raw(method, b"", "without its body"));
    } else if !BODYLESS.contains(&method) && !ANSWERED_WITHOUT_BODY.contains(&method) {
        cases.push(Bad::raw(method, b"", "without a body"));
    }
    cases.extend([
        Bad::raw(method, b"{not json", "line 1"),
        Bad::raw(method, br#"{"NetworkID": "ab"#, "EOF"),
        Bad::raw(method, b"\xff\xfe{}", "line 1"),
        Bad::raw(method, b"[]", "expected a JSON object"),
        Bad::raw(method, b"[{}]", "expected a JSON object"),
        Bad::raw(method, br#""{}""#, "expected a JSON object"),
        Bad::raw(method, b"42", "expected a JSON object"),
        Bad::raw(method, b"true", "expected a JSON object"),
        Bad::raw(method, b"{} {}", "trailing characters"),
        Bad::raw(method, &oversized, "exceeds the limit"),
    ]);
    cases
}

/// Values that are not Docker ids (64 lowercase hex digits).
fn bad_ids() -> Vec<Value> {
    let hex = id("0123456789abcdef");
    vec![
        json!(""),
        json!("abc"),
        json!(&hex[..12]),
        json!(&hex[..63]),
        json!(format!("{hex}0")),
        json!(hex.to_uppercase()),
        json!(format!("../../{}", &hex[6..])),
        json!(format!("{}/{}", &hex[..30], &hex[31..])),
        json!(format!("{};rm -rf /", &hex[..54])),
        json!(format!("{}\u{0}", &hex[..63])),
        json!(format!("{} ", &hex[..63])),
        json!(format!("{}é", &hex[..62])),
        json!("a".repeat(100_000)),
        json!(5),
        json!([]),
        json!({}),
        json!(true),
    ]
}

/// `base` with each bad id at each of `fields`.
fn with_bad_ids(method: &'static str, base: &Value, fields: &[&str]) -> Vec<Bad> {
    let mut cases = Vec::new();
    for field in fields {
        for bad in bad_ids() {
            let body = with(base, &format!("/{field}"), bad);
            cases.push(Bad::json(method, body, field));
        }
    }
    cases
}

fn cases_for(host: &Host, method: &'static str) -> Vec<Bad> {
    let mut cases = undecodable(method);
    cases.extend(match method.split_once('.').map(|(_, m)| m) {
        Some("CreateNetwork") => create_network_cases(host),
        Some("DeleteNetwork" | "FreeNetwork") => network_id_cases(host, method),
        Some("AllocateNetwork") => allocate_network_cases(host),
        Some("GwAllocCheck") => gw_alloc_check_cases(),
        Some("CreateEndpoint") => create_endpoint_cases(host),
        Some("EndpointOperInfo" | "DeleteEndpoint" | "Leave") => endpoint_id_cases(host, method),
        Some("Join") => join_cases(host),
        Some("DiscoverNew" | "DiscoverDelete") => discover_cases(method),
        Some("ProgramExternalConnectivity" | "RevokeExternalConnectivity") => {
            connectivity_cases(host, method)
        }
        Some("RequestPool") => request_pool_cases(),
        Some("ReleasePool") => pool_id_cases(host, "IpamDriver.ReleasePool", &json!({})),
        Some("RequestAddress") => request_address_cases(host),
        Some("ReleaseAddress") => release_address_cases(host),
        // Activate, GetCapabilities, GetDefaultAddressSpaces: no fields.
        _ => Vec::new(),
    });
    let unknown: Vec<Bad> = cases.iter().filter_map(Bad::with_unknown_field).collect();
    cases.extend(unknown);
    cases
}

fn create_network_cases(host: &Host) -> Vec<Bad> {
    const M: &str = "NetworkDriver.CreateNetwork";
    // A second network on the shared switch: valid as it stands.
    let base = with(
        &host.create_network_body(),
        "/NetworkID",
        json!(id("bad0a2")),
    );
    let generic = |key: &str, value: Value| {
        with(
            &base,
            "/Options/com.docker.network.generic",
            json!({key: value}),
        )
    };
    let ipv4 = |at: &str, value: Value| with(&base, &format!("/IPv4Data/0/{at}"), value);
    let mut cases = with_bad_ids(M, &base, &["NetworkID"]);
    for name in [
        json!("bad name"),
        json!("n".repeat(100)),
        json!(""),
        json!("-x"),
        json!("a/b"),
        json!("blüe"),
        json!("a;b"),
    ] {
        cases.push(Bad::json(M, generic("ovn.network", name), "ovn.network"));
    }
    for mtu in ["abc", "0", "575", "9217", "70000", "-1", "1e3", "", "1400 "] {
        cases.push(Bad::json(
            M,
            generic("com.docker.network.driver.mtu", json!(mtu)),
            "com.docker.network.driver.mtu",
        ));
    }
    let more = [
        (with(&base, "/Options", json!("x")), "Options"),
        (with(&base, "/Options", json!([])), "Options"),
        (
            with(&base, "/Options/com.docker.network.generic", json!("x")),
            "com.docker.network.generic",
        ),
        (
            generic("ovn.network", json!(["blue"])),
            "com.docker.network.generic.ovn.network",
        ),
        (generic("ovn.netwrok", json!("x")), "unknown option"),
        (
            with(&base, "/Options/com.docker.network.enable_ipv6", json!(1)),
            "com.docker.network.enable_ipv6",
        ),
        (
            with(&base, "/Options/com.docker.network.internal", json!("yes")),
            "com.docker.network.internal",
        ),
        (with(&base, "/IPv4Data", json!({})), "IPv4Data"),
        (with(&base, "/IPv4Data", json!("10.77.0.0/24")), "IPv4Data"),
        (with(&base, "/IPv4Data", json!([5])), "IPv4Data[0]"),
        (with(&base, "/IPv4Data", json!([])), "no subnet"),
        (with(&base, "/IPv6Data", json!({})), "IPv6Data"),
        (
            with(
                &base,
                "/IPv6Data",
                json!([{"AddressSpace": "docker-ovn", "Pool": SUBNET}]),
            ),
            "IPv6 pool",
        ),
        (ipv4("Pool", json!(5)), "IPv4Data[0].Pool"),
        (ipv4("Pool", json!("nope")), "IPv4 pool"),
        (ipv4("Pool", json!("10.77.0.0/33")), "IPv4 pool"),
        (ipv4("Pool", json!("fd00::/64")), "IPv4 pool"),
        (ipv4("Pool", json!("p".repeat(100_000))), "IPv4 pool"),
        (ipv4("Gateway", json!("10.99.0.1/24")), "IPv4 gateway"),
        (ipv4("Gateway", json!("nope")), "gateway"),
        (
            ipv4("Gateway", json!(["10.77.0.1/24"])),
            "IPv4Data[0].Gateway",
        ),
        (ipv4("AuxAddresses", json!("x")), "IPv4Data[0].AuxAddresses"),
        (
            ipv4("AuxAddresses", json!({"r": 5})),
            "IPv4Data[0].AuxAddresses.r",
        ),
        (ipv4("AuxAddresses", json!({"r": "nope"})), "AuxAddresses"),
        (
            ipv4("AuxAddresses", json!({"r": "10.99.0.5/24"})),
            "outside the pool",
        ),
        (
            ipv4("AddressSpace", json!("LocalDefault")),
            "--ipam-driver ovn",
        ),
        (
            with(
                &base,
                "/IPv4Data",
                json!([base["IPv4Data"][0], {"AddressSpace": "docker-ovn", "Pool": "10.78.0.0/24"}]),
            ),
            "one subnet",
        ),
        // The switch exists with another subnet.
        (
            with(
                &base,
                "/IPv4Data/0",
                json!({"AddressSpace": "docker-ovn", "Pool": "10.78.0.0/24"}),
            ),
            "same --subnet",
        ),
        // The existing network again, onto another switch.
        (
            with(
                &host.create_network_body(),
                "/Options/com.docker.network.generic/ovn.network",
                json!("another"),
            ),
            "already",
        ),
    ];
    cases.extend(bad_bodies(M, more));
    cases
}

fn network_id_cases(host: &Host, method: &'static str) -> Vec<Bad> {
    with_bad_ids(method, &json!({"NetworkID": host.network}), &["NetworkID"])
}

fn allocate_network_cases(host: &Host) -> Vec<Bad> {
    const M: &str = "NetworkDriver.AllocateNetwork";
    let base = json!({"NetworkID": host.network, "Options": {}, "IPv4Data": [], "IPv6Data": []});
    let mut cases = with_bad_ids(M, &base, &["NetworkID"]);
    cases.push(Bad::json(M, with(&base, "/Options", json!("x")), "Options"));
    cases.push(Bad::json(
        M,
        with(&base, "/Options", json!({"k": 5})),
        "Options.k",
    ));
    cases.push(Bad::json(
        M,
        with(&base, "/IPv4Data", json!({})),
        "IPv4Data",
    ));
    cases
}

fn gw_alloc_check_cases() -> Vec<Bad> {
    const M: &str = "NetworkDriver.GwAllocCheck";
    vec![
        Bad::json(M, json!({"Options": "x"}), "Options"),
        Bad::json(
            M,
            json!({"Options": {"com.docker.network.internal": "yes"}}),
            "com.docker.network.internal",
        ),
    ]
}

fn create_endpoint_cases(host: &Host) -> Vec<Bad> {
    const M: &str = "NetworkDriver.CreateEndpoint";
    let base = json!({"NetworkID": host.network, "EndpointID": id("bad0e3"),
                      "Interface": {"Address": "10.77.0.9/24", "AddressIPv6": "", "MacAddress": ""}, "Options": {}});
    let interface = |at: &str, value: Value| with(&base, &format!("/Interface/{at}"), value);
    let mut cases = with_bad_ids(M, &base, &["NetworkID", "EndpointID"]);
    for mac in [
        "nope",
        "01:00:5e:00:00:01",
        "00:00:00:00:00:00",
        "+2:42:ac:11:00:02",
        "02:42:ac:11:00",
        "02:42:ac:11:00:02:03",
        "02-42-ac-11-00-02",
        "02:42:ac:11:00:0g",
    ] {
        cases.push(Bad::json(
            M,
            interface("MacAddress", json!(mac)),
            "MacAddress",
        ));
    }
    let more = [
        (with(&base, "/Interface", json!([])), "Interface"),
        (
            with(&base, "/Interface", json!("10.77.0.9/24")),
            "Interface",
        ),
        (interface("Address", json!(5)), "Interface.Address"),
        (interface("Address", json!("nope")), "Address"),
        (interface("Address", json!("10.77.0.9")), "Address"),
        (
            interface("Address", json!("10.99.0.9/24")),
            "outside the network's subnet",
        ),
        (interface("Address", json!("fd00::9/64")), "Address"),
        (interface("Address", json!("")), "no address"),
        (interface("AddressIPv6", json!("fd00::9/64")), "AddressIPv6"),
        (interface("MacAddress", json!(5)), "Interface.MacAddress"),
        (with(&base, "/Options", json!("x")), "Options"),
        (with(&base, "/Options", json!([])), "Options"),
        (with(&base, "/NetworkID", json!(id("bad0a9"))), "not known"),
        // The created endpoint again, with another address.
        (
            with(&base, "/EndpointID", json!(host.created)),
            "already exists",
        ),
    ];
    cases.extend(bad_bodies(M, more));
    cases
}

fn endpoint_id_cases(host: &Host, method: &'static str) -> Vec<Bad> {
    let base = json!({"NetworkID": host.network, "EndpointID": host.joined});
    with_bad_ids(method, &base, &["NetworkID", "EndpointID"])
}

fn join_cases(host: &Host) -> Vec<Bad> {
    const M: &str = "NetworkDriver.Join";
    // The endpoint created but not joined: valid as it stands.
    let base = json!({"NetworkID": host.network, "EndpointID": host.created,
                      "SandboxKey": format!("/var/run/netns/{SANDBOX_NETNS}"), "Options": {}});
    let mut cases = with_bad_ids(M, &base, &["NetworkID", "EndpointID"]);
    let long = format!("/{}", "k".repeat(5000));
    for key in [
        json!(""),
        json!("var/run/netns/x"),
        json!("/x\u{0}y"),
        json!("/x\ny"),
        json!(long),
        json!(5),
        json!(["/x"]),
    ] {
        cases.push(Bad::json(M, with(&base, "/SandboxKey", key), "SandboxKey"));
    }
    let more = [
        (with(&base, "/Options", json!("x")), "Options"),
        (with(&base, "/EndpointID", json!(id("bad0e9"))), "not known"),
        (with(&base, "/NetworkID", json!(id("bad0a9"))), "not known"),
    ];
    cases.extend(bad_bodies(M, more));
    cases
}

fn discover_cases(method: &'static str) -> Vec<Bad> {
    [
        json!("x"),
        json!(-1),
        json!(4_294_967_296_u64),
        json!(1.5),
        json!([1]),
    ]
    .into_iter()
    .map(|kind| {
        Bad::json(
            method,
            json!({"DiscoveryType": kind, "DiscoveryData": {}}),
            "DiscoveryType",
        )
    })
    .collect()
}

/// Not implemented (dockerd takes the 404 as success), so only what
/// cannot be decoded is refused.
fn connectivity_cases(host: &Host, method: &'static str) -> Vec<Bad> {
    let base = json!({"NetworkID": host.network, "EndpointID": host.joined, "Options": {}});
    vec![
        Bad::json(method, with(&base, "/NetworkID", json!(5)), "NetworkID"),
        Bad::json(method, with(&base, "/EndpointID", json!([])), "EndpointID"),
        Bad::json(method, with(&base, "/EndpointID", json!({})), "EndpointID"),
    ]
}

fn request_pool_cases() -> Vec<Bad> {
    const M: &str = "IpamDriver.RequestPool";
    let base = json!({"AddressSpace": "docker-ovn", "Pool": "10.79.0.0/24", "SubPool": "", "Options": {}, "V6": false});
    let bad = [
        ("/AddressSpace", json!("LocalDefault"), "AddressSpace"),
        ("/AddressSpace", json!(5), "AddressSpace"),
        ("/Pool", json!("nope"), "Pool"),
        ("/Pool", json!("10.79.0.0/33"), "Pool"),
        ("/Pool", json!("10.79.0.300/24"), "Pool"),
        ("/Pool", json!("fd00::/64"), "not an IPv4 subnet"),
        ("/Pool", json!(5), "Pool"),
        ("/Pool", json!("p".repeat(100_000)), "Pool"),
        ("/SubPool", json!("10.99.0.0/25"), "SubPool"),
        ("/SubPool", json!("nope"), "SubPool"),
        ("/V6", json!("yes"), "V6"),
        ("/Options", json!("x"), "Options"),
        ("/Options", json!({"k": 5}), "Options.k"),
    ];
    bad.into_iter()
        .map(|(at, value, names)| Bad::json(M, with(&base, at, value), names))
        .collect()
}

/// `extra` plus each bad pool id.
fn pool_id_cases(host: &Host, method: &'static str, extra: &Value) -> Vec<Bad> {
    let mut base = extra.clone();
    base["PoolID"] = json!(host.pool);
    let bad = [
        json!(""),
        json!("pool"),
        json!("docker_ovn_../x"),
        json!("docker_ovn_10_77_0_0_24;x"),
        json!(format!("docker_ovn_{}", "1".repeat(100_000))),
        json!(5),
        json!({}),
    ];
    bad.into_iter()
        .map(|pool| Bad::json(method, with(&base, "/PoolID", pool), "PoolID"))
        .collect()
}

fn request_address_cases(host: &Host) -> Vec<Bad> {
    const M: &str = "IpamDriver.RequestAddress";
    let base = json!({"PoolID": host.pool, "Address": "", "Options": {}});
    let gateway = json!({"RequestAddressType": "com.docker.network.gateway"});
    let mut cases = pool_id_cases(host, M, &base);
    let more = [
        (
            with(&base, "/PoolID", json!("docker_ovn_10_99_0_0_24")),
            "no address pool",
        ),
        (with(&base, "/Address", json!("nope")), "Address"),
        (with(&base, "/Address", json!("10.77.0.300")), "Address"),
        (
            with(&base, "/Address", json!("10.99.0.5")),
            "not a host address",
        ),
        (
            with(&base, "/Address", json!("10.77.0.0")),
            "not a host address",
        ),
        (
            with(&base, "/Address", json!("10.77.0.255")),
            "not a host address",
        ),
        (
            with(&base, "/Address", json!("10.77.0.2")),
            "already in use",
        ),
        (with(&base, "/Address", json!(5)), "Address"),
        (
            with(
                &with(&base, "/Address", json!("10.77.0.9")),
                "/Options",
                gateway,
            ),
            "already has gateway",
        ),
        (with(&base, "/Options", json!("x")), "Options"),
        (
            with(&base, "/Options", json!({"RequestAddressType": 5})),
            "Options.RequestAddressType",
        ),
    ];
    cases.extend(bad_bodies(M, more));
    cases
}

fn release_address_cases(host: &Host) -> Vec<Bad> {
    const M: &str = "IpamDriver.ReleaseAddress";
    let base = json!({"PoolID": host.pool, "Address": "10.77.0.2"});
    let mut cases = pool_id_cases(host, M, &base);
    for (address, names) in [
        (json!(""), "Address"),
        (json!("nope"), "Address"),
        (json!(5), "Address"),
    ] {
        cases.push(Bad::json(M, with(&base, "/Address", address), names));
    }
    cases
}

/// Sends `bad`, insisting on a clear 4xx and on `before` unchanged.
fn assert_refused(host: &Host, bad: &Bad, before: &State) {
    let reply = host.daemon.client.call_raw(bad.method, &bad.body);
    let shown = String::from_utf8_lossy(&bad.body[..bad.body.len().min(200)]).into_owned();
    assert!(
        (400..500).contains(&reply.status),
        "{} {shown} -> {} {}",
        bad.method,
        reply.status,
        reply.body
    );
    let message = reply.body["Err"].as_str().unwrap_or_default();
    assert!(
        message.contains(&bad.names),
        "{} {shown}: Err {message:?} does not mention {:?}",
        bad.method,
        bad.names
    );
    assert!(
        message.len() < 600,
        "{} {shown}: Err of {} bytes",
        bad.method,
        message.len()
    );
    if bad.method.starts_with("IpamDriver.") {
        assert_eq!(reply.body["Error"], reply.body["Err"], "{}", bad.method);
    }
    assert_unchanged(host, before, &format!("{} {shown}", bad.method));
}

fn assert_unchanged(host: &Host, before: &State, what: &str) {
    let after = host.state();
    assert!(
        after == *before,
        "{what} changed the state:\nbefore: {before:#?}\nafter: {after:#?}"
    );
}

/// Another endpoint id with the same first 12 digits as `endpoint`, so
/// the same interface names.
fn twin_of(endpoint: &str) -> String {
    let twin = format!("{}{}", &endpoint[..12], "f".repeat(52));
    assert_ne!(twin, endpoint);
    twin
}

/// A Join whose interface names are another endpoint's is a conflict and
/// leaves that endpoint's veth and port alone.
fn twin_join_is_refused(host: &Host) {
    let twin = twin_of(&host.joined);
    let ids = json!({"NetworkID": host.network, "EndpointID": twin});
    host.ok(
        "NetworkDriver.CreateEndpoint",
        json!({"NetworkID": host.network, "EndpointID": twin,
               "Interface": {"Address": "10.77.0.9/24", "AddressIPv6": "", "MacAddress": ""}}),
    );
    let before = host.state();
    let mut join = ids.clone();
    join["SandboxKey"] = json!(format!("/var/run/netns/{SANDBOX_NETNS}"));
    let reply = host.daemon.call("NetworkDriver.Join", join);
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(
        reply.body.to_string().contains("is taken by endpoint"),
        "{}",
        reply.body
    );
    assert_unchanged(host, &before, "Join of an endpoint whose names are taken");
    host.ok("NetworkDriver.DeleteEndpoint", ids);
}

/// Valid requests with unknown fields that change nothing: repeated
/// creations, and deletions of what does not exist.
fn accepted_unchanged(host: &Host) -> Vec<(&'static str, Value)> {
    let unknown_endpoint =
        json!({"NetworkID": host.network, "EndpointID": id("bad0e9"), UNKNOWN: 1});
    // Its interface names are the joined endpoint's: they must survive.
    let twin = json!({"NetworkID": host.network, "EndpointID": twin_of(&host.joined)});
    let created = host.created.as_str();
    vec![
        ("Plugin.Activate", json!({UNKNOWN: 1})),
        ("NetworkDriver.GetCapabilities", json!({UNKNOWN: 1})),
        ("IpamDriver.GetCapabilities", json!({UNKNOWN: 1})),
        ("IpamDriver.GetDefaultAddressSpaces", json!({UNKNOWN: 1})),
        ("NetworkDriver.CreateNetwork", host.create_network_body()),
        (
            "NetworkDriver.CreateEndpoint",
            json!({"NetworkID": host.network, "EndpointID": created, UNKNOWN: 1,
            "Interface": {"Address": CREATED_ADDRESS, "AddressIPv6": "", "MacAddress": ""}}),
        ),
        (
            "NetworkDriver.EndpointOperInfo",
            json!({"NetworkID": host.network, "EndpointID": host.joined, UNKNOWN: 1}),
        ),
        ("NetworkDriver.Leave", unknown_endpoint.clone()),
        ("NetworkDriver.DeleteEndpoint", unknown_endpoint),
        ("NetworkDriver.Leave", twin.clone()),
        ("NetworkDriver.DeleteEndpoint", twin),
        (
            "NetworkDriver.DeleteNetwork",
            json!({"NetworkID": id("bad0a9"), UNKNOWN: 1}),
        ),
        (
            "NetworkDriver.AllocateNetwork",
            json!({"NetworkID": host.network, "Options": {"k": "v"}, UNKNOWN: 1}),
        ),
        (
            "NetworkDriver.FreeNetwork",
            json!({"NetworkID": host.network, UNKNOWN: 1}),
        ),
        (
            "NetworkDriver.GwAllocCheck",
            json!({"Options": {}, UNKNOWN: 1}),
        ),
        (
            "NetworkDriver.DiscoverNew",
            json!({"DiscoveryType": 1, "DiscoveryData": {"Address": "10.0.0.5"}, UNKNOWN: 1}),
        ),
        (
            "NetworkDriver.DiscoverDelete",
            json!({"DiscoveryType": 2, "DiscoveryData": "x", UNKNOWN: 1}),
        ),
        (
            "IpamDriver.ReleasePool",
            json!({"PoolID": "docker_ovn_10_99_0_0_24", UNKNOWN: 1}),
        ),
        (
            "IpamDriver.ReleaseAddress",
            json!({"PoolID": "docker_ovn_10_99_0_0_24", "Address": "10.99.0.5", UNKNOWN: 1}),
        ),
    ]
}

#[test]
fn bad_requests_to_every_method_are_refused_clearly_and_change_nothing() {
    let host = Host::start();
    let before = host.state();
    assert!(
        before
            .host_links
            .iter()
            .any(|l| l.contains(&format!("ovn{}", &host.joined[..12]))),
        "the joined endpoint's veth is missing: {:?}",
        before.host_links
    );
    let with_body = accepted_unchanged(&host)
        .into_iter()
        .map(|(method, body)| (method, body.to_string().into_bytes()));
    let without_body = ANSWERED_WITHOUT_BODY
        .iter()
        .map(|method| (*method, Vec::new()));
    for (method, body) in with_body.chain(without_body) {
        let reply = host.daemon.client.call_raw(method, &body);
        let shown = String::from_utf8_lossy(&body);
        assert!(
            reply.is_ok(),
            "{method} {shown:?} -> {} {}",
            reply.status,
            reply.body
        );
        assert_unchanged(&host, &before, &format!("{method} {shown:?}"));
    }
    let mut counts = BTreeMap::new();
    for method in METHODS {
        let cases = cases_for(&host, method);
        for bad in &cases {
            assert_refused(&host, bad, &before);
        }
        counts.insert(*method, cases.len());
    }
    println!("bad requests refused, state unchanged (with and without an unknown field):");
    for (method, count) in &counts {
        println!("  {count:4}  {method}");
    }
    println!("  {:4}  in all", counts.values().sum::<usize>());
    twin_join_is_refused(&host);
    // What was there still works.
    let ids = json!({"NetworkID": host.network, "EndpointID": host.joined});
    host.ok("NetworkDriver.Leave", ids.clone());
    host.ok("NetworkDriver.DeleteEndpoint", ids);
}
