//! The driver's flows on its bridge, over one OpenFlow connection: what a
//! call installs or removes goes in one atomic bundle, and a resync puts
//! the whole pipeline in again under a new cookie round.
//!
//! A resync reads the round of every driver flow on the switch (the
//! cookie's mark: foreign flows are never read or touched), takes the
//! next free round, and in one bundle adds every flow the databases call
//! for in that round (a flow with the same table, match and priority is
//! replaced in place, so nothing stops meanwhile), then deletes by cookie
//! whatever is left of the older rounds: stale endpoints' flows and any
//! a killed daemon left half done. Flows the switch learned from peers
//! are neither wanted nor old: a resync and the flow check leave them.
//! Calls hold the lock shared, a resync holds it alone, so a resync never
//! sees half a call.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use flows::meter::Meter;
use flows::{Client, Command, Config, Flow, FlowMod, Target};
use tokio::sync::{RwLock, RwLockReadGuard};

use crate::error::{DriverError, Result};
use crate::ovs::cookie::{MARK, MARK_MASK, OWNER_MASK, Owner, of_round, round_of};

/// How long the connection waits between reconnection attempts, at most:
/// a restarted ovs-vswitchd gets its flows back within this and a resync.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The driver's OpenFlow connection to its bridge.
pub struct BridgeFlows {
    client: Client,
    round: AtomicU16,
    lock: RwLock<()>,
    /// How long a call waits for a lost connection to come back.
    reconnect_wait: Duration,
}

/// How often a call waiting for the connection tries again.
const RETRY_EVERY: Duration = Duration::from_millis(50);

/// What a resync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resync {
    pub round: u16,
    pub installed: usize,
    /// Rounds whose leftovers were deleted.
    pub old_rounds: Vec<u16>,
}

/// How the switch's flows differ from what the databases call for: each
/// list sorted, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowDiff {
    /// Wanted and not on the switch.
    pub missing: Vec<String>,
    /// On the switch and not wanted.
    pub stale: Vec<String>,
}

impl BridgeFlows {
    /// Connects to `target` (the bridge's `.mgmt` socket), waiting up to
    /// `timeout` for the first connection.
    pub async fn connect(target: &str, timeout: Duration) -> Result<BridgeFlows> {
        let target = Target::parse(target).map_err(|e| flows_error(target, e))?;
        let mut config = Config::new(target.clone());
        config.request_timeout = timeout;
        config.max_backoff = MAX_BACKOFF;
        let client = Client::connect(config)
            .await
            .map_err(|e| flows_error(&target.to_string(), e))?;
        Ok(BridgeFlows {
            client,
            round: AtomicU16::new(1),
            lock: RwLock::new(()),
            reconnect_wait: timeout,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The round calls write their flows in.
    pub fn round(&self) -> u16 {
        self.round.load(Ordering::SeqCst)
    }

    /// Held by a call while it computes and changes its flows.
    pub async fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().await
    }

    /// Adds `flows` and deletes the flows `(cookie, mask)` selects, all
    /// in one atomic bundle, deletions first; returns once the switch
    /// has them in: the barrier after the bundle's messages has come back
    /// (every one was judged) and so has the commit's reply, which the
    /// switch sends once the flows are in its tables.
    pub async fn apply(&self, delete: &[(u64, u64)], flows: &[Flow]) -> Result<()> {
        let mods: Vec<FlowMod> = delete
            .iter()
            .map(|&(cookie, mask)| FlowMod::delete_by_cookie(cookie, mask))
            .chain(flows.iter().map(Flow::add))
            .collect();
        if mods.is_empty() {
            return Ok(());
        }
        self.bundle_when_connected(&mods).await
    }

    /// Makes `meters` exist as given, before flows that use them go in.
    pub async fn set_meters(&self, meters: &[Meter]) -> Result<()> {
        if meters.is_empty() {
            return Ok(());
        }
        self.client
            .set_meters(meters)
            .await
            .map_err(|e| self.error(e))
    }

    /// Deletes the meters `ids`, once no flow uses them.
    pub async fn delete_meters(&self, ids: &[u32]) -> Result<()> {
        self.client
            .delete_meters(ids)
            .await
            .map_err(|e| self.error(e))
    }

    /// The bundle, tried again while the connection is down (ovs-vswitchd
    /// restarting) for up to the connection timeout: a switch discards a
    /// bundle whose connection closed, and adding or deleting again what
    /// a lost commit reply already did changes nothing.
    async fn bundle_when_connected(&self, mods: &[FlowMod]) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.reconnect_wait;
        loop {
            match self.client.bundle(mods).await {
                Err(flows::FlowsError::Disconnected { .. })
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(RETRY_EVERY).await;
                }
                done => return done.map_err(|e| self.error(e)),
            }
        }
    }

    /// Every driver flow on the switch.
    pub async fn present(&self) -> Result<Vec<Flow>> {
        self.flows_of(MARK, MARK_MASK).await
    }

    /// The driver's flows whose cookie's low bits are `part`'s.
    async fn present_part(&self, part: u64) -> Result<Vec<Flow>> {
        self.flows_of(MARK | part, MARK_MASK | (CHECK_PARTS - 1))
            .await
    }

    /// The flows whose cookie has `cookie` in the bits of `mask`.
    async fn flows_of(&self, cookie: u64, mask: u64) -> Result<Vec<Flow>> {
        let flows = self.client.flows(cookie, mask).await;
        Ok(flows
            .map_err(|e| self.error(e))?
            .into_iter()
            .map(|(flow, _)| flow)
            .collect())
    }

    /// Sets `meters`, then installs everything `wanted` gives for a new
    /// round and deletes the older rounds' flows, in one bundle (see the
    /// module's doc).
    pub async fn resync(
        &self,
        meters: &[Meter],
        wanted: impl FnOnce(u16) -> Vec<Flow>,
    ) -> Result<Resync> {
        let _alone = self.lock.write().await;
        // A restarted switch has no meters: they go in before the flows.
        self.set_meters(meters).await?;
        // Read in the flow check's parts: the rounds are all that is kept.
        let mut rounds = BTreeSet::new();
        for part in 0..CHECK_PARTS {
            let present = self.present_part(part).await?;
            let owned = present.iter().filter(|f| !is_learned(f.cookie));
            rounds.extend(owned.map(|f| round_of(f.cookie)));
        }
        let round = next_round(&rounds);
        let flows = wanted(round);
        let installed = flows.len();
        let mut mods: Vec<FlowMod> = flows
            .into_iter()
            .map(|f| FlowMod::new(Command::Add, f))
            .collect();
        mods.extend(rounds.iter().map(|&r| {
            let (cookie, mask) = of_round(r);
            FlowMod::delete_by_cookie(cookie, mask)
        }));
        self.client.bundle(&mods).await.map_err(|e| self.error(e))?;
        self.round.store(round, Ordering::SeqCst);
        Ok(Resync {
            round,
            installed,
            old_rounds: rounds.into_iter().collect(),
        })
    }

    /// How the switch's flows differ from `wanted`'s (each flow given to
    /// the visitor it is called with; flows whose cookie `in_flight`
    /// names are left out of the comparison on both sides: a call is
    /// changing them). The switch's flows are read in [`CHECK_PARTS`]
    /// parts by their cookie's low bits and compared by 128-bit digests
    /// of their texts: at thousands of endpoints, every flow of both
    /// sides held at once (decoded, or as the switch's reply) set the
    /// daemon's peak memory every pass (docs/benchmarks.md). Texts are
    /// made only for the flows that differ.
    pub async fn diff(
        &self,
        wanted: impl Fn(&mut dyn FnMut(Flow)),
        in_flight: impl Fn(u64) -> bool,
    ) -> Result<FlowDiff> {
        let settled = |flow: &Flow| !in_flight(flow.cookie) && !is_learned(flow.cookie);
        let mut wanted_digests = vec![HashSet::<u128>::new(); CHECK_PARTS as usize];
        wanted(&mut |flow| {
            if settled(&flow) {
                wanted_digests[part_of(flow.cookie)].insert(digest(&roundless(&flow)));
            }
        });
        let mut diff = FlowDiff::default();
        // The switch's digests of each part that differs; the wanted flows
        // are made again once, for all of them.
        let mut differing_parts: Vec<Option<HashSet<u128>>> = vec![None; CHECK_PARTS as usize];
        let differing = |flow: &Flow, other: &HashSet<u128>| {
            let text = roundless(flow);
            (!other.contains(&digest(&text))).then_some(text)
        };
        for (part, wanted_part) in wanted_digests.iter().enumerate() {
            let present = self.present_part(part as u64).await?;
            let present: Vec<Flow> = present.into_iter().filter(|f| settled(f)).collect();
            let present_digests: HashSet<u128> =
                present.iter().map(|f| digest(&roundless(f))).collect();
            if present_digests != *wanted_part {
                diff.stale
                    .extend(present.iter().filter_map(|f| differing(f, wanted_part)));
                differing_parts[part] = Some(present_digests);
            }
        }
        if differing_parts.iter().any(Option::is_some) {
            wanted(&mut |flow| {
                if let Some(present) = &differing_parts[part_of(flow.cookie)]
                    && settled(&flow)
                {
                    diff.missing.extend(differing(&flow, present));
                }
            });
        }
        diff.missing.sort();
        diff.missing.dedup();
        diff.stale.sort();
        diff.stale.dedup();
        Ok(diff)
    }

    fn error(&self, error: flows::FlowsError) -> DriverError {
        flows_error(&self.client.target().to_string(), error)
    }
}

/// How many parts the flow check reads the switch's flows in: each part
/// holds a sixteenth of the endpoints (by their port number's low bits).
pub const CHECK_PARTS: u64 = 16;

/// Which part of the flow check a flow with `cookie` is in.
fn part_of(cookie: u64) -> usize {
    (cookie & (CHECK_PARTS - 1)) as usize
}

/// Whether the switch made the flow (`learn`): no database calls for it,
/// and a resync leaves it (its round, 0, is never a resync's).
fn is_learned(cookie: u64) -> bool {
    Owner::of_cookie(cookie).is_some_and(Owner::is_learned)
}

/// A flow's text with its cookie's round cleared: what makes two flows
/// the same whatever round wrote them.
fn roundless(flow: &Flow) -> String {
    flow.clone().cookie(flow.cookie & OWNER_MASK).to_string()
}

/// Two SipHash digests of `text` under different prefixes: 128 bits,
/// so that two of a hundred thousand flows collide with odds of 1e-29.
fn digest(text: &str) -> u128 {
    let half = |prefix: u8| {
        let mut hasher = DefaultHasher::new();
        hasher.write_u8(prefix);
        text.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// The round after the highest present, skipping 0 and any present.
fn next_round(present: &BTreeSet<u16>) -> u16 {
    let mut round = present.last().copied().unwrap_or(0);
    loop {
        round = round.wrapping_add(1);
        if round != 0 && !present.contains(&round) {
            return round;
        }
    }
}

fn flows_error(target: &str, error: flows::FlowsError) -> DriverError {
    DriverError::OpenFlow {
        target: target.to_string(),
        source: error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_check_parts_split_endpoints_by_port_number_whatever_the_round() {
        use crate::ovs::cookie::{of_network, of_port};
        let part = |(cookie, _): (u64, u64)| part_of(cookie);
        assert_eq!(part(of_network(3)), 0, "a network's own flows");
        assert_eq!(part(of_port(5)), 5);
        assert_eq!(part(of_port(21)), 5, "port numbers 16 apart share a part");
        let (cookie, mask) = of_port(21);
        assert_eq!(part_of(cookie | of_round(9).0), 5);
        // The part's selector is a cookie mask within the endpoint bits.
        assert_eq!(mask & (CHECK_PARTS - 1), CHECK_PARTS - 1);
    }

    #[test]
    fn the_next_round_is_free_and_never_zero() {
        let rounds = |r: &[u16]| r.iter().copied().collect::<BTreeSet<u16>>();
        assert_eq!(next_round(&rounds(&[])), 1);
        assert_eq!(next_round(&rounds(&[3, 7])), 8);
        assert_eq!(next_round(&rounds(&[1, u16::MAX])), 2);
    }

    #[test]
    fn flows_of_two_rounds_compare_equal() {
        let flow =
            |round| Flow::new(0, 0).cookie(crate::ovs::cookie::Owner::network(2).cookie(round));
        assert_eq!(roundless(&flow(1)), roundless(&flow(9)));
    }
}
