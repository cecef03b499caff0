//! Networks of the OVN backend: a Docker network mapped onto its logical
//! switch (made, or joined when shared), and the switch's gateway on this
//! host.

use crate::docker::network_spec::NetworkSpec;
use crate::error::Result;
use crate::external_ids::{ENDPOINT, NETWORK};
use crate::host::gateway::gateway_error;
use crate::host::local_switch::id_of;
use crate::host::plumbing::PairRemoval;
use crate::host::route_conflicts::refuse_route_conflicts;
use crate::names::{DockerId, gateway_interface};
use crate::ovn::backend::OvnBackend;
use crate::ovn::physnet::mapped_bridge;

impl OvnBackend {
    /// Maps the network onto its logical switch, then sets up its gateway
    /// on this host; if that fails, a mapping this call made is undone.
    pub async fn create_network(&self, spec: &NetworkSpec) -> Result<()> {
        let network = spec.network.as_str();
        let _one_at_a_time = self.network_lock.lock().await;
        let was_mapped = self.nb.switch_of(network).is_some();
        refuse_route_conflicts(&self.plumbing.links, spec, "ovn.allow-overlap").await?;
        if let Some(provider) = &spec.provider {
            let bridge = mapped_bridge(&self.plumbing.ovs, &provider.physnet)?;
            tracing::debug!(%network, physnet = %provider.physnet, bridge = %bridge.name, "physical network mapped");
        }
        self.nb.create_network(spec, self.host()).await?;
        if let Err(error) = self.add_gateway(&spec.network).await {
            if !was_mapped && let Err(undo) = self.nb.delete_network(network, self.host()).await {
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

    /// Removes this host's gateway of the network's switch unless another
    /// Docker network of this host still uses the switch.
    async fn remove_gateway(&self, network: &DockerId) -> Result<()> {
        let Some(switch) = self.nb.switch_of(network.as_str()) else {
            return Ok(());
        };
        if switch.used_by_another_network_of(self.host(), network.as_str()) {
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

    pub async fn delete_network(&self, network: &DockerId) -> Result<()> {
        let _one_at_a_time = self.network_lock.lock().await;
        for port in self.plumbing.ovs.owned_ports() {
            if id_of(&port, NETWORK) != Some(network.as_str()) {
                continue;
            }
            if let Some(Ok(endpoint)) =
                id_of(&port, ENDPOINT).map(|e| DockerId::parse("endpoint", e))
            {
                // An endpoint left over from a container removed while
                // the driver was down: its Revoke never came.
                self.gateways.published().revoke(endpoint.as_str()).await?;
                self.plumbing
                    .unplug(&endpoint, PairRemoval::Batched)
                    .await?;
            }
        }
        self.remove_gateway(network).await?;
        self.nb
            .delete_network(network.as_str(), self.host())
            .await?;
        tracing::info!(%network, "network deleted");
        Ok(())
    }
}
