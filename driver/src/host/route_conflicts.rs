//! A new network's subnets against the host's routes: a subnet that
//! overlaps a route of the host (or the network of one of its addresses,
//! which is a route too) would take that traffic away from where the host
//! sends it, or make its containers unable to reach it. CreateNetwork is
//! refused, naming the route, unless the network says
//! `allow-overlap=true` ([`crate::docker::network_policy`]).
//!
//! Not conflicts: default routes, the driver's own routes (its gateway
//! devices', and the routes to peers of direct routing, by their route
//! protocol), and anything outside the main table.

use std::fmt;
use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol,
};

use crate::docker::network_spec::NetworkSpec;
use crate::error::{DriverError, Result};
use crate::host::links::{Links, netlink_error};
use crate::host::routes::ROUTE_PROTOCOL;
use crate::names::GATEWAY_INTERFACE_PREFIX;

/// A route of the host, as a refusal names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    pub destination: IpNet,
    /// The device it leaves by, if it names one.
    pub device: Option<String>,
}

impl fmt::Display for HostRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.destination)?;
        match &self.device {
            Some(device) => write!(f, " dev {device}"),
            None => Ok(()),
        }
    }
}

/// Refuses `spec` if one of its subnets overlaps a route of the host,
/// unless it allows the overlap; `option` is the driver's option name
/// (`ovn.allow-overlap`), for the message.
pub async fn refuse_route_conflicts(links: &Links, spec: &NetworkSpec, option: &str) -> Result<()> {
    if spec.policy.allow_overlap {
        return Ok(());
    }
    for subnet in [spec.subnet4, spec.subnet6].into_iter().flatten() {
        if let Some(route) = links.conflicting_routes(subnet).await?.first() {
            return Err(DriverError::Conflict(format!(
                "subnet {subnet} overlaps the host's route {route}: containers on it could not \
                 reach that network, and the host would route part of it elsewhere; choose \
                 another --subnet, or create the network with -o {option}=true"
            )));
        }
    }
    Ok(())
}

impl Links {
    /// The host's main-table routes that overlap `subnet`, but for the
    /// ones that never conflict (see the module's doc).
    pub async fn conflicting_routes(&self, subnet: IpNet) -> Result<Vec<HostRoute>> {
        let mut found = Vec::new();
        for message in self.routes(matches!(subnet, IpNet::V6(_))).await? {
            let Some((destination, device)) = candidate(&message) else {
                continue;
            };
            if !overlaps(destination, subnet) {
                continue;
            }
            let device = match device {
                Some(index) => self.name_of(index).await?,
                None => None,
            };
            if device
                .as_deref()
                .is_some_and(|d| d.starts_with(GATEWAY_INTERFACE_PREFIX))
            {
                continue;
            }
            found.push(HostRoute {
                destination,
                device,
            });
        }
        Ok(found)
    }

    /// The destinations of the host's main-table routes of one family,
    /// default routes and the driver's peer routes aside (its gateway
    /// devices' count: their subnets are taken).
    pub async fn routed_networks(&self, ipv6: bool) -> Result<Vec<IpNet>> {
        let routes = self.routes(ipv6).await?;
        Ok(routes
            .iter()
            .filter_map(candidate)
            .map(|(d, _)| d)
            .collect())
    }

    /// The name of device `index`, if it exists.
    async fn name_of(&self, index: u32) -> Result<Option<String>> {
        let mut links = self.handle.link().get().match_index(index).execute();
        match links.try_next().await {
            Ok(Some(link)) => Ok(link.attributes.into_iter().find_map(|a| match a {
                LinkAttribute::IfName(name) => Some(name),
                _ => None,
            })),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -ENODEV => Ok(None),
            Err(e) => Err(netlink_error(&index.to_string(), "find device", e)),
        }
    }
}

/// ENODEV: no device of that index.
const ENODEV: i32 = 19;

/// The destination and output device of a main-table route that could
/// conflict: not a default route, not one of the driver's peer routes.
fn candidate(message: &RouteMessage) -> Option<(IpNet, Option<u32>)> {
    let header = &message.header;
    let possible = header.table == RouteHeader::RT_TABLE_MAIN
        && header.destination_prefix_length > 0
        && header.protocol != RouteProtocol::Other(ROUTE_PROTOCOL);
    possible.then_some(())?;
    let mut destination: Option<IpAddr> = None;
    let mut device = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet(a)) => destination = Some((*a).into()),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => destination = Some((*a).into()),
            RouteAttribute::Oif(index) => device = Some(*index),
            _ => {}
        }
    }
    let destination = IpNet::new(destination?, header.destination_prefix_length).ok()?;
    Some((destination, device))
}

/// Whether two networks share an address (one contains the other).
pub fn overlaps(a: IpNet, b: IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_overlap_when_one_holds_the_other() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        assert!(overlaps(net("10.1.0.0/16"), net("10.1.2.0/24")));
        assert!(overlaps(net("10.1.2.0/24"), net("10.1.0.0/16")));
        assert!(overlaps(net("10.1.2.0/24"), net("10.1.2.0/24")));
        assert!(!overlaps(net("10.1.2.0/24"), net("10.1.3.0/24")));
        assert!(!overlaps(net("10.1.2.0/24"), net("fd00::/64")));
    }

    #[test]
    fn a_route_names_its_device() {
        let route = HostRoute {
            destination: "192.0.2.0/24".parse().unwrap(),
            device: Some("eth0".into()),
        };
        assert_eq!(route.to_string(), "192.0.2.0/24 dev eth0");
    }
}
