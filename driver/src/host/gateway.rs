//! The per-network gateway: host-based routing out of a network, the same
//! for every backend.
//!
//! Each non-internal network with an IPv4 gateway has, on every host with
//! a Docker network on it, an OVS internal port holding the gateway's MAC
//! and address, so a container's packets to its default gateway reach
//! this host's kernel, which routes them on; the [`crate::host::firewall`]
//! rules masquerade them and let them through Docker's `FORWARD DROP`.
//! Join then returns the gateway, and Docker adds no `docker_gwbridge`.
//! On `-d ovn` the port is bound (`iface-id`) to the switch's `localport`
//! ([`crate::ovn::gateway`]); on `-d ovs` the backend's flows send the
//! gateway's MAC to it ([`crate::ovs::pipeline`]).
//!
//! A gateway is named by its switch (`-d ovn`: a logical switch may carry
//! one Docker network per host) or network (`-d ovs`), one port per switch
//! and host. IPv6 gets no gateway yet (see `docs/design.md`).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;

use crate::error::{DriverError, Result};
use crate::external_ids::{GATEWAY_OF, HOST, IFACE_ID, OWNER, OWNER_VALUE};
use crate::host::firewall::{COMMENT_PREFIX, Firewall, GatewayRules, Rule};
use crate::host::forwarding::enable_ipv4_forwarding;
use crate::host::links::{LinkState, Links};
use crate::host::local_switch::{LocalSwitch, id_of};
use crate::host::published_ports::PublishedPorts;
use crate::mac::MacAddr;
use crate::names::{DockerId, gateway_interface, host_interface};
use crate::reconcile::{Action, GatewayPortState, GatewayRulesState, GatewayWanted, Snapshot};

/// How often to look for the device ovs-vswitchd creates for a new port.
const DEVICE_POLL: Duration = Duration::from_millis(10);

/// One logical switch's gateway as this host holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub switch: String,
    /// The OVS internal port and its device.
    pub interface: String,
    /// The `localport` it is bound to (`-d ovn` only).
    pub logical_port: Option<String>,
    /// The gateway address with the subnet's prefix length.
    pub address: Ipv4Net,
    pub subnet: Ipv4Net,
    pub mac: MacAddr,
    pub mtu: u32,
    /// The peers' parts of a routed network (`-d ovs` direct routing):
    /// reached unmasqueraded and let in. `None` for every other network.
    pub routed_peers: Option<Vec<Ipv4Net>>,
}

impl Gateway {
    /// The gateway `address` of `subnet` for switch (or network) `switch`,
    /// on a port of the switch's name; `None` if the address is outside.
    pub fn new(switch: &str, address: Ipv4Addr, subnet: Ipv4Net, mtu: u32) -> Option<Gateway> {
        subnet.contains(&address).then_some(())?;
        Some(Gateway {
            switch: switch.to_string(),
            interface: gateway_interface(switch),
            logical_port: None,
            address: Ipv4Net::new(address, subnet.prefix_len()).ok()?,
            subnet,
            mac: MacAddr::from_ipv4(address),
            mtu,
            routed_peers: None,
        })
    }

    /// Its iptables rules on host `host`.
    pub fn rules<'a>(&'a self, host: &'a str) -> GatewayRules<'a> {
        GatewayRules {
            switch: &self.switch,
            host,
            interface: &self.interface,
            subnet: self.subnet,
            routed_peers: self.routed_peers.as_deref(),
        }
    }

    /// Whether the device is as it should be: up, with the MTU, MAC and
    /// address.
    pub fn configured(&self, link: &LinkState, addresses: &[Ipv4Net]) -> bool {
        link.up
            && link.mtu == Some(self.mtu)
            && link.mac == Some(self.mac)
            && addresses.contains(&self.address)
    }

    fn external_ids(&self, host: &str) -> Vec<(String, String)> {
        [
            (OWNER, OWNER_VALUE),
            (GATEWAY_OF, self.switch.as_str()),
            (HOST, host),
        ]
        .into_iter()
        .chain(self.logical_port.as_deref().map(|port| (IFACE_ID, port)))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// Lets the device route 127.0.0.0/8 (`route_localnet`): a published
/// port reached at 127.0.0.1 is DNATed out of it, masqueraded, and its
/// replies come back in by it. The gateway's raw rule drops anything
/// else to the loopback network coming in by it.
fn allow_loopback_addresses(interface: &str) -> Result<()> {
    let path = super::sysctl::path(&format!("net/ipv4/conf/{interface}/route_localnet"));
    let failed = |e: std::io::Error| DriverError::Netlink {
        interface: interface.to_string(),
        operation: "setting route_localnet",
        reason: format!("{}: {e}", path.display()),
    };
    if std::fs::read_to_string(&path).map_err(failed)?.trim() == "1" {
        return Ok(());
    }
    std::fs::write(&path, "1").map_err(failed)
}

/// The first letters of a `-d ovs` network's gateway name: a `:` no OVN
/// switch name may hold, so each backend tells its own iptables rules
/// (which share the kernel's chains) from the other's.
pub const OVS_GATEWAY_PREFIX: &str = "ovs:";

/// Which backend's gateways a [`HostGateways`] handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayKind {
    /// Named by their logical switch (`-d ovn`).
    Ovn,
    /// Named [`OVS_GATEWAY_PREFIX`] + the network's short id (`-d ovs`).
    Ovs,
}

impl GatewayKind {
    /// The backend's name, in the comments of its published ports.
    pub fn name(self) -> &'static str {
        match self {
            GatewayKind::Ovn => "ovn",
            GatewayKind::Ovs => "ovs",
        }
    }

    /// The kind of the gateway named `name`.
    pub fn of(name: &str) -> GatewayKind {
        match name.starts_with(OVS_GATEWAY_PREFIX) {
            true => GatewayKind::Ovs,
            false => GatewayKind::Ovn,
        }
    }
}

/// This host's gateway ports, their devices and rules, of one backend.
#[derive(Clone)]
pub struct HostGateways {
    ovs: LocalSwitch,
    links: Links,
    firewall: Firewall,
    published: PublishedPorts,
    host: String,
    kind: GatewayKind,
    /// How long ovs-vswitchd may take to create a port's device.
    device_timeout: Duration,
}

impl HostGateways {
    pub fn new(
        ovs: LocalSwitch,
        links: Links,
        host: String,
        kind: GatewayKind,
        device_timeout: Duration,
    ) -> Self {
        let firewall = Firewall::new(&host);
        let published = PublishedPorts::new(firewall.clone(), &host, kind.name());
        HostGateways {
            ovs,
            links,
            firewall,
            published,
            host,
            kind,
            device_timeout,
        }
    }

    pub fn firewall(&self) -> &Firewall {
        &self.firewall
    }

    /// The published ports of this backend's endpoints on this host.
    pub fn published(&self) -> &PublishedPorts {
        &self.published
    }

    /// The host whose gateways these are.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// (switch, interface) of this host's gateway ports.
    pub fn ports(&self) -> Vec<(String, String)> {
        self.ovs
            .owned_ports()
            .into_iter()
            .filter(|p| id_of(p, HOST) == Some(self.host.as_str()))
            .filter_map(|p| Some((id_of(&p, GATEWAY_OF)?.to_string(), p.name)))
            .collect()
    }

    /// Sets `gateway` up on this host (port, device, address, rules),
    /// completing what is there already; a failure undoes what this call
    /// added.
    pub async fn apply(&self, gateway: &Gateway) -> Result<()> {
        self.check_name_free(gateway)?;
        enable_ipv4_forwarding()?;
        let added = self
            .ovs
            .add_internal_port(
                &gateway.interface,
                gateway.mac,
                gateway.mtu,
                &gateway.external_ids(&self.host),
            )
            .await?;
        let configured = match self.configure(gateway).await {
            Ok(_) => self
                .firewall
                .ensure(&gateway.rules(&self.host))
                .await
                .map(drop),
            Err(error) => Err(error),
        };
        if let Err(error) = configured {
            if added && let Err(undo) = self.remove(&gateway.switch, &gateway.interface).await {
                tracing::error!(interface = %gateway.interface, %undo, "rollback of a failed gateway left state behind");
            }
            return Err(error);
        }
        tracing::info!(switch = %gateway.switch, interface = %gateway.interface,
            address = %gateway.address, added, "gateway in place");
        Ok(())
    }

    /// Refuses a port of the gateway's name that is not this gateway's: a
    /// hash clash with another switch, or a port that is not the driver's.
    fn check_name_free(&self, gateway: &Gateway) -> Result<()> {
        if !self.ovs.has_port(&gateway.interface) {
            return Ok(());
        }
        let ours = self.ovs.owned_ports().into_iter().any(|p| {
            p.name == gateway.interface && id_of(&p, GATEWAY_OF) == Some(gateway.switch.as_str())
        });
        if ours {
            return Ok(());
        }
        Err(DriverError::Conflict(format!(
            "port {} for the gateway of {} exists and is not that gateway's",
            gateway.interface, gateway.switch
        )))
    }

    /// Waits for the port's device, then sets it up with its MTU, MAC and
    /// address; `Ok(true)` if anything had to change.
    pub async fn configure(&self, gateway: &Gateway) -> Result<bool> {
        let link = self.wait_for_device(&gateway.interface).await?;
        let name = &gateway.interface;
        allow_loopback_addresses(name)?;
        let addresses = self.links.ipv4_addresses(name, link.index).await?;
        if gateway.configured(&link, &addresses) {
            return Ok(false);
        }
        self.links
            .set_up(name, link.index, gateway.mtu, gateway.mac)
            .await?;
        self.links
            .ensure_address(name, link.index, gateway.address)
            .await?;
        Ok(true)
    }

    /// The device of a new port, which ovs-vswitchd creates (a tap on the
    /// userspace datapath); an error once the deadline passes or OVS
    /// reports it cannot.
    async fn wait_for_device(&self, interface: &str) -> Result<LinkState> {
        let deadline = Instant::now() + self.device_timeout;
        loop {
            if let Some(link) = self.links.state(interface).await? {
                return Ok(link);
            }
            let reason = match self.ovs.interface_error(interface) {
                Some(error) => format!("ovs-vswitchd cannot create it: {error}"),
                None if Instant::now() >= deadline => format!(
                    "ovs-vswitchd did not create the device within {} s; is it running?",
                    self.device_timeout.as_secs()
                ),
                None => {
                    tokio::time::sleep(DEVICE_POLL).await;
                    continue;
                }
            };
            return Err(DriverError::DeviceMissing {
                interface: interface.to_string(),
                reason,
            });
        }
    }

    /// Removes the gateway of `switch` from this host: its rules, the
    /// addresses of its device (which may outlive the port when
    /// ovs-vswitchd is down) and its port. `Ok(false)` if none was there.
    pub async fn remove(&self, switch: &str, interface: &str) -> Result<bool> {
        let rules = self.firewall.remove(switch).await?;
        let addresses = self.links.remove_ipv4_addresses(interface).await?;
        let port = self
            .ovs
            .remove_port_marked(interface, GATEWAY_OF, switch)
            .await?;
        Ok(rules || addresses || port)
    }

    /// Applies a reconciliation step about gateways: `wanted` is the
    /// gateway the step names, if this host should have it. `Ok(false)`
    /// when there was nothing to do (or the step is not a gateway's).
    pub async fn apply_step(&self, action: &Action, wanted: Option<Gateway>) -> Result<bool> {
        match (action, wanted) {
            (Action::AddGateway { .. }, Some(gateway)) => self.apply(&gateway).await.map(|_| true),
            (Action::ConfigureGateway { .. }, Some(gateway)) => self.configure(&gateway).await,
            (Action::AddGatewayRules { .. }, Some(gateway)) => {
                self.firewall.ensure(&gateway.rules(&self.host)).await
            }
            (Action::RemoveGateway { switch, interface }, _) => {
                self.remove(switch, interface).await
            }
            (Action::RemoveGatewayRules { switch }, _) => self.firewall.remove(switch).await,
            (Action::RemovePublishedPorts { endpoint }, _) => {
                let id = DockerId::parse("endpoint", endpoint)?;
                if self.ovs.has_port(&host_interface(&id)) {
                    return Ok(false);
                }
                self.published.revoke(endpoint).await
            }
            _ => Ok(false),
        }
    }

    /// What reconciliation compares: this host's gateway ports with their
    /// devices' state, and the driver's rules, against `wanted`.
    pub async fn snapshot(&self, wanted: &[Gateway], snapshot: &mut Snapshot) -> Result<()> {
        let mut ports = Vec::new();
        for (switch, interface) in self.ports() {
            let want = wanted
                .iter()
                .find(|g| g.switch == switch && g.interface == interface);
            let device = match (want, self.links.state(&interface).await?) {
                (Some(gateway), Some(link)) => {
                    let addresses = self.links.ipv4_addresses(&interface, link.index).await?;
                    Some(gateway.configured(&link, &addresses))
                }
                (None, Some(_)) => Some(false),
                (_, None) => None,
            };
            ports.push(GatewayPortState {
                switch,
                interface,
                configured: device,
            });
        }
        let listing = self.firewall.listing().await?;
        let mut rules = listing.rules(COMMENT_PREFIX, &self.host);
        // The other backend's rules are its own to reconcile.
        rules.retain(|r| GatewayKind::of(&r.switch) == self.kind);
        snapshot.gateway_ports = ports;
        snapshot.gateway_rules = rules_state(&rules, wanted, &self.host);
        snapshot.published = self.published.endpoints_in(&listing);
        Ok(())
    }
}

/// Per switch named by a rule: whether its rules are the wanted ones.
fn rules_state(rules: &[Rule], wanted: &[Gateway], host: &str) -> Vec<GatewayRulesState> {
    let mut switches: Vec<&str> = rules.iter().map(|r| r.switch.as_str()).collect();
    switches.sort_unstable();
    switches.dedup();
    switches
        .into_iter()
        .map(|switch| {
            let present: Vec<&Rule> = rules.iter().filter(|r| r.switch == switch).collect();
            let complete = wanted
                .iter()
                .find(|g| g.switch == switch)
                .is_some_and(|g| g.rules(host).complete(&present));
            GatewayRulesState {
                switch: switch.to_string(),
                complete,
            }
        })
        .collect()
}

/// A gateway failure, naming the network and the port.
pub fn gateway_error(
    network: &impl std::fmt::Display,
    interface: &str,
    error: DriverError,
) -> DriverError {
    DriverError::Gateway {
        network: network.to_string(),
        interface: interface.to_string(),
        source: Box::new(error),
    }
}

/// What reconciliation wants of a gateway.
pub fn wanted_state(gateway: &Gateway, localport: bool) -> GatewayWanted {
    GatewayWanted {
        switch: gateway.switch.clone(),
        interface: gateway.interface.clone(),
        localport,
    }
}

#[cfg(test)]
mod tests;
