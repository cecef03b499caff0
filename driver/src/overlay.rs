//! Overlay mode: Docker networks as OVN logical switches, endpoints as
//! logical switch ports bound on this host's integration bridge.
//!
//! Each call validates first, then applies, and on a failure part way
//! undoes what it did (netavark's validate → apply → rollback), so nothing
//! is left half-applied.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use plugin_api::wire::{
    CapabilitiesResponse, CreateEndpointRequest, CreateEndpointResponse, CreateNetworkRequest,
    DeleteEndpointRequest, DeleteNetworkRequest, EndpointInterface, EndpointOperInfoResponse,
    InterfaceName, JoinRequest, JoinResponse, LeaveRequest, Scope,
};
use serde_json::json;

use crate::error::{DriverError, Result};
use crate::external_ids::{
    ENDPOINT, HOST, IFACE_ID, JOINED, NETWORK, OWNER, OWNER_VALUE, SANDBOX, unix_now,
};
use crate::gateway::{self, Gateway, HostGateways};
use crate::links::Links;
use crate::local_switch::{LocalSwitch, id_of};
use crate::mac::MacAddr;
use crate::names::{DockerId, container_interface, gateway_interface, host_interface};
use crate::network_spec::NetworkSpec;
use crate::northbound::{NewPort, Northbound, SwitchInfo};
use crate::reconcile::{self, Action, Policy};
use crate::veth_alias::VethAlias;
use crate::veth_reaper::VethReaper;

/// Bytes a Geneve tunnel over IPv4 adds to each frame: outer IPv4 (20),
/// UDP (8), Geneve (8), OVN's option (8) and the inner Ethernet header (14).
pub const GENEVE_IPV4_OVERHEAD: u32 = 58;

/// Settings of the overlay driver.
#[derive(Debug, Clone)]
pub struct OverlayConfig {
    /// How long Join waits for ovn-controller to install the port.
    pub ready_timeout: Duration,
    /// MTU of the network carrying the tunnels.
    pub underlay_mtu: u32,
    /// Age after which reconciliation deletes an endpoint never joined.
    pub unjoined_grace: Duration,
    /// Whether this host routes for its networks (a gateway port per
    /// non-internal network); without, Docker adds `docker_gwbridge`.
    pub gateway: bool,
}

/// Beyond Join's readiness wait, how long a veth pair may stay in the
/// driver's namespace (Docker moves the peer once Join answers) before
/// reconciliation calls the Join failed.
const JOIN_SLACK: Duration = Duration::from_secs(60);

/// The overlay driver: one per daemon.
pub struct Overlay {
    ovs: LocalSwitch,
    nb: Northbound,
    links: Links,
    host: String,
    config: OverlayConfig,
    gateways: HostGateways,
    /// Network creation and deletion are rare; one at a time keeps the
    /// create-or-join logic of shared switches simple, and reconciliation
    /// of gateways takes it too, so it never sees one half made.
    network_lock: tokio::sync::Mutex<()>,
    /// Removes left endpoints' veth pairs and ports in batches; knows
    /// which are still waiting, whose ports reconciliation must not add back.
    reaper: VethReaper<LocalSwitch>,
}

/// How long plugging an endpoint's port took, in its two parts.
struct Plugged {
    /// The Open_vSwitch transaction that adds the port.
    port_added: Duration,
    /// The wait for ovn-controller's `ovn-installed`.
    ready_wait: Duration,
}

/// What unplugging does with a veth pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairRemoval {
    /// Into the reaper's next batch (Leave, DeleteEndpoint, reconciliation).
    Batched,
    /// At once: a Join needs the pair's names again.
    Now,
}

impl Overlay {
    pub fn new(
        ovs: LocalSwitch,
        nb: Northbound,
        links: Links,
        reaper: VethReaper<LocalSwitch>,
        host: String,
        config: OverlayConfig,
    ) -> Overlay {
        let gateways = HostGateways::new(
            ovs.clone(),
            links.clone(),
            host.clone(),
            config.ready_timeout,
        );
        Overlay {
            gateways,
            ovs,
            nb,
            links,
            host,
            config,
            network_lock: tokio::sync::Mutex::new(()),
            reaper,
        }
    }

    /// The chassis (`system-id`) this driver binds endpoints to.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn capabilities(&self) -> CapabilitiesResponse {
        CapabilitiesResponse {
            scope: Scope::Local,
            connectivity_scope: Some(Scope::Global),
            gw_alloc_checker: false,
        }
    }

    /// Maps the network onto its logical switch, then sets up its gateway
    /// on this host; if that fails, a mapping this call made is undone.
    pub async fn create_network(&self, request: &CreateNetworkRequest) -> Result<()> {
        let spec = NetworkSpec::from_request(request)?;
        let network = spec.network.as_str();
        let _one_at_a_time = self.network_lock.lock().await;
        let was_mapped = self.nb.switch_of(network).is_some();
        self.nb.create_network(&spec, &self.host).await?;
        if let Err(error) = self.add_gateway(&spec.network).await {
            if !was_mapped && let Err(undo) = self.nb.delete_network(network, &self.host).await {
                tracing::error!(%network, %undo, "rollback of a failed network left its switch mapped");
            }
            return Err(error);
        }
        tracing::info!(%network, switch = %spec.switch, "network created");
        Ok(())
    }

    /// The network's gateway on this host, if it should have one.
    async fn add_gateway(&self, network: &DockerId) -> Result<()> {
        let Some(gateway) = self.switch(network).ok().and_then(|s| self.gateway_of(&s)) else {
            return Ok(());
        };
        self.gateways
            .apply(&gateway)
            .await
            .map_err(|e| gateway_error(network, &gateway.interface, e))
    }

    /// The gateway `switch` has on this host, if any.
    fn gateway_of(&self, switch: &SwitchInfo) -> Option<Gateway> {
        let default_mtu = self.config.underlay_mtu - GENEVE_IPV4_OVERHEAD;
        self.config
            .gateway
            .then(|| Gateway::of_switch(switch, default_mtu))
            .flatten()
    }

    /// Removes this host's gateway of the network's switch unless another
    /// Docker network of this host still uses the switch.
    async fn remove_gateway(&self, network: &DockerId) -> Result<()> {
        let Some(switch) = self.nb.switch_of(network.as_str()) else {
            return Ok(());
        };
        if switch.used_by_another_network_of(&self.host, network.as_str()) {
            return Ok(());
        }
        let interface = gateway_interface(&switch.name);
        let has_port = self.gateways.ports().iter().any(|(s, _)| *s == switch.name);
        if !has_port && self.gateway_of(&switch).is_none() {
            return Ok(());
        }
        self.gateways
            .remove(&switch.name, &interface)
            .await
            .map(drop)
            .map_err(|e| gateway_error(network, &interface, e))
    }

    pub async fn delete_network(&self, request: &DeleteNetworkRequest) -> Result<()> {
        let network = DockerId::parse("NetworkID", &request.network_id)?;
        let _one_at_a_time = self.network_lock.lock().await;
        for port in self.ovs.owned_ports() {
            if id_of(&port, NETWORK) != Some(network.as_str()) {
                continue;
            }
            if let Some(Ok(endpoint)) =
                id_of(&port, ENDPOINT).map(|e| DockerId::parse("endpoint", e))
            {
                self.unplug(&endpoint, PairRemoval::Batched).await?;
            }
        }
        self.remove_gateway(&network).await?;
        self.nb.delete_network(network.as_str(), &self.host).await?;
        tracing::info!(%network, "network deleted");
        Ok(())
    }

    pub async fn create_endpoint(
        &self,
        request: &CreateEndpointRequest,
    ) -> Result<CreateEndpointResponse> {
        let network = DockerId::parse("NetworkID", &request.network_id)?;
        let endpoint = DockerId::parse("EndpointID", &request.endpoint_id)?;
        let switch = self.switch(&network)?;
        let (ipv4, ipv6) = endpoint_addresses(&request.interface, &switch)?;
        let given_mac = !request.interface.mac_address.is_empty();
        let mac = match (given_mac, ipv4) {
            (true, _) => request.interface.mac_address.parse()?,
            (false, Some(v4)) => MacAddr::from_ipv4(v4),
            (false, None) => MacAddr::from_id(endpoint.as_str()),
        };
        let port = NewPort {
            endpoint: endpoint.as_str(),
            network: network.as_str(),
            host: &self.host,
            mac,
            ipv4,
            ipv6,
        };
        self.nb.create_port(&switch, &port).await?;
        tracing::info!(%network, %endpoint, %mac, "endpoint created");
        // Docker takes only fields it left empty.
        let interface = (!given_mac).then(|| EndpointInterface {
            mac_address: mac.to_string(),
            ..Default::default()
        });
        Ok(CreateEndpointResponse { interface })
    }

    pub async fn join(&self, request: &JoinRequest) -> Result<JoinResponse> {
        let started = Instant::now();
        let network = DockerId::parse("NetworkID", &request.network_id)?;
        let endpoint = DockerId::parse("EndpointID", &request.endpoint_id)?;
        let switch = self.switch(&network)?;
        let port = self
            .nb
            .port(endpoint.as_str())
            .ok_or_else(|| DriverError::UnknownEndpoint {
                network: network.to_string(),
                endpoint: endpoint.to_string(),
            })?;
        let host_if = host_interface(&endpoint);
        let peer = container_interface(&endpoint);
        let mtu = switch
            .mtu
            .unwrap_or(self.config.underlay_mtu - GENEVE_IPV4_OVERHEAD);
        let creating = Instant::now();
        self.make_pair(&endpoint, (&host_if, &peer), mtu, port.mac)
            .await?;
        let veth_time = creating.elapsed();
        if let Err(error) = crate::offload::disable_tx_checksum(&peer) {
            self.rollback_join(&endpoint).await;
            return Err(error);
        }
        let ids = interface_ids(
            &network,
            &endpoint,
            &self.host,
            &port.mac,
            Some(&request.sandbox_key),
        );
        let plugged = match self.plug(&host_if, &ids, endpoint.as_str()).await {
            Ok(plugged) => plugged,
            Err(error) => {
                self.rollback_join(&endpoint).await;
                return Err(error);
            }
        };
        // ready_wait_us apart: the part ovn-controller, not the driver,
        // takes; veth_us and port_us: the kernel's and ovsdb-server's.
        tracing::info!(%network, %endpoint, interface = %host_if, mtu,
            duration_us = started.elapsed().as_micros() as u64,
            veth_us = veth_time.as_micros() as u64,
            port_us = plugged.port_added.as_micros() as u64,
            ready_wait_us = plugged.ready_wait.as_micros() as u64, "endpoint joined and ready");
        Ok(JoinResponse {
            interface_name: Some(InterfaceName {
                src_name: peer,
                dst_prefix: "eth".into(),
            }),
            // With a gateway Docker adds no docker_gwbridge interface.
            gateway: self
                .gateway_of(&switch)
                .map(|g| g.address.addr().to_string())
                .unwrap_or_default(),
            disable_gateway_service: switch.internal,
            ..Default::default()
        })
    }

    /// Adds the OVS port and waits for ovn-controller to install it.
    async fn plug(
        &self,
        host_if: &str,
        ids: &[(String, String)],
        endpoint: &str,
    ) -> Result<Plugged> {
        let adding = Instant::now();
        self.ovs.add_port(host_if, ids).await?;
        let port_added = adding.elapsed();
        self.reaper.join_waits();
        let waiting = Instant::now();
        self.ovs
            .wait_installed(host_if, endpoint, self.config.ready_timeout)
            .await?;
        Ok(Plugged {
            port_added,
            ready_wait: waiting.elapsed(),
        })
    }

    /// Creates the endpoint's veth pair `(host side, peer)`. Names held
    /// already are claimed first ([`Overlay::claim_names`]): a port of
    /// that name before creating (adding the port would take it as this
    /// Join's), a device when the kernel refuses the names.
    async fn make_pair(
        &self,
        endpoint: &DockerId,
        (host_if, peer): (&str, &str),
        mtu: u32,
        mac: MacAddr,
    ) -> Result<()> {
        let alias = VethAlias {
            endpoint: endpoint.clone(),
            created: unix_now(),
            host: self.host.clone(),
        }
        .to_string();
        let mut claim = self.ovs.has_port(host_if);
        for _ in 0..2 {
            if claim {
                self.claim_names(endpoint, host_if).await?;
            }
            if self
                .links
                .create_veth(host_if, peer, mtu, mac, &alias)
                .await?
            {
                return Ok(());
            }
            claim = true;
        }
        Err(DriverError::Conflict(format!(
            "interface {peer} of endpoint {endpoint} is taken by a device that is not docker-ovn's"
        )))
    }

    /// Makes sure the endpoint's interface names are free: removes what an
    /// earlier, interrupted Join of this endpoint left, and refuses names
    /// held by another endpoint (ids sharing their first 12 digits) or by
    /// something not the driver's.
    async fn claim_names(&self, endpoint: &DockerId, host_if: &str) -> Result<()> {
        let holder = match self.links.index_and_alias(host_if).await? {
            // An empty holder: a device of that name that is not the driver's.
            Some((_, alias)) => Some(
                VethAlias::parse(&alias)
                    .map(|a| a.endpoint.to_string())
                    .unwrap_or_default(),
            ),
            None => self.ovs.endpoint_of_port(host_if),
        };
        match holder {
            None => Ok(()),
            Some(holder) if holder == endpoint.as_str() => {
                self.unplug(endpoint, PairRemoval::Now).await.map(drop)
            }
            Some(holder) => Err(DriverError::Conflict(format!(
                "interface {host_if} of endpoint {endpoint} is taken by {}",
                if holder.is_empty() {
                    "a device that is not docker-ovn's".to_string()
                } else {
                    format!("endpoint {holder}")
                }
            ))),
        }
    }

    async fn rollback_join(&self, endpoint: &DockerId) {
        if let Err(error) = self.unplug(endpoint, PairRemoval::Now).await {
            tracing::error!(%endpoint, %error, "rollback of a failed join left state behind");
        }
    }

    /// Removes the veth pair and the OVS port of an endpoint, if present
    /// and marked as this endpoint's (never those of another endpoint
    /// whose id shares the first 12 digits): at once, or in the reaper's
    /// next batch. `Ok(false)` when neither was there, or both are in a
    /// batch already.
    async fn unplug(&self, endpoint: &DockerId, removal: PairRemoval) -> Result<bool> {
        let host_if = host_interface(endpoint);
        if removal == PairRemoval::Batched && self.reaper.is_retiring(&host_if) {
            return Ok(false);
        }
        let veth = self.own_veth(endpoint, &host_if).await?;
        match removal {
            PairRemoval::Now => {
                // The veth goes first: a port without its veth is stale to
                // reconciliation in any case, a veth without a port might be live.
                self.reaper.delete_now(&host_if, veth).await?;
                let port = self.ovs.remove_port(&host_if, endpoint.as_str()).await?;
                Ok(veth.is_some() || port)
            }
            PairRemoval::Batched => {
                let port = self.ovs.marked_port(&host_if, ENDPOINT, endpoint.as_str());
                let found = veth.is_some() || port.is_some();
                if found {
                    self.reaper.retire(&host_if, veth, port);
                }
                Ok(found)
            }
        }
    }

    /// The index of `host_if` if it is endpoint `endpoint`'s veth.
    async fn own_veth(&self, endpoint: &DockerId, host_if: &str) -> Result<Option<u32>> {
        let found = self.links.index_and_alias(host_if).await?;
        Ok(found.and_then(|(index, alias)| {
            let alias = VethAlias::parse(&alias)?;
            (alias.endpoint == *endpoint && alias.host == self.host).then_some(index)
        }))
    }

    /// Finds the endpoint's veth pair and port and hands both to the
    /// reaper's next batch ([`VethReaper`]), which removes them some 50 ms
    /// later together with every other Leave's: neither Docker nor the
    /// next endpoint waits for the kernel's deletion (20 ms under the RTNL
    /// lock) or for the port's transaction and what ovs-vswitchd and
    /// ovn-controller recompute after it, one endpoint at a time. The
    /// endpoint's traffic ends with the sandbox, which Docker tears down
    /// after Leave in any case. A batch a crash interrupts is finished by
    /// DeleteEndpoint or reconciliation.
    pub async fn leave(&self, request: &LeaveRequest) -> Result<()> {
        let endpoint = DockerId::parse("EndpointID", &request.endpoint_id)?;
        self.unplug(&endpoint, PairRemoval::Batched).await?;
        // The call's duration is the router's to log, as for every call.
        tracing::info!(%endpoint, "endpoint left");
        Ok(())
    }

    pub async fn delete_endpoint(&self, request: &DeleteEndpointRequest) -> Result<()> {
        let endpoint = DockerId::parse("EndpointID", &request.endpoint_id)?;
        // Docker skips Leave after some failures; clean the host side too.
        self.unplug(&endpoint, PairRemoval::Batched).await?;
        self.nb.delete_port(endpoint.as_str()).await?;
        tracing::info!(%endpoint, "endpoint deleted");
        Ok(())
    }

    /// Deletes the veth pairs a killed daemon created but never marked
    /// (see [`crate::veth_reaper::UNFINISHED_GROUP`]). Only before serving.
    pub async fn delete_unfinished_veths(&self) -> Result<()> {
        self.reaper.delete_unfinished().await
    }

    /// One reconciliation pass ([`reconcile`]): reads this host's ports,
    /// veths and logical ports, and unless `dry_run` applies the plan.
    /// Every step is tried; the first failure is returned after the rest.
    pub async fn reconcile(&self, dry_run: bool) -> Result<Vec<Action>> {
        let _one_at_a_time = self.network_lock.lock().await;
        if !dry_run {
            // Pairs a crashed daemon retired; a live batch's are harmless to take.
            self.reaper.delete_retired().await?;
        }
        let mut snapshot =
            reconcile::snapshot(&self.ovs, &self.nb, &self.links, &self.host).await?;
        self.snapshot_gateways(&mut snapshot).await?;
        let policy = Policy {
            now: unix_now(),
            unjoined_grace: self.config.unjoined_grace,
            join_grace: self.config.ready_timeout + JOIN_SLACK,
        };
        let actions = reconcile::plan(&snapshot, &policy);
        if dry_run {
            return Ok(actions);
        }
        let mut first_error = None;
        let mut done = Vec::new();
        for action in actions {
            match self.apply(&action).await {
                Ok(true) => {
                    tracing::info!(action = %action, "reconciled");
                    done.push(action);
                }
                Ok(false)
                    if matches!(
                        action,
                        Action::Report { .. } | Action::GatewayDeviceMissing { .. }
                    ) =>
                {
                    tracing::warn!(action = %action, "needs an operator");
                    done.push(action);
                }
                // A call in flight (a Leave, say) got there first.
                Ok(false) => tracing::debug!(action = %action, "already done"),
                Err(error) => {
                    tracing::warn!(action = %action, %error, "reconciliation step failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(done), Err)
    }

    /// The gateways this host should have (of switches it has a Docker
    /// network on), and those it has.
    async fn snapshot_gateways(&self, snapshot: &mut reconcile::Snapshot) -> Result<()> {
        let wanted: Vec<(Gateway, bool)> = self
            .nb
            .switches()
            .into_iter()
            .filter(|s| s.docker_networks.iter().any(|(_, h)| *h == self.host))
            .filter_map(|s| Some((self.gateway_of(&s)?, self.nb.has_localport(&s))))
            .collect();
        let gateways: Vec<Gateway> = wanted.iter().map(|(g, _)| g.clone()).collect();
        let (ports, rules) = self.gateways.snapshot(&gateways).await?;
        snapshot.gateways = wanted
            .iter()
            .map(|(g, localport)| gateway::wanted_state(g, *localport))
            .collect();
        snapshot.gateway_ports = ports;
        snapshot.gateway_rules = rules;
        Ok(())
    }

    /// Applies a gateway step; `Ok(false)` when there was nothing to do.
    async fn apply_gateway(&self, action: &Action) -> Result<bool> {
        let switch_named = |name: &str| self.nb.switches().into_iter().find(|s| s.name == name);
        let gateway_named = |name: &str| switch_named(name).and_then(|s| self.gateway_of(&s));
        match action {
            Action::AddGateway { switch, .. } => match gateway_named(switch) {
                Some(gateway) => self.gateways.apply(&gateway).await.map(|_| true),
                None => Ok(false),
            },
            Action::ConfigureGateway { switch, .. } => match gateway_named(switch) {
                Some(gateway) => self.gateways.configure(&gateway).await,
                None => Ok(false),
            },
            Action::AddGatewayRules { switch } => match gateway_named(switch) {
                Some(gateway) => {
                    let rules = gateway.rules(self.gateways.host());
                    self.gateways.firewall().ensure(&rules).await
                }
                None => Ok(false),
            },
            Action::AddLocalport { switch } => match switch_named(switch) {
                Some(switch) => self.nb.ensure_localport(&switch).await,
                None => Ok(false),
            },
            Action::RemoveGateway { switch, interface } => {
                self.gateways.remove(switch, interface).await
            }
            Action::RemoveGatewayRules { switch } => self.gateways.firewall().remove(switch).await,
            _ => Ok(false),
        }
    }

    /// Whether `interface` exists, asked by name just before acting: a dump
    /// of thousands of links racing with changes may miss one.
    async fn veth_exists(&self, interface: &str) -> Result<bool> {
        Ok(self.links.index_of(interface).await?.is_some())
    }

    /// Applies one step; `Ok(false)` when there was nothing left to do.
    async fn apply(&self, action: &Action) -> Result<bool> {
        match action {
            Action::RemovePort {
                interface,
                endpoint,
            } => {
                if self.veth_exists(interface).await? {
                    return Ok(false);
                }
                self.ovs.remove_port(interface, endpoint).await
            }
            Action::Unplug { endpoint, .. } => {
                let endpoint = DockerId::parse("endpoint", endpoint)?;
                self.unplug(&endpoint, PairRemoval::Batched).await
            }
            Action::DeleteLogicalPort {
                endpoint,
                interface,
                ..
            } => {
                if self.veth_exists(interface).await? {
                    return Ok(false);
                }
                self.nb.delete_port(endpoint).await
            }
            Action::Replug {
                interface,
                endpoint,
                network,
                mac,
            } => {
                if self.reaper.is_retiring(interface) {
                    return Ok(false);
                }
                let network = DockerId::parse("network", network)?;
                let endpoint = DockerId::parse("endpoint", endpoint)?;
                let ids = interface_ids(&network, &endpoint, &self.host, mac, None);
                self.ovs.add_port(interface, &ids).await
            }
            Action::Report { .. } => Ok(false),
            gateway => self.apply_gateway(gateway).await,
        }
    }

    pub fn endpoint_oper_info(&self, endpoint_id: &str) -> EndpointOperInfoResponse {
        let mut value = serde_json::Map::new();
        if let Some(port) = self.nb.port(endpoint_id) {
            value.insert("LogicalSwitchPort".into(), json!(port.endpoint));
            value.insert("Addresses".into(), json!(port.addresses));
            value.insert("Up".into(), json!(port.up));
        }
        EndpointOperInfoResponse { value }
    }

    fn switch(&self, network: &DockerId) -> Result<SwitchInfo> {
        self.nb
            .switch_of(network.as_str())
            .ok_or_else(|| DriverError::UnknownNetwork {
                network: network.to_string(),
            })
    }
}

/// A gateway failure, naming the network and the port.
fn gateway_error(network: &DockerId, interface: &str, error: DriverError) -> DriverError {
    DriverError::Gateway {
        network: network.to_string(),
        interface: interface.to_string(),
        source: Box::new(error),
    }
}

fn interface_ids(
    network: &DockerId,
    endpoint: &DockerId,
    host: &str,
    mac: &MacAddr,
    sandbox: Option<&str>,
) -> Vec<(String, String)> {
    let sandbox = sandbox.map(|s| (SANDBOX, s.to_string()));
    [
        (OWNER, OWNER_VALUE.to_string()),
        (NETWORK, network.to_string()),
        (ENDPOINT, endpoint.to_string()),
        (HOST, host.to_string()),
        (JOINED, unix_now().to_string()),
        (IFACE_ID, endpoint.to_string()),
        ("attached-mac", mac.to_string()),
        ("iface-status", "active".to_string()),
    ]
    .into_iter()
    .chain(sandbox)
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The endpoint's addresses from Docker's IPAM, checked against the
/// network's subnets.
fn endpoint_addresses(
    interface: &EndpointInterface,
    switch: &SwitchInfo,
) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let ipv4 = parse_in_subnet("Address", &interface.address, switch.subnet4.as_deref())?;
    let ipv6 = parse_in_subnet(
        "AddressIPv6",
        &interface.address_ipv6,
        switch.subnet6.as_deref(),
    )?;
    let ipv4 = ipv4.map(|ip| match ip {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(DriverError::invalid("Address", "expected an IPv4 address")),
    });
    let ipv6 = ipv6.map(|ip| match ip {
        IpAddr::V6(v6) => Ok(v6),
        IpAddr::V4(_) => Err(DriverError::invalid(
            "AddressIPv6",
            "expected an IPv6 address",
        )),
    });
    let (ipv4, ipv6) = (ipv4.transpose()?, ipv6.transpose()?);
    if ipv4.is_none() && ipv6.is_none() {
        return Err(DriverError::invalid(
            "Interface",
            "the endpoint has no address from IPAM",
        ));
    }
    Ok((ipv4, ipv6))
}

fn parse_in_subnet(what: &str, cidr: &str, subnet: Option<&str>) -> Result<Option<IpAddr>> {
    if cidr.is_empty() {
        return Ok(None);
    }
    let address: IpNet = cidr.parse().map_err(|_| {
        DriverError::invalid(what, format!("{cidr:?} is not an address in CIDR form"))
    })?;
    let subnet: Option<IpNet> = subnet.and_then(|s| s.parse().ok());
    match subnet {
        Some(subnet) if subnet.contains(&address.addr()) => Ok(Some(address.addr())),
        Some(subnet) => Err(DriverError::invalid(
            what,
            format!(
                "{} is outside the network's subnet {subnet}",
                address.addr()
            ),
        )),
        None => Err(DriverError::invalid(
            what,
            format!("the network has no subnet of {}'s family", address.addr()),
        )),
    }
}
