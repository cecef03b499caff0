//! The seam between the Docker-facing layer ([`crate::docker`]) and a
//! backend: the narrow set of calls a backend implements, each with its
//! request already validated.
//!
//! What the layer above guarantees: ids are Docker's 64 hex digits, the
//! sandbox key is a path under a netns directory, the network's options,
//! subnets and addresses parsed ([`NetworkSpec`]). What a backend owes
//! back: validate what only it can know (a network it has no switch for,
//! an address outside its subnet), apply, and on a failure part way undo
//! what it did (netavark's validate → apply → roll back), with errors that
//! name the network or endpoint. The host side of an endpoint (veth pair,
//! OVS port, reaper) is [`crate::host::plumbing`], shared by every backend;
//! so are [`crate::names`], [`crate::mac`], the reconciliation plan
//! ([`crate::reconcile`]) and the error mapping ([`crate::docker::plugin`]).
//!
//! The OVN backend is [`crate::ovn::backend::OvnBackend`].

use std::future::Future;

use plugin_api::wire::{
    CapabilitiesResponse, CreateEndpointResponse, EndpointInterface, EndpointOperInfoResponse,
    JoinResponse,
};

use crate::docker::network_spec::NetworkSpec;
use crate::error::Result;
use crate::names::DockerId;

/// An endpoint as a call names it, both ids checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRef {
    pub network: DockerId,
    pub endpoint: DockerId,
}

/// What a backend does for each NetworkDriver call that reaches it.
pub trait Backend: Send + Sync + 'static {
    /// Scope and capabilities; must not depend on anything remote.
    fn capabilities(&self) -> CapabilitiesResponse;

    /// Makes the network (idempotent for a network that exists as asked).
    fn create_network(&self, spec: &NetworkSpec) -> impl Future<Output = Result<()>> + Send;

    /// Removes the network and what is left of its endpoints on this host.
    fn delete_network(&self, network: &DockerId) -> impl Future<Output = Result<()>> + Send;

    /// Makes the endpoint with the addresses Docker's IPAM gave it; the
    /// reply fills only what Docker left empty (the MAC).
    fn create_endpoint(
        &self,
        endpoint: &EndpointRef,
        interface: &EndpointInterface,
    ) -> impl Future<Output = Result<CreateEndpointResponse>> + Send;

    /// Removes the endpoint; tolerant of one already gone.
    fn delete_endpoint(&self, endpoint: &EndpointRef) -> impl Future<Output = Result<()>> + Send;

    /// Plugs the endpoint into the sandbox `sandbox_key`; returns once its
    /// first packet will go through.
    fn join(
        &self,
        endpoint: &EndpointRef,
        sandbox_key: &str,
    ) -> impl Future<Output = Result<JoinResponse>> + Send;

    /// Unplugs the endpoint; tolerant of one already unplugged.
    fn leave(&self, endpoint: &EndpointRef) -> impl Future<Output = Result<()>> + Send;

    /// What `docker network inspect` shows of the endpoint.
    fn endpoint_oper_info(&self, endpoint: &EndpointRef) -> EndpointOperInfoResponse;
}
