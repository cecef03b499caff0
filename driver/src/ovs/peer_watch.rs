//! Following the peers live: when the peers the Open_vSwitch row and the
//! command line give change (`docker-ovn-peers`, or this host's tunnel
//! address, which the list leaves out, or this host's CIDR), the flows
//! are put in again for the new peers, the routes and the routed
//! networks' rules follow, and what was learned from a peer that is gone
//! is deleted: nothing is left toward it.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::ovs::backend::OvsBackend;
use crate::ovs::cookie::of_learned_from;
use crate::ovs::peers::PeerSettings;

impl OvsBackend {
    /// Watches the Open_vSwitch replica until the backend is dropped;
    /// `applied` are the settings the current flows were made with.
    pub fn follow_peers(self: &Arc<OvsBackend>) {
        let mut changes = self.plumbing.ovs.replica().changes();
        let backend = Arc::downgrade(self);
        let mut applied = self.peer_settings();
        report_problems(&PeerSettings::default(), &applied);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(backend) = backend.upgrade() else {
                    return;
                };
                let now = backend.peer_settings();
                report_problems(&applied, &now);
                if now.peers != applied.peers || now.host_cidr != applied.host_cidr {
                    backend.peers_changed(&applied, &now).await;
                }
                applied = now;
            }
        });
    }

    /// New flows for the new peers; learned flows of removed ones deleted.
    /// A failure is logged: reconciliation finds the flows that differ.
    async fn peers_changed(&self, before: &PeerSettings, now: &PeerSettings) {
        let peers = |s: &PeerSettings| s.peers.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        tracing::info!(bridge = %self.bridge(), before = ?peers(before), now = ?peers(now),
            "peers changed");
        if let Err(error) = self.sync_tunnel().await {
            tracing::warn!(%error, "VXLAN port not set for the peers; reconciliation will retry");
        }
        if let Err(error) = self.sync_routed().await {
            tracing::warn!(%error, "routes and rules for the peers not set; reconciliation will retry");
        }
        if let Err(error) = self.resync("peers changed").await {
            tracing::warn!(%error, "resync for new peers failed; reconciliation will retry");
        }
        let remaining: BTreeSet<Ipv4Addr> = now.addresses().into_iter().collect();
        let gone: BTreeSet<Ipv4Addr> = before
            .addresses()
            .into_iter()
            .filter(|a| !remaining.contains(a))
            .collect();
        if gone.is_empty() {
            return;
        }
        let learned: Vec<(u64, u64)> = gone.iter().map(|&p| of_learned_from(p)).collect();
        let _shared = self.flows.shared().await;
        if let Err(error) = self.flows.apply(&learned, &[]).await {
            tracing::warn!(%error, ?gone, "flows learned from removed peers not deleted");
        }
    }
}

/// Logs the settings' problems when they change.
fn report_problems(before: &PeerSettings, now: &PeerSettings) {
    if now.problems != before.problems {
        for problem in &now.problems {
            tracing::warn!(problem, "peer settings: left out");
        }
    }
}
