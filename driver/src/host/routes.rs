//! The routes of direct routing (`-d ovs` routed networks): each peer's
//! CIDR via the peer's underlay address, in the main table.
//!
//! The driver's routes carry a route protocol of their own,
//! [`ROUTE_PROTOCOL`] (`ip route show proto 211` lists them), the mark
//! that lets reconciliation remove exactly what the driver added and
//! never an operator's route to the same CIDR.

use std::net::Ipv4Addr;

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol,
};

use crate::error::{DriverError, Result};
use crate::host::links::{Links, netlink_error};

/// The route protocol number of the driver's routes: unassigned in
/// iproute2's `rt_protos` (which names 0 to 18, 42, 99 and 186 to 192).
pub const ROUTE_PROTOCOL: u8 = 211;

/// One route to a peer's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerRoute {
    pub destination: Ipv4Net,
    pub via: Ipv4Addr,
}

impl std::fmt::Display for PeerRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} via {}", self.destination, self.via)
    }
}

impl Links {
    /// The driver's routes in the main table (by [`ROUTE_PROTOCOL`]).
    pub async fn peer_routes(&self) -> Result<Vec<PeerRoute>> {
        let routes = self.routes(false).await?;
        let mut found: Vec<PeerRoute> = routes.iter().filter_map(peer_route_of).collect();
        found.sort();
        Ok(found)
    }

    /// Every IPv4 (or, `ipv6`, IPv6) route of the host, of every table.
    pub async fn routes(&self, ipv6: bool) -> Result<Vec<RouteMessage>> {
        let query = match ipv6 {
            false => RouteMessageBuilder::<Ipv4Addr>::new().build(),
            true => RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        };
        let _one_dump = self.dumping.lock().await;
        let mut dump = self.handle.route().get(query).execute();
        let mut found = Vec::new();
        while let Some(message) = dump
            .try_next()
            .await
            .map_err(|e| netlink_error("-", "list routes", e))?
        {
            found.push(message);
        }
        Ok(found)
    }

    /// Adds `route`, or replaces a route of the driver's to the same
    /// destination (a peer that moved).
    pub async fn add_peer_route(&self, route: PeerRoute) -> Result<()> {
        self.handle
            .route()
            .add(message_of(route))
            .replace()
            .execute()
            .await
            .map_err(|e| route_error(route, "add route", e))
    }

    /// Deletes `route`; one already gone is no error.
    pub async fn delete_peer_route(&self, route: PeerRoute) -> Result<()> {
        match self.handle.route().del(message_of(route)).execute().await {
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -ESRCH => Ok(()),
            done => done.map_err(|e| route_error(route, "delete route", e)),
        }
    }

    /// Makes the driver's routes exactly `wanted`: stale ones deleted,
    /// missing ones added. `Ok(true)` if anything changed.
    pub async fn sync_peer_routes(&self, wanted: &[PeerRoute]) -> Result<bool> {
        let present = self.peer_routes().await?;
        let mut changed = false;
        for route in present.iter().filter(|r| !wanted.contains(r)) {
            self.delete_peer_route(*route).await?;
            tracing::info!(%route, "route to a peer removed");
            changed = true;
        }
        for route in wanted.iter().filter(|r| !present.contains(r)) {
            self.add_peer_route(*route).await?;
            tracing::info!(%route, "route to a peer added");
            changed = true;
        }
        Ok(changed)
    }
}

/// ESRCH: the kernel's answer for a route that does not exist.
const ESRCH: i32 = 3;
/// ENETUNREACH: a next hop on no network of the host.
const ENETUNREACH: i32 = 101;

fn message_of(route: PeerRoute) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(route.destination.network(), route.destination.prefix_len())
        .gateway(route.via)
        .protocol(RouteProtocol::Other(ROUTE_PROTOCOL))
        .build()
}

/// The route of a message, if it is one of the driver's in the main table.
fn peer_route_of(message: &RouteMessage) -> Option<PeerRoute> {
    let header = &message.header;
    let ours = header.protocol == RouteProtocol::Other(ROUTE_PROTOCOL)
        && header.table == RouteHeader::RT_TABLE_MAIN;
    ours.then_some(())?;
    let mut destination = None;
    let mut via = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Destination(RouteAddress::Inet(a)) => destination = Some(*a),
            RouteAttribute::Gateway(RouteAddress::Inet(a)) => via = Some(*a),
            _ => {}
        }
    }
    let destination = Ipv4Net::new(destination?, header.destination_prefix_length).ok()?;
    Some(PeerRoute {
        destination,
        via: via?,
    })
}

fn route_error(route: PeerRoute, operation: &'static str, error: rtnetlink::Error) -> DriverError {
    let unreachable =
        matches!(&error, rtnetlink::Error::NetlinkError(e) if e.raw_code() == -ENETUNREACH);
    let hint = match unreachable {
        true => format!(
            ": peer {} is on no network of this host (a next hop must be on-link)",
            route.via
        ),
        false => String::new(),
    };
    DriverError::Netlink {
        interface: route.to_string(),
        operation,
        reason: format!("{error}{hint}"),
    }
}
