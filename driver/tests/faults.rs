//! Fault injection with the lab's real daemons: the driver killed in a
//! burst of `docker run`, dockerd, ovs-vswitchd, the Northbound database
//! and ovn-controller restarted under running containers, 32 concurrent
//! starts, and a sandbox that dies without Docker sending Leave; for
//! `-d ovs`, the flows back after ovs-vswitchd restarts, the driver killed
//! in a burst, and a foreign flow that every resync leaves alone. Daemons
//! are killed by the pid in the lab's pidfiles and started again by
//! `docker-ovn-lab up`. Needs root and the lab; fails (never skips)
//! without them. The tests take turns: each restarts shared daemons.

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use docker_ovn::names::{DockerId, gateway_interface, host_interface};
use docker_ovn::ovs::cookie::of_port;
use ovsdb_client::{Client, Value};
use test_support::leftovers::named_rows;
use test_support::{
    DRIVER_COOKIES, DockerNetwork, GatewayOnHost, IMAGE, Lab, LabBridge, LabDaemon,
    container_pings, docker, docker_ok, eventually, gateway_parts, link_names,
    published_port_rules, restart_missing, serial, wait_until,
};

/// The binary `lab up` restarts the driver with.
const DOCKER_OVN: &str = env!("CARGO_BIN_EXE_docker-ovn");

/// How long connectivity may take to come back after a daemon restarts.
const RECOVERY: Duration = Duration::from_secs(45);

/// `docker run -d --name NAME --network NETWORK busybox sh -c SCRIPT`.
fn start(name: &str, network: &str, script: &str) -> bool {
    let mut args = vec!["run", "-d", "--name", name, "--network", network];
    args.extend([IMAGE, "sh", "-c", script]);
    docker(&args).status.success()
}

fn is_running(container: &str) -> bool {
    docker(&["inspect", "-f", "{{.State.Running}}", container]).stdout == b"true\n"
}

/// `docker-ovn COMMAND EXTRA...` against host1's databases; its stdout.
fn docker_ovn(lab: &Lab, command: &str, extra: &[&str]) -> String {
    let output = std::process::Command::new(DOCKER_OVN)
        .args([command, "--ovs-db", &lab.ovs_db(), "--nb-db", &lab.nb_db()])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("run docker-ovn {command}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "docker-ovn {command} {extra:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `docker-ovn reconcile` against host1, with extra flags.
fn reconcile(lab: &Lab, extra: &[&str]) -> String {
    docker_ovn(lab, "reconcile", extra)
}

/// Names of the rows of `table` that carry Docker network `network`.
fn rows_of_network(lab: &Lab, db: &str, table: &str, network: &str) -> BTreeSet<String> {
    let target = if db == "OVN_Northbound" {
        lab.nb_db()
    } else {
        lab.ovs_db()
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let client = Client::connect(&target).await.expect("connect");
        let key = Value::map([("docker-ovn:network", network)]);
        named_rows(&client, db, table, &key)
            .await
            .into_iter()
            .map(|row| row.rsplit(' ').next().unwrap_or_default().to_string())
            .collect()
    })
}

/// Endpoint ids named by the aliases of the driver's veths in this
/// namespace (host1's).
fn veth_endpoints() -> BTreeSet<String> {
    let listing = test_support::ip(&["-o", "-d", "link", "show"]);
    String::from_utf8_lossy(&listing.stdout)
        .split("alias docker-ovn endpoint ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The logical ports, OVS ports and veths of `network` are exactly those
/// of `endpoints`.
fn assert_exactly(lab: &Lab, network: &DockerNetwork, endpoints: &BTreeSet<String>) {
    let lsps = rows_of_network(lab, "OVN_Northbound", "Logical_Switch_Port", &network.id);
    assert_eq!(&lsps, endpoints, "logical switch ports of {}", network.name);
    let short: BTreeSet<String> = endpoints
        .iter()
        .map(|e| format!("ovn{}", &e[..12]))
        .collect();
    let ports = rows_of_network(lab, "Open_vSwitch", "Port", &network.id);
    assert_eq!(ports, short, "OVS ports of {}", network.name);
    let nb_endpoints = rows_of_network(lab, "OVN_Northbound", "Logical_Switch_Port", &network.id);
    let orphans: Vec<String> = veth_endpoints()
        .into_iter()
        .filter(|e| !nb_endpoints.contains(e) && !endpoints.contains(e))
        .collect();
    assert!(orphans.is_empty(), "veths of no endpoint: {orphans:?}");
}

/// Polls OVS until some port of `network` exists: a burst is under way.
fn wait_first_port(lab: &Lab, network: &str) {
    wait_until(
        "a container of the burst to join",
        Duration::from_secs(60),
        || !rows_of_network(lab, "Open_vSwitch", "Port", network).is_empty(),
    );
}

/// 20 concurrent `docker run`s on `net`, the driver killed with SIGKILL
/// once the first has a port, then started again; the containers that
/// started.
fn burst_across_a_driver_kill(lab: &Lab, net: &mut DockerNetwork) -> Vec<String> {
    let names: Vec<String> = (0..20).map(|i| format!("{}-{i}", net.name)).collect();
    for name in &names {
        let _ = docker(&["rm", "-f", name]);
        net.adopt(name);
    }
    let runs: Vec<_> = names
        .iter()
        .cloned()
        .map(|name| {
            let network = net.name.clone();
            thread::spawn(move || start(&name, &network, "exec sleep 3600"))
        })
        .collect();
    wait_first_port(lab, &net.id);
    LabDaemon::Driver.kill(lab, libc::SIGKILL);
    restart_missing(lab, DOCKER_OVN);
    for run in runs {
        run.join().expect("docker run thread");
    }
    let started: Vec<String> = names.into_iter().filter(|n| is_running(n)).collect();
    eprintln!(
        "{} of 20 containers on {} started across the kill",
        started.len(),
        net.name
    );
    started
}

#[test]
fn driver_killed_during_twenty_concurrent_runs_leaves_nothing_behind() {
    let _turn = serial();
    let lab = Lab::require();
    let mut net = DockerNetwork::create("fault-burst", &["--subnet", "10.71.0.0/24"]);
    let started = burst_across_a_driver_kill(&lab, &mut net);
    // Endpoints whose CreateEndpoint answer was lost are never joined nor
    // deleted by Docker; the daemon removes them after --reclaim-grace.
    // Nothing is in flight now, so a grace of 0 shows that step at once.
    reconcile(&lab, &["--reclaim-grace", "0"]);
    let live: BTreeSet<String> = started.iter().map(|n| net.endpoint(n)).collect();
    assert_exactly(&lab, &net, &live);
    net.run("fault-burst-probe", &[]);
    for name in &started {
        let address = net.address(name);
        let ping = container_pings("fault-burst-probe", &address);
        assert!(
            ping.status.success(),
            "{name} ({address}) unreachable after the driver restarted"
        );
    }
    let mut endpoints: Vec<String> = live.into_iter().collect();
    endpoints.push(net.endpoint("fault-burst-probe"));
    net.remove_leaving_nothing(&lab, &endpoints);
    // A Join killed between creating its pair and marking it (the alias)
    // left a pair only its link group tells; the restarted daemon deletes
    // those before it serves.
    let unmarked = unmarked_driver_veths();
    assert!(
        unmarked.is_empty(),
        "veth pairs nothing marks as the driver's: {unmarked:?}"
    );
}

/// Host-side veths named as the driver names them (`ovn` + 12 hex digits)
/// that carry no alias.
fn unmarked_driver_veths() -> Vec<String> {
    link_names()
        .into_iter()
        .filter(|name| {
            name.len() == 15
                && name.starts_with("ovn")
                && name[3..].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .filter(|name| {
            std::fs::read_to_string(format!("/sys/class/net/{name}/ifalias"))
                .is_ok_and(|alias| alias.trim().is_empty())
        })
        .collect()
}

/// Pings from `from` to `to` (on `network`) until they succeed.
fn connectivity_returns(what: &str, network: &DockerNetwork, from: &str, to: &str) {
    let address = network.address(to);
    eventually(what, RECOVERY, || container_pings(from, &address));
}

/// `docker-ovn status` against host1.
fn status(lab: &Lab) -> String {
    docker_ovn(lab, "status", &[])
}

/// Whether `docker-ovn status` shows `endpoint` up in OVN and installed
/// by ovn-controller (columns ENDPOINT NETWORK INTERFACE LSP-UP
/// OVN-INSTALLED).
fn shown_ready(status: &str, endpoint: &str) -> bool {
    status.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() > 4 && fields[0] == &endpoint[..12] && fields[3..5] == ["true", "true"]
    })
}

/// The driver has nothing to repair, `docker-ovn status` shows every
/// endpoint up and installed, and the databases hold exactly them.
fn converged(lab: &Lab, network: &DockerNetwork, containers: &[&str]) {
    for container in containers {
        let endpoint = network.endpoint(container);
        wait_until(
            &format!("status to show {container} ready"),
            RECOVERY,
            || shown_ready(&status(lab), &endpoint),
        );
    }
    let plan = reconcile(lab, &["--dry-run"]);
    assert!(
        plan.contains("-d ovn on host") && !plan.contains("would do"),
        "driver state diverged:\n{plan}"
    );
    let endpoints: BTreeSet<String> = containers.iter().map(|c| network.endpoint(c)).collect();
    assert_exactly(lab, network, &endpoints);
}

/// The network's gateway address is back on host1's gateway port (the
/// daemon's periodic reconciliation puts it back after ovs-vswitchd made
/// the port's tap anew), and `container` pings it.
fn gateway_returns(lab: &Lab, network: &DockerNetwork, container: &str, address: &str) {
    let switch = format!("docker-{}", &network.id[..12]);
    let interface = gateway_interface(&switch);
    let host = &lab.hosts()[0];
    let with_prefix = format!("{address}/24");
    let gateway = GatewayOnHost {
        host,
        switch: &switch,
        interface: &interface,
        address: &with_prefix,
    };
    wait_until("the gateway address on its port", RECOVERY, || {
        gateway_parts(&gateway)
            .iter()
            .any(|part| part.starts_with("address"))
    });
    eventually("ping to the gateway", RECOVERY, || {
        container_pings(container, address)
    });
}

#[test]
fn connectivity_returns_after_each_daemon_restarts() {
    let _turn = serial();
    let lab = Lab::require();
    LabDaemon::Dockerd.require_started_by_lab(&lab);
    let mut net = DockerNetwork::create("fault-restart", &["--subnet", "10.72.0.0/24"]);
    net.run("fault-restart-a", &["--restart", "always"]);
    net.run("fault-restart-b", &["--restart", "always"]);
    connectivity_returns("first ping", &net, "fault-restart-a", "fault-restart-b");
    gateway_returns(&lab, &net, "fault-restart-a", "10.72.0.1");
    for daemon in [
        LabDaemon::OvsVswitchd,
        LabDaemon::Northbound,
        LabDaemon::OvnController,
    ] {
        LabDaemon::kill(daemon, &lab, libc::SIGKILL);
        restart_missing(&lab, DOCKER_OVN);
        let what = format!("ping after {daemon:?} was killed and restarted");
        connectivity_returns(&what, &net, "fault-restart-a", "fault-restart-b");
        gateway_returns(&lab, &net, "fault-restart-a", "10.72.0.1");
        converged(&lab, &net, &["fault-restart-a", "fault-restart-b"]);
    }
    // A new endpoint works too: the driver's connections came back.
    net.run("fault-restart-c", &[]);
    connectivity_returns(
        "ping to a new container",
        &net,
        "fault-restart-a",
        "fault-restart-c",
    );
    // dockerd stops its containers on the way down (Leave, DeleteEndpoint)
    // and starts them again: new endpoints, and none of the old left.
    LabDaemon::Dockerd.kill(&lab, libc::SIGTERM);
    restart_missing(&lab, DOCKER_OVN);
    eventually("containers restarted by dockerd", RECOVERY, || {
        docker(&["exec", "fault-restart-b", "true"])
    });
    connectivity_returns(
        "ping after dockerd restarted",
        &net,
        "fault-restart-a",
        "fault-restart-b",
    );
    let _ = docker(&["rm", "-f", "fault-restart-c"]);
    converged(&lab, &net, &["fault-restart-a", "fault-restart-b"]);
}

#[test]
fn thirty_two_concurrent_runs_are_all_ready_at_start_with_unique_addresses() {
    let _turn = serial();
    let lab = Lab::require();
    let mut net = DockerNetwork::create("fault-many", &["--subnet", "10.73.0.0/24"]);
    net.run("fault-many-target", &[]);
    let target = net.address("fault-many-target");
    let names: Vec<String> = (0..32).map(|i| format!("fault-many-{i}")).collect();
    for name in &names {
        let _ = docker(&["rm", "-f", name]);
        net.adopt(name);
    }
    // The container's first command is the ping: no retry, no wait.
    let script = format!("ping -c1 -W2 {target} && exec sleep 3600");
    let runs: Vec<_> = names
        .iter()
        .cloned()
        .map(|name| {
            let script = script.clone();
            thread::spawn(move || start(&name, "fault-many", &script))
        })
        .collect();
    let started = runs
        .into_iter()
        .map(|r| r.join().expect("thread"))
        .filter(|ok| *ok)
        .count();
    assert_eq!(started, 32, "every docker run must succeed");
    // A failed first ping ends the container within its 2 s wait.
    thread::sleep(Duration::from_secs(3));
    let not_ready: Vec<&String> = names.iter().filter(|n| !is_running(n)).collect();
    assert!(not_ready.is_empty(), "first ping failed in {not_ready:?}");
    let addresses: BTreeSet<String> = names.iter().map(|n| net.address(n)).collect();
    assert_eq!(
        addresses.len(),
        32,
        "addresses are not unique: {addresses:?}"
    );
    let mut live: BTreeSet<String> = names.iter().map(|n| net.endpoint(n)).collect();
    live.insert(net.endpoint("fault-many-target"));
    assert_exactly(&lab, &net, &live);
}

#[test]
fn a_sandbox_that_dies_without_leave_loses_its_port_to_reconciliation() {
    let _turn = serial();
    let lab = Lab::require();
    LabDaemon::Dockerd.require_started_by_lab(&lab);
    let mut net = DockerNetwork::create("fault-noleave", &["--subnet", "10.74.0.0/24"]);
    let container = net.run("fault-noleave-a", &[]);
    let endpoint = net.endpoint(&container);
    let sandbox = docker_ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.SandboxKey}}",
        &container,
    ]);
    let pid: i32 = docker_ok(&["inspect", "-f", "{{.State.Pid}}", &container])
        .parse()
        .expect("container pid");
    // With dockerd gone nobody can send Leave; then the container dies
    // and its namespace with it.
    LabDaemon::Dockerd.kill(&lab, libc::SIGKILL);
    // SAFETY: the pid of the container this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let unmounted = std::process::Command::new("umount").arg(&sandbox).status();
    assert!(unmounted.is_ok_and(|s| s.success()), "umount {sandbox}");
    let _ = std::fs::remove_file(&sandbox);
    let interface = format!("ovn{}", &endpoint[..12]);
    wait_until("the sandbox's veth to vanish", RECOVERY, || {
        !test_support::link_names().contains(&interface)
    });
    // The daemon's own periodic pass (every 30 s) removes port and LSP.
    wait_until("reconciliation to remove port and LSP", RECOVERY, || {
        rows_of_network(&lab, "Open_vSwitch", "Port", &net.id).is_empty()
            && rows_of_network(&lab, "OVN_Northbound", "Logical_Switch_Port", &net.id).is_empty()
    });
    // dockerd comes back, cleans the dead container up (its Leave and
    // DeleteEndpoint now find nothing, and succeed).
    restart_missing(&lab, DOCKER_OVN);
    net.remove_leaving_nothing(&lab, &[endpoint]);
}

// The `-d ovs` backend under the same faults: its state is the
// Open_vSwitch database and the switch's flows, nothing else.

/// `docker-ovn reconcile --dry-run` has nothing to do for `-d ovs`.
fn ovs_converged(lab: &Lab) {
    wait_until("-d ovs to need no reconciliation", RECOVERY, || {
        let plan = reconcile(lab, &["--dry-run"]);
        plan.contains("-d ovs on host") && !plan.contains("-d ovs would do")
    });
}

/// The number of the driver's flows on host1's `-d ovs` bridge, once the
/// switch answers.
fn driver_flow_count(bridge: &LabBridge) -> Option<usize> {
    bridge.try_flows(DRIVER_COOKIES).ok().map(|f| f.len())
}

#[test]
fn ovs_flows_are_back_within_two_seconds_of_a_vswitchd_restart() {
    let _turn = serial();
    let lab = Lab::require();
    let mut net = DockerNetwork::create_on("ovs", "fault-ovs-vsd", &["--subnet", "10.98.0.0/24"]);
    net.run("fault-ovs-vsd-a", &[]);
    net.run("fault-ovs-vsd-b", &[]);
    connectivity_returns("first ping", &net, "fault-ovs-vsd-a", "fault-ovs-vsd-b");
    let bridge = LabBridge::of(&lab);
    let before = driver_flow_count(&bridge).expect("the switch answers");
    LabDaemon::OvsVswitchd.kill(&lab, libc::SIGKILL);
    restart_missing(&lab, DOCKER_OVN);
    // The switch is back with empty tables; the driver's reconnection
    // event resyncs them.
    let back = std::time::Instant::now();
    wait_until("the driver's flows to return", RECOVERY, || {
        driver_flow_count(&bridge) == Some(before)
    });
    let took = back.elapsed();
    eprintln!(
        "{before} flows back {} ms after ovs-vswitchd",
        took.as_millis()
    );
    assert!(
        took <= Duration::from_secs(2),
        "flows took {} ms to return",
        took.as_millis()
    );
    connectivity_returns(
        "ping after ovs-vswitchd",
        &net,
        "fault-ovs-vsd-a",
        "fault-ovs-vsd-b",
    );
    ovs_converged(&lab);
    net.remove();
}

#[test]
fn ovs_driver_killed_during_twenty_concurrent_runs_leaves_nothing_behind() {
    let _turn = serial();
    let lab = Lab::require();
    let mut net = DockerNetwork::create_on("ovs", "fault-ovs-burst", &["--subnet", "10.98.0.0/24"]);
    let started = burst_across_a_driver_kill(&lab, &mut net);
    // Pairs of endpoints Docker never joined (an answer lost in the kill):
    // nothing is in flight now, so a grace of 0 removes them at once.
    reconcile(&lab, &["--reclaim-grace", "0"]);
    let live: BTreeSet<String> = started
        .iter()
        .map(|n| format!("ovn{}", &net.endpoint(n)[..12]))
        .collect();
    let ports = rows_of_network(&lab, "Open_vSwitch", "Port", &net.id);
    assert_eq!(ports, live, "OVS ports of {}", net.name);
    ovs_converged(&lab);
    net.run("fault-ovs-burst-probe", &[]);
    for name in &started {
        let address = net.address(name);
        let ping = container_pings("fault-ovs-burst-probe", &address);
        assert!(
            ping.status.success(),
            "{name} ({address}) unreachable after the driver restarted"
        );
    }
    let mut endpoints: Vec<String> = started.iter().map(|n| net.endpoint(n)).collect();
    endpoints.push(net.endpoint("fault-ovs-burst-probe"));
    net.remove_leaving_nothing(&lab, &endpoints);
    let unmarked = unmarked_driver_veths();
    assert!(unmarked.is_empty(), "unmarked veth pairs: {unmarked:?}");
}

/// A flow someone else put on the bridge (another cookie) is never
/// touched: not by the resync of a restarted driver, not by the one
/// reconciliation runs when a driver flow went missing.
#[test]
fn ovs_a_foreign_flow_survives_every_resync() {
    let _turn = serial();
    let lab = Lab::require();
    let bridge = LabBridge::of(&lab);
    let foreign = ForeignFlow::add(&bridge);
    let round = flow_round;
    let first_round = round(&bridge);
    LabDaemon::Driver.kill(&lab, libc::SIGKILL);
    restart_missing(&lab, DOCKER_OVN);
    wait_until("a new round of the driver's flows", RECOVERY, || {
        round(&bridge) != first_round
    });
    assert_eq!(foreign.present(), 1, "the foreign flow after a restart");
    // A driver flow deleted by hand: reconciliation resyncs.
    let before = round(&bridge);
    bridge.ofctl("del-flows", &["--strict", "table=40,priority=100"]);
    resynced_by_reconciliation(&lab, &bridge, before);
    assert!(
        bridge
            .flows(DRIVER_COOKIES)
            .iter()
            .any(|f| f.contains("table=40, priority=100 ")),
        "the deleted flow is back"
    );
    assert_eq!(foreign.present(), 1, "the foreign flow after a resync");
}

/// An endpoint's flows deleted by hand, in whichever of the flow check's
/// parts its port number puts them: reconciliation finds them missing
/// and puts them back.
#[test]
fn ovs_an_endpoints_flows_deleted_by_hand_are_put_back_by_reconciliation() {
    let _turn = serial();
    let lab = Lab::require();
    let mut net =
        DockerNetwork::create_on("ovs", "fault-ovs-eflows", &["--subnet", "10.97.0.0/24"]);
    net.run("fault-ovs-eflows-a", &[]);
    net.run("fault-ovs-eflows-b", &[]);
    ovs_converged(&lab);
    let bridge = LabBridge::of(&lab);
    let endpoint = DockerId::parse("endpoint", &net.endpoint("fault-ovs-eflows-a")).unwrap();
    let interface = host_interface(&endpoint);
    let ofport = bridge.ofport(&interface);
    // Made long ago, as far as reconciliation can tell: the flow check
    // leaves a young endpoint's flows alone (its Join may be on its way).
    bridge.vsctl(&[
        "set",
        "Interface",
        &interface,
        "external_ids:\"docker-ovn:created\"=1",
    ]);
    let (cookie, mask) = of_port(ofport);
    let own = format!("{cookie:#x}/{mask:#x}");
    let before = bridge.flows(&own).len();
    assert!(before > 0, "endpoint on port {ofport} has no flows");
    let round = flow_round(&bridge);
    bridge.ofctl("del-flows", &[&format!("cookie={own}")]);
    assert_eq!(bridge.flows(&own).len(), 0);
    resynced_by_reconciliation(&lab, &bridge, round);
    assert_eq!(
        bridge.flows(&own).len(),
        before,
        "the endpoint's flows are back"
    );
    connectivity_returns(
        "ping after the resync",
        &net,
        "fault-ovs-eflows-b",
        "fault-ovs-eflows-a",
    );
    let endpoints = ["fault-ovs-eflows-a", "fault-ovs-eflows-b"].map(|n| net.endpoint(n));
    net.remove_leaving_nothing(&lab, &endpoints);
}

/// The DNAT rules of `endpoint`'s published ports on host1.
fn published_rules(endpoint: &str) -> Vec<String> {
    let rules = published_port_rules(None).into_iter();
    let owner = format!("docker-ovn-port:ovn:{endpoint}@");
    rules.filter(|l| l.contains(&owner)).collect()
}

/// A container with a published port removed while the driver is down:
/// RevokeExternalConnectivity never reaches it, and dockerd keeps the
/// sandbox of the endpoint it could not leave. Its rules go with the
/// endpoint's port: when the network is removed, or else when
/// reconciliation finds the port gone.
#[test]
fn published_ports_of_a_container_removed_while_the_driver_was_killed_are_removed() {
    let _turn = serial();
    let lab = Lab::require();
    let mut net = DockerNetwork::create("fault-published", &["--subnet", "10.96.16.0/24"]);
    net.run("fault-published-web", &["-p", "18470:8080"]);
    let endpoint = net.endpoint("fault-published-web");
    assert_eq!(published_rules(&endpoint).len(), 2, "PREROUTING and OUTPUT");
    LabDaemon::Driver.kill(&lab, libc::SIGKILL);
    let _ = docker(&["rm", "-f", "fault-published-web"]);
    restart_missing(&lab, DOCKER_OVN);
    // The leftover checks include the endpoint's published ports.
    net.remove_leaving_nothing(&lab, std::slice::from_ref(&endpoint));
    assert_eq!(published_rules(&endpoint), Vec::<String>::new());
}

/// The cookie of the first of the driver's flows: a resync puts every
/// flow in again under a new round, which changes it.
fn flow_round(bridge: &LabBridge) -> Option<String> {
    bridge
        .flows(DRIVER_COOKIES)
        .first()
        .and_then(|f| f.split(',').next().map(str::to_string))
}

/// `docker-ovn reconcile`, then insists that the flows were resynced
/// (a new round since `before`): by this call, or by the daemon's own
/// pass when it ran first (the same code, and the call then has nothing
/// left to do).
fn resynced_by_reconciliation(lab: &Lab, bridge: &LabBridge, before: Option<String>) {
    let repaired = reconcile(lab, &[]);
    let new_round = flow_round(bridge) != before;
    assert!(
        repaired.contains("-d ovs did: resync the flows") || new_round,
        "reconciliation must resync: {repaired}"
    );
}

/// A flow of cookie 0x5eed on host1's `-d ovs` bridge, deleted on drop.
struct ForeignFlow<'a>(&'a LabBridge);

impl<'a> ForeignFlow<'a> {
    fn add(bridge: &'a LabBridge) -> ForeignFlow<'a> {
        bridge.ofctl(
            "add-flow",
            &["cookie=0x5eed,table=0,priority=1,in_port=65000,actions=drop"],
        );
        ForeignFlow(bridge)
    }

    fn present(&self) -> usize {
        self.0.flows("0x5eed/-1").len()
    }
}

impl Drop for ForeignFlow<'_> {
    fn drop(&mut self) {
        self.0.try_ofctl("del-flows", &["cookie=0x5eed/-1"]);
    }
}
