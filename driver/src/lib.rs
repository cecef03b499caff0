//! docker-ovn: a Docker network driver that puts containers on OVN logical
//! switches through Open vSwitch.
//!
//! # What it is
//! The daemon behind `docker network create -d ovn`: it answers dockerd's
//! libnetwork remote `NetworkDriver` calls on a unix socket
//! ([`plugin_api`]) and turns them into OVSDB transactions on the OVN
//! Northbound database (logical switches and ports) and the local
//! Open_vSwitch database (the port on the integration bridge), plus the
//! veth pair of each endpoint over rtnetlink. Every piece of state lives in
//! those databases, on rows marked as the driver's ([`external_ids`]); the
//! daemon keeps no file of its own.
//!
//! # What it is not
//! Not an SDN controller: ovn-northd and ovn-controller compute and install
//! the flows. Not a copy of Docker's state: it never calls the Docker API.
//!
//! # Modules
//! - [`serve`]: the daemon's flags and start-up.
//! - [`overlay`]: overlay mode, the driver's calls (validate → apply → roll back).
//! - [`ipam`]: the `ovn` IPAM driver; [`address_pools`]: its pools in OVN
//!   Northbound, shared by every host, allocations guarded by `wait`.
//! - [`plugin`]: the `NetworkDriver` and `IpamDriver` traits over them.
//! - [`reconcile`]: bringing ports, veths and logical ports back into
//!   agreement after what Docker never told the driver;
//!   [`reconcile_command`]: `docker-ovn reconcile [--dry-run]`.
//! - [`network_spec`]: a validated `CreateNetwork` request.
//! - [`northbound`]: logical switches and ports in OVN Northbound.
//! - [`local_switch`]: the integration bridge's ports in Open_vSwitch.
//! - [`gateway`]: each network's gateway on this host (an OVS internal
//!   port bound to the switch's localport, its address, and the
//!   [`firewall`] rules that masquerade and forward for it).
//! - [`links`]: veth pairs and gateway devices over rtnetlink; [`offload`]: checksum offload
//!   off on the container side, which the userspace datapath needs;
//!   [`link_scan`]: the driver's veths among all links, in bounded memory.
//! - [`names`], [`mac`], [`external_ids`]: identifiers, addresses, row
//!   marks; [`veth_alias`]: the mark on the driver's veths;
//!   [`veth_reaper`]: left endpoints' veths and ports removed in batches.
//! - [`status`]: `docker-ovn status`.
//! - [`heap`]: the daemon's malloc arenas and free memory given back.
//! - [`error`]: the driver's error type.

pub mod address_pools;
pub mod error;
pub mod external_ids;
pub mod firewall;
pub mod gateway;
pub mod heap;
pub mod ipam;
pub mod link_scan;
pub mod links;
pub mod local_switch;
pub mod mac;
pub mod names;
pub mod network_spec;
pub mod northbound;
pub mod offload;
pub mod overlay;
pub mod plugin;
pub mod reconcile;
pub mod reconcile_command;
pub mod serve;
pub mod status;
pub mod veth_alias;
pub mod veth_reaper;
