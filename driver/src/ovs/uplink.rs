//! VLAN networks' uplinks (`-o ovs.mode=vlan -o ovs.vlan=N -o
//! ovs.uplink=IFACE`): the interface becomes a trunk port of the driver's
//! bridge, each VLAN network's frames leave it tagged with the network's
//! VLAN id, and the bridge takes in only those VLANs from it. The port is
//! there while a VLAN network uses the interface, marked as the driver's,
//! and found again by name; no other port of the bridge is ever tagged.

use ovsdb_client::Row;

use crate::error::{DriverError, Result};
use crate::external_ids::{OWNER, OWNER_VALUE};
use crate::host::local_switch::{OwnedPort, id_of};
use crate::names::DockerId;
use crate::ovs::backend::OvsBackend;
use crate::ovs::network_mode::{NetworkMode, OPT_UPLINK};
use crate::ovs::network_record::NetworkRecord;

/// The mark of the driver's uplink ports.
pub const UPLINK: &str = "docker-ovn:uplink";
const TRUNK: &str = "trunk";

impl OvsBackend {
    /// The driver's port for uplink `name`, if it is there.
    fn uplink_port(&self, name: &str) -> Option<OwnedPort> {
        self.plumbing.ovs.owned_port(name).filter(is_trunk)
    }

    /// The uplink's OpenFlow number, once it has one.
    pub fn uplink_ofport(&self, name: &str) -> Option<u32> {
        self.uplink_port(name).and_then(|p| p.ofport)
    }

    /// The uplinks the VLAN networks (other than `gone`) use.
    pub fn wanted_uplinks(&self, gone: Option<&DockerId>) -> Vec<String> {
        let mut uplinks: Vec<String> = self
            .networks()
            .into_iter()
            .filter(|r| Some(&r.network) != gone)
            .filter_map(|r| r.uplink)
            .collect();
        uplinks.sort();
        uplinks.dedup();
        uplinks
    }

    /// Refuses a VLAN network whose uplink is not an interface of this
    /// host, or whose VLAN another network of this host has on it.
    pub(super) async fn check_vlan(
        &self,
        mode: NetworkMode,
        uplink: Option<&str>,
        records: &[NetworkRecord],
    ) -> Result<()> {
        let (NetworkMode::Vlan { vid }, Some(uplink)) = (mode, uplink) else {
            return Ok(());
        };
        if self.uplink_port(uplink).is_none()
            && self.plumbing.links.index_of(uplink).await?.is_none()
        {
            return Err(DriverError::invalid(
                OPT_UPLINK,
                format!("{uplink:?}: this host has no such interface"),
            ));
        }
        let same = records
            .iter()
            .find(|r| r.mode == mode && r.uplink.as_deref() == Some(uplink));
        match same {
            Some(other) => Err(DriverError::Conflict(format!(
                "VLAN {vid} on {uplink} is taken by -d ovs network {} on this host",
                other.network
            ))),
            None => Ok(()),
        }
    }

    /// Adds the port of uplink `name` (returning once it has its OpenFlow
    /// number).
    pub async fn add_uplink(&self, name: &str) -> Result<u32> {
        let ovs = &self.plumbing.ovs;
        if self.uplink_port(name).is_none() {
            let marks = [
                (OWNER.to_string(), OWNER_VALUE.to_string()),
                (UPLINK.to_string(), TRUNK.to_string()),
            ];
            ovs.insert_port(name, Row::new(), &marks).await?;
            tracing::info!(bridge = %self.bridge(), uplink = name, "uplink added as a trunk port");
        }
        ovs.wait_ofport(name, self.config.ready_timeout).await
    }

    /// Makes the uplink ports the wanted ones (`gone`: a network being
    /// deleted): missing ones added, unused ones removed.
    pub async fn sync_uplinks(&self, gone: Option<&DockerId>) -> Result<()> {
        let wanted = self.wanted_uplinks(gone);
        for name in &wanted {
            self.add_uplink(name).await?;
        }
        for name in self.present_uplinks() {
            if !wanted.contains(&name) {
                self.plumbing
                    .ovs
                    .remove_port_marked(&name, UPLINK, TRUNK)
                    .await?;
                tracing::info!(bridge = %self.bridge(), uplink = %name, "uplink port removed");
            }
        }
        Ok(())
    }

    /// The uplink ports present, by name.
    pub fn present_uplinks(&self) -> Vec<String> {
        let mut present: Vec<String> = self
            .plumbing
            .ovs
            .owned_ports()
            .into_iter()
            .filter(is_trunk)
            .map(|p| p.name)
            .collect();
        present.sort();
        present
    }
}

/// Whether `port` is one of the driver's uplink ports.
fn is_trunk(port: &OwnedPort) -> bool {
    id_of(port, UPLINK) == Some(TRUNK)
}
