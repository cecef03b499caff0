//! A `-d ovs` network as the bridge records it: one key of the bridge's
//! `external_ids` per network (`docker-ovn:network:<id>`), its value the
//! network's index, subnets, gateways, MTU and internal flag. The bridge
//! is the network's only home (no OVN Northbound here), and networks are
//! few: one row, read from the replica, gives every network at start.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::docker::network_spec::NetworkSpec;
use crate::external_ids::OVS_NETWORK_PREFIX;
use crate::host::gateway::{Gateway, OVS_GATEWAY_PREFIX};
use crate::host::local_switch::LocalSwitch;
use crate::names::DockerId;
use crate::ovs::network_mode::NetworkMode;

/// One `-d ovs` network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRecord {
    pub network: DockerId,
    /// What keeps its packets apart inside the bridge (the network
    /// register); 1 and up, unique on the bridge.
    pub index: u16,
    pub subnet4: Option<Ipv4Net>,
    pub gateway4: Option<Ipv4Addr>,
    pub subnet6: Option<Ipv6Net>,
    pub gateway6: Option<Ipv6Addr>,
    pub mtu: u32,
    pub internal: bool,
    /// How it reaches other hosts.
    pub mode: NetworkMode,
    /// A VLAN network's uplink.
    pub uplink: Option<String>,
    /// Its containers reach each other (not `ovs.icc=false`).
    pub icc: bool,
    /// Each container's rate limit in Mbit/s (`ovs.rate`).
    pub rate_mbit: Option<u32>,
}

impl NetworkRecord {
    /// The record of `spec` in `mode` (on `uplink`, a VLAN network) with
    /// index `index`, and the MTU the mode leaves of `underlay_mtu` unless
    /// the spec sets one.
    pub fn new(
        spec: &NetworkSpec,
        mode: NetworkMode,
        uplink: Option<String>,
        index: u16,
        underlay_mtu: u32,
    ) -> NetworkRecord {
        let v4 = |n: IpNet| match n {
            IpNet::V4(n) => Some(n),
            IpNet::V6(_) => None,
        };
        let v6 = |n: IpNet| match n {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        };
        NetworkRecord {
            network: spec.network.clone(),
            index,
            subnet4: spec.subnet4.and_then(v4),
            gateway4: spec.gateway4.and_then(|a| match a {
                std::net::IpAddr::V4(a) => Some(a),
                std::net::IpAddr::V6(_) => None,
            }),
            subnet6: spec.subnet6.and_then(v6),
            gateway6: spec.gateway6.and_then(|a| match a {
                std::net::IpAddr::V6(a) => Some(a),
                std::net::IpAddr::V4(_) => None,
            }),
            mtu: spec.mtu.unwrap_or(mode.mtu(underlay_mtu)),
            internal: spec.internal,
            mode,
            uplink,
            icc: spec.policy.icc,
            rate_mbit: spec.policy.rate_mbit,
        }
    }

    /// The bridge's `external_ids` key of network `network`.
    pub fn key_of(network: &DockerId) -> String {
        format!("{OVS_NETWORK_PREFIX}{network}")
    }

    pub fn key(&self) -> String {
        NetworkRecord::key_of(&self.network)
    }

    /// A record read back from the bridge; `None` if it is not one.
    pub fn parse(key: &str, value: &str) -> Option<NetworkRecord> {
        let id = key.strip_prefix(OVS_NETWORK_PREFIX)?;
        let network = DockerId::parse("network", id).ok()?;
        Some(NetworkRecord {
            network,
            index: field(value, "index")?.parse().ok().filter(|i| *i > 0)?,
            subnet4: optional(value, "subnet4")?,
            gateway4: optional(value, "gateway4")?,
            subnet6: optional(value, "subnet6")?,
            gateway6: optional(value, "gateway6")?,
            mtu: field(value, "mtu")?.parse().ok()?,
            internal: field(value, "internal")? == "true",
            mode: NetworkMode::parse(|name| field(value, name))?,
            uplink: field(value, "uplink").map(str::to_string),
            icc: field(value, "icc") != Some("false"),
            rate_mbit: optional(value, "rate")?,
        })
    }

    /// The name its gateway port and firewall rules are derived from
    /// (`ovs:` + the network's short id: never an OVN switch's name).
    pub fn gateway_name(&self) -> String {
        format!("{OVS_GATEWAY_PREFIX}{}", self.network.short())
    }

    /// Its gateway on this host: none for `--internal` networks, networks
    /// without an IPv4 gateway, or with gateways off.
    pub fn gateway(&self, enabled: bool) -> Option<Gateway> {
        if !enabled || self.internal {
            return None;
        }
        Gateway::new(
            &self.gateway_name(),
            self.gateway4?,
            self.subnet4?,
            self.mtu,
        )
    }
}

/// The record's value: `index=N mtu=M internal=B mode=M [vni=N]`, then each subnet and
/// gateway present, the uplink, and the policy where it is not the
/// default (`icc=false`, `rate=N`), space-separated (no value holds a
/// space).
impl fmt::Display for NetworkRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "index={} mtu={} internal={} {}",
            self.index, self.mtu, self.internal, self.mode
        )?;
        let optional: [(&str, Option<String>); 4] = [
            ("subnet4", self.subnet4.map(|n| n.to_string())),
            ("gateway4", self.gateway4.map(|a| a.to_string())),
            ("subnet6", self.subnet6.map(|n| n.to_string())),
            ("gateway6", self.gateway6.map(|a| a.to_string())),
        ];
        let policy = [
            ("icc", (!self.icc).then(|| "false".to_string())),
            ("rate", self.rate_mbit.map(|r| r.to_string())),
        ];
        for (name, value) in optional
            .into_iter()
            .chain([("uplink", self.uplink.clone())])
            .chain(policy)
        {
            if let Some(value) = value {
                write!(f, " {name}={value}")?;
            }
        }
        Ok(())
    }
}

/// The value of `name=` in a record.
fn field<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value
        .split(' ')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// An optional field: `Some(None)` when absent, `None` when it does not parse.
fn optional<T: std::str::FromStr>(value: &str, name: &str) -> Option<Option<T>> {
    field(value, name).map(str::parse).transpose().ok()
}

/// Every network recorded on `bridge`'s row.
pub fn network_records(bridge: &LocalSwitch) -> Vec<NetworkRecord> {
    bridge
        .bridge_ids(OVS_NETWORK_PREFIX)
        .iter()
        .filter_map(|(k, v)| NetworkRecord::parse(k, v))
        .collect()
}

/// The lowest index from 1 that none of `records` holds.
pub fn free_index(records: &[NetworkRecord]) -> Option<u16> {
    (1..=u16::MAX).find(|i| records.iter().all(|r| r.index != *i))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "7a1bd9b1c3e8a4f90a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071";

    fn record() -> NetworkRecord {
        NetworkRecord {
            network: DockerId::parse("network", ID).unwrap(),
            index: 3,
            subnet4: Some("10.1.0.0/24".parse().unwrap()),
            gateway4: Some("10.1.0.1".parse().unwrap()),
            subnet6: Some("fd00:1::/64".parse().unwrap()),
            gateway6: None,
            mtu: 1500,
            internal: false,
            mode: NetworkMode::Vxlan { vni: 77 },
            uplink: None,
            icc: true,
            rate_mbit: None,
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let record = record();
        let value = record.to_string();
        assert_eq!(
            value,
            "index=3 mtu=1500 internal=false mode=vxlan vni=77 subnet4=10.1.0.0/24 \
             gateway4=10.1.0.1 subnet6=fd00:1::/64"
        );
        assert_eq!(
            NetworkRecord::parse(&record.key(), &value),
            Some(record.clone())
        );
        // Written before modes: a network of this host alone.
        let old = NetworkRecord::parse(&record.key(), "index=3 mtu=1500 internal=false");
        assert_eq!(old.map(|r| r.mode), Some(NetworkMode::Local));
        let policed = NetworkRecord {
            icc: false,
            rate_mbit: Some(50),
            ..record.clone()
        };
        let value = policed.to_string();
        assert!(value.ends_with(" icc=false rate=50"), "{value}");
        assert_eq!(NetworkRecord::parse(&policed.key(), &value), Some(policed));
    }

    #[test]
    fn foreign_or_damaged_records_are_not_networks() {
        let key = record().key();
        for (key, value) in [
            ("docker-ovn:network:xyz", "index=1 mtu=1500 internal=false"),
            (key.as_str(), "index=0 mtu=1500 internal=false"),
            (key.as_str(), "index=1 internal=false"),
            (key.as_str(), "index=1 mtu=1500 internal=false subnet4=bad"),
            (key.as_str(), "index=1 mtu=1500 internal=false mode=vxlan"),
        ] {
            assert_eq!(NetworkRecord::parse(key, value), None, "{value}");
        }
    }

    #[test]
    fn internal_networks_and_ipv6_only_ones_have_no_gateway() {
        let record = record();
        assert_eq!(
            record.gateway(true).unwrap().address.to_string(),
            "10.1.0.1/24"
        );
        assert!(record.gateway(false).is_none());
        let internal = NetworkRecord {
            internal: true,
            ..record.clone()
        };
        assert!(internal.gateway(true).is_none());
        let v6_only = NetworkRecord {
            subnet4: None,
            gateway4: None,
            ..record.clone()
        };
        assert!(v6_only.gateway(true).is_none());
        assert_eq!(free_index(&[record]), Some(1));
    }
}
