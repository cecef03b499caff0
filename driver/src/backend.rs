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
//! The OVN backend is [`crate::ovn::backend::OvnBackend`], the native OVS
//! one [`crate::ovs::backend::OvsBackend`].

use std::future::Future;
use std::net::Ipv4Addr;

use plugin_api::wire::{
    CapabilitiesResponse, CreateEndpointResponse, EndpointInterface, EndpointOperInfoResponse,
    JoinResponse,
};

use crate::docker::network_spec::{KnownOptions, NetworkSpec};
use crate::error::{DriverError, Result};
use crate::host::published_ports::PublishedPorts;
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

    /// The `-o` options CreateNetwork accepts.
    fn options(&self) -> KnownOptions;

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

    /// The endpoint's IPv4 address, where its published ports lead
    /// through its network's gateway on this host; an error naming why
    /// if there is none ([`no_gateway`]).
    fn publish_target(&self, endpoint: &EndpointRef) -> Result<Ipv4Addr>;

    /// The published ports of this backend's endpoints on this host.
    fn published_ports(&self) -> Result<&PublishedPorts>;
}

/// Why the ports of an endpoint on `network` cannot be published: its
/// network has no gateway here (`--internal`, no IPv4 subnet, or the
/// driver runs with `--no-gateway`), or the endpoint has no IPv4 address.
pub fn no_gateway(endpoint: &EndpointRef) -> DriverError {
    DriverError::invalid(
        format!("published ports of endpoint {}", endpoint.endpoint),
        format!(
            "network {} has no IPv4 gateway on this host (internal, IPv6 only, or the driver \
             runs without gateways), so nothing can reach a port of its containers from outside",
            endpoint.network
        ),
    )
}

/// What every backend reports: `Scope: local` (Docker refuses a
/// global-scope legacy plugin outside swarm) and `ConnectivityScope:
/// global` (its networks may span hosts).
pub fn local_scope_capabilities() -> CapabilitiesResponse {
    CapabilitiesResponse {
        scope: plugin_api::wire::Scope::Local,
        connectivity_scope: Some(plugin_api::wire::Scope::Global),
        gw_alloc_checker: false,
    }
}

/// A driver this host cannot serve (`-d ovn` without a Northbound
/// database): it answers Activate and GetCapabilities like any other, and
/// every other call with an error that says how to configure it, so the
/// other driver of the daemon keeps working.
pub struct Unconfigured {
    pub options: KnownOptions,
    /// What to configure, shown to the user in every refusal.
    pub reason: String,
}

impl Unconfigured {
    fn refuse<T>(&self) -> Result<T> {
        Err(DriverError::NotConfigured(self.reason.clone()))
    }
}

impl Backend for Unconfigured {
    fn capabilities(&self) -> CapabilitiesResponse {
        local_scope_capabilities()
    }

    fn options(&self) -> KnownOptions {
        self.options
    }

    async fn create_network(&self, _: &NetworkSpec) -> Result<()> {
        self.refuse()
    }

    async fn delete_network(&self, _: &DockerId) -> Result<()> {
        self.refuse()
    }

    async fn create_endpoint(
        &self,
        _: &EndpointRef,
        _: &EndpointInterface,
    ) -> Result<CreateEndpointResponse> {
        self.refuse()
    }

    async fn delete_endpoint(&self, _: &EndpointRef) -> Result<()> {
        self.refuse()
    }

    async fn join(&self, _: &EndpointRef, _: &str) -> Result<JoinResponse> {
        self.refuse()
    }

    async fn leave(&self, _: &EndpointRef) -> Result<()> {
        self.refuse()
    }

    fn endpoint_oper_info(&self, _: &EndpointRef) -> EndpointOperInfoResponse {
        EndpointOperInfoResponse::default()
    }

    fn publish_target(&self, _: &EndpointRef) -> Result<Ipv4Addr> {
        self.refuse()
    }

    fn published_ports(&self) -> Result<&PublishedPorts> {
        self.refuse()
    }
}
