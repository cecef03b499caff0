//! Real OVS and OVN daemons for integration tests, each in its own
//! temporary directory, stopped (by pid, never by name) when dropped.
//!
//! A missing binary or schema is a test failure that names the Debian
//! package to install: the tests never skip silently.
//!
//! Modules:
//! - [`binaries`]: finding daemons and schemas, with the package to install.
//! - [`ovsdb`]: a standalone `ovsdb-server` on a unix socket and optionally TCP.
//! - [`daemon`]: a `docker-ovn serve` of the test's own.
//! - [`cross_host`]: the checks every `-d ovs` mode across hosts passes
//!   (pings both ways, full MTU, networks apart, a switch restart).
//! - [`docker_network`]: Docker networks on the `ovn` and `ovs` drivers
//!   and their containers, removed when dropped.
//! - [`lab`]: the running `docker-ovn-lab` and `docker` commands, for
//!   end-to-end tests.
//! - [`lab_daemons`]: the lab's daemons killed by pidfile and started again.
//! - [`lab_bridge`]: host1's `-d ovs` bridge: its flows, traces, ports and
//!   network records, through the OVS tools.
//! - [`leftovers`]: rows, devices and published ports' rules the drivers
//!   left behind, on every host, and the parts of a network's gateway.
//! - [`managed_plugin`]: docker-ovn as managed plugins of the lab's
//!   dockerd, built by `scripts/build-plugin.sh`.
//! - [`netns`]: network namespaces as container sandboxes and as "the
//!   outside" of egress tests, and `ip`.
//! - [`plugin_client`]: the Docker plugin protocol as dockerd speaks it;
//!   [`remote`]: a network and endpoints made through it as dockerd would
//!   on a lab host that has no dockerd.
//! - [`udp`]: a UDP echo inside a container's namespace (busybox has no
//!   UDP server) and a UDP client from any namespace.
//! - [`underlay`]: the lab's underlay: `tcpdump` on it, and host1's
//!   peers changed and put back.
//! - [`vswitchd`]: an `ovs-vswitchd` of a test's own with one bridge, in a
//!   network namespace of its own, for OpenFlow tests.

pub mod binaries;
pub mod cross_host;
pub mod daemon;
pub mod docker_network;
pub mod lab;
pub mod lab_bridge;
pub mod lab_daemons;
pub mod leftovers;
pub mod managed_plugin;
pub mod netns;
pub mod ovsdb;
pub mod plugin_client;
pub mod remote;
pub mod udp;
pub mod underlay;
pub mod vswitchd;

pub use binaries::{Schema, require_binary, tool_ok};
pub use daemon::DriverDaemon;
pub use docker_network::{
    DockerNetwork, IMAGE, container_pings, endpoint_field, eventually, exec_ok,
    first_command_pings, tcp_bytes_received, wait_until,
};
pub use lab::{Lab, docker, docker_ok, link_names};
pub use lab_bridge::{DRIVER_COOKIES, LabBridge};
pub use lab_daemons::{LabDaemon, restart_missing};
pub use leftovers::{
    GATEWAY_RULES, GatewayOnHost, Removed, assert_clean, gateway_kinds, gateway_parts, localports,
    published_port_rules,
};
pub use netns::{Outside, Sandbox, ip, ip_ok};
pub use ovsdb::OvsdbServer;
pub use plugin_client::{PluginClient, Reply};
pub use remote::{RemoteEndpoint, RemoteNetwork, random_id};
pub use vswitchd::Switch;

/// Holds the other tests of the same test binary off while a test that
/// changes shared state (restarts daemons, takes a host's uplink) runs.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
