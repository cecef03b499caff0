//! Networks of the `-d ovs` backend: a record on the bridge, this host's
//! gateway port (and a routed network's routes to the peers, a VLAN
//! network's uplink), and the network's flows; removed in the reverse
//! order.

use crate::docker::network_spec::NetworkSpec;
use crate::error::{DriverError, Result};
use crate::host::gateway::gateway_error;
use crate::host::plumbing::PairRemoval;
use crate::host::route_conflicts::refuse_route_conflicts;
use crate::names::DockerId;
use crate::ovs::backend::OvsBackend;
use crate::ovs::cookie::of_network;
use crate::ovs::network_mode::{NetworkMode, uplink_of};
use crate::ovs::network_record::{NetworkRecord, free_index};
use crate::ovs::pipeline;

impl OvsBackend {
    /// Records the network, sets up its gateway and installs its flows;
    /// a failure removes what this call made. Creating a network that is
    /// there already completes it.
    pub async fn create_network(&self, spec: &NetworkSpec) -> Result<()> {
        let network = &spec.network;
        let _one_at_a_time = self.network_lock.lock().await;
        let records = self.networks();
        if let Some(existing) = records.iter().find(|r| r.network == *network) {
            return self.add_network_side(existing).await;
        }
        let mode = NetworkMode::from_options(&spec.backend_options)?;
        refuse_isolation_across_the_host(spec, mode)?;
        self.check_routed(spec, mode)?;
        // A routed network's subnet is a part of the host's CIDR, on
        // purpose (check_routed holds it to that).
        if mode != NetworkMode::Routed {
            refuse_route_conflicts(&self.plumbing.links, spec, "ovs.allow-overlap").await?;
        }
        let uplink = uplink_of(&spec.backend_options)?;
        self.check_vlan(mode, uplink.as_deref(), &records).await?;
        self.refuse_overlap(spec, &records)?;
        refuse_vni_reuse(mode, &records)?;
        let index = free_index(&records).ok_or_else(|| {
            DriverError::Conflict(format!(
                "bridge {} has no free network index",
                self.bridge()
            ))
        })?;
        let record = NetworkRecord::new(spec, mode, uplink, index, self.config.mtu);
        let value = record.to_string();
        self.plumbing
            .ovs
            .set_bridge_id(&record.key(), Some(&value))
            .await?;
        if let Err(error) = self.add_network_side(&record).await {
            if let Err(undo) = self.remove_network_side(&record).await {
                tracing::error!(%network, %undo, "rollback of a failed network left state behind");
            }
            return Err(error);
        }
        tracing::info!(%network, index, bridge = %self.bridge(), record = %value, "network created");
        Ok(())
    }

    /// Two networks of one subnet on one host would share a gateway
    /// address and a route: refused, naming the other network.
    fn refuse_overlap(&self, spec: &NetworkSpec, records: &[NetworkRecord]) -> Result<()> {
        let subnets = |r: &NetworkRecord| {
            [
                r.subnet4.map(ipnet::IpNet::V4),
                r.subnet6.map(ipnet::IpNet::V6),
            ]
        };
        for record in records {
            for (ours, theirs) in [spec.subnet4, spec.subnet6].iter().zip(subnets(record)) {
                if let (Some(a), Some(b)) = (ours, theirs)
                    && (a.contains(&b.network()) || b.contains(&a.network()))
                {
                    return Err(DriverError::Conflict(format!(
                        "subnet {a} overlaps {b} of -d ovs network {} on this host",
                        record.network
                    )));
                }
            }
        }
        Ok(())
    }

    /// The VXLAN port if the network tunnels, the gateway port (waiting
    /// for their ofports) and the network's flows.
    async fn add_network_side(&self, record: &NetworkRecord) -> Result<()> {
        if record.mode.vni().is_some() {
            self.set_tunnel(true).await?;
        }
        if let Some(uplink) = &record.uplink {
            self.add_uplink(uplink).await?;
        }
        if let Some(gateway) = self.gateway_of(record) {
            self.gateways
                .apply(&gateway)
                .await
                .map_err(|e| gateway_error(&record.network, &gateway.interface, e))?;
            self.plumbing
                .ovs
                .wait_ofport(&gateway.interface, self.config.ready_timeout)
                .await?;
        }
        if record.mode == NetworkMode::Routed {
            self.sync_routes(None).await?;
        }
        let _shared = self.flows.shared().await;
        let wanted = pipeline::network_flows(self.flows.round(), &self.network_flows(record));
        self.flows.apply(&[], &wanted).await
    }

    /// The network's flows (its endpoints' too), its gateway, its record,
    /// and the VXLAN port if no peer and no other network needs it.
    async fn remove_network_side(&self, record: &NetworkRecord) -> Result<()> {
        {
            let _shared = self.flows.shared().await;
            self.flows.apply(&[of_network(record.index)], &[]).await?;
        }
        let name = record.gateway_name();
        let interface = crate::names::gateway_interface(&name);
        self.gateways
            .remove(&name, &interface)
            .await
            .map_err(|e| gateway_error(&record.network, &interface, e))?;
        self.plumbing.ovs.set_bridge_id(&record.key(), None).await?;
        if record.mode == NetworkMode::Routed {
            self.sync_routes(Some(&record.network)).await?;
        }
        if record.uplink.is_some() {
            self.sync_uplinks(Some(&record.network)).await?;
        }
        self.set_tunnel(self.tunnel_wanted_besides(Some(&record.network)))
            .await
    }

    /// Removes what is left of the network's endpoints on this host, then
    /// the network; a network already gone is no error.
    pub async fn delete_network(&self, network: &DockerId) -> Result<()> {
        let _one_at_a_time = self.network_lock.lock().await;
        let Ok(record) = self.network(network) else {
            return Ok(());
        };
        // One deletion by the network's cookie takes its endpoints' flows
        // too, before any of their ports goes.
        {
            let _shared = self.flows.shared().await;
            self.flows.apply(&[of_network(record.index)], &[]).await?;
        }
        for endpoint in self.endpoints() {
            if endpoint.network == *network {
                // Left over from a container removed while the driver was
                // down: its Revoke never came.
                let id = endpoint.endpoint.as_str();
                self.gateways.published().revoke(id).await?;
                self.plumbing
                    .unplug(&endpoint.endpoint, PairRemoval::Batched)
                    .await?;
            }
        }
        self.remove_network_side(&record).await?;
        tracing::info!(%network, index = record.index, "network deleted");
        Ok(())
    }
}

/// `ovs.icc=false` is kept by the bridge of the sending host, which tells
/// the gateway from a container by MAC: a network whose containers on
/// other hosts are reached through the gateway (routed) or share a VLAN
/// with hosts that are not containers cannot keep them apart that way.
fn refuse_isolation_across_the_host(spec: &NetworkSpec, mode: NetworkMode) -> Result<()> {
    let why = match mode {
        _ if spec.policy.icc => return Ok(()),
        NetworkMode::Routed => {
            "a routed network reaches other hosts' containers through the gateway"
        }
        NetworkMode::Vlan { .. } => {
            "a VLAN network's containers share the VLAN with hosts that are not containers"
        }
        NetworkMode::Local | NetworkMode::Vxlan { .. } => return Ok(()),
    };
    Err(DriverError::invalid(
        "ovs.icc",
        format!("false is for networks on this host or over VXLAN: {why}"),
    ))
}

/// Two networks of one VNI on one host would be one network on the wire:
/// refused, naming the other.
fn refuse_vni_reuse(mode: NetworkMode, records: &[NetworkRecord]) -> Result<()> {
    let Some(vni) = mode.vni() else {
        return Ok(());
    };
    match records.iter().find(|r| r.mode.vni() == Some(vni)) {
        Some(other) => Err(DriverError::Conflict(format!(
            "VNI {vni} is taken by -d ovs network {} on this host \
             (the same ovs.network name, or ovs.vni)",
            other.network
        ))),
        None => Ok(()),
    }
}
