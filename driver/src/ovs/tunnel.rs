//! The bridge's VXLAN port: one flow-based port (`remote_ip=flow`,
//! `key=flow`) serves every VXLAN network and every peer, the flows
//! setting each packet's VNI and remote end. It is there while the host
//! has peers or a VXLAN network (nothing listens on UDP 4789 otherwise),
//! marked as the driver's, and found again by name. It stays while peers
//! are listed rather than come and go with networks: the userspace
//! datapath, given the port removed and added again within a tenth of a
//! second, was seen not to take VXLAN in for the next 15 s.

use ovsdb_client::{Row, Value};

use crate::error::Result;
use crate::external_ids::{OWNER, OWNER_VALUE};
use crate::host::local_switch::{OwnedPort, id_of};
use crate::names::DockerId;
use crate::ovs::backend::OvsBackend;

/// The VXLAN port's name (and its Interface's).
pub const VXLAN_PORT: &str = "docker-vxlan";
/// The mark of the driver's tunnel port.
pub const TUNNEL: &str = "docker-ovn:tunnel";
const VXLAN: &str = "vxlan";

impl OvsBackend {
    /// The driver's VXLAN port on the bridge, if it is there.
    fn tunnel_port(&self) -> Option<OwnedPort> {
        self.plumbing
            .ovs
            .owned_port(VXLAN_PORT)
            .filter(|p| id_of(p, TUNNEL) == Some(VXLAN))
    }

    /// The VXLAN port's OpenFlow number, once it has one.
    pub fn tunnel_ofport(&self) -> Option<u32> {
        self.tunnel_port().and_then(|p| p.ofport)
    }

    /// Whether the host has peers or a network on the bridge tunnels.
    pub fn tunnel_wanted(&self) -> bool {
        self.tunnel_wanted_besides(None)
    }

    /// [`OvsBackend::tunnel_wanted`] with network `gone` left out: a
    /// deletion that has just removed its record, which the replica may
    /// still show.
    pub fn tunnel_wanted_besides(&self, gone: Option<&DockerId>) -> bool {
        let networks = self.networks();
        let mut others = networks.iter().filter(|r| Some(&r.network) != gone);
        self.has_peers() || others.any(|r| r.mode.vni().is_some())
    }

    /// Whether the Open_vSwitch row or the command line lists a peer.
    pub fn has_peers(&self) -> bool {
        !self.peer_settings().peers.is_empty()
    }

    /// Adds the VXLAN port when `wanted` (returning once it has its
    /// OpenFlow number) and removes it when not. Calls that have just
    /// written a network record say what they know: the replica may not
    /// show their own write yet.
    pub async fn set_tunnel(&self, wanted: bool) -> Result<()> {
        let ovs = &self.plumbing.ovs;
        let present = self.tunnel_port().is_some();
        match (wanted, present) {
            (true, false) => {
                let interface = Row::new().with("type", VXLAN).with(
                    "options",
                    Value::map([("remote_ip", "flow"), ("key", "flow")]),
                );
                let marks = [
                    (OWNER.to_string(), OWNER_VALUE.to_string()),
                    (TUNNEL.to_string(), VXLAN.to_string()),
                ];
                ovs.insert_port(VXLAN_PORT, interface, &marks).await?;
                tracing::info!(bridge = %self.bridge(), port = VXLAN_PORT, "VXLAN port added");
            }
            (false, true) => {
                ovs.remove_port_marked(VXLAN_PORT, TUNNEL, VXLAN).await?;
                tracing::info!(bridge = %self.bridge(), port = VXLAN_PORT, "VXLAN port removed");
                return Ok(());
            }
            (false, false) => return Ok(()),
            (true, true) => {}
        }
        ovs.wait_ofport(VXLAN_PORT, self.config.ready_timeout)
            .await
            .map(drop)
    }

    /// [`OvsBackend::set_tunnel`] as the peers and network records call for.
    pub async fn sync_tunnel(&self) -> Result<()> {
        self.set_tunnel(self.tunnel_wanted()).await
    }

    /// Whether the VXLAN port is as the peers and network records call for.
    pub fn tunnel_in_sync(&self) -> bool {
        self.tunnel_wanted() == self.tunnel_port().is_some()
    }
}
