//! The OVN backend's state and its [`Backend`] implementation; the calls
//! themselves are in [`super::network`], [`super::endpoint`] and
//! [`super::repair`].

use std::net::Ipv4Addr;
use std::time::Duration;

use plugin_api::wire::{
    CapabilitiesResponse, CreateEndpointResponse, EndpointInterface, EndpointOperInfoResponse,
    JoinResponse,
};

use crate::backend::{Backend, EndpointRef};
use crate::docker::network_spec::{KnownOptions, NetworkSpec, OVN_OPTIONS};
use crate::error::{DriverError, Result};
use crate::host::gateway::{Gateway, GatewayKind, HostGateways};
use crate::host::links::Links;
use crate::host::local_switch::LocalSwitch;
use crate::host::plumbing::Plumbing;
use crate::host::published_ports::PublishedPorts;
use crate::host::veth_reaper::VethReaper;
use crate::names::DockerId;
use crate::ovn::northbound::{Northbound, SwitchInfo};

/// Bytes a Geneve tunnel over IPv4 adds to each frame: outer IPv4 (20),
/// UDP (8), Geneve (8), OVN's option (8) and the inner Ethernet header (14).
pub const GENEVE_IPV4_OVERHEAD: u32 = 58;

/// Settings of the OVN backend.
#[derive(Debug, Clone)]
pub struct OvnConfig {
    /// How long Join waits for ovn-controller to install the port.
    pub ready_timeout: Duration,
    /// MTU of the network carrying the tunnels.
    pub underlay_mtu: u32,
    /// Age after which reconciliation deletes an endpoint never joined.
    pub unjoined_grace: Duration,
    /// Whether this host routes for its networks (a gateway port per
    /// non-internal network; never when nested); without, Docker adds
    /// `docker_gwbridge`.
    pub gateway: bool,
    /// On a Docker host that is a VM whose NIC is this logical switch
    /// port: endpoints are its children, on the VM's bridge by VLAN.
    pub nested_parent: Option<String>,
}

/// The OVN backend: one per daemon.
pub struct OvnBackend {
    pub(super) nb: Northbound,
    /// Veth pairs, OVS ports and the reaper: the host side of endpoints.
    pub(super) plumbing: Plumbing,
    pub(super) config: OvnConfig,
    pub(super) gateways: HostGateways,
    /// Network creation and deletion are rare; one at a time keeps the
    /// create-or-join logic of shared switches simple, and reconciliation
    /// of gateways takes it too, so it never sees one half made.
    pub(super) network_lock: tokio::sync::Mutex<()>,
}

impl OvnBackend {
    pub fn new(
        ovs: LocalSwitch,
        nb: Northbound,
        links: Links,
        reaper: VethReaper<LocalSwitch>,
        host: String,
        config: OvnConfig,
    ) -> OvnBackend {
        let gateways = HostGateways::new(
            ovs.clone(),
            links.clone(),
            host.clone(),
            GatewayKind::Ovn,
            config.ready_timeout,
        );
        OvnBackend {
            gateways,
            nb,
            plumbing: Plumbing {
                ovs,
                links,
                reaper,
                host,
            },
            config,
            network_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The chassis (`system-id`) this driver binds endpoints to.
    pub fn host(&self) -> &str {
        &self.plumbing.host
    }

    /// This host's links and routes.
    pub fn links(&self) -> &Links {
        &self.plumbing.links
    }

    /// The MTU of a network that names none: the underlay's less Geneve.
    pub(super) fn default_mtu(&self) -> u32 {
        self.config.underlay_mtu - GENEVE_IPV4_OVERHEAD
    }

    /// The MTU of `switch`'s ports on this host: its own, or on a provider
    /// network its bridge's (no tunnel overhead), or the overlay's.
    pub(super) fn network_mtu(&self, switch: &SwitchInfo) -> u32 {
        if let Some(mtu) = switch.mtu {
            return mtu;
        }
        match &switch.provider {
            Some(provider) => {
                crate::ovn::physnet::mapped_bridge(&self.plumbing.ovs, &provider.physnet)
                    .ok()
                    .and_then(|bridge| bridge.mtu)
                    .unwrap_or(self.config.underlay_mtu)
            }
            None => self.default_mtu(),
        }
    }

    /// The gateway `switch` has on this host, if any. A VM (nested
    /// containers) is no chassis: no localport of it could be bound.
    pub(super) fn gateway_of(&self, switch: &SwitchInfo) -> Option<Gateway> {
        let routes = self.config.gateway && self.config.nested_parent.is_none();
        routes
            .then(|| crate::ovn::gateway::of_switch(switch, self.network_mtu(switch)))
            .flatten()
    }

    pub(super) fn switch(&self, network: &DockerId) -> Result<SwitchInfo> {
        self.nb
            .switch_of(network.as_str())
            .ok_or_else(|| DriverError::UnknownNetwork {
                network: network.to_string(),
            })
    }
}

impl Backend for OvnBackend {
    fn capabilities(&self) -> CapabilitiesResponse {
        crate::backend::local_scope_capabilities()
    }

    fn options(&self) -> KnownOptions {
        OVN_OPTIONS
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<()> {
        OvnBackend::create_network(self, spec).await
    }

    async fn delete_network(&self, network: &DockerId) -> Result<()> {
        OvnBackend::delete_network(self, network).await
    }

    async fn create_endpoint(
        &self,
        endpoint: &EndpointRef,
        interface: &EndpointInterface,
    ) -> Result<CreateEndpointResponse> {
        OvnBackend::create_endpoint(self, endpoint, interface).await
    }

    async fn delete_endpoint(&self, endpoint: &EndpointRef) -> Result<()> {
        OvnBackend::delete_endpoint(self, &endpoint.endpoint).await
    }

    async fn join(&self, endpoint: &EndpointRef, sandbox_key: &str) -> Result<JoinResponse> {
        OvnBackend::join(self, endpoint, sandbox_key).await
    }

    async fn leave(&self, endpoint: &EndpointRef) -> Result<()> {
        OvnBackend::leave(self, &endpoint.endpoint).await
    }

    fn endpoint_oper_info(&self, endpoint: &EndpointRef) -> EndpointOperInfoResponse {
        OvnBackend::endpoint_oper_info(self, &endpoint.endpoint)
    }

    fn publish_target(&self, endpoint: &EndpointRef) -> Result<Ipv4Addr> {
        let switch = self.switch(&endpoint.network)?;
        let port = self
            .nb
            .port(endpoint.endpoint.as_str())
            .filter(|p| p.network == endpoint.network.as_str())
            .ok_or_else(|| DriverError::UnknownEndpoint {
                network: endpoint.network.to_string(),
                endpoint: endpoint.endpoint.to_string(),
            })?;
        let address = port
            .addresses
            .split_whitespace()
            .find_map(|a| a.parse().ok());
        match (self.gateway_of(&switch), address) {
            (Some(_), Some(address)) => Ok(address),
            _ => Err(crate::backend::no_gateway(endpoint)),
        }
    }

    fn published_ports(&self) -> Result<&PublishedPorts> {
        Ok(self.gateways.published())
    }
}
