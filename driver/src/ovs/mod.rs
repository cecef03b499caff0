//! The native OVS backend (`-d ovs`), in the making: the driver as the
//! OpenFlow controller of its own bridge, with no OVN.
//!
//! Here so far, pure and golden-tested:
//! - [`pipeline`]: the bridge's named tables and the flows of the
//!   pipeline, of a network and of an endpoint (classifier, spoof guard,
//!   ARP responder and directed neighbour solicitations, forwarding,
//!   output), as `../docs/design.md` describes.
//! - [`bridge`]: the backend's own bridge (`fail_mode=secure`, named
//!   tables, OpenFlow 1.3), made or put back in one transaction.
//! - [`cookie`]: which flows are the driver's and whose (round, network,
//!   endpoint), so resyncs and removals touch only the driver's own.
//!
//! The backend itself (endpoints on the shared host
//! plumbing, programming through [`flows::Client`] in one bundle per
//! call, resync on reconnect) is issue 17's remaining work.

pub mod bridge;
pub mod cookie;
pub mod pipeline;
