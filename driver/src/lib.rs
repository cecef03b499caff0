//! docker-ovn: a Docker network driver that puts containers on Open
//! vSwitch: through OVN logical switches (`-d ovn`), or on a bridge of its
//! own whose flows it programs itself (`-d ovs`).
//!
//! # What it is
//! The daemon behind `docker network create -d ovn` and `-d ovs`: it
//! answers dockerd's libnetwork remote `NetworkDriver` and `IpamDriver`
//! calls on two unix sockets ([`plugin_api`]). For `-d ovn` it turns them
//! into OVSDB transactions on the OVN Northbound database (logical
//! switches and ports) and the local Open_vSwitch database (the port on
//! the integration bridge); for `-d ovs`, into Open_vSwitch transactions
//! (its bridge, networks and ports) and OpenFlow bundles on that bridge
//! ([`flows`]); for both, the veth pair of each endpoint over rtnetlink.
//! Every piece of state lives in those databases and the switch, marked as
//! the driver's ([`external_ids`], flow cookies); the daemon keeps no file
//! of its own.
//!
//! # What it is not
//! Not a general SDN controller: for `-d ovn`, ovn-northd and
//! ovn-controller compute and install the flows; for `-d ovs` it programs
//! one pipeline on one bridge. Not a copy of Docker's state: it never
//! calls the Docker API. Not the lab: that is the `docker-ovn-lab` crate,
//! which this one never links.
//!
//! # Modules: the tree is the diagram
//! ```text
//! dockerd ─▶ docker (validate) ─▶ backend::Backend ─┬▶ ovn (Northbound) ──┬▶ host (veth, OVS port, gateway, iptables)
//!                                                   └▶ ovs (OpenFlow) ────┘
//!                                  reconcile (plan) ◀─ cli (serve, status, reconcile, flows)
//! ```
//! - [`docker`]: the Docker-facing layer: the plugin traits over a
//!   [`backend::Backend`], `CreateNetwork` parsed into a network spec, and
//!   the `ovn` IPAM driver.
//! - [`backend`]: the seam between that layer and a backend: validated
//!   calls in, protocol replies out.
//! - [`ovn`]: the OVN backend: Northbound switches and ports, the shared
//!   address pools, per-host gateways, and the backend's calls.
//! - [`ovs`]: the native OVS backend: its bridge, named pipeline, flow
//!   cookies, records in the Open_vSwitch database, and its calls (over
//!   the [`flows`] crate).
//! - [`host`]: the host plumbing every backend shares: veth pairs and
//!   links, the integration bridge's ports, offload, the reaper of left
//!   endpoints, firewall rules.
//! - [`reconcile`]: the pure plan that makes ports, veths and logical
//!   ports agree again, and its snapshot.
//! - [`cli`]: `docker-ovn serve`, `status`, `reconcile`, `flows` and the
//!   log setup (the allocator is the binary's, `main.rs`).
//! - [`metrics`]: Prometheus metrics of calls, readiness, reconciliation
//!   and connections (`serve --metrics-listen`).
//! - [`names`], [`mac`], [`external_ids`]: identifiers, addresses and row
//!   marks every layer uses; [`error`]: the driver's one error type.

pub mod backend;
pub mod cli;
pub mod docker;
pub mod error;
pub mod external_ids;
pub mod host;
pub mod mac;
pub mod metrics;
pub mod names;
pub mod ovn;
pub mod ovs;
pub mod reconcile;
