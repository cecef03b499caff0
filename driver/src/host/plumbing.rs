//! An endpoint's host side, the same for every backend: its veth pair
//! (marked with a [`VethAlias`]) and its port on the OVS bridge. Made
//! whole or not at all (a name held by an interrupted Join of the same
//! endpoint is taken back, one held by anything else is refused), and
//! removed at once or in the [`VethReaper`]'s next batch.

use crate::error::{DriverError, Result};
use crate::external_ids::{ENDPOINT, unix_now};
use crate::host::links::Links;
use crate::host::local_switch::LocalSwitch;
use crate::host::veth_alias::VethAlias;
use crate::host::veth_reaper::VethReaper;
use crate::mac::MacAddr;
use crate::names::{DockerId, host_interface};

/// The handles an endpoint's host side needs; cheap to share.
pub struct Plumbing {
    /// The OVS bridge's ports.
    pub ovs: LocalSwitch,
    /// rtnetlink.
    pub links: Links,
    /// Removes left endpoints' veth pairs and ports in batches; knows
    /// which are still waiting, whose ports reconciliation must not add back.
    pub reaper: VethReaper<LocalSwitch>,
    /// This host's `system-id`, written into every veth's alias.
    pub host: String,
}

/// What unplugging does with a veth pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairRemoval {
    /// Into the reaper's next batch (Leave, DeleteEndpoint, reconciliation).
    Batched,
    /// At once: a Join needs the pair's names again.
    Now,
}

impl Plumbing {
    /// Creates the endpoint's veth pair `(host side, peer)`. Names held
    /// already are claimed first ([`Plumbing::claim_names`]): a port of
    /// that name before creating (adding the port would take it as this
    /// Join's), a device when the kernel refuses the names.
    pub async fn make_pair(
        &self,
        endpoint: &DockerId,
        (host_if, peer): (&str, &str),
        mtu: u32,
        mac: MacAddr,
    ) -> Result<()> {
        let alias = VethAlias {
            endpoint: endpoint.clone(),
            created: unix_now(),
            bridge: self.ovs.bridge().to_string(),
            host: self.host.clone(),
        }
        .to_string();
        let mut claim = self.ovs.has_port(host_if);
        for _ in 0..2 {
            if claim {
                self.claim_names(endpoint, host_if).await?;
            }
            if self
                .links
                .create_veth(host_if, peer, mtu, mac, &alias)
                .await?
            {
                return Ok(());
            }
            claim = true;
        }
        Err(DriverError::Conflict(format!(
            "interface {peer} of endpoint {endpoint} is taken by a device that is not docker-ovn's"
        )))
    }

    /// Makes sure the endpoint's interface names are free: removes what an
    /// earlier, interrupted Join of this endpoint left, and refuses names
    /// held by another endpoint (ids sharing their first 12 digits) or by
    /// something not the driver's.
    pub async fn claim_names(&self, endpoint: &DockerId, host_if: &str) -> Result<()> {
        let holder = match self.links.index_and_alias(host_if).await? {
            // An empty holder: a device of that name that is not the driver's.
            Some((_, alias)) => Some(
                VethAlias::parse(&alias)
                    .map(|a| a.endpoint.to_string())
                    .unwrap_or_default(),
            ),
            None => self.ovs.endpoint_of_port(host_if),
        };
        match holder {
            None => Ok(()),
            Some(holder) if holder == endpoint.as_str() => {
                self.unplug(endpoint, PairRemoval::Now).await.map(drop)
            }
            Some(holder) => Err(DriverError::Conflict(format!(
                "interface {host_if} of endpoint {endpoint} is taken by {}",
                if holder.is_empty() {
                    "a device that is not docker-ovn's".to_string()
                } else {
                    format!("endpoint {holder}")
                }
            ))),
        }
    }

    pub async fn rollback_join(&self, endpoint: &DockerId) {
        if let Err(error) = self.unplug(endpoint, PairRemoval::Now).await {
            tracing::error!(%endpoint, %error, "rollback of a failed join left state behind");
        }
    }

    /// Removes the veth pair and the OVS port of an endpoint, if present
    /// and marked as this endpoint's (never those of another endpoint
    /// whose id shares the first 12 digits): at once, or in the reaper's
    /// next batch. `Ok(false)` when neither was there, or both are in a
    /// batch already.
    pub async fn unplug(&self, endpoint: &DockerId, removal: PairRemoval) -> Result<bool> {
        let host_if = host_interface(endpoint);
        if removal == PairRemoval::Batched && self.reaper.is_retiring(&host_if) {
            return Ok(false);
        }
        let veth = self.own_veth(endpoint, &host_if).await?;
        match removal {
            PairRemoval::Now => {
                // The veth goes first: a port without its veth is stale to
                // reconciliation in any case, a veth without a port might be live.
                self.reaper.delete_now(&host_if, veth).await?;
                let port = self.ovs.remove_port(&host_if, endpoint.as_str()).await?;
                Ok(veth.is_some() || port)
            }
            PairRemoval::Batched => {
                let port = self.ovs.marked_port(&host_if, ENDPOINT, endpoint.as_str());
                let found = veth.is_some() || port.is_some();
                if found {
                    self.reaper.retire(&host_if, veth, port);
                }
                Ok(found)
            }
        }
    }

    /// The index of `host_if` if it is endpoint `endpoint`'s veth.
    pub async fn own_veth(&self, endpoint: &DockerId, host_if: &str) -> Result<Option<u32>> {
        let found = self.links.index_and_alias(host_if).await?;
        Ok(found.and_then(|(index, alias)| {
            let alias = VethAlias::parse(&alias)?;
            let ours = alias.endpoint == *endpoint
                && alias.host == self.host
                && alias.bridge == self.ovs.bridge();
            ours.then_some(index)
        }))
    }
}
