//! The Docker-facing layer: what dockerd asks, checked before any backend
//! sees it.
//!
//! - [`plugin`]: `NetworkDriver` over any [`crate::backend::Backend`], and
//!   `IpamDriver` over [`ipam::Ipam`]: every id, sandbox key and network
//!   option is validated here, and driver errors become protocol errors
//!   in one place.
//! - [`network_spec`]: a `CreateNetwork` request, validated, with each
//!   backend's `-o` options.
//! - [`network_policy`]: what a network allows its containers (`icc`,
//!   `rate`, `allow-overlap`), the same options on both drivers.
//! - [`provider_network`]: `-d ovn` networks on the physical network
//!   (`ovn.physnet`, `ovn.vlan`, `ovn.gateway`).
//! - [`endpoint_addresses`]: a `CreateEndpoint`'s addresses and MAC,
//!   checked against the network.
//! - [`ipam`]: the `ovn` IPAM driver (`--ipam-driver ovn`) onto the shared
//!   address pools of [`crate::ovn::address_pools`].

pub mod endpoint_addresses;
pub mod ipam;
pub mod network_policy;
pub mod network_spec;
pub mod plugin;
pub mod provider_network;
