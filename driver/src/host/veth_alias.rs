//! The alias of the host side of an endpoint's veth pair: the kernel's
//! mark that the pair is docker-ovn's, whose endpoint it is, for which
//! host (`system-id`) and bridge, and since when. Reconciliation reads it
//! back: two daemons sharing a kernel (tests, or a host running two) each
//! touch only their host's pairs, each backend only the pairs of its
//! bridge (`-d ovn` on the integration bridge, `-d ovs` on its own), and a
//! pair's age tells a call in flight from one that never finished.

use std::fmt;

use crate::names::DockerId;

/// What every alias of the driver starts with.
pub const PREFIX: &str = "docker-ovn endpoint ";

/// A parsed alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethAlias {
    pub endpoint: DockerId,
    /// Seconds since the Unix epoch when the pair was created.
    pub created: u64,
    /// The OVS bridge whose port the pair's host side is.
    pub bridge: String,
    pub host: String,
}

impl VethAlias {
    /// The alias's text, or `None` if it is not one of the driver's.
    pub fn parse(alias: &str) -> Option<VethAlias> {
        let rest = alias.strip_prefix(PREFIX)?;
        let (endpoint, rest) = rest.split_once(" created ")?;
        let (created, rest) = rest.split_once(" bridge ")?;
        let (bridge, host) = rest.split_once(" host ")?;
        Some(VethAlias {
            endpoint: DockerId::parse("alias", endpoint).ok()?,
            created: created.parse().ok()?,
            bridge: bridge.to_string(),
            host: host.to_string(),
        })
    }
}

impl fmt::Display for VethAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The host goes last: a system-id may hold any character (a
        // bridge name holds no space).
        write!(
            f,
            "{PREFIX}{} created {} bridge {} host {}",
            self.endpoint, self.created, self.bridge, self.host
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn aliases_round_trip() {
        let alias = VethAlias {
            endpoint: DockerId::parse("EndpointID", ID).unwrap(),
            created: 1_800_000_000,
            bridge: "br-docker".into(),
            host: "lab host 1".into(),
        };
        let text = alias.to_string();
        assert!(text.len() < 256, "IFALIASZ");
        assert_eq!(VethAlias::parse(&text), Some(alias));
    }

    #[test]
    fn foreign_aliases_are_not_ours() {
        for foreign in [
            "",
            "uplink",
            "docker-ovn endpoint xyz created 1 host h",
            &format!("docker-ovn endpoint {ID}"),
            &format!("docker-ovn endpoint {ID} created soon bridge b host h"),
            &format!("docker-ovn endpoint {ID} created 1 host h"),
            &format!("other {ID} created 1 host h"),
        ] {
            assert_eq!(VethAlias::parse(foreign), None, "{foreign}");
        }
    }
}
