//! Endpoints of the `-d ovs` backend. CreateEndpoint makes the veth pair
//! and the OVS port (their marks are the endpoint's record); Join waits
//! for the port's OpenFlow number and installs the endpoint's flows in
//! one bundle, returning once a barrier is answered; Leave and
//! DeleteEndpoint remove the flows first (a port number is reused once
//! its port is gone) and hand the pair and port to the reaper.

use std::time::Instant;

use plugin_api::wire::{
    CreateEndpointResponse, EndpointInterface, EndpointOperInfoResponse, InterfaceName,
    JoinResponse,
};
use serde_json::json;

use crate::backend::EndpointRef;
use crate::docker::endpoint_addresses::{endpoint_addresses, endpoint_mac};
use crate::error::{DriverError, Result};
use crate::external_ids::unix_now;
use crate::host::plumbing::PairRemoval;
use crate::names::{DockerId, container_interface, host_interface};
use crate::ovs::backend::OvsBackend;
use crate::ovs::cookie::of_port;
use crate::ovs::endpoint_port::EndpointPort;
use crate::ovs::pipeline;

impl OvsBackend {
    pub async fn create_endpoint(
        &self,
        EndpointRef { network, endpoint }: &EndpointRef,
        interface: &EndpointInterface,
    ) -> Result<CreateEndpointResponse> {
        let record = self.network(network)?;
        let subnet4 = record.subnet4.map(|n| n.to_string());
        let subnet6 = record.subnet6.map(|n| n.to_string());
        let (ipv4, ipv6) = endpoint_addresses(interface, subnet4.as_deref(), subnet6.as_deref())?;
        let (mac, given_mac) = endpoint_mac(interface, ipv4, endpoint)?;
        let port = EndpointPort {
            interface: host_interface(endpoint),
            endpoint: endpoint.clone(),
            network: network.clone(),
            host: self.host().to_string(),
            mac,
            ipv4,
            ipv6,
            ofport: None,
            created: None,
        };
        if self.endpoint(endpoint).is_none() {
            self.plug(&port, record.mtu).await?;
        }
        tracing::info!(%network, %endpoint, %mac, interface = %port.interface, "endpoint created");
        let interface = (!given_mac).then(|| EndpointInterface {
            mac_address: mac.to_string(),
            ..Default::default()
        });
        Ok(CreateEndpointResponse { interface })
    }

    /// The veth pair (checksum offload off on the container's side, which
    /// the userspace datapath needs) and the port marked with the record.
    async fn plug(&self, port: &EndpointPort, mtu: u32) -> Result<()> {
        let peer = container_interface(&port.endpoint);
        self.plumbing
            .make_pair(&port.endpoint, (&port.interface, &peer), mtu, port.mac)
            .await?;
        let plugged = match crate::host::offload::disable_tx_checksum(&peer) {
            Ok(()) => {
                let ids = port.external_ids(unix_now());
                self.plumbing.ovs.add_port(&port.interface, &ids).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = plugged {
            self.plumbing.rollback_join(&port.endpoint).await;
            return Err(error);
        }
        Ok(())
    }

    /// Returns once the endpoint's port has its ofport and its flows are
    /// in the switch: the container's first packet goes through.
    pub async fn join(
        &self,
        EndpointRef { network, endpoint }: &EndpointRef,
    ) -> Result<JoinResponse> {
        let started = Instant::now();
        let record = self.network(network)?;
        let port = self
            .endpoint(endpoint)
            .filter(|p| p.network == *network)
            .ok_or_else(|| DriverError::UnknownEndpoint {
                network: network.to_string(),
                endpoint: endpoint.to_string(),
            })?;
        // No hint to the reaper here (as -d ovn's Join gives while it
        // waits for ovn-controller): its batch would make ovs-vswitchd
        // reconfigure, and this wait is for ovs-vswitchd itself.
        let ofport = self
            .plumbing
            .ovs
            .wait_ofport(&port.interface, self.config.ready_timeout)
            .await?;
        let ofport_wait = started.elapsed();
        if let Some(metrics) = crate::metrics::installed() {
            metrics.ready_waited("ovs", ofport_wait);
        }
        let joined = EndpointPort {
            ofport: Some(ofport),
            ..port
        };
        {
            let _shared = self.flows.shared().await;
            let endpoint_flows = joined.flows(&record);
            if let Some(limited) = &endpoint_flows {
                self.flows
                    .set_meters(&pipeline::endpoint_meters(limited))
                    .await?;
            }
            let wanted = endpoint_flows
                .map(|e| pipeline::endpoint_flows(self.flows.round(), &e))
                .unwrap_or_default();
            self.flows.apply(&[], &wanted).await?;
        }
        tracing::info!(%network, %endpoint, interface = %joined.interface, ofport,
            duration_us = started.elapsed().as_micros() as u64,
            ofport_wait_us = ofport_wait.as_micros() as u64, "endpoint joined and ready");
        let gateway = record.gateway(self.config.gateway);
        Ok(JoinResponse {
            interface_name: Some(InterfaceName {
                src_name: container_interface(endpoint),
                dst_prefix: "eth".into(),
            }),
            gateway: gateway
                .map(|g| g.address.addr().to_string())
                .unwrap_or_default(),
            disable_gateway_service: record.internal,
            ..Default::default()
        })
    }

    /// Leave and DeleteEndpoint: the endpoint's flows, then its pair and
    /// port (in the reaper's next batch). An endpoint already gone is no
    /// error: Docker never joins an endpoint twice.
    pub async fn unplug(&self, endpoint: &DockerId, what: &str) -> Result<()> {
        // A pair the reaper holds lost its flows when it was handed over.
        let retiring = self.plumbing.reaper.is_retiring(&host_interface(endpoint));
        let port = self.endpoint(endpoint);
        let ofport = port.as_ref().and_then(|p| p.ofport);
        if let Some(ofport) = ofport.filter(|_| !retiring) {
            let _shared = self.flows.shared().await;
            self.flows.apply(&[of_port(ofport)], &[]).await?;
            let limited = port.and_then(|p| self.network(&p.network).ok()?.rate_mbit);
            if limited.is_some() {
                let meters = [
                    pipeline::upload_meter(ofport),
                    pipeline::download_meter(ofport),
                ];
                self.flows.delete_meters(&meters).await?;
            }
        }
        self.plumbing.unplug(endpoint, PairRemoval::Batched).await?;
        tracing::info!(%endpoint, "endpoint {what}");
        Ok(())
    }

    pub fn endpoint_oper_info(&self, endpoint: &DockerId) -> EndpointOperInfoResponse {
        let mut value = serde_json::Map::new();
        if let Some(port) = self.endpoint(endpoint) {
            value.insert("Bridge".into(), json!(self.bridge()));
            value.insert("Interface".into(), json!(port.interface));
            value.insert("MacAddress".into(), json!(port.mac.to_string()));
            value.insert("OFPort".into(), json!(port.ofport));
        }
        EndpointOperInfoResponse { value }
    }
}
