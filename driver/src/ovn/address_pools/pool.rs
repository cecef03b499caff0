//! One pool as the replica holds it, and the ids that name pools.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use ovsdb_client::rows::{AddressSet, TypedRow};
use ovsdb_client::{Row, Uuid};

use super::{ADDR_PREFIX, GATEWAY, POOL, RANGE, REF_PREFIX};
use crate::external_ids::{OWNER, OWNER_VALUE};

/// One pool as read from the replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub uuid: Uuid,
    pub id: String,
    pub subnet: IpNet,
    pub range: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub addresses: Vec<IpAddr>,
    pub external_ids: BTreeMap<String, String>,
}

impl Pool {
    /// The pool an `Address_Set` row is, read through its typed row;
    /// `None` for a set that is not the driver's or has no subnet.
    pub(super) fn from_row(uuid: Uuid, row: &Row) -> Option<Pool> {
        if row.map_str("external_ids", OWNER) != Some(OWNER_VALUE) {
            return None;
        }
        let set = AddressSet::from_row(uuid, row).ok()?;
        let ids = &set.external_ids;
        let net = |key: &str| ids.get(key).and_then(|v| v.parse::<IpNet>().ok());
        Some(Pool {
            uuid,
            subnet: net(POOL)?,
            range: net(RANGE),
            gateway: ids.get(GATEWAY).and_then(|v| v.parse().ok()),
            addresses: set
                .addresses
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect(),
            id: set.name,
            external_ids: set.external_ids,
        })
    }

    /// How many references `host` holds.
    pub fn refs_of(&self, host: &str) -> u64 {
        self.external_ids
            .get(&ref_key(host))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Hosts holding references.
    pub fn referencing_hosts(&self) -> usize {
        self.external_ids
            .keys()
            .filter(|k| k.starts_with(REF_PREFIX))
            .count()
    }

    /// The host an address was allocated by.
    pub fn owner_of(&self, address: &IpAddr) -> Option<&str> {
        self.allocation(address).map(|(host, _)| host)
    }

    /// Who allocated `address` and when (Unix seconds): the value
    /// `"<host> <seconds>"` of its `docker-ovn:addr:` key.
    pub(super) fn allocation(&self, address: &IpAddr) -> Option<(&str, u64)> {
        let value = self.external_ids.get(&addr_key(address))?;
        let (host, since) = value.split_once(' ').unwrap_or((value, "0"));
        Some((host, since.parse().unwrap_or(0)))
    }

    /// Addresses `host` allocated before `before` (Unix seconds), other
    /// than the gateway.
    pub(super) fn allocated_by(&self, host: &str, before: u64) -> Vec<IpAddr> {
        self.addresses
            .iter()
            .filter(|a| self.gateway.as_ref() != Some(*a))
            .filter(
                |a| matches!(self.allocation(a), Some((h, since)) if h == host && since < before),
            )
            .copied()
            .collect()
    }

    pub(super) fn is_free(&self, address: &IpAddr) -> bool {
        !self.addresses.contains(address) && self.gateway.as_ref() != Some(address)
    }

    /// `address/prefix` as Docker wants it.
    pub fn cidr(&self, address: IpAddr) -> String {
        format!("{address}/{}", self.subnet.prefix_len())
    }
}

pub(super) fn ref_key(host: &str) -> String {
    format!("{REF_PREFIX}{host}")
}

pub(super) fn addr_key(address: &IpAddr) -> String {
    format!("{ADDR_PREFIX}{address}")
}

/// What every pool id starts with.
const POOL_ID_PREFIX: &str = "docker_ovn_";
/// Longer than any pool id (an IPv6 subnet and an IPv6 range: 105).
const POOL_ID_MAX: usize = 128;

/// The pool id (and `Address_Set` name): the subnet and range spelled with
/// characters OVN accepts in address set names.
pub fn pool_id(subnet: &IpNet, range: Option<&IpNet>) -> String {
    let text = match range {
        Some(range) => format!("{POOL_ID_PREFIX}{subnet}_range_{range}"),
        None => format!("{POOL_ID_PREFIX}{subnet}"),
    };
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Whether `text` has the form of an id [`pool_id`] makes: anything
/// else cannot name a pool, and is refused before it reaches a lookup.
pub fn is_pool_id(text: &str) -> bool {
    text.len() <= POOL_ID_MAX
        && text.strip_prefix(POOL_ID_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}
