//! Endpoints of the OVN backend: a logical switch port per endpoint, and
//! on Join its veth pair and OVS port ([`crate::host::plumbing`]), ready
//! when ovn-controller has installed it.

use std::time::{Duration, Instant};

use plugin_api::wire::{
    CreateEndpointResponse, EndpointInterface, EndpointOperInfoResponse, InterfaceName,
    JoinResponse,
};
use serde_json::json;

use crate::backend::EndpointRef;
use crate::docker::endpoint_addresses::{endpoint_addresses, endpoint_mac};
use crate::error::{DriverError, Result};
use crate::external_ids::{
    ENDPOINT, HOST, IFACE_ID, JOINED, NETWORK, OWNER, OWNER_VALUE, SANDBOX, unix_now,
};
use crate::host::plumbing::PairRemoval;
use crate::mac::MacAddr;
use crate::names::{DockerId, container_interface, host_interface};
use crate::ovn::backend::OvnBackend;
use crate::ovn::northbound::NewPort;

/// How long plugging an endpoint's port took, in its two parts.
struct Plugged {
    /// The Open_vSwitch transaction that adds the port.
    port_added: Duration,
    /// The wait for ovn-controller's `ovn-installed`.
    ready_wait: Duration,
}

impl OvnBackend {
    pub async fn create_endpoint(
        &self,
        EndpointRef { network, endpoint }: &EndpointRef,
        interface: &EndpointInterface,
    ) -> Result<CreateEndpointResponse> {
        let switch = self.switch(network)?;
        let (ipv4, ipv6) = endpoint_addresses(
            interface,
            switch.subnet4.as_deref(),
            switch.subnet6.as_deref(),
        )?;
        let (mac, given_mac) = endpoint_mac(interface, ipv4, endpoint)?;
        let port = NewPort {
            endpoint: endpoint.as_str(),
            network: network.as_str(),
            host: self.host(),
            mac,
            ipv4,
            ipv6,
            created: unix_now(),
            rate_mbit: switch.rate_mbit,
            parent: self.config.nested_parent.as_deref(),
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

    pub async fn join(
        &self,
        EndpointRef { network, endpoint }: &EndpointRef,
        sandbox_key: &str,
    ) -> Result<JoinResponse> {
        let started = Instant::now();
        let switch = self.switch(network)?;
        let port = self
            .nb
            .port(endpoint.as_str())
            .ok_or_else(|| DriverError::UnknownEndpoint {
                network: network.to_string(),
                endpoint: endpoint.to_string(),
            })?;
        let host_if = host_interface(endpoint);
        let peer = container_interface(endpoint);
        let mtu = self.network_mtu(&switch);
        let creating = Instant::now();
        self.plumbing
            .make_pair(endpoint, (&host_if, &peer), mtu, port.mac)
            .await?;
        let veth_time = creating.elapsed();
        if let Err(error) = crate::host::offload::disable_tx_checksum(&peer) {
            self.plumbing.rollback_join(endpoint).await;
            return Err(error);
        }
        let ids = interface_ids(
            network,
            endpoint,
            self.host(),
            &port.mac,
            Some(sandbox_key),
            unix_now(),
        );
        let plugging = match &self.config.nested_parent {
            None => self.plug(&host_if, &ids, endpoint.as_str()).await,
            Some(parent) => {
                self.plug_child(&host_if, &ids, endpoint.as_str(), parent)
                    .await
            }
        };
        let plugged = match plugging {
            Ok(plugged) => plugged,
            Err(error) => {
                self.plumbing.rollback_join(endpoint).await;
                return Err(error);
            }
        };
        if let Some(metrics) = crate::metrics::installed() {
            metrics.ready_waited("ovn", plugged.ready_wait);
        }
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
                .map(|g| g.address.addr())
                .or_else(|| switch.provider.as_ref().and(switch.router()))
                .map(|g| g.to_string())
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
        self.plumbing.ovs.add_port(host_if, ids).await?;
        let port_added = adding.elapsed();
        self.plumbing.reaper.join_waits();
        let waiting = Instant::now();
        self.plumbing
            .ovs
            .wait_installed(host_if, endpoint, self.config.ready_timeout)
            .await?;
        Ok(Plugged {
            port_added,
            ready_wait: waiting.elapsed(),
        })
    }

    /// Nested in a VM: waits for ovn-northd's VLAN tag of the child port,
    /// adds the OVS port to the VM bridge as an access port of that tag
    /// (its frames leave the VM's NIC tagged, which is how OVN tells the
    /// children of one parent apart), then waits for Northbound to report
    /// the child up: nothing in a VM sets `ovn-installed`.
    async fn plug_child(
        &self,
        host_if: &str,
        ids: &[(String, String)],
        endpoint: &str,
        parent: &str,
    ) -> Result<Plugged> {
        let timeout = self.config.ready_timeout;
        let not_ready = |missing| DriverError::ChildNotReady {
            endpoint: endpoint.to_string(),
            parent: parent.to_string(),
            missing,
            seconds: timeout.as_secs(),
        };
        let adding = Instant::now();
        let tag = self.nb.wait_port(endpoint, timeout, |p| p.tag).await;
        let tag = tag.ok_or_else(|| not_ready("was given no VLAN tag"))?;
        self.plumbing.ovs.add_access_port(host_if, tag, ids).await?;
        let port_added = adding.elapsed();
        self.plumbing.reaper.join_waits();
        let waiting = Instant::now();
        let up = self.nb.wait_port(endpoint, timeout, |p| p.up.then_some(()));
        up.await.ok_or_else(|| not_ready("was not reported up"))?;
        tracing::debug!(%endpoint, %parent, tag, "child port up");
        Ok(Plugged {
            port_added,
            ready_wait: waiting.elapsed(),
        })
    }

    /// Finds the endpoint's veth pair and port and hands both to the
    /// reaper's next batch ([`crate::host::veth_reaper::VethReaper`]), which
    /// removes them a moment later together with every other Leave's:
    /// neither Docker nor the next endpoint waits for the kernel's deletion
    /// (a grace period under the RTNL lock) or for the port's transaction and what ovs-vswitchd and
    /// ovn-controller recompute after it, one endpoint at a time. The
    /// endpoint's traffic ends with the sandbox, which Docker tears down
    /// after Leave in any case. A batch a crash interrupts is finished by
    /// DeleteEndpoint or reconciliation.
    pub async fn leave(&self, endpoint: &DockerId) -> Result<()> {
        self.plumbing.unplug(endpoint, PairRemoval::Batched).await?;
        // The call's duration is the router's to log, as for every call.
        tracing::info!(%endpoint, "endpoint left");
        Ok(())
    }

    pub async fn delete_endpoint(&self, endpoint: &DockerId) -> Result<()> {
        // Docker skips Leave after some failures; clean the host side too.
        self.plumbing.unplug(endpoint, PairRemoval::Batched).await?;
        self.nb.delete_port(endpoint.as_str()).await?;
        tracing::info!(%endpoint, "endpoint deleted");
        Ok(())
    }

    pub fn endpoint_oper_info(&self, endpoint: &DockerId) -> EndpointOperInfoResponse {
        let mut value = serde_json::Map::new();
        if let Some(port) = self.nb.port(endpoint.as_str()) {
            value.insert("LogicalSwitchPort".into(), json!(port.endpoint));
            value.insert("Addresses".into(), json!(port.addresses));
            value.insert("Up".into(), json!(port.up));
        }
        EndpointOperInfoResponse { value }
    }
}

/// The Open_vSwitch `Interface.external_ids` of an endpoint's port: the
/// driver's marks, and `iface-id` which binds it to its logical port.
pub(super) fn interface_ids(
    network: &DockerId,
    endpoint: &DockerId,
    host: &str,
    mac: &MacAddr,
    sandbox: Option<&str>,
    joined: u64,
) -> Vec<(String, String)> {
    let sandbox = sandbox.map(|s| (SANDBOX, s.to_string()));
    [
        (OWNER, OWNER_VALUE.to_string()),
        (NETWORK, network.to_string()),
        (ENDPOINT, endpoint.to_string()),
        (HOST, host.to_string()),
        (JOINED, joined.to_string()),
        (IFACE_ID, endpoint.to_string()),
        ("attached-mac", mac.to_string()),
        ("iface-status", "active".to_string()),
    ]
    .into_iter()
    .chain(sandbox)
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    //! Golden tests: the OVSDB transactions of CreateEndpoint and Join, as
    //! sent, against the JSON that `docs/design.md` shows. A change of
    //! what the driver writes fails here first; after a deliberate one,
    //! `DOCKER_OVN_BLESS=1 cargo test -p docker-ovn golden` rewrites the
    //! files, and the diff shows the change to review.

    use std::path::PathBuf;

    use ovsdb_client::{Row, Uuid};
    use serde_json::Value as Json;

    use super::*;
    use crate::host::local_switch::add_port_transaction;
    use crate::ovn::northbound::create_port_transaction;

    const NETWORK: &str = "7a1bd9b1c3e8a4f90a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071";
    const ENDPOINT: &str = "e5c2f1a0b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";
    const HOST: &str = "lab-host1";
    const SANDBOX: &str = "/var/run/docker/netns/0123456789ab";
    /// A fixed clock: 2026-12-02 12:00:00 UTC.
    const NOW: u64 = 1_796_212_800;

    fn ids() -> (DockerId, DockerId) {
        let network = DockerId::parse("NetworkID", NETWORK).expect("network id");
        let endpoint = DockerId::parse("EndpointID", ENDPOINT).expect("endpoint id");
        (network, endpoint)
    }

    /// Compares the `params` of a `transact` request with
    /// `docs/golden/<name>` (the database, then one operation a line), or
    /// writes them there when `DOCKER_OVN_BLESS` is set; docs/design.md
    /// must show the same text.
    fn golden(name: &str, actual: &Json) {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs");
        let path = docs.join("golden").join(name);
        let lines: Vec<String> = actual
            .as_array()
            .expect("transact params are an array")
            .iter()
            .map(|param| format!("  {param}"))
            .collect();
        let text = format!("[\n{}\n]\n", lines.join(",\n"));
        if std::env::var_os("DOCKER_OVN_BLESS").is_some() {
            std::fs::write(&path, &text).expect("write the golden file");
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let expected: Json = serde_json::from_str(&expected).expect("golden JSON");
        assert_eq!(
            &expected,
            actual,
            "{} differs from what the driver sends now:\n{text}",
            path.display()
        );
        let design = docs.join("design.md");
        let shown = std::fs::read_to_string(&design).expect("docs/design.md");
        assert!(
            shown.contains(&text),
            "docs/design.md must show {name} as it is now:\n{text}"
        );
    }

    #[test]
    fn golden_join_adds_interface_port_and_bridge_reference_in_one_transaction() {
        let (network, endpoint) = ids();
        let mac = MacAddr::from_ipv4("10.90.0.2".parse().expect("address"));
        let external_ids = interface_ids(&network, &endpoint, HOST, &mac, Some(SANDBOX), NOW);
        let name = host_interface(&endpoint);
        let txn = add_port_transaction("br-int", &name, (Row::new(), Row::new()), &external_ids);
        golden("join.open_vswitch.json", &txn.to_params());
    }

    #[test]
    fn golden_create_endpoint_adds_the_logical_port_and_links_it_to_its_switch() {
        let (network, endpoint) = ids();
        let port = NewPort {
            endpoint: endpoint.as_str(),
            network: network.as_str(),
            host: HOST,
            mac: MacAddr::from_ipv4("10.90.0.2".parse().expect("address")),
            ipv4: Some("10.90.0.2".parse().expect("address")),
            ipv6: None,
            created: NOW,
            rate_mbit: None,
            parent: None,
        };
        let switch = Uuid::parse_str("2b9c1c57-8d0e-4b0a-9f3e-6a1d2c3b4a50").expect("uuid");
        let (txn, _) = create_port_transaction(switch, &port);
        golden("create-endpoint.northbound.json", &txn.to_params());
    }
}
