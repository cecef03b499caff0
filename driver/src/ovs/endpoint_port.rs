//! A `-d ovs` endpoint as its OVS port records it. CreateEndpoint makes
//! the veth pair and the port at once (as Docker's own bridge driver
//! does), so the port's Interface `external_ids` are the endpoint's only
//! record: its network, MAC and addresses, from which its flows are
//! computed again after any restart of the daemon or the switch.

use std::net::{Ipv4Addr, Ipv6Addr};

use flows::Mac;

use crate::external_ids::{CREATED, ENDPOINT, HOST, IPV4, IPV6, MAC, NETWORK, OWNER, OWNER_VALUE};
use crate::host::local_switch::{LocalSwitch, OwnedPort, id_of};
use crate::mac::MacAddr;
use crate::names::DockerId;
use crate::ovs::network_record::NetworkRecord;
use crate::ovs::pipeline::EndpointFlows;

/// One endpoint's port on the bridge, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPort {
    pub interface: String,
    pub endpoint: DockerId,
    pub network: DockerId,
    pub host: String,
    pub mac: MacAddr,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// Once ovs-vswitchd has given it one.
    pub ofport: Option<u32>,
    /// When CreateEndpoint made it (seconds since the epoch), if recorded.
    pub created: Option<u64>,
}

impl EndpointPort {
    /// The endpoint `port` records, if it is an endpoint's (not a
    /// gateway's) and its marks parse.
    pub fn from_port(port: &OwnedPort) -> Option<EndpointPort> {
        let id = |key| DockerId::parse(key, id_of(port, key)?).ok();
        Some(EndpointPort {
            interface: port.name.clone(),
            endpoint: id(ENDPOINT)?,
            network: id(NETWORK)?,
            host: id_of(port, HOST)?.to_string(),
            mac: id_of(port, MAC)?.parse().ok()?,
            ipv4: address(port, IPV4)?,
            ipv6: address(port, IPV6)?,
            ofport: port.ofport,
            created: id_of(port, CREATED).and_then(|t| t.parse().ok()),
        })
    }

    /// The Interface and Port `external_ids` that record it.
    pub fn external_ids(&self, created: u64) -> Vec<(String, String)> {
        let addresses = [
            self.ipv4.map(|a| (IPV4, a.to_string())),
            self.ipv6.map(|a| (IPV6, a.to_string())),
        ];
        [
            (OWNER, OWNER_VALUE.to_string()),
            (NETWORK, self.network.to_string()),
            (ENDPOINT, self.endpoint.to_string()),
            (HOST, self.host.clone()),
            (CREATED, created.to_string()),
            (MAC, self.mac.to_string()),
            ("attached-mac", self.mac.to_string()),
        ]
        .into_iter()
        .chain(addresses.into_iter().flatten())
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// What its flows need, once it has an ofport, in `network`.
    pub fn flows(&self, network: &NetworkRecord) -> Option<EndpointFlows> {
        Some(EndpointFlows {
            network: network.index,
            ofport: self.ofport?,
            mac: Mac::new(self.mac.0),
            ipv4: self.ipv4,
            ipv6: self.ipv6,
            rate_kbps: network.rate_mbit.map(|r| r.saturating_mul(1000)),
        })
    }
}

/// Host `host`'s endpoints on `bridge`.
pub fn endpoint_ports(bridge: &LocalSwitch, host: &str) -> Vec<EndpointPort> {
    bridge
        .owned_ports()
        .iter()
        .filter_map(EndpointPort::from_port)
        .filter(|p| p.host == host)
        .collect()
}

/// An optional address mark: `Some(None)` when absent, `None` when it
/// does not parse.
fn address<T: std::str::FromStr>(port: &OwnedPort, key: &str) -> Option<Option<T>> {
    id_of(port, key).map(str::parse).transpose().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb_client::Uuid;

    #[test]
    fn an_endpoint_reads_back_from_its_port_marks() {
        let endpoint = EndpointPort {
            interface: "ovne5c2f1a0b9d8".into(),
            endpoint: DockerId::parse("e", &"e5".repeat(32)).unwrap(),
            network: DockerId::parse("n", &"7a".repeat(32)).unwrap(),
            host: "h1".into(),
            mac: "0a:5a:0a:01:00:02".parse().unwrap(),
            ipv4: Some(Ipv4Addr::new(10, 1, 0, 2)),
            ipv6: None,
            ofport: Some(5),
            created: Some(1),
        };
        let port = OwnedPort {
            name: endpoint.interface.clone(),
            uuid: Uuid::nil(),
            external_ids: (endpoint.external_ids(1).into_iter())
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            installed: false,
            ofport: Some(5),
        };
        assert_eq!(EndpointPort::from_port(&port), Some(endpoint.clone()));
        let key = NetworkRecord::key_of(&endpoint.network);
        let network = NetworkRecord::parse(&key, "index=2 mtu=1500 internal=false rate=10");
        let flows = endpoint.flows(&network.unwrap()).unwrap();
        assert_eq!((flows.network, flows.ofport), (2, 5));
        assert_eq!(flows.rate_kbps, Some(10_000));
        let gateway = OwnedPort {
            external_ids: vec![(OWNER.into(), OWNER_VALUE.into())],
            ..port
        };
        assert_eq!(EndpointPort::from_port(&gateway), None);
    }
}
