//! The `ovn` IPAM driver's state: address pools in the OVN Northbound
//! database, shared by every host.
//!
//! A pool is an `Address_Set` row named by its subnet (and `--ip-range`):
//! `addresses` holds every allocated address, `external_ids` the subnet,
//! range, gateway, each host's reference count (`docker-ovn:ref:<host>`)
//! and each address's owner host and allocation time (`docker-ovn:addr:<ip>`
//! = `"<host> <unix seconds>"`). An allocation is
//! one transaction that first `wait`s for the address to be absent from the
//! set, so two hosts can never both get it: the loser retries with the
//! next free address.

use std::time::Duration;

use ipnet::IpNet;
use ovsdb_client::rows::AddressSet;
use ovsdb_client::rows::TypedRow;
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};
use ovsdb_client::{Client, Replica, Row, Value};

use crate::error::{DriverError, Result};
use crate::external_ids::{OWNER, OWNER_VALUE};

mod allocation;
mod pool;

use pool::ref_key;
pub use pool::{Pool, is_pool_id, pool_id};

const DB: &str = "OVN_Northbound";

/// The address space the `ovn` IPAM driver serves (local and global alike:
/// pools are shared by all hosts whatever the network's scope).
pub const ADDRESS_SPACE: &str = "docker-ovn";

const POOL: &str = "docker-ovn:pool";
const RANGE: &str = "docker-ovn:range";
const GATEWAY: &str = "docker-ovn:gateway";
const REF_PREFIX: &str = "docker-ovn:ref:";
const ADDR_PREFIX: &str = "docker-ovn:addr:";

/// Rounds of optimistic retry before a busy pool is reported as such.
const ATTEMPTS: usize = 64;
/// Where pools without `--subnet` come from, one /24 (or /64) each.
const AUTO_V4: &str = "10.200.0.0/16";
const AUTO_V6: &str = "fd00:d0c:0::/48";

/// The address pools, on the Northbound connection of the driver.
#[derive(Clone)]
pub struct AddressPools {
    client: Client,
    replica: Replica,
    host: String,
    /// This host's allocations go one at a time: concurrent ones would all
    /// race for the same lowest free address. Other hosts are raced with
    /// `wait`-guarded transactions.
    allocations: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl AddressPools {
    /// `replica` must monitor `Address_Set` (see [`crate::ovn::northbound`]).
    pub fn new(client: Client, replica: Replica, host: String) -> AddressPools {
        AddressPools {
            client,
            replica,
            host,
            allocations: Default::default(),
        }
    }

    pub fn get(&self, id: &str) -> Option<Pool> {
        self.replica.read(|t| {
            t.find_by(AddressSet::TABLE, "name", id)
                .and_then(|(uuid, row)| Pool::from_row(uuid, row))
        })
    }

    /// Every pool.
    pub fn pools(&self) -> Vec<Pool> {
        self.replica.read(|t| {
            t.rows(AddressSet::TABLE)
                .filter_map(|(uuid, row)| Pool::from_row(uuid, row))
                .collect()
        })
    }

    fn require(&self, id: &str) -> Result<Pool> {
        self.get(id)
            .ok_or_else(|| DriverError::invalid("PoolID", format!("no address pool {id:?}")))
    }

    /// Takes a reference on the pool for `subnet`/`range`, creating it if
    /// no host has yet. Returns the pool id.
    pub async fn acquire(&self, subnet: IpNet, range: Option<IpNet>) -> Result<String> {
        let id = pool_id(&subnet, range.as_ref());
        for _ in 0..ATTEMPTS {
            let done = match self.get(&id) {
                None if self.pool_row_exists(&id) => {
                    return Err(DriverError::Conflict(format!(
                        "address set {id} exists and is not managed by docker-ovn"
                    )));
                }
                None => self.create(&id, subnet, range).await?,
                Some(pool) => self.update_refs(&pool, 1).await?,
            };
            if done {
                return Ok(id);
            }
        }
        Err(self.busy(&id))
    }

    fn pool_row_exists(&self, id: &str) -> bool {
        self.replica
            .read(|t| t.find_by(AddressSet::TABLE, "name", id).is_some())
    }

    /// A subnet for a pool requested without one: the first /24 (IPv4) or
    /// /64 (IPv6) of the automatic range that no pool uses and none of
    /// `routed` (the host's routes) overlaps.
    pub fn free_subnet(&self, v6: bool, routed: &[IpNet]) -> Result<IpNet> {
        let (base, prefix): (IpNet, u8) = if v6 {
            (AUTO_V6.parse().map_err(|_| self.busy(AUTO_V6))?, 64)
        } else {
            (AUTO_V4.parse().map_err(|_| self.busy(AUTO_V4))?, 24)
        };
        let mut used: Vec<IpNet> = self.pools().into_iter().map(|p| p.subnet).collect();
        used.extend_from_slice(routed);
        let candidates = base.subnets(prefix).map_err(|_| self.busy(AUTO_V4))?;
        candidates
            .take(4096)
            .find(|c| !used.iter().any(|u| u.contains(c) || c.contains(u)))
            .ok_or_else(|| {
                DriverError::Conflict(format!("every automatic subnet in {base} is in use"))
            })
    }

    /// `Ok(false)`: someone created it first (retry as a reference).
    async fn create(&self, id: &str, subnet: IpNet, range: Option<IpNet>) -> Result<bool> {
        let mut txn = Transaction::new(DB);
        txn.wait(
            AddressSet::TABLE,
            vec![Condition::eq("name", id)],
            &["name"],
            WaitUntil::Equal,
            vec![],
            Some(Duration::ZERO),
        );
        let mut ids = vec![
            (OWNER.to_string(), OWNER_VALUE.to_string()),
            (POOL.to_string(), subnet.to_string()),
            (ref_key(&self.host), "1".to_string()),
        ];
        if let Some(range) = range {
            ids.push((RANGE.to_string(), range.to_string()));
        }
        txn.insert(
            AddressSet::TABLE,
            Row::new()
                .with("name", id)
                .with("external_ids", Value::map(ids)),
        );
        txn.comment(&format!("docker-ovn: address pool {id}"));
        match self.client.transact(&txn).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_timed_out_at(0) => Ok(false),
            Err(e) => Err(DriverError::nb(e)),
        }
    }

    /// Changes this host's reference count by `delta`, deleting the pool
    /// when no host references it any more. `Ok(false)`: the pool changed
    /// meanwhile (retry).
    async fn update_refs(&self, pool: &Pool, delta: i64) -> Result<bool> {
        let refs = (pool.refs_of(&self.host) as i64 + delta).max(0) as u64;
        let others = pool.referencing_hosts() - usize::from(pool.refs_of(&self.host) > 0);
        let mut txn = Transaction::new(DB);
        let current = Value::map(pool.external_ids.clone());
        txn.wait(
            AddressSet::TABLE,
            vec![Condition::uuid(pool.uuid)],
            &["external_ids"],
            WaitUntil::Equal,
            vec![Row::new().with("external_ids", current)],
            Some(Duration::ZERO),
        );
        let key = ref_key(&self.host);
        if refs == 0 && others == 0 {
            txn.delete(AddressSet::TABLE, vec![Condition::uuid(pool.uuid)]);
        } else {
            let mut mutations = vec![Mutation::delete("external_ids", Value::set([key.clone()]))];
            if refs > 0 {
                mutations.push(Mutation::insert(
                    "external_ids",
                    Value::map([(key, refs.to_string())]),
                ));
            }
            txn.mutate(
                AddressSet::TABLE,
                vec![Condition::uuid(pool.uuid)],
                mutations,
            );
        }
        match self.client.transact(&txn).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_timed_out_at(0) => Ok(false),
            Err(e) => Err(DriverError::nb(e)),
        }
    }

    /// Drops one of this host's references to pool `id`.
    pub async fn release(&self, id: &str) -> Result<()> {
        for _ in 0..ATTEMPTS {
            let Some(pool) = self.get(id) else {
                return Ok(());
            };
            if self.update_refs(&pool, -1).await? {
                return Ok(());
            }
        }
        Err(self.busy(id))
    }
}
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    use super::allocation::{candidates, first_host};
    use super::*;
    use ovsdb_client::Uuid;

    #[test]
    fn pool_ids_are_address_set_names() {
        let subnet: IpNet = "10.30.0.0/24".parse().unwrap();
        let range: IpNet = "10.30.0.128/25".parse().unwrap();
        assert_eq!(pool_id(&subnet, None), "docker_ovn_10_30_0_0_24");
        assert_eq!(
            pool_id(&subnet, Some(&range)),
            "docker_ovn_10_30_0_0_24_range_10_30_0_128_25"
        );
        let v6: IpNet = "fd00:94::/64".parse().unwrap();
        assert!(
            pool_id(&v6, None)
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
        let widest: IpNet = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"
            .parse()
            .unwrap();
        for id in [
            pool_id(&subnet, Some(&range)),
            pool_id(&widest, Some(&widest)),
        ] {
            assert!(is_pool_id(&id), "{id}");
        }
        for bad in [
            "",
            "docker_ovn_",
            "pool",
            "docker_ovn_../x",
            "docker_ovn_a;b",
        ] {
            assert!(!is_pool_id(bad), "{bad}");
        }
        assert!(!is_pool_id(&format!("docker_ovn_{}", "1".repeat(200))));
    }

    #[test]
    fn candidates_skip_network_and_broadcast_and_honour_the_range() {
        let pool = Pool {
            uuid: Uuid::nil(),
            id: "p".into(),
            subnet: "10.0.0.0/30".parse().unwrap(),
            range: None,
            gateway: None,
            addresses: vec![],
            external_ids: BTreeMap::new(),
        };
        let all: Vec<IpAddr> = candidates(&pool).collect();
        assert_eq!(
            all,
            vec![
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]
        );
        let ranged = Pool {
            subnet: "10.0.0.0/24".parse().unwrap(),
            range: Some("10.0.0.128/30".parse().unwrap()),
            ..pool
        };
        let first = candidates(&ranged).next().unwrap();
        assert_eq!(first, "10.0.0.129".parse::<IpAddr>().unwrap());
        let v6: IpNet = "fd00::/126".parse().unwrap();
        assert_eq!(first_host(&v6), Some("fd00::1".parse().unwrap()));
    }
}
