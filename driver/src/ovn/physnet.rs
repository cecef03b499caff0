//! This host's side of a provider network: the bridge its
//! `ovn-bridge-mappings` maps the physical network to. ovn-controller
//! only logs a missing mapping and leaves the network dark on this host,
//! so CreateNetwork checks it here and refuses with what to set.

use ovsdb_client::rows::{Bridge, TypedRow};

use crate::docker::provider_network::OPT_PHYSNET;
use crate::error::{DriverError, Result};
use crate::host::local_switch::LocalSwitch;

/// The Open_vSwitch key ovn-controller reads the mappings from.
pub const BRIDGE_MAPPINGS: &str = "ovn-bridge-mappings";

/// The bridge `physnet` is mapped to on this host, and its MTU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicalBridge {
    pub name: String,
    /// The MTU ovs-vswitchd reports for the bridge's own interface: the
    /// smallest of its ports' (its uplink's), unless set.
    pub mtu: Option<u32>,
}

/// The bridge `physnet` is mapped to, checked to exist and to have the
/// integration bridge's datapath type (patch ports join only bridges of
/// one datapath).
pub fn mapped_bridge(ovs: &LocalSwitch, physnet: &str) -> Result<PhysicalBridge> {
    let mappings = ovs.external_id(BRIDGE_MAPPINGS).unwrap_or_default();
    let Some(bridge) = bridge_of(&mappings, physnet) else {
        return Err(DriverError::invalid(
            OPT_PHYSNET,
            format!(
                "this host maps no bridge to physical network {physnet:?} \
                 (external_ids:{BRIDGE_MAPPINGS}={mappings:?}); map it first, for example \
                 ovs-vsctl set Open_vSwitch . external_ids:{BRIDGE_MAPPINGS}={physnet}:br-phy"
            ),
        ));
    };
    let datapath = |name: &str| datapath_type(ovs, name);
    let integration = ovs.bridge();
    match (datapath(&bridge), datapath(integration)) {
        (None, _) => Err(DriverError::invalid(
            OPT_PHYSNET,
            format!(
                "physical network {physnet:?} is mapped to bridge {bridge}, which does not exist"
            ),
        )),
        (Some(theirs), Some(ours)) if theirs != ours => Err(DriverError::invalid(
            OPT_PHYSNET,
            format!(
                "physical network {physnet:?} is mapped to bridge {bridge} of datapath type \
                 {:?}, but the integration bridge {integration} is {:?}: OVS patches only \
                 bridges of one datapath type",
                shown(&theirs),
                shown(&ours)
            ),
        )),
        _ => Ok(PhysicalBridge {
            mtu: ovs.interface_mtu(&bridge).filter(|m| *m >= 576),
            name: bridge,
        }),
    }
}

/// The bridge `physnet` maps to in an `ovn-bridge-mappings` value
/// (`physnet1:br-phy,physnet2:br-two`).
fn bridge_of(mappings: &str, physnet: &str) -> Option<String> {
    mappings.split(',').find_map(|pair| {
        let (name, bridge) = pair.trim().split_once(':')?;
        (name.trim() == physnet && !bridge.trim().is_empty()).then(|| bridge.trim().to_string())
    })
}

/// An empty datapath type is ovs-vswitchd's default, `system`.
fn shown(datapath: &str) -> &str {
    if datapath.is_empty() {
        "system"
    } else {
        datapath
    }
}

fn datapath_type(ovs: &LocalSwitch, bridge: &str) -> Option<String> {
    ovs.replica().read(|t| {
        let (_, row) = t.find_by(Bridge::TABLE, "name", bridge)?;
        Some(row.get_str("datapath_type").unwrap_or_default().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_of_a_physnet_is_found_among_several() {
        let mappings = "physnet1:br-phy, physnet2 : br-two";
        assert_eq!(bridge_of(mappings, "physnet1").as_deref(), Some("br-phy"));
        assert_eq!(bridge_of(mappings, "physnet2").as_deref(), Some("br-two"));
        assert_eq!(bridge_of(mappings, "physnet3"), None);
        assert_eq!(bridge_of("physnet1:", "physnet1"), None);
        assert_eq!(bridge_of("", "physnet1"), None);
    }
}
