//! ovn-controller's own install time, the floor of a Join that waits for
//! readiness: a port bound by hand as the driver binds one (a logical
//! switch port, then a veth whose host side goes on the integration bridge
//! with `iface-id`), timed from the Open_vSwitch transaction's reply until
//! ovn-controller sets `ovn-installed` on the Interface, which is when the
//! driver's own readiness wait starts and stops.
//!
//! Two ways, because the wait depends on what the daemons are still doing:
//! - one at a time, quiet: the veth made with `ip` between the logical
//!   switch port and the OVS port, and deleted with `ip` after (some tens of
//!   ms in which ovn-northd has bound the new logical port and the daemons
//!   have finished with the last one);
//! - back to back, as serial lifecycles run: the OVS port added at once
//!   after the logical switch port (on a veth made beforehand), and the
//!   next port bound as soon as the last is removed, so that ovn-northd's
//!   and ovn-controller's work on the last removal and on the new logical
//!   port falls inside the wait, as it does for a Join.
//!
//! The same ports give a floor for the driver's own time: the four OVSDB
//! transactions every endpoint lifecycle needs (the logical switch port
//! added, the OVS port added, removed, the logical switch port removed,
//! as CreateEndpoint, Join, Leave and DeleteEndpoint make them), timed
//! with the same client library.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::transaction::{Condition, Mutation, Transaction};
use ovsdb_client::{Client, Replica, Row, Uuid, Value};

use crate::ids::{PREFIX, docker_id};
use crate::stats::Samples;

/// The logical switch of the hand-bound ports.
pub const SWITCH: &str = "be0c-install";
const TIMEOUT: Duration = Duration::from_secs(30);
/// The back-to-back ports' addresses come after the others' (see
/// [`HandBinder::add_lsp`]).
const BACK_TO_BACK_ADDRESSES: usize = 5000;
const CONCURRENT_ADDRESSES: usize = 6000;
/// Clients binding at once, and ports each binds, for ovn-controller's
/// own rate with as many clients as the concurrent lifecycles.
pub const CONCURRENT_CLIENTS: usize = 16;
const PORTS_PER_CLIENT: usize = 5;

/// Connections to the host's Open_vSwitch database and to Northbound;
/// clones share them.
#[derive(Clone)]
pub struct HandBinder {
    ovs: Client,
    interfaces: Replica,
    nb: Client,
    bridge: String,
}

/// One port bound by hand, to remove again.
struct BoundPort {
    device: String,
    ovs_port: Uuid,
    lsp: Uuid,
    /// How long its two transactions took.
    transactions: Duration,
}

/// What the hand-bound ports measured.
pub struct HandBound {
    /// From the OVS transaction's reply to `ovn-installed`, one at a time.
    pub install: Samples,
    /// The same, back to back.
    pub back_to_back: Samples,
    /// Ports a second bound, installed and removed by hand with
    /// [`CONCURRENT_CLIENTS`] at once; `None` when one was not installed
    /// in time.
    pub concurrent_rate: Option<f64>,
    /// The four transactions of one lifecycle, summed.
    pub transactions: Samples,
    /// Ports ovn-controller did not install within [`TIMEOUT`] (it can be
    /// that far behind right after thousands of Joins): left out above.
    pub timed_out: usize,
}

impl HandBinder {
    /// Connects and creates [`SWITCH`].
    pub async fn connect(ovs_db: &str, nb_db: &str, bridge: &str) -> anyhow::Result<HandBinder> {
        let ovs = Client::connect(ovs_db).await?;
        let interfaces = ovs
            .replicate(
                "Open_vSwitch",
                &[MonitorRequest::new("Interface").columns(&["name", "external_ids"])],
            )
            .await?;
        let nb = Client::connect(nb_db).await?;
        let mut txn = Transaction::new("OVN_Northbound");
        txn.insert("Logical_Switch", Row::new().with("name", SWITCH));
        nb.transact(&txn).await?;
        Ok(HandBinder {
            ovs,
            interfaces,
            nb,
            bridge: bridge.to_string(),
        })
    }

    /// Binds `count` ports one at a time and `count` back to back.
    pub async fn measure(&self, count: usize) -> anyhow::Result<HandBound> {
        let (mut install, mut transactions) = (Installs::default(), Vec::new());
        for index in 0..count {
            let (port, bound) = self.bind(index).await?;
            let waited = self.wait_installed(&port.device).await;
            let removal = self.unbind(&port).await?;
            transactions.push(port.transactions + removal);
            install.add(waited.map(|installed| installed.duration_since(bound)), "");
        }
        let back_to_back = self.back_to_back(count).await?;
        let concurrent_rate = match self.concurrent_rate().await {
            Ok(rate) => Some(rate),
            Err(error) => {
                crate::measure::say(format!("install rate, 16 at once: {error:#}"));
                None
            }
        };
        Ok(HandBound {
            timed_out: install.timed_out + back_to_back.timed_out,
            install: Samples::new(install.times),
            back_to_back: Samples::new(back_to_back.times),
            concurrent_rate,
            transactions: Samples::new(transactions),
        })
    }

    /// Ports bound back to back on veths made beforehand (deleted after).
    async fn back_to_back(&self, count: usize) -> anyhow::Result<Installs> {
        let devices: Vec<String> = (0..count).map(|i| format!("{PREFIX}b{i:05}")).collect();
        with_veths(&devices, self.bind_back_to_back(&devices)).await
    }

    async fn bind_back_to_back(&self, devices: &[String]) -> anyhow::Result<Installs> {
        let mut install = Installs::default();
        for (index, device) in devices.iter().enumerate() {
            let waited = self
                .hand_lifecycle(BACK_TO_BACK_ADDRESSES + index, device)
                .await?;
            install.add(waited, ", back to back");
        }
        Ok(install)
    }

    /// Hand-bound lifecycles from [`CONCURRENT_CLIENTS`] tasks at once, on
    /// veths made beforehand: ports a second, with no driver involved.
    async fn concurrent_rate(&self) -> anyhow::Result<f64> {
        let devices: Vec<String> = (0..CONCURRENT_CLIENTS * PORTS_PER_CLIENT)
            .map(|i| format!("{PREFIX}c{i:05}"))
            .collect();
        with_veths(&devices, self.bind_concurrently(&devices)).await
    }

    async fn bind_concurrently(&self, devices: &[String]) -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut clients = tokio::task::JoinSet::new();
        for (client, chunk) in devices.chunks(PORTS_PER_CLIENT).enumerate() {
            let (binder, chunk) = (self.clone(), chunk.to_vec());
            clients.spawn(async move {
                for (index, device) in chunk.iter().enumerate() {
                    let address = CONCURRENT_ADDRESSES + client * PORTS_PER_CLIENT + index;
                    binder.hand_lifecycle(address, device).await??;
                }
                anyhow::Ok(())
            });
        }
        while let Some(client) = clients.join_next().await {
            client??;
        }
        Ok(devices.len() as f64 / started.elapsed().as_secs_f64())
    }

    /// A logical switch port, at once the OVS port on `device` (a veth
    /// already there), the wait for `ovn-installed`, and both removed
    /// again. The inner result is the install time, or that it ran out.
    async fn hand_lifecycle(
        &self,
        address: usize,
        device: &str,
    ) -> anyhow::Result<anyhow::Result<Duration>> {
        let (lsp, iface_id) = self.add_lsp(address).await?;
        let (ovs_port, _) = self.add_ovs_port(device, &iface_id).await?;
        let bound = Instant::now();
        let waited = self.wait_installed(device).await;
        self.remove_ovs_port(ovs_port).await?;
        self.remove_lsp(lsp).await?;
        Ok(waited.map(|installed| installed.duration_since(bound)))
    }

    /// The logical switch port, the veth and the OVS port; returns when
    /// the OVS transaction was answered.
    async fn bind(&self, index: usize) -> anyhow::Result<(BoundPort, Instant)> {
        let device = format!("{PREFIX}h{index:05}");
        let started = Instant::now();
        let lsp = self.add_lsp(index).await?;
        let lsp_added = started.elapsed();
        let peer = format!("{PREFIX}p{index:05}");
        crate::sweep::run_ok(
            "ip",
            &[
                "link", "add", &device, "type", "veth", "peer", "name", &peer,
            ],
        )?;
        crate::sweep::run_ok("ip", &["link", "set", &device, "up"])?;
        let (ovs_port, transaction) = self.add_ovs_port(&device, &lsp.1).await?;
        let bound = Instant::now();
        let port = BoundPort {
            device,
            ovs_port,
            lsp: lsp.0,
            transactions: lsp_added + transaction,
        };
        Ok((port, bound))
    }

    /// The OVS port of `device` with `iface-id`; its uuid, and how long
    /// the transaction took.
    async fn add_ovs_port(&self, device: &str, iface_id: &str) -> anyhow::Result<(Uuid, Duration)> {
        let mut txn = Transaction::new("Open_vSwitch");
        let ids = Value::map([("iface-id", iface_id)]);
        let interface = txn.insert(
            "Interface",
            Row::new().with("name", device).with("external_ids", ids),
        );
        let port = txn.insert(
            "Port",
            Row::new()
                .with("name", device)
                .with("interfaces", Value::from(interface)),
        );
        txn.mutate(
            "Bridge",
            vec![Condition::eq("name", self.bridge.as_str())],
            vec![Mutation::insert("ports", Value::from(port.clone()))],
        );
        let sent = Instant::now();
        let outcome = self.ovs.transact(&txn).await?;
        let took = sent.elapsed();
        let uuid = outcome.uuid_of(&port).context("no uuid for the new Port")?;
        Ok((uuid, took))
    }

    /// A logical switch port on [`SWITCH`] with an address, as
    /// CreateEndpoint makes; its uuid and name (the `iface-id`).
    async fn add_lsp(&self, index: usize) -> anyhow::Result<(Uuid, String)> {
        let name = docker_id();
        let (high, low) = (index / 250, index % 250 + 2);
        let address = format!("0a:5b:0a:f3:{high:02x}:{low:02x} 10.243.{high}.{low}");
        let mut txn = Transaction::new("OVN_Northbound");
        let lsp = txn.insert(
            "Logical_Switch_Port",
            Row::new()
                .with("name", name.as_str())
                .with("addresses", Value::set([address])),
        );
        txn.mutate(
            "Logical_Switch",
            vec![Condition::eq("name", SWITCH)],
            vec![Mutation::insert("ports", Value::from(lsp.clone()))],
        );
        let outcome = self.nb.transact(&txn).await?;
        let uuid = outcome.uuid_of(&lsp).context("no uuid for the new port")?;
        Ok((uuid, name))
    }

    /// When the replica first showed `ovn-installed` on `device`.
    async fn wait_installed(&self, device: &str) -> anyhow::Result<Instant> {
        let what = format!("ovn-installed on {device}");
        self.interfaces
            .wait_for(TIMEOUT, &what, |tables| {
                tables
                    .find("Interface", |row| {
                        row.get_str("name") == Some(device)
                            && row.map_str("external_ids", "ovn-installed") == Some("true")
                    })
                    .map(|_| Instant::now())
            })
            .await
            .with_context(|| format!("ovn-controller did not install {device}"))
    }

    /// Removes the port; how long its two transactions took.
    async fn unbind(&self, port: &BoundPort) -> anyhow::Result<Duration> {
        let ovs_removal = self.remove_ovs_port(port.ovs_port).await?;
        crate::sweep::run_ok("ip", &["link", "del", &port.device])?;
        Ok(ovs_removal + self.remove_lsp(port.lsp).await?)
    }

    async fn remove_ovs_port(&self, port: Uuid) -> anyhow::Result<Duration> {
        let mut txn = Transaction::new("Open_vSwitch");
        txn.unlink("Bridge", "ports", port);
        let started = Instant::now();
        self.ovs.transact(&txn).await?;
        Ok(started.elapsed())
    }

    async fn remove_lsp(&self, lsp: Uuid) -> anyhow::Result<Duration> {
        let mut txn = Transaction::new("OVN_Northbound");
        txn.unlink("Logical_Switch", "ports", lsp);
        let started = Instant::now();
        self.nb.transact(&txn).await?;
        Ok(started.elapsed())
    }

    /// Deletes [`SWITCH`] (and whatever ports are still on it).
    pub async fn close(self) -> anyhow::Result<()> {
        let mut txn = Transaction::new("OVN_Northbound");
        txn.delete("Logical_Switch", vec![Condition::eq("name", SWITCH)]);
        let outcome = self.nb.transact(&txn).await?;
        if outcome.count(0) == Some(0) {
            bail!("logical switch {SWITCH} was already gone");
        }
        Ok(())
    }
}

/// Install times, and the ports that were not installed in time.
#[derive(Default)]
struct Installs {
    times: Vec<Duration>,
    timed_out: usize,
}

impl Installs {
    /// Counts one port's wait; `how` tells the kind in the message.
    fn add(&mut self, waited: anyhow::Result<Duration>, how: &str) {
        match waited {
            Ok(time) => self.times.push(time),
            Err(error) => {
                crate::measure::say(format!("install time{how}: {error:#}"));
                self.timed_out += 1;
            }
        }
    }
}

/// Makes a veth pair for each of `devices`, runs `bind` (a future does
/// nothing until awaited), and deletes the pairs again whatever happened.
async fn with_veths<T>(
    devices: &[String],
    bind: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let measured = match make_veths(devices) {
        Ok(()) => bind.await,
        Err(error) => Err(error),
    };
    let deleted = delete_veths(devices);
    let measured = measured?;
    deleted?;
    Ok(measured)
}

/// A veth pair for each of `devices`, up, with one `ip -batch`.
fn make_veths(devices: &[String]) -> anyhow::Result<()> {
    ip_batch(devices.iter().map(|device| {
        format!("link add {device} type veth peer name {device}p\nlink set {device} up\n")
    }))
}

fn delete_veths(devices: &[String]) -> anyhow::Result<()> {
    ip_batch(devices.iter().map(|device| format!("link del {device}\n")))
}

/// Runs the `ip` commands `lines`, all of them even when some fail.
fn ip_batch(lines: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), lines.collect::<String>())?;
    let path = file.path().to_string_lossy().into_owned();
    crate::sweep::run_ok("ip", &["-force", "-batch", &path])?;
    Ok(())
}
