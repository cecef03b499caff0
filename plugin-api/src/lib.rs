//! Docker's libnetwork remote-driver protocol, server side.
//!
//! **What it is:** the wire types of every `NetworkDriver` and `IpamDriver`
//! call ([`wire`]), decoded with Go's leniency ([`keys`]); two traits a
//! plugin implements ([`NetworkDriver`], [`IpamDriver`]); an axum router that
//! maps `POST /<Interface>.<Method>` onto them with body limits, deadlines
//! and dockerd's error conventions ([`PluginRouter`]); and a unix-socket
//! server that claims `/run/docker/plugins/<name>.sock` safely
//! ([`PluginServer`]). A call refused before its body is read (too large,
//! too slow, unknown) still gets its JSON answer to a client that is
//! still sending: the rest of the body is discarded, within bounds, rather
//! than left for the kernel to answer with a connection reset.
//!
//! Modules: [`wire`] (request and reply types), [`keys`] (Go-style lenient
//! decoding), [`driver`] (the traits), [`router`], [`server`], [`starting`]
//! (serving the handshake before the driver is ready), [`error`];
//! private ones read bodies (`body`), shape replies (`reply`) and own the
//! socket file (`socket`). `testing`, compiled only for this crate's own
//! tests (its `testing` feature, which nothing else should enable), has the
//! fake driver they share.
//!
//! **What it is not:** anything about Open vSwitch or OVN, IPAM logic, or
//! state. Drivers live in other crates. The protocol reference is
//! `shared/reference/libnetwork-protocol.md`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use plugin_api::wire::*;
//! use plugin_api::{NetworkDriver, PluginResult, PluginRouter, PluginServer};
//!
//! struct Null;
//!
//! impl NetworkDriver for Null {
//!     async fn get_capabilities(&self) -> PluginResult<CapabilitiesResponse> {
//!         Ok(CapabilitiesResponse { scope: Scope::Local, ..Default::default() })
//!     }
//!     async fn create_network(&self, req: CreateNetworkRequest) -> PluginResult<Empty> {
//!         println!("network {} ({:?})", req.network_id, req.options.generic_opt("ovn.network"));
//!         Ok(Empty {})
//!     }
//!     async fn delete_network(&self, _: DeleteNetworkRequest) -> PluginResult<Empty> { Ok(Empty {}) }
//!     async fn create_endpoint(&self, _: CreateEndpointRequest) -> PluginResult<CreateEndpointResponse> {
//!         Ok(CreateEndpointResponse::default())
//!     }
//!     async fn delete_endpoint(&self, _: DeleteEndpointRequest) -> PluginResult<Empty> { Ok(Empty {}) }
//!     async fn join(&self, _: JoinRequest) -> PluginResult<JoinResponse> { Ok(JoinResponse::default()) }
//!     async fn leave(&self, _: LeaveRequest) -> PluginResult<Empty> { Ok(Empty {}) }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), plugin_api::Error> {
//!     let router = PluginRouter::new().network_driver(Arc::new(Null)).build();
//!     let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//!     PluginServer::default().serve(router, shutdown).await
//! }
//! ```

pub mod driver;
pub mod error;
pub mod keys;
pub mod router;
pub mod server;
pub mod starting;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wire;

mod body;
mod reply;
mod socket;

/// What [`PluginRouter::build`] makes: served by a [`PluginServer`].
pub use axum::Router;
pub use driver::{IpamDriver, NetworkDriver};
pub use error::{Error, ErrorKind, PluginError, PluginResult};
pub use router::{CallObserver, DEFAULT_BODY_LIMIT, DEFAULT_DEADLINE, PluginRouter};
pub use server::{BoundServer, DEFAULT_SOCKET_MODE, DEFAULT_SOCKET_PATH, PluginServer, serve};
