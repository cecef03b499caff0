//! Direct routing (`-o ovs.mode=routed`): no encapsulation, full MTU.
//! Each host's routed networks lie in its own CIDR
//! (`external_ids:docker-ovn-host-cidr`), and the host routes every
//! peer's CIDR via the peer's underlay address ([`crate::host::routes`]).
//!
//! A routed network is one network across hosts by its place: the subnet
//! at the same offset, with the same prefix length, in every host's CIDR.
//! With host CIDRs 10.230.1.0/24 and 10.230.2.0/24, host1's 10.230.1.0/26
//! and host2's 10.230.2.0/26 are one network, and host2's 10.230.2.64/26
//! another. Each host reaches the same network's parts on its peers
//! unmasqueraded and lets only them in ([`crate::host::firewall`]); a
//! packet from any other part of a peer's CIDR is another network's, and
//! dropped. The addresses carry the network, so the hosts agree with no
//! store and nothing on the wire but plain IP.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;

use crate::docker::network_spec::NetworkSpec;
use crate::error::{DriverError, Result};
use crate::host::gateway::Gateway;
use crate::host::routes::PeerRoute;
use crate::names::DockerId;
use crate::ovs::backend::OvsBackend;
use crate::ovs::network_mode::{NetworkMode, OPT_MODE};
use crate::ovs::network_record::NetworkRecord;
use crate::ovs::peers::HOST_CIDR_KEY;

/// How long routes are retried after ovs-vswitchd comes back.
const ROUTES_RETRIED_FOR: Duration = Duration::from_secs(20);

/// The part of routed network `subnet` (in this host's `host_cidr`) on a
/// peer whose CIDR is `peer_cidr`: the same offset and prefix length;
/// `None` if the peer's CIDR cannot hold it.
pub fn part_on_peer(subnet: Ipv4Net, host_cidr: Ipv4Net, peer_cidr: Ipv4Net) -> Option<Ipv4Net> {
    if !host_cidr.contains(&subnet) || subnet.prefix_len() < peer_cidr.prefix_len() {
        return None;
    }
    let offset = u32::from(subnet.network()) - u32::from(host_cidr.network());
    let start = u32::from(peer_cidr.network()).checked_add(offset)?;
    let part = Ipv4Net::new(Ipv4Addr::from(start), subnet.prefix_len()).ok()?;
    peer_cidr.contains(&part).then_some(part)
}

impl OvsBackend {
    /// Refuses a routed network this host cannot route: no host CIDR, a
    /// subnet outside it, or no gateway to route through.
    pub(super) fn check_routed(&self, spec: &NetworkSpec, mode: NetworkMode) -> Result<()> {
        if mode != NetworkMode::Routed {
            return Ok(());
        }
        let Some(host_cidr) = self.peer_settings().host_cidr else {
            return Err(DriverError::invalid(
                OPT_MODE,
                format!(
                    "routed needs this host's CIDR: ovs-vsctl set open_vswitch . \
                     external_ids:{HOST_CIDR_KEY}=CIDR (its routed networks lie in it)"
                ),
            ));
        };
        let subnet = match spec.subnet4 {
            Some(ipnet::IpNet::V4(subnet)) => subnet,
            _ => {
                return Err(DriverError::invalid(
                    "subnet",
                    "a routed network needs an IPv4 --subnet",
                ));
            }
        };
        if !host_cidr.contains(&subnet) {
            return Err(DriverError::invalid(
                "subnet",
                format!(
                    "{subnet} is outside this host's {HOST_CIDR_KEY} {host_cidr}: \
                     the peers route only that CIDR here"
                ),
            ));
        }
        if spec.internal || !self.config.gateway {
            return Err(DriverError::invalid(
                OPT_MODE,
                "a routed network is routed by this host's gateway, and an --internal \
                 network (or a daemon run with gateways off) has none",
            ));
        }
        Ok(())
    }

    /// The network's gateway on this host, with the peers' parts of a
    /// routed network.
    pub fn gateway_of(&self, record: &NetworkRecord) -> Option<Gateway> {
        let gateway = record.gateway(self.config.gateway)?;
        Some(Gateway {
            routed_peers: self.routed_parts(record),
            ..gateway
        })
    }

    /// A routed network's parts on the peers; `None` for other modes.
    fn routed_parts(&self, record: &NetworkRecord) -> Option<Vec<Ipv4Net>> {
        if record.mode != NetworkMode::Routed {
            return None;
        }
        let settings = self.peer_settings();
        let (Some(subnet), Some(host_cidr)) = (record.subnet4, settings.host_cidr) else {
            return Some(Vec::new());
        };
        let parts = settings.peers.iter().filter_map(|peer| peer.cidr);
        Some(
            parts
                .filter_map(|cidr| part_on_peer(subnet, host_cidr, cidr))
                .collect(),
        )
    }

    /// The routes to the peers' CIDRs while a routed network (other than
    /// `gone`, being deleted) is on this host.
    pub fn wanted_routes(&self, gone: Option<&DockerId>) -> Vec<PeerRoute> {
        let routed = self
            .networks()
            .iter()
            .any(|r| r.mode == NetworkMode::Routed && Some(&r.network) != gone);
        if !routed {
            return Vec::new();
        }
        let peers = self.peer_settings().peers;
        let mut routes: Vec<PeerRoute> = peers
            .iter()
            .filter_map(|peer| {
                Some(PeerRoute {
                    destination: peer.cidr?,
                    via: peer.address,
                })
            })
            .collect();
        routes.sort();
        routes
    }

    /// Makes the driver's routes the wanted ones; `Ok(true)` if any changed.
    pub async fn sync_routes(&self, gone: Option<&DockerId>) -> Result<bool> {
        let wanted = self.wanted_routes(gone);
        self.plumbing.links.sync_peer_routes(&wanted).await
    }

    /// Sets every gateway's device up again (address, MTU, MAC): after
    /// ovs-vswitchd restarts, it makes the devices of internal ports anew,
    /// bare. Every gateway is tried; the first failure returned.
    pub async fn configure_gateways(&self) -> Result<()> {
        let mut first_error = None;
        for gateway in self.networks().iter().filter_map(|r| self.gateway_of(r)) {
            if let Err(error) = self.gateways.configure(&gateway).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Puts the routes back after ovs-vswitchd restarted: an underlay on
    /// an OVS internal port (`br-phy`, `br-ex`) lost its device, and the
    /// kernel deletes a device's routes with it. A route can go back only
    /// once the device has its address again, which its owner sets: tried
    /// every quarter second for [`ROUTES_RETRIED_FOR`], then left to
    /// reconciliation.
    pub async fn restore_routes(&self) -> Result<()> {
        let deadline = Instant::now() + ROUTES_RETRIED_FOR;
        loop {
            match self.sync_routed().await {
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(250)).await
                }
                done => return done,
            }
        }
    }

    /// The routes and the routed networks' gateway rules, for the peers
    /// as they are now. Every step is tried; the first failure returned.
    pub async fn sync_routed(&self) -> Result<()> {
        let mut first_error = self.sync_routes(None).await.err();
        let routed = self
            .networks()
            .into_iter()
            .filter(|r| r.mode == NetworkMode::Routed);
        for gateway in routed.filter_map(|r| self.gateway_of(&r)) {
            let rules = gateway.rules(self.host());
            if let Err(error) = self.gateways.firewall().ensure(&rules).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Ipv4Net {
        text.parse().unwrap()
    }

    #[test]
    fn a_routed_network_s_part_on_a_peer_is_at_the_same_offset() {
        let host = net("10.230.1.0/24");
        let peer = net("10.230.2.0/24");
        let part = |subnet| part_on_peer(net(subnet), host, peer);
        assert_eq!(part("10.230.1.0/26"), Some(net("10.230.2.0/26")));
        assert_eq!(part("10.230.1.64/26"), Some(net("10.230.2.64/26")));
        assert_eq!(part("10.230.1.0/24"), Some(net("10.230.2.0/24")));
        assert_eq!(part("10.231.1.0/26"), None, "outside this host's CIDR");
        let small_peer = net("10.230.2.0/25");
        assert_eq!(part_on_peer(net("10.230.1.128/26"), host, small_peer), None);
        assert_eq!(part_on_peer(net("10.230.1.0/24"), host, small_peer), None);
        let peer_at_top = net("255.255.255.0/24");
        assert_eq!(
            part_on_peer(net("10.230.1.64/26"), host, peer_at_top),
            Some(net("255.255.255.64/26"))
        );
    }
}
