//! The `-d ovs` backend's state and its [`Backend`] implementation; the
//! calls are in [`super::network`] and [`super::endpoint`], the flows the
//! databases call for in [`OvsBackend::wanted_flows`].

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flows::meter::Meter;
use flows::{Flow, Mac};
use plugin_api::wire::{
    CapabilitiesResponse, CreateEndpointResponse, EndpointInterface, EndpointOperInfoResponse,
    JoinResponse,
};

use crate::backend::{Backend, EndpointRef};
use crate::docker::network_spec::{KnownOptions, NetworkSpec, OVS_OPTIONS};
use crate::error::{DriverError, Result};
use crate::external_ids::GATEWAY_OF;
use crate::host::gateway::{GatewayKind, HostGateways};
use crate::host::links::Links;
use crate::host::local_switch::{LocalSwitch, id_of};
use crate::host::plumbing::Plumbing;
use crate::host::published_ports::PublishedPorts;
use crate::host::veth_reaper::VethReaper;
use crate::names::{DockerId, host_interface};
use crate::ovs::bridge_flows::{BridgeFlows, Resync};
use crate::ovs::endpoint_port::{EndpointPort, endpoint_ports};
use crate::ovs::network_mode::NetworkMode;
use crate::ovs::network_record::{NetworkRecord, network_records};
use crate::ovs::peers::{Peer, PeerSettings};
use crate::ovs::pipeline::{self, GatewayPort, NetworkFlows, TunnelFlows, VlanFlows};

/// Settings of the `-d ovs` backend.
#[derive(Debug, Clone)]
pub struct OvsConfig {
    /// The bridge's OpenFlow socket (`unix:<rundir>/<bridge>.mgmt`).
    pub openflow: String,
    /// The datapath type of the bridge when the driver makes it.
    pub datapath_type: String,
    /// How long Join waits for the port's ofport and the flows.
    pub ready_timeout: Duration,
    /// Containers' MTU unless a network sets its own (no encapsulation).
    pub mtu: u32,
    /// Whether this host routes for its networks (a gateway port each).
    pub gateway: bool,
    /// Age after which a pair CreateEndpoint made and Docker never moved
    /// into a sandbox is removed, if shorter than Join's wait and a minute.
    pub unjoined_grace: Duration,
    /// Peers from the command line (`--peer`), beside those the
    /// Open_vSwitch row lists.
    pub peers: Vec<Peer>,
}

/// The native OVS backend: one per daemon.
pub struct OvsBackend {
    /// Veth pairs and ports on the backend's own bridge.
    pub(super) plumbing: Plumbing,
    pub(super) gateways: HostGateways,
    pub(super) flows: BridgeFlows,
    pub(super) config: OvsConfig,
    /// Network creation, deletion and reconciliation, one at a time.
    pub(super) network_lock: tokio::sync::Mutex<()>,
}

impl OvsBackend {
    /// The backend of an existing bridge (made by
    /// [`crate::ovs::bridge::ensure_bridge`]), its flows as they are until
    /// [`OvsBackend::resync`]: the daemon resyncs at once, `docker-ovn
    /// reconcile` only if they differ.
    pub async fn attach(
        ovs: LocalSwitch,
        links: Links,
        reaper: VethReaper<LocalSwitch>,
        host: String,
        config: OvsConfig,
    ) -> Result<Arc<OvsBackend>> {
        let flows = BridgeFlows::connect(&config.openflow, config.ready_timeout).await?;
        let gateways = HostGateways::new(
            ovs.clone(),
            links.clone(),
            host.clone(),
            GatewayKind::Ovs,
            config.ready_timeout,
        );
        Ok(Arc::new(OvsBackend {
            plumbing: Plumbing {
                ovs,
                links,
                reaper,
                host,
            },
            gateways,
            flows,
            config,
            network_lock: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn host(&self) -> &str {
        &self.plumbing.host
    }

    pub fn bridge(&self) -> &str {
        self.plumbing.ovs.bridge()
    }

    pub fn flows(&self) -> &BridgeFlows {
        &self.flows
    }

    /// Every network recorded on the bridge.
    pub fn networks(&self) -> Vec<NetworkRecord> {
        network_records(&self.plumbing.ovs)
    }

    pub(super) fn network(&self, network: &DockerId) -> Result<NetworkRecord> {
        self.networks()
            .into_iter()
            .find(|r| r.network == *network)
            .ok_or_else(|| DriverError::UnknownNetwork {
                network: network.to_string(),
            })
    }

    /// This host's endpoints on the bridge.
    pub fn endpoints(&self) -> Vec<EndpointPort> {
        endpoint_ports(&self.plumbing.ovs, self.host())
    }

    /// The endpoint's port, if it is there and this endpoint's.
    pub(super) fn endpoint(&self, endpoint: &DockerId) -> Option<EndpointPort> {
        let port = self.plumbing.ovs.owned_port(&host_interface(endpoint))?;
        EndpointPort::from_port(&port).filter(|p| p.endpoint == *endpoint)
    }

    /// This host's tunnel address and peers, as the Open_vSwitch row and
    /// the command line give them now.
    pub fn peer_settings(&self) -> PeerSettings {
        PeerSettings::read(&self.plumbing.ovs, &self.config.peers)
    }

    /// A network's flows' view of it: its gateway port once it has an
    /// ofport; a VXLAN network's port and peers, a VLAN network's uplink,
    /// once the port has one.
    pub(super) fn network_flows(&self, record: &NetworkRecord) -> NetworkFlows {
        let gateway = record.gateway(self.config.gateway).and_then(|gateway| {
            let port = self.plumbing.ovs.owned_port(&gateway.interface)?;
            (id_of(&port, GATEWAY_OF) == Some(gateway.switch.as_str())).then_some(())?;
            Some(GatewayPort {
                ofport: port.ofport?,
                mac: Mac::new(gateway.mac.0),
                address: gateway.address.addr(),
            })
        });
        let tunnel = record.mode.vni().and_then(|vni| {
            Some(TunnelFlows {
                ofport: self.tunnel_ofport()?,
                vni,
                peers: self.peer_settings().addresses(),
            })
        });
        let vlan = match (record.mode, &record.uplink) {
            (NetworkMode::Vlan { vid }, Some(uplink)) => self
                .uplink_ofport(uplink)
                .map(|ofport| VlanFlows { ofport, vid }),
            _ => None,
        };
        NetworkFlows {
            index: record.index,
            gateway,
            tunnel,
            vlan,
            isolated: !record.icc,
        }
    }

    /// Every flow the databases call for, in `round`: the pipeline's, each
    /// network's, and each endpoint's that has an ofport and has not left.
    pub fn wanted_flows(&self, round: u16) -> Vec<Flow> {
        let mut flows = Vec::new();
        self.visit_wanted_flows(round, &mut |flow| flows.push(flow));
        flows
    }

    /// Gives `visit` every flow the databases call for in `round`, a
    /// network or an endpoint at a time (the flow check keeps only
    /// digests of them).
    pub fn visit_wanted_flows(&self, round: u16, visit: &mut dyn FnMut(Flow)) {
        let networks = self.networks();
        pipeline::base_flows(round)
            .into_iter()
            .for_each(&mut *visit);
        for record in &networks {
            let flows = pipeline::network_flows(round, &self.network_flows(record));
            flows.into_iter().for_each(&mut *visit);
        }
        // A port the reaper holds has left: its flows are gone for good,
        // before its number can be another port's.
        let reaper = &self.plumbing.reaper;
        let present = self.endpoints().into_iter();
        for endpoint in present.filter(|e| !reaper.is_retiring(&e.interface)) {
            let network = networks.iter().find(|r| r.network == endpoint.network);
            if let Some(wanted) = network.and_then(|r| endpoint.flows(r)) {
                pipeline::endpoint_flows(round, &wanted)
                    .into_iter()
                    .for_each(&mut *visit);
            }
        }
    }

    /// The meters of the endpoints of networks with a rate limit (an
    /// endpoint of any other network has none).
    fn wanted_meters(&self) -> Vec<Meter> {
        let networks = self.networks();
        let flows_of =
            |e: &EndpointPort| e.flows(networks.iter().find(|r| r.network == e.network)?);
        let endpoints = self.endpoints();
        let wanted = endpoints.iter().filter_map(flows_of);
        wanted.flat_map(|e| pipeline::endpoint_meters(&e)).collect()
    }

    /// Puts every flow in again under a new round ([`BridgeFlows::resync`]).
    pub async fn resync(&self, why: &str) -> Result<Resync> {
        let started = Instant::now();
        let meters = self.wanted_meters();
        let resync = self
            .flows
            .resync(&meters, |round| self.wanted_flows(round))
            .await?;
        tracing::info!(bridge = %self.bridge(), why, round = resync.round,
            flows = resync.installed, old_rounds = ?resync.old_rounds,
            duration_ms = started.elapsed().as_millis() as u64, "flows resynced");
        Ok(resync)
    }

    /// Resyncs whenever the OpenFlow connection comes back (ovs-vswitchd
    /// restarted: its tables are empty, its gateway devices bare), and
    /// sets the gateways and routes up again, until the backend is dropped.
    pub fn resync_on_reconnect(self: &Arc<OvsBackend>) {
        let mut events = self.flows.client().subscribe();
        let backend = Arc::downgrade(self);
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                let why = match events.recv().await {
                    Ok(flows::Event::Connected { .. }) => "reconnected",
                    Err(RecvError::Lagged(_)) => "events lost",
                    Ok(_) => continue,
                    Err(RecvError::Closed) => return,
                };
                let Some(backend) = backend.upgrade() else {
                    return;
                };
                if let Err(error) = backend.resync(why).await {
                    tracing::warn!(%error, "resync failed; reconciliation will retry");
                }
                if let Err(error) = backend.configure_gateways().await {
                    tracing::warn!(%error, "gateways not set up again; reconciliation will retry");
                }
                if let Err(error) = backend.restore_routes().await {
                    tracing::warn!(%error, "routes to peers not put back; reconciliation will retry");
                }
            }
        });
    }
}

impl Backend for OvsBackend {
    fn capabilities(&self) -> CapabilitiesResponse {
        crate::backend::local_scope_capabilities()
    }

    fn options(&self) -> KnownOptions {
        OVS_OPTIONS
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<()> {
        OvsBackend::create_network(self, spec).await
    }

    async fn delete_network(&self, network: &DockerId) -> Result<()> {
        OvsBackend::delete_network(self, network).await
    }

    async fn create_endpoint(
        &self,
        endpoint: &EndpointRef,
        interface: &EndpointInterface,
    ) -> Result<CreateEndpointResponse> {
        OvsBackend::create_endpoint(self, endpoint, interface).await
    }

    async fn delete_endpoint(&self, endpoint: &EndpointRef) -> Result<()> {
        OvsBackend::unplug(self, &endpoint.endpoint, "deleted").await
    }

    async fn join(&self, endpoint: &EndpointRef, _sandbox_key: &str) -> Result<JoinResponse> {
        OvsBackend::join(self, endpoint).await
    }

    async fn leave(&self, endpoint: &EndpointRef) -> Result<()> {
        OvsBackend::unplug(self, &endpoint.endpoint, "left").await
    }

    fn endpoint_oper_info(&self, endpoint: &EndpointRef) -> EndpointOperInfoResponse {
        OvsBackend::endpoint_oper_info(self, &endpoint.endpoint)
    }

    fn publish_target(&self, endpoint: &EndpointRef) -> Result<Ipv4Addr> {
        let record = self.network(&endpoint.network)?;
        let port = self
            .endpoint(&endpoint.endpoint)
            .filter(|p| p.network == endpoint.network)
            .ok_or_else(|| DriverError::UnknownEndpoint {
                network: endpoint.network.to_string(),
                endpoint: endpoint.endpoint.to_string(),
            })?;
        match (record.gateway(self.config.gateway), port.ipv4) {
            (Some(_), Some(address)) => Ok(address),
            _ => Err(crate::backend::no_gateway(endpoint)),
        }
    }

    fn published_ports(&self) -> Result<&PublishedPorts> {
        Ok(self.gateways.published())
    }
}
