//! docker-ovn: a Docker network driver that puts containers on Open
//! vSwitch, through OVN logical switches.
//!
//! # What it is
//! The daemon behind `docker network create -d ovn`: it answers dockerd's
//! libnetwork remote `NetworkDriver` and `IpamDriver` calls on a unix
//! socket ([`plugin_api`]) and turns them into OVSDB transactions on the
//! OVN Northbound database (logical switches and ports) and the local
//! Open_vSwitch database (the port on the integration bridge), plus the
//! veth pair of each endpoint over rtnetlink. Every piece of state lives in
//! those databases, on rows marked as the driver's ([`external_ids`]); the
//! daemon keeps no file of its own.
//!
//! # What it is not
//! Not an SDN controller: ovn-northd and ovn-controller compute and install
//! the flows. Not a copy of Docker's state: it never calls the Docker API.
//! Not the lab: that is the `docker-ovn-lab` crate, which this one never links.
//!
//! # Modules: the tree is the diagram
//! ```text
//! dockerd ─▶ docker (validate) ─▶ backend::Backend ─▶ ovn (Northbound) ─▶ host (veth, OVS port, iptables)
//!                                                       └─ reconcile (plan) ◀─ cli (serve, status, reconcile)
//! ```
//! - [`docker`]: the Docker-facing layer: the plugin traits over a
//!   [`backend::Backend`], `CreateNetwork` parsed into a network spec, and
//!   the `ovn` IPAM driver.
//! - [`backend`]: the seam between that layer and a backend: validated
//!   calls in, protocol replies out.
//! - [`ovn`]: the OVN backend: Northbound switches and ports, the shared
//!   address pools, per-host gateways, and the backend's calls.
//! - [`ovs`]: the native OVS backend in the making: its OpenFlow
//!   pipeline and flow cookies (over the [`flows`] crate).
//! - [`host`]: the host plumbing every backend shares: veth pairs and
//!   links, the integration bridge's ports, offload, the reaper of left
//!   endpoints, firewall rules.
//! - [`reconcile`]: the pure plan that makes ports, veths and logical
//!   ports agree again, and its snapshot.
//! - [`cli`]: `docker-ovn serve`, `status`, `reconcile`, the log setup and
//!   the heap.
//! - [`names`], [`mac`], [`external_ids`]: identifiers, addresses and row
//!   marks every layer uses; [`error`]: the driver's one error type.

pub mod backend;
pub mod cli;
pub mod docker;
pub mod error;
pub mod external_ids;
pub mod host;
pub mod mac;
pub mod names;
pub mod ovn;
pub mod ovs;
pub mod reconcile;
