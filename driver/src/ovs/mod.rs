//! The native OVS backend (`-d ovs`): the driver as the OpenFlow
//! controller of its own bridge, with no OVN.
//!
//! - [`bridge`]: the backend's own bridge (`fail_mode=secure`, named
//!   tables, OpenFlow 1.3 and 1.4), made or put back in one transaction.
//! - [`pipeline`]: the bridge's named tables and the flows of the
//!   pipeline, of a network and of an endpoint (classifier, spoof guard,
//!   ARP responder and directed neighbour solicitations, forwarding,
//!   output), pure and golden-tested.
//! - [`cookie`]: which flows are the driver's and whose (round, network,
//!   endpoint), so resyncs and removals touch only the driver's own.
//! - [`bridge_flows`]: the OpenFlow connection: a call's flows in one
//!   bundle, resyncs under a new round.
//! - [`network_record`], [`endpoint_port`]: a network as the bridge's
//!   `external_ids` record it, an endpoint as its port's marks do: all
//!   the backend's state, in the Open_vSwitch database.
//! - [`backend`]: the backend's state, the flows the databases call for,
//!   and its [`crate::backend::Backend`] implementation; [`network`],
//!   [`endpoint`]: its calls (validate → apply → roll back); [`repair`]:
//!   reconciliation of ports, veths, gateways and flows.
//! - [`network_mode`]: a network's reach (this host, VXLAN, routed, VLAN) from
//!   its `-o ovs.*` options; [`peers`]: the other hosts, from the
//!   Open_vSwitch row, followed live by [`peer_watch`]; [`tunnel`]: the
//!   bridge's one VXLAN port; [`routed`]: direct routing (routes to the
//!   peers, and which of their addresses are a routed network's);
//!   [`uplink`]: VLAN networks' trunk ports.

pub mod backend;
pub mod bridge;
pub mod bridge_flows;
pub mod cookie;
pub mod endpoint;
pub mod endpoint_port;
pub mod network;
pub mod network_mode;
pub mod network_record;
pub mod peer_watch;
pub mod peers;
pub mod pipeline;
pub mod repair;
pub mod routed;
pub mod tunnel;
pub mod uplink;
