//! The OVN backend: Docker networks as OVN logical switches, endpoints as
//! logical switch ports bound on this host's integration bridge.
//!
//! - [`northbound`]: logical switches and ports in OVN Northbound.
//! - [`address_pools`]: the `ovn` IPAM's pools in Northbound, shared by
//!   every host, allocations guarded by `wait`.
//! - [`gateway`]: each network's gateway on this host (an OVS internal
//!   port bound to the switch's localport, its address, its firewall rules).
//! - [`physnet`]: a provider network's bridge on this host, checked.
//! - [`backend`]: the backend's state and its [`crate::backend::Backend`]
//!   implementation; [`network`], [`endpoint`]: its calls (validate → apply
//!   → roll back); [`repair`]: reconciliation applied.

pub mod address_pools;
pub mod backend;
pub mod endpoint;
pub mod gateway;
pub mod network;
pub mod northbound;
pub mod physnet;
pub mod repair;
