//! docker-ovn as managed (v2) plugins, built by `scripts/build-plugin.sh`
//! around this build's driver, in the lab's real dockerd on host1: the
//! socket is there at once even while OVSDB is down; networks and IPAM
//! through the plugin; the plugin's process SIGKILLed and restarted by
//! dockerd; dockerd restarted; and the `-d ovs` plugin. Then a one-node
//! swarm with a `dnsrr` service on a `--config-from` network.
//!
//! Needs the lab (`docker-ovn-lab up`, as `scripts/test.sh` runs it) with a
//! dockerd it started; fails, never skips, without.

use std::path::{Path, PathBuf};
use std::time::Duration;

use docker_ovn::names::{DockerId, host_interface};
use test_support::managed_plugin::ManagedPlugins;
use test_support::{
    DockerNetwork, IMAGE, Lab, LabBridge, LabDaemon, container_pings, docker, docker_ok,
    eventually, restart_missing, serial, wait_until,
};

/// The binary the plugins are built around, and `lab up` restarts with.
const DOCKER_OVN: &str = env!("CARGO_BIN_EXE_docker-ovn");

/// How long connectivity and restarts may take.
const RECOVERY: Duration = Duration::from_secs(60);

fn pings(from: &str, to: &str) {
    eventually(&format!("{from} pings {to}"), RECOVERY, || {
        container_pings(from, to)
    });
}

/// A path in host1's OVS run directory where its database socket appears
/// later (a symlink to it); removed when dropped.
struct LateSocket {
    path: PathBuf,
    target: String,
}

impl LateSocket {
    fn appear(&self) {
        std::os::unix::fs::symlink(&self.target, &self.path).expect("symlink the socket");
    }
}

impl Drop for LateSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn the_socket_is_there_at_once_while_ovsdb_is_down() {
    let _turn = serial();
    let lab = Lab::require();
    let plugins = ManagedPlugins::create(&lab, Path::new(DOCKER_OVN), "dovn-down");
    let (rundir, name) = ManagedPlugins::ovs_socket(&lab);
    let late = LateSocket {
        path: rundir.join("dovn-late.sock"),
        target: name,
    };
    let _ = std::fs::remove_file(&late.path);
    let setting = "DOCKER_OVN_OVS_DB=unix:/var/run/openvswitch/dovn-late.sock";
    docker_ok(&["plugin", "set", &plugins.ovn, setting]);
    let took = ManagedPlugins::enable(&plugins.ovn);
    assert!(took < Duration::from_secs(10), "enable took {took:?}");
    // Registered from the handshake, it says why it cannot serve yet.
    let ovn = plugins.ovn.as_str();
    let create = [
        "network",
        "create",
        "-d",
        ovn,
        "--ipam-driver",
        ovn,
        "--subnet",
        "10.78.9.0/24",
        "plugin-late",
    ];
    let refused = docker(&create);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "created with OVSDB down");
    assert!(
        stderr.contains("not ready") && stderr.contains("dovn-late.sock"),
        "{stderr}"
    );
    // The database appears: the plugin, still retrying, serves.
    late.appear();
    eventually("the network created once OVSDB is there", RECOVERY, || {
        docker(&create)
    });
    let net = DockerNetwork::adopt_network("plugin-late");
    net.remove_leaving_nothing(&lab, &[]);
}

#[test]
fn containers_keep_connectivity_through_plugin_kills_and_dockerd_restarts() {
    let _turn = serial();
    let lab = Lab::require();
    LabDaemon::Dockerd.require_started_by_lab(&lab);
    let plugins = ManagedPlugins::create(&lab, Path::new(DOCKER_OVN), "dovn-life");
    ManagedPlugins::enable(&plugins.ovn);
    let ipam = [
        "--ipam-driver",
        plugins.ovn.as_str(),
        "--subnet",
        "10.78.0.0/24",
    ];
    let mut net = DockerNetwork::create_on(&plugins.ovn, "plugin-life", &ipam);
    net.run("plugin-a", &["--restart", "always"]);
    net.run("plugin-b", &["--restart", "always"]);
    let b = net.address("plugin-b");
    assert!(b.starts_with("10.78.0."), "{b}");
    pings("plugin-a", &b);
    pings("plugin-a", "plugin-b");

    let killed = ManagedPlugins::pid(&plugins.ovn).expect("the plugin's process");
    // SAFETY: kill(2) on the process of this test's own plugin.
    assert_eq!(unsafe { libc::kill(killed, libc::SIGKILL) }, 0);
    // The datapath does not need the driver: the containers reach each
    // other while it is gone (busybox's ping succeeds on any reply).
    let meanwhile = docker(&["exec", "plugin-a", "ping", "-c3", "-W2", &b]);
    assert!(
        meanwhile.status.success(),
        "no ping while the plugin was down"
    );
    wait_until("dockerd restarts the plugin", RECOVERY, || {
        ManagedPlugins::pid(&plugins.ovn).is_some_and(|pid| pid != killed)
    });
    net.run("plugin-c", &[]);
    pings("plugin-c", "plugin-a");

    LabDaemon::Dockerd.kill(&lab, libc::SIGTERM);
    restart_missing(&lab, DOCKER_OVN);
    eventually("plugin-a restarted by dockerd", RECOVERY, || {
        docker(&["exec", "plugin-a", "true"])
    });
    eventually("plugin-b restarted by dockerd", RECOVERY, || {
        docker(&["exec", "plugin-b", "true"])
    });
    pings("plugin-a", &net.address("plugin-b"));
    pings("plugin-b", "plugin-a");
    let _ = docker(&["rm", "-f", "plugin-c"]);
    let endpoints = ["plugin-a", "plugin-b"].map(|c| net.endpoint(c));
    net.remove_leaving_nothing(&lab, &endpoints);
}

/// The `-d ovs` plugin's bridge on host1 (and host1's database),
/// deleted when dropped.
struct PluginBridge(LabBridge, String);

const PLUGIN_BRIDGE: &str = "br-plugin";

impl PluginBridge {
    fn ports(&self) -> String {
        self.0.vsctl(&["list-ports", &self.0.name])
    }
}

impl Drop for PluginBridge {
    fn drop(&mut self) {
        // Not vsctl: a panic while a failed test unwinds would abort.
        let db = format!("--db={}", self.1);
        let _ = std::process::Command::new("ovs-vsctl")
            .args([db.as_str(), "--if-exists", "del-br", PLUGIN_BRIDGE])
            .status();
    }
}

#[test]
fn the_ovs_plugin_serves_its_own_bridge() {
    let _turn = serial();
    let lab = Lab::require();
    let plugins = ManagedPlugins::create(&lab, Path::new(DOCKER_OVN), "dovn-native");
    let bridge = PluginBridge(LabBridge::named(&lab, PLUGIN_BRIDGE), lab.ovs_db());
    let setting = format!("DOCKER_OVN_OVS_BRIDGE={PLUGIN_BRIDGE}");
    docker_ok(&["plugin", "set", &plugins.ovs, &setting]);
    ManagedPlugins::enable(&plugins.ovs);
    let mut net = DockerNetwork::create_on(
        &plugins.ovs,
        "plugin-native",
        &["--internal", "--subnet", "10.79.0.0/24"],
    );
    net.run("native-a", &[]);
    net.run("native-b", &[]);
    pings("native-a", &net.address("native-b"));
    let endpoint = DockerId::parse("endpoint", &net.endpoint("native-a")).unwrap();
    let port = host_interface(&endpoint);
    assert!(
        bridge.ports().contains(&port),
        "{port} not on {PLUGIN_BRIDGE}"
    );
    net.remove();
    wait_until(
        "the port removed from the plugin's bridge",
        RECOVERY,
        || !bridge.ports().contains(&port),
    );
}

/// A one-node swarm of the lab's dockerd on loopback, left (with its
/// services and networks, and the `docker_gwbridge` it made) when dropped.
struct OneNodeSwarm {
    had_gwbridge: bool,
}

impl OneNodeSwarm {
    fn init() -> OneNodeSwarm {
        let _ = docker(&["swarm", "leave", "--force"]);
        let had_gwbridge = docker(&["network", "inspect", GWBRIDGE]).status.success();
        docker_ok(&[
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--listen-addr",
            "127.0.0.1:2377",
        ]);
        OneNodeSwarm { had_gwbridge }
    }
}

const GWBRIDGE: &str = "docker_gwbridge";

impl Drop for OneNodeSwarm {
    fn drop(&mut self) {
        let _ = docker(&["service", "rm", SERVICE, BARE_SERVICE]);
        let tasks = || docker_ok(&["ps", "-aq", "--filter", &format!("label={SERVICE_LABEL}")]);
        let deadline = std::time::Instant::now() + RECOVERY;
        while !tasks().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        for network in ["swarm-net", "swarm-bare", "swarm-cfg"] {
            let _ = docker(&["network", "rm", network]);
        }
        let _ = docker(&["swarm", "leave", "--force"]);
        if !self.had_gwbridge {
            let _ = docker(&["network", "rm", GWBRIDGE]);
        }
    }
}

const SERVICE: &str = "swarm-svc";
const BARE_SERVICE: &str = "swarm-bare-svc";
const SERVICE_LABEL: &str = "com.docker.swarm.service.name=swarm-svc";

/// The service's running containers.
fn service_tasks() -> Vec<String> {
    let filter = format!("label={SERVICE_LABEL}");
    let ids = docker_ok(&["ps", "-q", "--filter", &filter]);
    ids.split_whitespace().map(str::to_string).collect()
}

/// `docker WORDS...`, the words of `line`: its stdout.
fn docker_line(line: &str) -> String {
    docker_ok(&line.split_whitespace().collect::<Vec<_>>())
}

#[test]
fn a_dnsrr_swarm_service_runs_on_a_config_from_network() {
    let _turn = serial();
    let lab = Lab::require();
    let plugins = ManagedPlugins::create(&lab, Path::new(DOCKER_OVN), "dovn-swarm");
    ManagedPlugins::enable(&plugins.ovn);
    let _swarm = OneNodeSwarm::init();
    a_network_without_config_is_refused_with_advice(&plugins.ovn);

    let ovn = plugins.ovn.as_str();
    docker_line(&format!(
        "network create --config-only --ipam-driver {ovn} --subnet 10.78.5.0/24 \
         -o ovn.network=swarm-blue swarm-cfg"
    ));
    docker_line(&format!(
        "network create -d {ovn} --scope swarm --attachable --config-from swarm-cfg swarm-net"
    ));
    docker_line(&format!(
        "service create --detach --no-resolve-image --name {SERVICE} --replicas 2 \
         --endpoint-mode dnsrr --network swarm-net {IMAGE} sleep 3600"
    ));
    wait_until("two tasks running", RECOVERY, || service_tasks().len() == 2);
    let tasks = service_tasks();
    let addresses: Vec<String> = tasks
        .iter()
        .map(|task| test_support::endpoint_field(task, "swarm-net", "IPAddress"))
        .collect();
    for address in &addresses {
        assert!(address.starts_with("10.78.5."), "{address}");
        let allocated = nb_addresses(&lab, "Address_Set");
        assert!(allocated.contains(address), "{address} not allocated");
        let ports = nb_addresses(&lab, "Logical_Switch_Port");
        assert!(ports.contains(address), "{address}: no port");
    }
    // One logical switch, named by the configuration's ovn.network.
    let on_switch = lab.nbctl(&["lsp-list", "swarm-blue"]);
    let endpoints = tasks
        .iter()
        .map(|t| test_support::endpoint_field(t, "swarm-net", "EndpointID"));
    for endpoint in endpoints {
        assert!(
            on_switch.contains(&endpoint),
            "{endpoint} not on swarm-blue: {on_switch}"
        );
    }
    pings(&tasks[0], &addresses[1]);
    pings(&tasks[1], &addresses[0]);
    let resolved = test_support::exec_ok(&tasks[0], &["nslookup", "tasks.swarm-svc"]);
    for address in &addresses {
        assert!(
            resolved.contains(address.as_str()),
            "tasks.swarm-svc: {resolved}"
        );
    }

    docker_ok(&["service", "rm", SERVICE]);
    wait_until("the tasks gone", RECOVERY, || service_tasks().is_empty());
    wait_until("their ports and addresses freed", RECOVERY, || {
        let allocated = nb_addresses(&lab, "Address_Set");
        let ports = nb_addresses(&lab, "Logical_Switch_Port");
        addresses
            .iter()
            .all(|a| !allocated.contains(a) && !ports.contains(a))
    });
}

/// Without `--config-from` swarm sends neither IPAM nor options: the
/// node's CreateNetwork refuses the network, and the task's error says
/// what to do.
fn a_network_without_config_is_refused_with_advice(plugin: &str) {
    docker_line(&format!(
        "network create -d {plugin} --scope swarm --attachable swarm-bare"
    ));
    docker_line(&format!(
        "service create --detach --no-resolve-image --name {BARE_SERVICE} \
         --network swarm-bare {IMAGE} sleep 3600"
    ));
    wait_until(
        "the bare network's task refused, saying why",
        RECOVERY,
        || {
            let errors = docker_line(&format!(
                "service ps --no-trunc --format {{{{.Error}}}} {BARE_SERVICE}"
            ));
            errors.contains("swarm drops the IPAM driver") && errors.contains("--config-from")
        },
    );
    docker_ok(&["service", "rm", BARE_SERVICE]);
    eventually("swarm-bare removed", RECOVERY, || {
        docker(&["network", "rm", "swarm-bare"])
    });
}

/// Every word of the `addresses` column of a Northbound table.
fn nb_addresses(lab: &Lab, table: &str) -> std::collections::BTreeSet<String> {
    let listing = lab.nbctl(&["--bare", "--columns=addresses", "list", table]);
    listing
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | ',' | '[' | ']'))
        .filter(|word| !word.is_empty())
        .map(str::to_string)
        .collect()
}
