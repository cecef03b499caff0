//! Reconciliation applied by the OVN backend: the snapshot of this host's
//! ports, veths, logical ports and gateways, the pure plan of
//! [`crate::reconcile`], and each step carried out.

use std::time::Duration;

use crate::error::Result;
use crate::external_ids::unix_now;
use crate::host::gateway::{self, Gateway};
use crate::host::plumbing::PairRemoval;
use crate::names::DockerId;
use crate::ovn::backend::OvnBackend;
use crate::ovn::endpoint::interface_ids;
use crate::reconcile::{self, Action, LogicalPortState, Policy, Repair};

/// Beyond Join's readiness wait, how long a veth pair may stay in the
/// driver's namespace (Docker moves the peer once Join answers) before
/// reconciliation calls the Join failed.
pub const JOIN_SLACK: Duration = Duration::from_secs(60);

impl OvnBackend {
    /// One reconciliation pass ([`reconcile`]): reads this host's ports,
    /// veths and logical ports, and unless `dry_run` applies the plan.
    /// Every step is tried; the first failure is returned after the rest.
    pub async fn reconcile(&self, dry_run: bool) -> Result<Vec<Action>> {
        let _one_at_a_time = self.network_lock.lock().await;
        if !dry_run {
            // Pairs a crashed daemon retired; a live batch's are harmless to take.
            self.plumbing.reaper.delete_retired().await?;
        }
        let mut snapshot = reconcile::snapshot(
            &self.plumbing.ovs,
            self.logical_ports(),
            &self.plumbing.links,
            self.host(),
        )
        .await?;
        self.snapshot_gateways(&mut snapshot).await?;
        let policy = Policy {
            now: unix_now(),
            unjoined_grace: self.config.unjoined_grace,
            join_grace: self.config.ready_timeout + JOIN_SLACK,
        };
        let actions = reconcile::plan(&snapshot, &policy);
        if dry_run {
            return Ok(actions);
        }
        reconcile::apply_all(self, actions).await.into_result()
    }

    /// This host's logical switch ports, as reconciliation sees them.
    fn logical_ports(&self) -> Vec<LogicalPortState> {
        self.nb
            .ports_of_host(self.host())
            .into_iter()
            .map(|p| LogicalPortState {
                endpoint: p.endpoint,
                network: p.network,
                mac: p.mac,
                created_at: p.created_at,
            })
            .collect()
    }

    /// The gateways this host should have (of switches it has a Docker
    /// network on), and those it has.
    async fn snapshot_gateways(&self, snapshot: &mut reconcile::Snapshot) -> Result<()> {
        let wanted: Vec<(Gateway, bool)> = self
            .nb
            .switches()
            .into_iter()
            .filter(|s| s.docker_networks.iter().any(|(_, h)| *h == self.host()))
            .filter_map(|s| Some((self.gateway_of(&s)?, self.nb.has_localport(&s))))
            .collect();
        let gateways: Vec<Gateway> = wanted.iter().map(|(g, _)| g.clone()).collect();
        self.gateways.snapshot(&gateways, snapshot).await?;
        snapshot.gateways = wanted
            .iter()
            .map(|(g, localport)| gateway::wanted_state(g, *localport))
            .collect();
        Ok(())
    }

    /// Applies a gateway step; `Ok(false)` when there was nothing to do.
    async fn apply_gateway(&self, action: &Action) -> Result<bool> {
        let switch_named = |name: &str| self.nb.switches().into_iter().find(|s| s.name == name);
        match action {
            Action::AddLocalport { switch } => match switch_named(switch) {
                Some(switch) => self.nb.ensure_localport(&switch).await,
                None => Ok(false),
            },
            Action::AddGateway { switch, .. }
            | Action::ConfigureGateway { switch, .. }
            | Action::AddGatewayRules { switch } => {
                let wanted = switch_named(switch).and_then(|s| self.gateway_of(&s));
                self.gateways.apply_step(action, wanted).await
            }
            other => self.gateways.apply_step(other, None).await,
        }
    }

    /// Whether `interface` exists, asked by name just before acting: a dump
    /// of thousands of links racing with changes may miss one.
    async fn veth_exists(&self, interface: &str) -> Result<bool> {
        Ok(self.plumbing.links.index_of(interface).await?.is_some())
    }

    /// Applies one step; `Ok(false)` when there was nothing left to do.
    async fn apply_step(&self, action: &Action) -> Result<bool> {
        match action {
            Action::RemovePort {
                interface,
                endpoint,
            } => {
                if self.veth_exists(interface).await? {
                    return Ok(false);
                }
                self.plumbing.ovs.remove_port(interface, endpoint).await
            }
            Action::Unplug { endpoint, .. } => {
                let endpoint = DockerId::parse("endpoint", endpoint)?;
                self.plumbing.unplug(&endpoint, PairRemoval::Batched).await
            }
            Action::DeleteLogicalPort {
                endpoint,
                interface,
                ..
            } => {
                if self.veth_exists(interface).await? {
                    return Ok(false);
                }
                self.nb.delete_port(endpoint).await
            }
            Action::Replug {
                interface,
                endpoint,
                network,
                mac,
            } => {
                if self.plumbing.reaper.is_retiring(interface) {
                    return Ok(false);
                }
                let network = DockerId::parse("network", network)?;
                let endpoint = DockerId::parse("endpoint", endpoint)?;
                let ids = interface_ids(&network, &endpoint, self.host(), mac, None, unix_now());
                if self.config.nested_parent.is_none() {
                    return self.plumbing.ovs.add_port(interface, &ids).await;
                }
                // A nested container's port is an access port of its
                // child's tag; without one yet, the next pass retries.
                match self.nb.port(endpoint.as_str()).and_then(|p| p.tag) {
                    Some(tag) => {
                        self.plumbing
                            .ovs
                            .add_access_port(interface, tag, &ids)
                            .await
                    }
                    None => Ok(false),
                }
            }
            Action::Report { .. } => Ok(false),
            gateway => self.apply_gateway(gateway).await,
        }
    }
}

impl Repair for OvnBackend {
    async fn apply(&self, action: &Action) -> Result<bool> {
        self.apply_step(action).await
    }
}
