//! Addresses taken from and given back to a pool: the gateway, a chosen
//! address, the next free one, and those whose owner is gone.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use ovsdb_client::Value;
use ovsdb_client::rows::{AddressSet, TypedRow};
use ovsdb_client::transaction::{Condition, Mutation, Transaction, WaitUntil};

use super::pool::{Pool, addr_key};
use super::{ATTEMPTS, AddressPools, DB, GATEWAY};
use crate::error::{DriverError, Result};
use crate::external_ids::unix_now;

impl AddressPools {
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
    pub(super) async fn try_reserve(
        &self,
        pool: &Pool,
        address: IpAddr,
        gateway: bool,
    ) -> Result<bool> {
        let text = address.to_string();
        let mut txn = Transaction::new(DB);
        txn.wait(
            AddressSet::TABLE,
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
            AddressSet::TABLE,
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
            AddressSet::TABLE,
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

    pub(super) fn check_in_subnet(&self, pool: &Pool, address: &IpAddr) -> Result<()> {
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

    pub(super) fn taken(&self, pool: &Pool, address: &IpAddr) -> DriverError {
        let owner = pool.owner_of(address).unwrap_or("another host");
        DriverError::Conflict(format!(
            "address {address} of pool {} is already in use (allocated by {owner})",
            pool.subnet
        ))
    }

    pub(super) fn exhausted(&self, pool: &Pool) -> DriverError {
        let range = pool
            .range
            .map(|r| format!(" range {r}"))
            .unwrap_or_default();
        DriverError::Conflict(format!(
            "address pool {}{range} is exhausted: no free address",
            pool.subnet
        ))
    }

    pub(super) fn busy(&self, id: &str) -> DriverError {
        DriverError::Conflict(format!(
            "address pool {id} changed on every attempt; try again"
        ))
    }
}

/// The addresses handed out automatically: the range (or subnet) without
/// its network address and, for IPv4, its broadcast address.
pub(super) fn candidates(pool: &Pool) -> impl Iterator<Item = IpAddr> + '_ {
    let from = pool.range.unwrap_or(pool.subnet);
    let subnet = pool.subnet;
    from.hosts()
        .filter(move |a| *a != subnet.network() && !is_broadcast(&subnet, a))
}

fn is_broadcast(subnet: &IpNet, address: &IpAddr) -> bool {
    matches!(subnet, IpNet::V4(v4) if v4.prefix_len() < 31 && IpAddr::V4(v4.broadcast()) == *address)
}

pub(super) fn first_host(subnet: &IpNet) -> Option<IpAddr> {
    subnet.hosts().find(|a| *a != subnet.network())
}
