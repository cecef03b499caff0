//! The host plumbing every backend shares: nothing here knows OVN.
//!
//! - [`links`]: veth pairs and gateway devices over rtnetlink;
//!   [`link_scan`]: the driver's veths among all links, in bounded memory;
//!   [`veth_alias`]: the mark on the driver's veths.
//! - [`local_switch`]: the OVS bridge's ports in the local Open_vSwitch
//!   database, and the host's settings there; [`bridge_ids`]: the
//!   bridge's `external_ids`; [`port_transaction`]: the transaction that
//!   adds a port.
//! - [`plumbing`]: an endpoint's veth pair and OVS port together: made,
//!   claimed back from an interrupted Join, removed.
//! - [`veth_reaper`]: left endpoints' veths and ports removed in batches.
//! - [`offload`]: checksum offload off on the container side, which the
//!   userspace datapath needs.
//! - [`gateway`]: a network's gateway port, device and rules on this host;
//!   [`firewall`]: the iptables rules of a gateway (masquerade, forward);
//!   [`forwarding`]: IPv4 forwarding on, as dockerd turns it on;
//!   [`sysctl`]: where `/proc/sys` is (elsewhere in a managed plugin).
//! - [`published_ports`]: published ports (`docker run -p`) as DNAT
//!   rules, of every backend.
//! - [`route_conflicts`]: a new network's subnets against the host's
//!   routes.
//! - [`routes`]: the routes to peers of direct routing, marked as the
//!   driver's by their route protocol.

pub mod bridge_ids;
pub mod firewall;
pub mod forwarding;
pub mod gateway;
pub mod link_scan;
pub mod links;
pub mod local_switch;
pub mod offload;
pub mod plumbing;
pub mod port_transaction;
pub mod published_ports;
pub mod route_conflicts;
pub mod routes;
pub mod sysctl;
pub mod veth_alias;
pub mod veth_reaper;
