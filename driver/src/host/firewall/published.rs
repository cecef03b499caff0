//! The rules of a published port (`docker run -p`): a DNAT of the host's
//! port to the container's, in nat `PREROUTING` (from outside and from
//! containers) and `OUTPUT` (from the host itself), both commented
//! `docker-ovn-port:<backend>:<endpoint>@<host>`. What every published
//! port of a network needs besides (through Docker's `FORWARD DROP` and
//! the networks' isolation, hairpin and loopback masquerade, the loopback
//! guard) is its gateway's, once per network ([`super::GatewayRules`]).
//!
//! The DNATs sit in the base chains, not in Docker's `DOCKER` chain:
//! dockerd flushes that one when it starts, and never the base chains.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use plugin_api::wire::IpProtocol;

use super::{Restore, Rule};

/// The comment prefix of every published port's rule.
pub const PORT_COMMENT_PREFIX: &str = "docker-ovn-port:";
/// The nat chains a published port has a DNAT in.
pub const DNAT_CHAINS: [&str; 2] = ["PREROUTING", "OUTPUT"];

/// A transport protocol a port is published for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    Tcp,
    Udp,
    Sctp,
}

impl Transport {
    /// The protocol of libnetwork's number; `None` for one without ports.
    pub fn of(protocol: IpProtocol) -> Option<Transport> {
        match protocol {
            IpProtocol::TCP => Some(Transport::Tcp),
            IpProtocol::UDP => Some(Transport::Udp),
            IpProtocol::SCTP => Some(Transport::Sctp),
            _ => None,
        }
    }

    /// Its name, as iptables takes and prints it.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Sctp => "sctp",
        }
    }

    fn parse(name: &str) -> Option<Transport> {
        [Transport::Tcp, Transport::Udp, Transport::Sctp]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

/// One port of the host published to a container's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublishedPort {
    pub transport: Transport,
    /// The host address it is published on; `None`: every address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container: SocketAddrV4,
}

impl PublishedPort {
    /// Whether `other` takes some of the same host port: the same
    /// transport and port on addresses that meet (one is every address).
    pub fn clashes(&self, other: &PublishedPort) -> bool {
        let addresses_meet = match (self.host_ip, other.host_ip) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        self.transport == other.transport && self.host_port == other.host_port && addresses_meet
    }

    /// Its DNAT's match and target with `comment`, as `iptables -S`
    /// prints them.
    pub fn spec(&self, comment: &str) -> Vec<String> {
        let transport = self.transport.name();
        let mut words: Vec<String> = Vec::new();
        if let Some(ip) = self.host_ip {
            words.extend(["-d".into(), format!("{ip}/32")]);
        }
        let port = self.host_port.to_string();
        words.extend(["-p", transport, "-m", transport, "--dport", &port].map(String::from));
        if self.host_ip.is_none() {
            words.extend(["-m", "addrtype", "--dst-type", "LOCAL"].map(String::from));
        }
        words.extend(["-m", "comment", "--comment", comment, "-j", "DNAT"].map(String::from));
        words.extend(["--to-destination".into(), self.container.to_string()]);
        words
    }

    /// The published port a listed DNAT rule of the driver stands for.
    pub fn parse(rule: &Rule) -> Option<PublishedPort> {
        let value = |option: &str| {
            let at = rule.spec.iter().position(|w| w == option)?;
            rule.spec.get(at + 1).map(String::as_str)
        };
        let host_ip = match value("-d") {
            Some(address) => Some(address.trim_end_matches("/32").parse().ok()?),
            None => None,
        };
        Some(PublishedPort {
            transport: Transport::parse(value("-p")?)?,
            host_ip,
            host_port: value("--dport")?.parse().ok()?,
            container: value("--to-destination")?.parse().ok()?,
        })
    }
}

impl fmt::Display for PublishedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host_ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        write!(
            f,
            "{host_ip}:{}/{} -> {}",
            self.host_port,
            self.transport.name(),
            self.container
        )
    }
}

/// The comment of the published ports of `endpoint` (of backend `kind`)
/// on host `host`.
pub fn port_comment(kind: &str, endpoint: &str, host: &str) -> String {
    format!(
        "{PORT_COMMENT_PREFIX}{}@{}",
        port_owner(kind, endpoint),
        super::comment_safe(host)
    )
}

/// What a published port's comment names: `<backend>:<endpoint>`.
pub fn port_owner(kind: &str, endpoint: &str) -> String {
    format!("{kind}:{endpoint}")
}

/// The script that adds the DNATs of `ports`, each commented `comment`.
pub fn insert_script(ports: &[PublishedPort], comment: &str) -> Restore {
    let mut script = Restore::default();
    for port in ports {
        for chain in DNAT_CHAINS {
            script.insert("nat", chain, &port.spec(comment));
        }
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::firewall::parse_rules;

    fn port(host_ip: Option<Ipv4Addr>, host_port: u16) -> PublishedPort {
        PublishedPort {
            transport: Transport::Tcp,
            host_ip,
            host_port,
            container: "10.1.0.2:8080".parse().unwrap(),
        }
    }

    #[test]
    fn a_listed_rule_parses_back_to_its_port() {
        let comment = port_comment("ovn", "e5c2", "lab host1");
        for published in [port(None, 18080), port(Some(Ipv4Addr::LOCALHOST), 5353)] {
            let line = format!(
                "-A PREROUTING {}",
                published
                    .spec(&comment)
                    .join(" ")
                    .replace(&comment, &format!("\"{comment}\""))
            );
            let rules = parse_rules("nat", &line, PORT_COMMENT_PREFIX, "lab host1");
            assert_eq!(rules.len(), 1, "{line}");
            assert_eq!(rules[0].switch, "ovn:e5c2");
            assert_eq!(PublishedPort::parse(&rules[0]), Some(published));
        }
    }

    #[test]
    fn every_address_clashes_with_each_address_and_transports_stay_apart() {
        let any = port(None, 80);
        let local = port(Some(Ipv4Addr::LOCALHOST), 80);
        let other = port(Some(Ipv4Addr::new(10, 0, 0, 1)), 80);
        assert!(any.clashes(&local) && local.clashes(&any));
        assert!(!local.clashes(&other));
        assert!(!any.clashes(&port(None, 81)));
        let udp = PublishedPort {
            transport: Transport::Udp,
            ..any
        };
        assert!(!any.clashes(&udp));
    }

    #[test]
    fn each_port_gets_a_dnat_in_prerouting_and_output() {
        let script = insert_script(&[port(None, 1), port(None, 2)], "c");
        let text = script.text();
        assert!(text.starts_with("*nat\n-I PREROUTING 1 "), "{text}");
        assert!(
            text.contains("-I OUTPUT 2 -p tcp -m tcp --dport 2 "),
            "{text}"
        );
        assert!(
            text.ends_with("--to-destination 10.1.0.2:8080\nCOMMIT\n"),
            "{text}"
        );
        assert_eq!(
            port(None, 18080).to_string(),
            "0.0.0.0:18080/tcp -> 10.1.0.2:8080"
        );
    }
}
