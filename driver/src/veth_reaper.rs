//! Left endpoints' veth pairs, deleted in batches.
//!
//! The kernel deletes a veth pair in an RCU grace period under the RTNL
//! lock, some 20 ms, and every netlink request on the host waits for it:
//! ours, ovs-vswitchd's, dockerd's. One deletion per Leave capped the
//! host near 50 endpoint lifecycles a second. So Leave only moves its
//! pair into a link group of the driver's ([`RETIRED_GROUP`], one cheap
//! request), and a background task deletes the whole group with one
//! request, which the kernel unregisters as one batch with one grace
//! period: 20 pairs took 15 ms together here, against 44 ms each one by
//! one on the same loaded host.
//!
//! A retired pair outlives a crash in its group; reconciliation deletes
//! the group ([`VethReaper::delete_retired`]), the daemon's first pass
//! before it serves. Nothing else in the driver's namespace may use that
//! group number.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::error::Result;
use crate::links::Links;

/// The link group of pairs waiting for deletion: "dovn" in ASCII.
pub const RETIRED_GROUP: u32 = 0x646f_766e;

/// The link group a pair is created in ("dovc"), and leaves in the same
/// request that gives it its alias, the mark that makes it the driver's.
/// The kernel takes no alias when creating a device, so a daemon killed
/// between the two requests would leave a pair nothing marks as its own;
/// the next daemon deletes this group when it starts, before it serves.
pub const UNFINISHED_GROUP: u32 = 0x646f_7663;

/// How long retired pairs gather before a batch is deleted: short next to
/// the 20 ms a deletion takes, long enough that a burst of Leaves shares it.
const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// The batches' task, shared by every Leave.
#[derive(Clone)]
pub struct VethReaper {
    inner: Arc<Inner>,
}

struct Inner {
    links: Links,
    /// Names of retired pairs whose batch has not been deleted yet:
    /// reconciliation must not add their ports back.
    retiring: Mutex<HashSet<String>>,
    wake: Notify,
}

impl VethReaper {
    /// Opens a netlink connection of its own and starts the batches'
    /// task. Inside a tokio runtime.
    pub fn start() -> Result<VethReaper> {
        let inner = Arc::new(Inner {
            links: Links::connect()?,
            retiring: Mutex::default(),
            wake: Notify::new(),
        });
        tokio::spawn(run(inner.clone()));
        Ok(VethReaper { inner })
    }

    /// Hands the pair whose host side is `name` (by `index`, so that a
    /// newer pair of the same name is never hit) to the next batch.
    pub async fn retire(&self, name: &str, index: u32) -> Result<()> {
        self.retiring().insert(name.to_string());
        let moved = self.inner.links.set_group(name, index, RETIRED_GROUP);
        if let Err(error) = moved.await {
            self.retiring().remove(name);
            return Err(error);
        }
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Deletes whatever is retired now, a crashed daemon's pairs included.
    pub async fn delete_retired(&self) -> Result<()> {
        self.inner.links.delete_group(RETIRED_GROUP).await
    }

    /// Deletes the pairs a killed daemon left half made; only before the
    /// daemon serves, when no Join of its own can be making one.
    pub async fn delete_unfinished(&self) -> Result<()> {
        self.inner.links.delete_group(UNFINISHED_GROUP).await
    }

    /// Whether `name` is retired and not yet deleted.
    pub fn is_retiring(&self, name: &str) -> bool {
        self.retiring().contains(name)
    }

    /// Deletes a retired pair at once: a new Join of the same endpoint
    /// (a restarted container) needs its names back.
    pub async fn delete_now(&self, name: &str, index: u32) -> Result<()> {
        self.inner.links.delete_index(name, index).await?;
        self.retiring().remove(name);
        Ok(())
    }

    fn retiring(&self) -> MutexGuard<'_, HashSet<String>> {
        lock(&self.inner.retiring)
    }
}

/// Waits for retired pairs, lets more gather, deletes the group. A failed
/// batch stays in the group for the next one (and reconciliation).
async fn run(inner: Arc<Inner>) {
    loop {
        inner.wake.notified().await;
        tokio::time::sleep(BATCH_WINDOW).await;
        // Pairs retired from here on are in the group too and go with this
        // batch; their names stay until the next, which the notification
        // they left behind brings.
        let batch: Vec<String> = lock(&inner.retiring).iter().cloned().collect();
        let started = std::time::Instant::now();
        match inner.links.delete_group(RETIRED_GROUP).await {
            Ok(()) => {
                tracing::debug!(
                    pairs = batch.len(),
                    duration_us = started.elapsed().as_micros() as u64,
                    "retired veths deleted"
                );
                let mut retiring = lock(&inner.retiring);
                for name in &batch {
                    retiring.remove(name);
                }
            }
            Err(error) => tracing::warn!(%error, pairs = batch.len(),
                "retired veths not deleted; the next batch tries again"),
        }
    }
}

fn lock(retiring: &Mutex<HashSet<String>>) -> MutexGuard<'_, HashSet<String>> {
    retiring.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::{Sandbox, ip, ip_ok};

    fn links_of(netns: &str) -> String {
        String::from_utf8_lossy(&ip(&["-n", netns, "-o", "link"]).stdout).into_owned()
    }

    /// Needs root (CAP_NET_ADMIN) for a namespace of its own; CI runs as
    /// root. Runs on a thread inside that namespace, so the group delete
    /// can only ever reach the test's own devices.
    #[test]
    fn retired_pairs_go_in_one_batch_and_a_live_pair_of_the_same_name_stays() {
        let sandbox = Sandbox::new("dovn-reaper-probe");
        for i in 0..4 {
            let (host, peer) = (format!("dvrh{i}"), format!("dvrp{i}"));
            ip_ok(&[
                "-n",
                &sandbox.name,
                "link",
                "add",
                &host,
                "type",
                "veth",
                "peer",
                &peer,
            ]);
        }
        let netns = sandbox.name.clone();
        std::thread::spawn(move || {
            let file = std::fs::File::open(format!("/var/run/netns/{netns}")).unwrap();
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(retire_three_keep_one(&netns));
        })
        .join()
        .unwrap();
    }

    async fn retire_three_keep_one(netns: &str) {
        let reaper = VethReaper::start().unwrap();
        let index = |name: &str| {
            let text = links_of(netns);
            let line = text
                .lines()
                .find(|l| l.contains(&format!(" {name}@")))
                .unwrap();
            line.split(':')
                .next()
                .unwrap()
                .trim()
                .parse::<u32>()
                .unwrap()
        };
        for i in 0..3 {
            let name = format!("dvrh{i}");
            reaper.retire(&name, index(&name)).await.unwrap();
            assert!(reaper.is_retiring(&name));
        }
        // A retired pair whose names are needed again goes at once.
        reaper.delete_now("dvrh2", index("dvrh2")).await.unwrap();
        assert!(!reaper.is_retiring("dvrh2"));
        assert!(!links_of(netns).contains("dvrh2"));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while reaper.is_retiring("dvrh0") || reaper.is_retiring("dvrh1") {
            assert!(std::time::Instant::now() < deadline, "batch never ran");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let left = links_of(netns);
        assert!(!left.contains("dvrh0") && !left.contains("dvrp1"), "{left}");
        assert!(left.contains("dvrh3@") && left.contains("dvrp3@"), "{left}");
        // Retiring a pair that is gone already is not an error, and what
        // a crashed daemon retired goes when reconciliation asks.
        reaper.retire("dvrh0", 999_999).await.unwrap();
        ip_ok(&[
            "-n",
            netns,
            "link",
            "set",
            "dvrh3",
            "group",
            &RETIRED_GROUP.to_string(),
        ]);
        reaper.delete_retired().await.unwrap();
        assert!(!links_of(netns).contains("dvrh3"));
        // A pair a killed daemon left half made goes at start-up.
        let unfinished = UNFINISHED_GROUP.to_string();
        let add = [
            "link",
            "add",
            "dvrh4",
            "group",
            &unfinished,
            "type",
            "veth",
            "peer",
            "dvrp4",
        ];
        ip_ok(&[&["-n", netns][..], &add[..]].concat());
        reaper.delete_unfinished().await.unwrap();
        assert!(!links_of(netns).contains("dvrh4"));
    }
}
