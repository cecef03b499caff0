//! ovn-controller's own install time, the floor of a Join that waits for
//! readiness: a port bound by hand as the driver binds one (a logical
//! switch port, then a veth whose host side goes on the integration bridge
//! with `iface-id`), timed from the Open_vSwitch transaction's reply until
//! ovn-controller sets `ovn-installed` on the Interface, which is when the
//! driver's own readiness wait starts and stops.
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

/// Connections to the host's Open_vSwitch database and to Northbound.
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
    /// From the OVS transaction's reply to `ovn-installed`.
    pub install: Samples,
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

    /// Binds `count` ports one after another and removes them again.
    pub async fn measure(&self, count: usize) -> anyhow::Result<HandBound> {
        let (mut install, mut transactions, mut timed_out) = (Vec::new(), Vec::new(), 0);
        for index in 0..count {
            let (port, bound) = self.bind(index).await?;
            let waited = self.wait_installed(&port.device).await;
            let removal = self.unbind(&port).await?;
            transactions.push(port.transactions + removal);
            match waited {
                Ok(installed) => install.push(installed.duration_since(bound)),
                Err(error) => {
                    crate::measure::say(format!("install time: {error:#}"));
                    timed_out += 1;
                }
            }
        }
        Ok(HandBound {
            install: Samples::new(install),
            transactions: Samples::new(transactions),
            timed_out,
        })
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
        let mut txn = Transaction::new("Open_vSwitch");
        let ids = Value::map([("iface-id", lsp.1.as_str())]);
        let interface = txn.insert(
            "Interface",
            Row::new()
                .with("name", device.as_str())
                .with("external_ids", ids),
        );
        let port = txn.insert(
            "Port",
            Row::new()
                .with("name", device.as_str())
                .with("interfaces", Value::from(interface)),
        );
        txn.mutate(
            "Bridge",
            vec![Condition::eq("name", self.bridge.as_str())],
            vec![Mutation::insert("ports", Value::from(port.clone()))],
        );
        let sent = Instant::now();
        let outcome = self.ovs.transact(&txn).await?;
        let bound = Instant::now();
        let ovs_port = outcome.uuid_of(&port).context("no uuid for the new Port")?;
        let port = BoundPort {
            device,
            ovs_port,
            lsp: lsp.0,
            transactions: lsp_added + (bound - sent),
        };
        Ok((port, bound))
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
        let mut txn = Transaction::new("Open_vSwitch");
        txn.unlink("Bridge", "ports", port.ovs_port);
        let started = Instant::now();
        self.ovs.transact(&txn).await?;
        let ovs_removal = started.elapsed();
        crate::sweep::run_ok("ip", &["link", "del", &port.device])?;
        let mut txn = Transaction::new("OVN_Northbound");
        txn.unlink("Logical_Switch", "ports", port.lsp);
        let started = Instant::now();
        self.nb.transact(&txn).await?;
        Ok(ovs_removal + started.elapsed())
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
