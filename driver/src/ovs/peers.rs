//! The other hosts of `-d ovs` networks, as each host's own Open_vSwitch
//! database lists them: no store of the driver's own, and no restart to
//! change them (the daemon follows the row).
//!
//! ```text
//! ovs-vsctl set open_vswitch . \
//!     external_ids:docker-ovn-peers="192.0.2.12=10.200.2.0/24,192.0.2.13=10.200.3.0/24" \
//!     external_ids:docker-ovn-tunnel-ip=192.0.2.11 \
//!     external_ids:docker-ovn-host-cidr=10.200.1.0/24
//! ```
//! A peer is its underlay address, with the CIDR of its containers for
//! routed networks. `serve --peer IP[=CIDR]` adds peers the row does not
//! list. This host's own address may be in the list (one list for every
//! host): it is left out. An entry that does not parse is left out and
//! reported (`docker-ovn status`, the log), never half read.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;

use crate::host::local_switch::LocalSwitch;

/// The Open_vSwitch row's keys.
pub const PEERS_KEY: &str = "docker-ovn-peers";
pub const TUNNEL_IP_KEY: &str = "docker-ovn-tunnel-ip";
pub const HOST_CIDR_KEY: &str = "docker-ovn-host-cidr";
/// The tunnel address OVN uses, when `docker-ovn-tunnel-ip` is not set.
const OVN_ENCAP_IP_KEY: &str = "ovn-encap-ip";

/// One other host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Peer {
    /// Its underlay address: VXLAN's remote end, routed networks' next hop.
    pub address: Ipv4Addr,
    /// The CIDR its routed networks' containers are in.
    pub cidr: Option<Ipv4Net>,
}

impl FromStr for Peer {
    type Err = String;

    /// `IP` or `IP=CIDR`.
    fn from_str(text: &str) -> Result<Peer, String> {
        let (address, cidr) = match text.split_once('=') {
            Some((address, cidr)) => (address, Some(cidr)),
            None => (text, None),
        };
        let address = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: not IPv4ADDRESS[=CIDR]"))?;
        let cidr = cidr
            .map(|c| c.trim().parse::<Ipv4Net>().map(|c| c.trunc()))
            .transpose()
            .map_err(|_| format!("{text:?}: the part after = is not an IPv4 CIDR"))?;
        Ok(Peer { address, cidr })
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cidr {
            Some(cidr) => write!(f, "{}={cidr}", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// This host's settings for `-d ovs` across hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerSettings {
    /// This host's tunnel address.
    pub tunnel_ip: Option<Ipv4Addr>,
    /// The CIDR this host's routed networks lie in.
    pub host_cidr: Option<Ipv4Net>,
    /// The other hosts, by address (one entry each).
    pub peers: Vec<Peer>,
    /// Entries and values that did not parse, to report.
    pub problems: Vec<String>,
}

impl PeerSettings {
    /// The settings in `ovs`'s Open_vSwitch row, with `extra` peers (from
    /// the command line) added where the row does not list them.
    pub fn read(ovs: &LocalSwitch, extra: &[Peer]) -> PeerSettings {
        let key = |k: &str| ovs.external_id(k);
        PeerSettings::from_values(
            key(PEERS_KEY).as_deref(),
            key(TUNNEL_IP_KEY)
                .or_else(|| key(OVN_ENCAP_IP_KEY))
                .as_deref(),
            key(HOST_CIDR_KEY).as_deref(),
            extra,
        )
    }

    /// The settings of these values (see [`PeerSettings::read`]).
    pub fn from_values(
        peers: Option<&str>,
        tunnel_ip: Option<&str>,
        host_cidr: Option<&str>,
        extra: &[Peer],
    ) -> PeerSettings {
        let mut problems = Vec::new();
        let tunnel_ip: Option<Ipv4Addr> = parsed(TUNNEL_IP_KEY, tunnel_ip, &mut problems);
        let host_cidr = parsed(HOST_CIDR_KEY, host_cidr, &mut problems).map(|c: Ipv4Net| c.trunc());
        let mut by_address = BTreeMap::new();
        let listed = peers.unwrap_or_default().split([',', ' ']);
        for entry in listed.map(str::trim).filter(|e| !e.is_empty()) {
            match entry.parse::<Peer>() {
                Ok(peer) => {
                    by_address.insert(peer.address, peer);
                }
                Err(problem) => problems.push(format!("{PEERS_KEY}: {problem}")),
            }
        }
        for peer in extra {
            by_address.entry(peer.address).or_insert(*peer);
        }
        by_address.retain(|address, _| Some(*address) != tunnel_ip);
        PeerSettings {
            tunnel_ip,
            host_cidr,
            peers: by_address.into_values().collect(),
            problems,
        }
    }

    pub fn addresses(&self) -> Vec<Ipv4Addr> {
        self.peers.iter().map(|p| p.address).collect()
    }
}

/// `value` parsed, or `None` with the problem noted.
fn parsed<T: FromStr>(key: &str, value: Option<&str>, problems: &mut Vec<String>) -> Option<T> {
    let value = value?;
    let parsed = value.trim().parse().ok();
    if parsed.is_none() {
        problems.push(format!("{key}={value:?} does not parse"));
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_read_with_their_cidrs_and_this_host_left_out() {
        let extra = ["192.0.2.14".parse().unwrap()];
        let settings = PeerSettings::from_values(
            Some("192.0.2.12=10.200.2.7/24, 192.0.2.11=10.200.1.0/24,192.0.2.13"),
            Some("192.0.2.11"),
            Some("10.200.1.0/24"),
            &extra,
        );
        assert_eq!(settings.tunnel_ip, Some(Ipv4Addr::new(192, 0, 2, 11)));
        assert_eq!(settings.host_cidr, Some("10.200.1.0/24".parse().unwrap()));
        let listed: Vec<String> = settings.peers.iter().map(Peer::to_string).collect();
        assert_eq!(
            listed,
            ["192.0.2.12=10.200.2.0/24", "192.0.2.13", "192.0.2.14"]
        );
        assert!(settings.problems.is_empty());
    }

    #[test]
    fn entries_that_do_not_parse_are_left_out_and_reported() {
        let settings = PeerSettings::from_values(
            Some("192.0.2.12,host-b,192.0.2.13=10.200.3.0/33"),
            Some("not an address"),
            None,
            &[],
        );
        assert_eq!(settings.addresses(), [Ipv4Addr::new(192, 0, 2, 12)]);
        assert_eq!(settings.tunnel_ip, None);
        assert_eq!(settings.problems.len(), 3, "{:?}", settings.problems);
        assert!(settings.problems[0].contains("docker-ovn-tunnel-ip"));
        assert!(settings.problems[1].contains("\"host-b\""));
    }
}
