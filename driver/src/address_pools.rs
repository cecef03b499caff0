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

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};
use ovsdb_client::{Client, Replica, Row, Uuid, Value};

use crate::error::{DriverError, Result};
use crate::external_ids::{OWNER, OWNER_VALUE};

const DB: &str = "OVN_Northbound";
const TABLE: &str = "Address_Set";

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
    fn from_row(uuid: Uuid, row: &Row) -> Option<Pool> {
        if row.map_str("external_ids", OWNER) != Some(OWNER_VALUE) {
            return None;
        }
        let external_ids: BTreeMap<String, String> = row
            .get("external_ids")?
            .as_map()?
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .collect();
        let net = |key: &str| external_ids.get(key).and_then(|v| v.parse::<IpNet>().ok());
        Some(Pool {
            uuid,
            id: row.get_str("name")?.to_string(),
            subnet: net(POOL)?,
            range: net(RANGE),
            gateway: external_ids.get(GATEWAY).and_then(|v| v.parse().ok()),
            addresses: row
                .get("addresses")?
                .atoms()
                .iter()
                .filter_map(|a| a.as_str()?.parse().ok())
                .collect(),
            external_ids,
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
    fn allocation(&self, address: &IpAddr) -> Option<(&str, u64)> {
        let value = self.external_ids.get(&addr_key(address))?;
        let (host, since) = value.split_once(' ').unwrap_or((value, "0"));
        Some((host, since.parse().unwrap_or(0)))
    }

    /// Addresses `host` allocated before `before` (Unix seconds), other
    /// than the gateway.
    fn allocated_by(&self, host: &str, before: u64) -> Vec<IpAddr> {
        self.addresses
            .iter()
            .filter(|a| self.gateway.as_ref() != Some(*a))
            .filter(
                |a| matches!(self.allocation(a), Some((h, since)) if h == host && since < before),
            )
            .copied()
            .collect()
    }

    fn is_free(&self, address: &IpAddr) -> bool {
        !self.addresses.contains(address) && self.gateway.as_ref() != Some(address)
    }

    /// `address/prefix` as Docker wants it.
    pub fn cidr(&self, address: IpAddr) -> String {
        format!("{address}/{}", self.subnet.prefix_len())
    }
}

fn ref_key(host: &str) -> String {
    format!("{REF_PREFIX}{host}")
}

fn addr_key(address: &IpAddr) -> String {
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
    /// `replica` must monitor `Address_Set` (see [`crate::northbound`]).
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
            t.find_by(TABLE, "name", id)
                .and_then(|(uuid, row)| Pool::from_row(uuid, row))
        })
    }

    /// Every pool.
    pub fn pools(&self) -> Vec<Pool> {
        self.replica.read(|t| {
            t.rows(TABLE)
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
            .read(|t| t.find_by(TABLE, "name", id).is_some())
    }

    /// A subnet for a pool requested without one: the first /24 (IPv4) or
    /// /64 (IPv6) of the automatic range that no pool uses.
    pub fn free_subnet(&self, v6: bool) -> Result<IpNet> {
        let (base, prefix): (IpNet, u8) = if v6 {
            (AUTO_V6.parse().map_err(|_| self.busy(AUTO_V6))?, 64)
        } else {
            (AUTO_V4.parse().map_err(|_| self.busy(AUTO_V4))?, 24)
        };
        let used: Vec<IpNet> = self.pools().into_iter().map(|p| p.subnet).collect();
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
            TABLE,
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
            TABLE,
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
            TABLE,
            vec![Condition::uuid(pool.uuid)],
            &["external_ids"],
            WaitUntil::Equal,
            vec![Row::new().with("external_ids", current)],
            Some(Duration::ZERO),
        );
        let key = ref_key(&self.host);
        if refs == 0 && others == 0 {
            txn.delete(TABLE, vec![Condition::uuid(pool.uuid)]);
        } else {
            let mut mutations = vec![Mutation::delete("external_ids", Value::set([key.clone()]))];
            if refs > 0 {
                mutations.push(Mutation::insert(
                    "external_ids",
                    Value::map([(key, refs.to_string())]),
                ));
            }
            txn.mutate(TABLE, vec![Condition::uuid(pool.uuid)], mutations);
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

    /// Reserves the pool's gateway: `wanted`, or the one already set, or
    /// the subnet's first address. Every host of a shared network gets the
    /// same one.
    pub async fn reserve_gateway(&self, id: &str, wanted: Option<IpAddr>) -> Result<IpAddr> {
        let _one_at_a_time = self.allocations.lock().await;
        let pool = self.require(id)?;
        match (pool.gateway, wanted) {
            (Some(gateway), None) => return Ok(gateway),
            (Some(gateway), Some(w)) if gateway == w => return Ok(gateway),
            (Some(gateway), Some(w)) => {
                return Err(DriverError::Conflict(format!(
                    "pool {} already has gateway {gateway}, not {w}",
                    pool.subnet
                )));
            }
            (None, _) => {}
        }
        let address = match wanted {
            Some(address) => address,
            None => first_host(&pool.subnet).ok_or_else(|| self.exhausted(&pool))?,
        };
        self.check_in_subnet(&pool, &address)?;
        if !self.try_reserve(&pool, address, true).await? {
            return Err(self.taken(&pool, &address));
        }
        Ok(address)
    }

    /// Reserves `address` exactly (`docker run --ip`, `--aux-address`).
    pub async fn reserve(&self, id: &str, address: IpAddr) -> Result<IpAddr> {
        let _one_at_a_time = self.allocations.lock().await;
        let pool = self.require(id)?;
        self.check_in_subnet(&pool, &address)?;
        if !pool.is_free(&address) || !self.try_reserve(&pool, address, false).await? {
            return Err(self.taken(&pool, &address));
        }
        Ok(address)
    }

    /// Reserves the lowest free address of the pool's range (or subnet).
    pub async fn allocate(&self, id: &str) -> Result<IpAddr> {
        let _one_at_a_time = self.allocations.lock().await;
        for _ in 0..ATTEMPTS {
            let pool = self.require(id)?;
            let candidate = candidates(&pool)
                .find(|a| pool.is_free(a))
                .ok_or_else(|| self.exhausted(&pool))?;
            // A lost race refreshes the replica before the reply arrives,
            // so the next round sees the winner's address as taken.
            if self.try_reserve(&pool, candidate, false).await? {
                return Ok(candidate);
            }
        }
        Err(self.busy(id))
    }

    /// One transaction: fail unless `address` is still free, then add it.
    async fn try_reserve(&self, pool: &Pool, address: IpAddr, gateway: bool) -> Result<bool> {
        let text = address.to_string();
        let mut txn = Transaction::new(DB);
        txn.wait(
            TABLE,
            vec![
                Condition::uuid(pool.uuid),
                Condition::excludes("addresses", text.as_str()),
            ],
            &["name"],
            WaitUntil::NotEqual,
            vec![],
            Some(Duration::ZERO),
        );
        let mut ids = vec![(addr_key(&address), format!("{} {}", self.host, unix_now()))];
        if gateway {
            ids.push((GATEWAY.to_string(), text.clone()));
        }
        txn.mutate(
            TABLE,
            vec![Condition::uuid(pool.uuid)],
            vec![
                Mutation::insert("addresses", text.as_str()),
                Mutation::insert("external_ids", Value::map(ids)),
            ],
        );
        match self.client.transact(&txn).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_timed_out_at(0) => Ok(false),
            Err(e) => Err(DriverError::nb(e)),
        }
    }

    /// Frees `address`, unless it is the pool's gateway (shared by every
    /// host, it goes with the pool) or another host's.
    pub async fn free(&self, id: &str, address: IpAddr) -> Result<()> {
        let Some(pool) = self.get(id) else {
            return Ok(());
        };
        if pool.gateway == Some(address) {
            return Ok(());
        }
        if let Some(owner) = pool.owner_of(&address)
            && owner != self.host
        {
            tracing::warn!(pool = %id, %address, owner, "not releasing another host's address");
            return Ok(());
        }
        let mut txn = Transaction::new(DB);
        txn.mutate(
            TABLE,
            vec![Condition::uuid(pool.uuid)],
            vec![
                Mutation::delete("addresses", address.to_string().as_str()),
                Mutation::delete("external_ids", Value::set([addr_key(&address)])),
            ],
        );
        self.client.transact(&txn).await.map_err(DriverError::nb)?;
        Ok(())
    }

    /// Frees this host's addresses that nothing uses: allocated more than
    /// `grace` ago (so never one whose endpoint is still being created) and
    /// not in `in_use` (endpoint, gateway and aux addresses). These are
    /// addresses whose reply dockerd never got, or whose release it never
    /// sent, because this host's driver or dockerd died.
    pub async fn reclaim(&self, in_use: &HashSet<IpAddr>, grace: Duration) -> Result<Vec<IpAddr>> {
        let before = unix_now().saturating_sub(grace.as_secs());
        let mut reclaimed = Vec::new();
        for pool in self.pools() {
            for address in pool.allocated_by(&self.host, before) {
                if in_use.contains(&address) {
                    continue;
                }
                self.free(&pool.id, address).await?;
                tracing::info!(pool = %pool.id, %address, "reclaimed an address nothing uses");
                reclaimed.push(address);
            }
        }
        Ok(reclaimed)
    }

    fn check_in_subnet(&self, pool: &Pool, address: &IpAddr) -> Result<()> {
        // Docker's own IPAM never hands out the network or broadcast address.
        let host_address =
            *address != pool.subnet.network() && !is_broadcast(&pool.subnet, address);
        if pool.subnet.contains(address) && host_address {
            return Ok(());
        }
        Err(DriverError::invalid(
            "Address",
            format!("{address} is not a host address of pool {}", pool.subnet),
        ))
    }

    fn taken(&self, pool: &Pool, address: &IpAddr) -> DriverError {
        let owner = pool.owner_of(address).unwrap_or("another host");
        DriverError::Conflict(format!(
            "address {address} of pool {} is already in use (allocated by {owner})",
            pool.subnet
        ))
    }

    fn exhausted(&self, pool: &Pool) -> DriverError {
        let range = pool
            .range
            .map(|r| format!(" range {r}"))
            .unwrap_or_default();
        DriverError::Conflict(format!(
            "address pool {}{range} is exhausted: no free address",
            pool.subnet
        ))
    }

    fn busy(&self, id: &str) -> DriverError {
        DriverError::Conflict(format!(
            "address pool {id} changed on every attempt; try again"
        ))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The addresses handed out automatically: the range (or subnet) without
/// its network address and, for IPv4, its broadcast address.
fn candidates(pool: &Pool) -> impl Iterator<Item = IpAddr> + '_ {
    let from = pool.range.unwrap_or(pool.subnet);
    let subnet = pool.subnet;
    from.hosts()
        .filter(move |a| *a != subnet.network() && !is_broadcast(&subnet, a))
}

fn is_broadcast(subnet: &IpNet, address: &IpAddr) -> bool {
    matches!(subnet, IpNet::V4(v4) if v4.prefix_len() < 31 && IpAddr::V4(v4.broadcast()) == *address)
}

fn first_host(subnet: &IpNet) -> Option<IpAddr> {
    subnet.hosts().find(|a| *a != subnet.network())
}

#[cfg(test)]
mod tests {
    use super::*;

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
