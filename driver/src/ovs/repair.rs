//! Reconciliation applied by the `-d ovs` backend: the shared plan of
//! [`crate::reconcile`] over this host's ports and veths on the backend's
//! bridge (each endpoint's port is its record, standing in for the logical
//! port of `-d ovn`) and its gateways, then the flows: when the switch's
//! differ from what the databases call for, a resync.

use crate::error::Result;
use crate::external_ids::unix_now;
use crate::host::gateway::{self, Gateway};
use crate::host::routes::PeerRoute;
use crate::names::DockerId;
use crate::ovn::repair::JOIN_SLACK;
use crate::ovs::backend::OvsBackend;
use crate::ovs::bridge_flows::FlowDiff;
use crate::ovs::cookie::{Owner, of_port};
use crate::reconcile::{self, Action, LogicalPortState, Policy, Repair};

/// Why a veth in a sandbox without a port is left alone.
const PORT_GONE: &str = "its container is running but its OVS port, the endpoint's only record, \
     is gone; `docker rm -f` the container or connect it again";

impl OvsBackend {
    /// One reconciliation pass: reads this host's ports, veths, gateways
    /// and flows, and unless `dry_run` applies the plan, then resyncs the
    /// flows if they still differ. Every step is tried; the first failure
    /// is returned after the rest.
    pub async fn reconcile(&self, dry_run: bool) -> Result<Vec<Action>> {
        let _one_at_a_time = self.network_lock.lock().await;
        if !dry_run {
            self.plumbing.reaper.delete_retired().await?;
        }
        let mut actions = self.plan().await?;
        actions.extend(self.host_steps().await?);
        if dry_run {
            actions.extend(self.flow_check().await?);
            return Ok(actions);
        }
        let reconcile::Applied {
            mut done,
            mut first_error,
        } = reconcile::apply_all(self, actions).await;
        match self.flow_check().await {
            Ok(Some(resync)) => match self.resync("reconciliation").await {
                Ok(_) => done.push(resync),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            },
            Ok(None) => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(done), Err)
    }

    /// The steps for what the bridge and the host have for the peers and
    /// the networks' modes: the VXLAN port, the routes to the peers, the
    /// VLAN networks' uplink ports.
    async fn host_steps(&self) -> Result<Vec<Action>> {
        let mut actions = Vec::new();
        if !self.tunnel_in_sync() {
            actions.push(Action::SyncTunnel {
                bridge: self.bridge().to_string(),
                add: self.tunnel_wanted(),
            });
        }
        let (present, wanted) = (
            self.plumbing.links.peer_routes().await?,
            self.wanted_routes(None),
        );
        if present != wanted {
            let shown = |routes: &[PeerRoute], other: &[PeerRoute]| {
                let apart = routes.iter().filter(|r| !other.contains(r));
                apart.map(PeerRoute::to_string).collect()
            };
            actions.push(Action::SyncRoutes {
                add: shown(&wanted, &present),
                remove: shown(&present, &wanted),
            });
        }
        // An uplink port deleted by hand, or left by a killed daemon.
        let (present, wanted) = (self.present_uplinks(), self.wanted_uplinks(None));
        if present != wanted {
            actions.push(Action::SyncUplinks {
                bridge: self.bridge().to_string(),
                wanted,
                present,
            });
        }
        Ok(actions)
    }

    /// The plan for ports, veths and gateways.
    async fn plan(&self) -> Result<Vec<Action>> {
        let records = self
            .endpoints()
            .into_iter()
            .map(|p| LogicalPortState {
                endpoint: p.endpoint.to_string(),
                network: p.network.to_string(),
                mac: p.mac,
                created_at: None,
            })
            .collect();
        let ovs = &self.plumbing.ovs;
        let mut snapshot =
            reconcile::snapshot(ovs, records, &self.plumbing.links, self.host()).await?;
        let wanted = self.wanted_gateways();
        self.gateways.snapshot(&wanted, &mut snapshot).await?;
        snapshot.gateways = wanted
            .iter()
            .map(|g| gateway::wanted_state(g, true))
            .collect();
        // An endpoint's record is its port: none waits alone, and a pair
        // never moved into a sandbox is an endpoint never joined.
        let join_grace = self.config.ready_timeout + JOIN_SLACK;
        let policy = Policy {
            now: unix_now(),
            unjoined_grace: self.config.unjoined_grace,
            join_grace: join_grace.min(self.config.unjoined_grace),
        };
        Ok(reconcile::plan(&snapshot, &policy)
            .into_iter()
            .map(|action| match action {
                Action::Report {
                    interface,
                    endpoint,
                    ..
                } => Action::Report {
                    interface,
                    endpoint,
                    why: PORT_GONE,
                },
                other => other,
            })
            .collect())
    }

    fn wanted_gateways(&self) -> Vec<Gateway> {
        self.networks()
            .iter()
            .filter_map(|r| self.gateway_of(r))
            .collect()
    }

    /// A resync step if the switch's flows differ from the wanted ones,
    /// by the same flows in two checks one after the other: a call that
    /// joined an endpoint while the first read the switch's flows in
    /// parts (its flows on the switch, not in the replica read before)
    /// is no difference. Without the second check, every pass during a
    /// fill of thousands of endpoints resynced the whole bridge.
    async fn flow_check(&self) -> Result<Option<Action>> {
        let first = self.flow_diff().await?;
        if first.missing.is_empty() && first.stale.is_empty() {
            return Ok(None);
        }
        let second = self.flow_diff().await?;
        let both = |a: Vec<String>, b: &[String]| -> Vec<String> {
            a.into_iter()
                .filter(|t| b.binary_search(t).is_ok())
                .collect()
        };
        let (missing, stale) = (
            both(first.missing, &second.missing),
            both(first.stale, &second.stale),
        );
        if missing.is_empty() && stale.is_empty() {
            return Ok(None);
        }
        tracing::debug!(?missing, ?stale, "flows differ");
        Ok(Some(Action::ResyncFlows {
            bridge: self.bridge().to_string(),
            missing: missing.len(),
            stale: stale.len(),
        }))
    }

    /// How the switch's flows differ from the wanted ones. An endpoint
    /// younger than Join's grace may have its port and not yet its flows
    /// (CreateEndpoint made the port, Join is to come): its flows are no
    /// difference.
    async fn flow_diff(&self) -> Result<FlowDiff> {
        let _shared = self.flows.shared().await;
        let round = self.flows.round();
        let grace = (self.config.ready_timeout + JOIN_SLACK).as_secs();
        let now = unix_now();
        let young: std::collections::HashSet<u32> = self
            .endpoints()
            .iter()
            .filter(|e| e.created.is_some_and(|c| now.saturating_sub(c) <= grace))
            .filter_map(|e| e.ofport)
            .collect();
        let in_flight = |cookie| {
            Owner::of_cookie(cookie).is_some_and(|o| o.endpoint != 0 && young.contains(&o.endpoint))
        };
        let wanted = |visit: &mut dyn FnMut(flows::Flow)| self.visit_wanted_flows(round, visit);
        self.flows.diff(wanted, in_flight).await
    }

    /// Applies one step; `Ok(false)` when there was nothing left to do.
    async fn apply_step(&self, action: &Action) -> Result<bool> {
        match action {
            Action::RemovePort {
                interface,
                endpoint,
            } => {
                if self.plumbing.links.index_of(interface).await?.is_some() {
                    return Ok(false);
                }
                let ofport = self
                    .plumbing
                    .ovs
                    .owned_port(interface)
                    .and_then(|p| p.ofport);
                if let Some(ofport) = ofport {
                    let _shared = self.flows.shared().await;
                    self.flows.apply(&[of_port(ofport)], &[]).await?;
                }
                self.plumbing.ovs.remove_port(interface, endpoint).await
            }
            Action::SyncTunnel { .. } => self.sync_tunnel().await.map(|()| true),
            Action::SyncRoutes { .. } => self.sync_routes(None).await,
            Action::SyncUplinks { .. } => self.sync_uplinks(None).await.map(|()| true),
            Action::Unplug { endpoint, .. } => {
                let endpoint = DockerId::parse("endpoint", endpoint)?;
                self.unplug(&endpoint, "unplugged by reconciliation")
                    .await
                    .map(|()| true)
            }
            action => self.apply_gateway(action).await,
        }
    }

    /// Applies a gateway step; `Ok(false)` when there was nothing to do.
    async fn apply_gateway(&self, action: &Action) -> Result<bool> {
        let switch = match action {
            Action::AddGateway { switch, .. }
            | Action::ConfigureGateway { switch, .. }
            | Action::AddGatewayRules { switch } => Some(switch),
            _ => None,
        };
        let wanted = switch.and_then(|switch| {
            self.wanted_gateways()
                .into_iter()
                .find(|g| g.switch == *switch)
        });
        self.gateways.apply_step(action, wanted).await
    }
}

impl Repair for OvsBackend {
    async fn apply(&self, action: &Action) -> Result<bool> {
        self.apply_step(action).await
    }
}
