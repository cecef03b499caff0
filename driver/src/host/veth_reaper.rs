//! Left endpoints' host sides (veth pair and OVS port), removed in batches.
//!
//! Leave only has to stop the endpoint's traffic being the driver's
//! business; nothing Docker does next waits for the host side to be gone.
//! So Leave finds the pair and the port and hands both to the next batch
//! ([`VethReaper::retire`], no request of its own), and a background task
//! removes every waiting host side together:
//!
//! - each pair moves into a link group of the driver's ([`RETIRED_GROUP`],
//!   one cheap request each, by ifindex so a newer pair of the same name is
//!   never hit);
//! - one Open_vSwitch transaction removes all their ports (by Port uuid,
//!   likewise), so ovs-vswitchd and ovn-controller recompute once;
//! - one request deletes the whole group, which the kernel unregisters as
//!   one batch with one RCU grace period under the RTNL lock, while every
//!   netlink request on the host (ours, ovs-vswitchd's, dockerd's) waits:
//!   far less than one grace period per pair (docs/benchmarks.md).
//!
//! A host side whose batch a crash interrupted is found by the next daemon:
//! retired pairs at its first reconciliation ([`VethReaper::delete_retired`]),
//! the rest through DeleteEndpoint or reconciliation's usual rules. Nothing
//! else in the driver's namespace may use the group numbers.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ovsdb_client::Uuid;
use tokio::sync::Notify;

use crate::error::Result;
use crate::host::links::{Links, RETIRED_GROUP, UNFINISHED_GROUP};

/// How long left host sides gather before a batch removes them: short next
/// to a deletion's grace period, long enough that a burst of Leaves shares it.
const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// After the window, how long a batch waits for a Join to start waiting
/// on ovn-controller ([`VethReaper::join_waits`]) before it runs anyway.
const QUIET_WAIT: Duration = Duration::from_millis(200);

/// Removes OVS ports by Port uuid, many in one transaction: the switch
/// side of a batch ([`crate::host::local_switch::LocalSwitch`] in the daemon).
pub trait PortRemover: Send + Sync + 'static {
    /// Removes `ports` from the bridge; ports already gone are no error.
    fn remove_ports(&self, ports: &[Uuid]) -> impl Future<Output = Result<()>> + Send;
}

/// One left endpoint's host side, as Leave found it.
#[derive(Debug, Clone, Copy, Default)]
struct HostSide {
    /// The host-side veth's ifindex.
    veth: Option<u32>,
    /// The OVS Port row.
    port: Option<Uuid>,
}

/// The batches' task, shared by every Leave.
pub struct VethReaper<P> {
    handle: Arc<Handle<P>>,
}

impl<P> Clone for VethReaper<P> {
    fn clone(&self) -> Self {
        VethReaper {
            handle: self.handle.clone(),
        }
    }
}

/// What every clone of a [`VethReaper`] holds. The last one dropped ends
/// the task (after removing what is still waiting), and with it the
/// netlink thread: a daemon that retries its start builds a reaper per
/// attempt, and a failed attempt's must not stay behind.
struct Handle<P> {
    inner: Arc<Inner<P>>,
}

impl<P> Drop for Handle<P> {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::Release);
        // Stored as a permit if the task is busy with a batch.
        self.inner.wake.notify_one();
    }
}

struct Inner<P> {
    links: Links,
    ports: P,
    queue: Mutex<Queue>,
    wake: Notify,
    join_waits: Notify,
    /// Told when a batch is done.
    idle: Notify,
    /// Every handle is gone: the task ends at its next wake.
    closed: AtomicBool,
}

/// Host sides not yet removed, by host-side name: while a name is here
/// reconciliation must not add its port back, nor unplugging redo it.
#[derive(Default)]
struct Queue {
    /// For the next batch.
    waiting: HashMap<String, HostSide>,
    /// In the batch being removed now.
    removing: HashSet<String>,
}

impl<P: PortRemover> VethReaper<P> {
    /// Opens a netlink connection of its own, on a thread of its own (a
    /// group's deletion holds that thread, not the daemon's, for a grace
    /// period),
    /// and starts the batches' task, which removes ports through `ports`.
    /// Inside a tokio runtime.
    pub fn start(ports: P) -> Result<VethReaper<P>> {
        let inner = Arc::new(Inner {
            links: Links::connect_on_own_thread("veth-reaper")?,
            ports,
            queue: Mutex::default(),
            wake: Notify::new(),
            join_waits: Notify::new(),
            idle: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(run(inner.clone()));
        Ok(VethReaper {
            handle: Arc::new(Handle { inner }),
        })
    }

    /// Hands the host side whose veth is called `name` to the next batch:
    /// the pair by ifindex `veth`, the port by uuid `port`, either absent
    /// when already gone.
    pub fn retire(&self, name: &str, veth: Option<u32>, port: Option<Uuid>) {
        self.queue()
            .waiting
            .insert(name.to_string(), HostSide { veth, port });
        self.inner().wake.notify_one();
    }

    /// Tells a batch that is due that a Join has made its veth and port and
    /// now only waits for ovn-controller: the time when a batch's requests
    /// (the kernel's RTNL lock, ovs-vswitchd's reconfiguration) delay no
    /// Join's own.
    pub fn join_waits(&self) {
        self.inner().join_waits.notify_waiters();
    }

    /// Deletes whatever is retired now, a crashed daemon's pairs included.
    pub async fn delete_retired(&self) -> Result<()> {
        self.inner().links.delete_group(RETIRED_GROUP).await
    }

    /// Deletes the pairs a killed daemon left half made; only before the
    /// daemon serves, when no Join of its own can be making one.
    pub async fn delete_unfinished(&self) -> Result<()> {
        self.inner().links.delete_group(UNFINISHED_GROUP).await
    }

    /// Whether `name`'s host side is retired and not yet removed.
    pub fn is_retiring(&self, name: &str) -> bool {
        let queue = self.queue();
        queue.waiting.contains_key(name) || queue.removing.contains(name)
    }

    /// Takes `name` out of the batches and deletes its pair (by `index`)
    /// at once, if there is one: a new Join of the same endpoint (a
    /// restarted container) needs the names back, and removes the port
    /// itself. What a running batch still does to the old pair and port,
    /// by index and uuid, cannot touch the new ones.
    pub async fn delete_now(&self, name: &str, index: Option<u32>) -> Result<()> {
        {
            let mut queue = self.queue();
            queue.waiting.remove(name);
            queue.removing.remove(name);
        }
        if let Some(index) = index {
            self.inner().links.delete_index(name, index).await?;
        }
        Ok(())
    }

    /// Removes the host sides waiting for a batch now and waits for a
    /// batch under way: a process about to exit (`docker-ovn reconcile`)
    /// has no next batch, and what it retired would otherwise stay.
    pub async fn flush(&self) {
        let batch = take_batch(self.inner());
        if !batch.is_empty() {
            remove(self.inner(), &batch).await;
            let mut queue = self.queue();
            for name in batch.keys() {
                queue.removing.remove(name);
            }
        }
        loop {
            // Registered before the check, so a batch ending between the
            // two is not missed.
            let done = self.inner().idle.notified();
            if self.queue().removing.is_empty() {
                return;
            }
            done.await;
        }
    }

    fn inner(&self) -> &Inner<P> {
        &self.handle.inner
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.inner().queue)
    }
}

/// The host sides waiting, moved to `removing`.
fn take_batch<P>(inner: &Inner<P>) -> HashMap<String, HostSide> {
    let mut queue = lock(&inner.queue);
    let batch = std::mem::take(&mut queue.waiting);
    queue.removing.extend(batch.keys().cloned());
    batch
}

/// Waits for retired host sides, lets more gather, removes the batch.
/// Whatever a failed step leaves is logged and found again by
/// reconciliation (a pair in the group by the next batch).
async fn run<P: PortRemover>(inner: Arc<Inner<P>>) {
    loop {
        inner.wake.notified().await;
        if inner.closed.load(Ordering::Acquire) {
            let batch = take_batch(&inner);
            if !batch.is_empty() {
                remove(&inner, &batch).await;
            }
            return;
        }
        tokio::time::sleep(BATCH_WINDOW).await;
        let _ = tokio::time::timeout(QUIET_WAIT, inner.join_waits.notified()).await;
        let batch = take_batch(&inner);
        let started = Instant::now();
        remove(&inner, &batch).await;
        tracing::debug!(
            host_sides = batch.len(),
            duration_us = started.elapsed().as_micros() as u64,
            "left endpoints' veths and ports removed"
        );
        lock(&inner.queue).removing.clear();
        inner.idle.notify_waiters();
    }
}

/// The pairs into the group first: a port without its veth is stale to
/// reconciliation in any case, a veth without a port might be live.
async fn remove<P: PortRemover>(inner: &Inner<P>, batch: &HashMap<String, HostSide>) {
    for (name, side) in batch {
        if let Some(index) = side.veth
            && let Err(error) = inner.links.set_group(name, index, RETIRED_GROUP).await
        {
            tracing::warn!(interface = %name, %error, "veth not retired; reconciliation will remove it");
        }
    }
    let ports: Vec<Uuid> = batch.values().filter_map(|side| side.port).collect();
    if !ports.is_empty()
        && let Err(error) = inner.ports.remove_ports(&ports).await
    {
        tracing::warn!(ports = ports.len(), %error, "ports of left endpoints not removed; reconciliation will");
    }
    if let Err(error) = inner.links.delete_group(RETIRED_GROUP).await {
        tracing::warn!(pairs = batch.len(), %error, "retired veths not deleted; the next batch tries again");
    }
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Needs root (CAP_NET_ADMIN) for its netlink connection.
    #[tokio::test]
    async fn the_last_handle_dropped_ends_the_task() {
        let reaper = VethReaper::start(FakePorts::default()).unwrap();
        let inner = Arc::downgrade(&reaper.handle.inner);
        let clone = reaper.clone();
        drop(reaper);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(inner.upgrade().is_some(), "ended while a clone is alive");
        drop(clone);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while inner.upgrade().is_some() {
            assert!(std::time::Instant::now() < deadline, "the task still runs");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Records the ports a batch removes.
    #[derive(Clone, Default)]
    struct FakePorts(Arc<Mutex<Vec<Uuid>>>);

    impl PortRemover for FakePorts {
        async fn remove_ports(&self, ports: &[Uuid]) -> Result<()> {
            self.0.lock().unwrap().extend_from_slice(ports);
            Ok(())
        }
    }

    async fn retire_three_keep_one(netns: &str) {
        let ports = FakePorts::default();
        let reaper = VethReaper::start(ports.clone()).unwrap();
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
        let port = |i: u128| Some(Uuid::from_u128(i));
        for i in 0..3 {
            let name = format!("dvrh{i}");
            reaper.retire(&name, Some(index(&name)), port(i as u128));
            assert!(reaper.is_retiring(&name));
        }
        // Retiring asks nothing of the kernel: the pairs are untouched.
        assert!(links_of(netns).contains("dvrh0@"));
        // A retired pair whose names are needed again goes at once.
        reaper
            .delete_now("dvrh2", Some(index("dvrh2")))
            .await
            .unwrap();
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
        let mut removed = ports.0.lock().unwrap().clone();
        removed.sort();
        assert_eq!(removed, vec![port(0).unwrap(), port(1).unwrap()]);
        // Retiring a pair that is gone already is not an error, and what
        // a crashed daemon retired goes when reconciliation asks.
        reaper.retire("dvrh0", Some(999_999), None);
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
