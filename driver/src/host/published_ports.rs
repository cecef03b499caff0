//! Published ports (`docker run -p`), for every backend:
//! ProgramExternalConnectivity's port map becomes DNAT rules
//! ([`crate::host::firewall::published`]) added in one `iptables-restore`,
//! all of an endpoint's or none; RevokeExternalConnectivity removes them.
//!
//! A host port is free when no published port of the driver takes it and
//! a socket can be bound to it: a process listening there (Docker's
//! `docker-proxy` of a `bridge` container, sshd) makes it taken. The
//! driver holds no socket of its own: its DNAT wins over a process that
//! binds the port later, as Docker's does with the userland proxy off.
//! `HostPort` 0 takes the first free port of the kernel's ephemeral range,
//! a range `HostPort`..`HostPortEnd` its first free one, as Docker's port
//! allocator does.
//!
//! Revoke is called for every container that stops, so which endpoints
//! have rules is kept in memory (read from iptables once) and an endpoint
//! without any costs no `iptables` call.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

use plugin_api::wire::PortBinding;

use crate::error::{DriverError, Result};
use crate::host::firewall::published::{
    PORT_COMMENT_PREFIX, PublishedPort, Transport, insert_script, port_comment, port_owner,
};
use crate::host::firewall::{Firewall, Listing, Restore};
use crate::names::DockerId;

/// One kernel's ports are chosen one endpoint at a time, whichever
/// backend asks (both share the host's port space).
static CHOOSING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where the kernel says its ephemeral ports are.
const EPHEMERAL_RANGE: &str = "net/ipv4/ip_local_port_range";

/// One entry of a port map, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub transport: Transport,
    /// `None`: every address of the host.
    pub host_ip: Option<Ipv4Addr>,
    /// The host ports to choose from; `None`: any ephemeral one.
    pub host_ports: Option<RangeInclusive<u16>>,
    pub container_port: u16,
}

impl PortRequest {
    /// A libnetwork port binding, refused with a reason where the driver
    /// cannot publish it (IPv6 host addresses: the gateway is IPv4 only).
    pub fn from_binding(binding: &PortBinding) -> Result<PortRequest> {
        let what = || format!("published port {}/{}", binding.port, binding.proto);
        let transport = Transport::of(binding.proto)
            .ok_or_else(|| DriverError::invalid(what(), "only tcp, udp and sctp ports publish"))?;
        if binding.port == 0 {
            return Err(DriverError::invalid(what(), "container port 0"));
        }
        let host_ip = match binding.host_ip.as_str() {
            "" | "0.0.0.0" => None,
            text => Some(text.parse::<Ipv4Addr>().map_err(|_| {
                DriverError::invalid(
                    what(),
                    format!("host address {text:?}: only IPv4 host addresses publish (the network's gateway is IPv4)"),
                )
            })?),
        };
        let host_ports = match (binding.host_port, binding.host_port_end) {
            (0, _) => None,
            (first, last) if last <= first => Some(first..=first),
            (first, last) => Some(first..=last),
        };
        Ok(PortRequest {
            transport,
            host_ip,
            host_ports,
            container_port: binding.port,
        })
    }
}

/// The published ports of one backend's endpoints on this host.
#[derive(Clone)]
pub struct PublishedPorts {
    firewall: Firewall,
    host: String,
    /// `ovn` or `ovs`: each backend's reconciliation sees only its own.
    kind: &'static str,
    /// The endpoints with rules; `None` until first read from iptables.
    with_rules: Arc<Mutex<Option<BTreeSet<String>>>>,
}

impl PublishedPorts {
    pub fn new(firewall: Firewall, host: &str, kind: &'static str) -> PublishedPorts {
        PublishedPorts {
            firewall,
            host: host.to_string(),
            kind,
            with_rules: Arc::default(),
        }
    }

    /// Publishes `requests` for `endpoint` (at `address`): chooses each
    /// host port, then adds every rule in one call (a retry's earlier
    /// rules go first).
    pub async fn publish(
        &self,
        endpoint: &DockerId,
        address: Ipv4Addr,
        requests: &[PortRequest],
    ) -> Result<Vec<PublishedPort>> {
        let _one_at_a_time = CHOOSING.lock().await;
        let listed = self.list_all().await?;
        let owner = port_owner(self.kind, endpoint.as_str());
        let (earlier, others): (Vec<_>, Vec<_>) =
            listed.into_iter().partition(|(o, _)| *o == owner);
        let mut taken: Vec<(String, PublishedPort)> = others;
        let mut chosen = Vec::new();
        for request in requests {
            let port = choose(request, address, &taken, ephemeral_range())
                .map_err(|reason| self.unavailable(endpoint, request, reason))?;
            taken.push((owner.clone(), port));
            chosen.push(port);
        }
        if !earlier.is_empty() {
            self.delete_rules_of(&owner).await?;
        }
        let comment = port_comment(self.kind, endpoint.as_str(), &self.host);
        self.firewall
            .restore(&insert_script(&chosen, &comment))
            .await?;
        self.remember(endpoint.as_str(), true);
        tracing::info!(%endpoint, ports = ?chosen.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            "ports published");
        Ok(chosen)
    }

    fn unavailable(
        &self,
        endpoint: &DockerId,
        request: &PortRequest,
        reason: String,
    ) -> DriverError {
        let host_ip = request.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let ports = match &request.host_ports {
            Some(range) if range.start() == range.end() => range.start().to_string(),
            Some(range) => format!("{}-{}", range.start(), range.end()),
            None => "(any)".to_string(),
        };
        DriverError::PortUnavailable {
            endpoint: endpoint.to_string(),
            port: format!("{host_ip}:{ports}/{}", request.transport.name()),
            reason,
        }
    }

    /// Removes the endpoint's published ports; `Ok(false)` if it had none.
    pub async fn revoke(&self, endpoint: &str) -> Result<bool> {
        if !self.known_with_rules(endpoint).await? {
            return Ok(false);
        }
        let _one_at_a_time = CHOOSING.lock().await;
        let removed = self
            .delete_rules_of(&port_owner(self.kind, endpoint))
            .await?;
        self.remember(endpoint, false);
        if removed {
            tracing::info!(%endpoint, "published ports removed");
        }
        Ok(removed)
    }

    /// This backend's published ports on this host, by endpoint.
    pub async fn list(&self) -> Result<Vec<(String, PublishedPort)>> {
        let prefix = format!("{}:", self.kind);
        let ports = self
            .list_all()
            .await?
            .into_iter()
            .filter_map(|(owner, port)| Some((owner.strip_prefix(&prefix)?.to_string(), port)));
        Ok(ports.collect())
    }

    /// The endpoints of this backend with published ports in `listing`.
    pub fn endpoints_in(&self, listing: &Listing) -> Vec<String> {
        let prefix = format!("{}:", self.kind);
        let mut endpoints: Vec<String> = listing
            .rules(PORT_COMMENT_PREFIX, &self.host)
            .into_iter()
            .filter_map(|rule| Some(rule.switch.strip_prefix(&prefix)?.to_string()))
            .collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        endpoints
    }

    /// Every published port of the driver on this host (of either
    /// backend), by `<backend>:<endpoint>`: the `PREROUTING` DNATs.
    async fn list_all(&self) -> Result<Vec<(String, PublishedPort)>> {
        let listing = self.firewall.nat_listing().await?;
        let rules = listing.rules(PORT_COMMENT_PREFIX, &self.host);
        Ok(rules
            .iter()
            .filter(|rule| rule.table == "nat" && rule.chain == "PREROUTING")
            .filter_map(|rule| Some((rule.switch.clone(), PublishedPort::parse(rule)?)))
            .collect())
    }

    /// Deletes the rules of `owner` in one `iptables-restore`; if that
    /// fails (a rule went meanwhile), one at a time, tolerating the gone.
    async fn delete_rules_of(&self, owner: &str) -> Result<bool> {
        let listing = self.firewall.nat_listing().await?;
        let rules = listing.rules(PORT_COMMENT_PREFIX, &self.host);
        let ours: Vec<_> = rules.iter().filter(|r| r.switch == owner).collect();
        let mut script = Restore::default();
        ours.iter().for_each(|rule| script.delete(rule));
        if !script.is_empty() && self.firewall.restore(&script).await.is_err() {
            self.firewall.delete_all(&ours).await?;
        }
        Ok(!ours.is_empty())
    }

    /// Whether the endpoint has rules: from memory, read from iptables
    /// the first time (under the lock, so that no publish is missed).
    async fn known_with_rules(&self, endpoint: &str) -> Result<bool> {
        if let Some(endpoints) = self.with_rules.lock().expect("with_rules").as_ref() {
            return Ok(endpoints.contains(endpoint));
        }
        let _one_at_a_time = CHOOSING.lock().await;
        let listing = self.firewall.nat_listing().await?;
        let endpoints: BTreeSet<String> = self.endpoints_in(&listing).into_iter().collect();
        let has = endpoints.contains(endpoint);
        self.with_rules
            .lock()
            .expect("with_rules")
            .get_or_insert(endpoints);
        Ok(has)
    }

    fn remember(&self, endpoint: &str, has_rules: bool) {
        let mut known = self.with_rules.lock().expect("with_rules");
        if let Some(endpoints) = known.as_mut() {
            match has_rules {
                true => endpoints.insert(endpoint.to_string()),
                false => endpoints.remove(endpoint),
            };
        }
    }
}

/// The first host port of `request` that no published port takes and a
/// socket can be bound to; why not, if none is.
fn choose(
    request: &PortRequest,
    address: Ipv4Addr,
    taken: &[(String, PublishedPort)],
    ephemeral: RangeInclusive<u16>,
) -> std::result::Result<PublishedPort, String> {
    let candidates = request.host_ports.clone().unwrap_or(ephemeral);
    let mut why = String::from("the range is empty");
    for host_port in candidates {
        let candidate = PublishedPort {
            transport: request.transport,
            host_ip: request.host_ip,
            host_port,
            container: SocketAddrV4::new(address, request.container_port),
        };
        if let Some((owner, _)) = taken.iter().find(|(_, p)| p.clashes(&candidate)) {
            why = format!("already published for endpoint {owner}");
            continue;
        }
        match bindable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                why = "in use by a process of this host".to_string();
            }
            Err(e) if e.kind() == ErrorKind::AddrNotAvailable => {
                return Err("the host address is not one of this host's".to_string());
            }
            Err(e) => return Err(format!("cannot bind a socket to it: {e}")),
        }
    }
    Err(why)
}

/// Whether a socket can be bound to the port now (it is dropped at once).
fn bindable(port: &PublishedPort) -> std::io::Result<()> {
    let address = SocketAddrV4::new(
        port.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
        port.host_port,
    );
    match port.transport {
        // std sets SO_REUSEADDR: only a listening socket makes it fail,
        // which is what taking a TCP port means.
        Transport::Tcp => TcpListener::bind(address).map(drop),
        Transport::Udp => UdpSocket::bind(address).map(drop),
        // No SCTP socket in std: only the driver's own rules are checked.
        Transport::Sctp => Ok(()),
    }
}

/// The kernel's ephemeral port range (Docker's allocator's default when
/// it cannot be read).
fn ephemeral_range() -> RangeInclusive<u16> {
    let read = std::fs::read_to_string(super::sysctl::path(EPHEMERAL_RANGE)).ok();
    let parsed = read.as_deref().and_then(|text| {
        let mut bounds = text.split_whitespace().map(|w| w.parse::<u16>().ok());
        Some(bounds.next()??..=bounds.next()??)
    });
    parsed.unwrap_or(49153..=65535)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::wire::IpProtocol;

    fn binding(host_ip: &str, host_port: u16, host_port_end: u16) -> PortBinding {
        PortBinding {
            proto: IpProtocol::TCP,
            ip: String::new(),
            port: 8080,
            host_ip: host_ip.into(),
            host_port,
            host_port_end,
        }
    }

    #[test]
    fn bindings_become_requests_and_bad_ones_say_why() {
        let request = PortRequest::from_binding(&binding("", 18080, 18080)).unwrap();
        assert_eq!(request.host_ports, Some(18080..=18080));
        assert_eq!(request.host_ip, None);
        let any = PortRequest::from_binding(&binding("127.0.0.1", 0, 0)).unwrap();
        assert_eq!(
            (any.host_ports, any.host_ip),
            (None, Some(Ipv4Addr::LOCALHOST))
        );
        let range = PortRequest::from_binding(&binding("0.0.0.0", 18080, 18089)).unwrap();
        assert_eq!(range.host_ports, Some(18080..=18089));
        let v6 = PortRequest::from_binding(&binding("::", 80, 80)).unwrap_err();
        assert!(v6.to_string().contains("only IPv4"), "{v6}");
        let icmp = PortBinding {
            proto: IpProtocol::ICMP,
            ..binding("", 1, 1)
        };
        assert!(PortRequest::from_binding(&icmp).is_err());
    }

    #[test]
    fn a_port_taken_by_a_listener_or_a_published_port_is_skipped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = listener.local_addr().unwrap().port();
        let request = PortRequest {
            transport: Transport::Tcp,
            host_ip: Some(Ipv4Addr::LOCALHOST),
            host_ports: Some(busy..=busy),
            container_port: 80,
        };
        let address = Ipv4Addr::new(10, 1, 0, 2);
        let why = choose(&request, address, &[], 1..=1).unwrap_err();
        assert_eq!(why, "in use by a process of this host");
        // Free on every address (a port the kernel gave 127.0.0.1 may be
        // bound on another address by some other socket).
        let free = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let wide = PortRequest {
            host_ports: Some(port..=port),
            host_ip: None,
            ..request
        };
        let chosen = choose(&wide, address, &[], 1..=1).unwrap();
        let taken = [("ovn:e1".to_string(), chosen)];
        let local = PortRequest {
            host_ip: Some(Ipv4Addr::LOCALHOST),
            ..wide
        };
        let why = choose(&local, address, &taken, 1..=1).unwrap_err();
        assert_eq!(why, "already published for endpoint ovn:e1");
    }
}
