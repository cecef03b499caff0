//! How a `-d ovs` network reaches other hosts, from its `-o ovs.*`
//! options: not at all (a network private to this host), over VXLAN (a
//! network named with `ovs.network` or numbered with `ovs.vni`, the same
//! on every host that has it), or by direct routing (`ovs.mode=routed`:
//! the host routes between its subnet and the peers', see
//! [`crate::ovs::routed`]). VLAN is still to come and refused by name.
//!
//! A Docker network's id differs on every host (scope `local`), so a
//! VXLAN network spans hosts only by a name or a VNI the user gives each
//! host alike; one with neither stays on its host. A routed network is
//! matched across hosts by its place in each host's CIDR instead.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{DriverError, Result};
use crate::names::parse_network_name;

/// `-o ovs.mode=vxlan|routed`.
pub const OPT_MODE: &str = "ovs.mode";
/// `-o ovs.network=NAME`: the network every host names alike (VXLAN).
pub const OPT_NETWORK: &str = "ovs.network";
/// `-o ovs.vni=N`: the VXLAN network identifier, 1 to 16777215.
pub const OPT_VNI: &str = "ovs.vni";
/// The `-o` keys of `-d ovs`.
pub const OVS_KEYS: [&str; 3] = [OPT_MODE, OPT_NETWORK, OPT_VNI];

const VNI_MAX: u32 = (1 << 24) - 1;
/// What VXLAN adds to a frame: outer Ethernet, IPv4, UDP and VXLAN headers.
pub const VXLAN_OVERHEAD: u32 = 50;

/// A network's reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// On this host only.
    Local,
    /// Its frames in VXLAN with this VNI to every peer.
    Vxlan { vni: u32 },
    /// Its packets routed by the host to the peers, unencapsulated.
    Routed,
}

impl NetworkMode {
    /// The mode `options` (the network's `ovs.*` options) ask for.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<NetworkMode> {
        match options.get(OPT_MODE).map(String::as_str) {
            None | Some("vxlan") => {
                Ok(vni_of(options)?.map_or(NetworkMode::Local, |vni| NetworkMode::Vxlan { vni }))
            }
            Some("routed") => match [OPT_NETWORK, OPT_VNI]
                .iter()
                .find(|k| options.contains_key(**k))
            {
                Some(key) => Err(DriverError::invalid(
                    *key,
                    "is for VXLAN networks; a routed network is matched across hosts by \
                     its place in each host's docker-ovn-host-cidr, not by a name"
                        .to_string(),
                )),
                None => Ok(NetworkMode::Routed),
            },
            Some("vlan") => Err(DriverError::invalid(
                OPT_MODE,
                "\"vlan\" is not available yet; give vxlan (the default) or routed".to_string(),
            )),
            Some(other) => Err(DriverError::invalid(
                OPT_MODE,
                format!("{other:?}: give vxlan (the default) or routed"),
            )),
        }
    }

    /// The VNI of a VXLAN network.
    pub fn vni(self) -> Option<u32> {
        match self {
            NetworkMode::Vxlan { vni } => Some(vni),
            _ => None,
        }
    }

    /// The containers' MTU on an underlay of `underlay_mtu`.
    pub fn mtu(self, underlay_mtu: u32) -> u32 {
        match self {
            NetworkMode::Vxlan { .. } => underlay_mtu.saturating_sub(VXLAN_OVERHEAD),
            NetworkMode::Local | NetworkMode::Routed => underlay_mtu,
        }
    }

    /// As a network record holds it: `mode=local`, `mode=vxlan vni=N`,
    /// `mode=routed`.
    pub fn parse(mode: Option<&str>, vni: Option<&str>) -> Option<NetworkMode> {
        match (mode, vni) {
            // Records written before modes existed are local.
            (None | Some("local"), None) => Some(NetworkMode::Local),
            (Some("routed"), None) => Some(NetworkMode::Routed),
            (Some("vxlan"), Some(vni)) => {
                let vni = vni.parse().ok().filter(|v| (1..=VNI_MAX).contains(v))?;
                Some(NetworkMode::Vxlan { vni })
            }
            _ => None,
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkMode::Local => f.write_str("mode=local"),
            NetworkMode::Vxlan { vni } => write!(f, "mode=vxlan vni={vni}"),
            NetworkMode::Routed => f.write_str("mode=routed"),
        }
    }
}

/// The VNI `ovs.vni` gives, else the one `ovs.network` derives (a name
/// may go with a VNI given to match hosts that number it so).
fn vni_of(options: &BTreeMap<String, String>) -> Result<Option<u32>> {
    let given = options.get(OPT_VNI).map(|v| parse_vni(v)).transpose()?;
    let named = options
        .get(OPT_NETWORK)
        .map(|name| parse_network_name(name).map(|name| vni_of_name(&name)))
        .transpose()?;
    Ok(given.or(named))
}

fn parse_vni(value: &str) -> Result<u32> {
    value
        .parse::<u32>()
        .ok()
        .filter(|v| (1..=VNI_MAX).contains(v))
        .ok_or_else(|| {
            DriverError::invalid(
                OPT_VNI,
                format!("{value:?}: give a number from 1 to {VNI_MAX}"),
            )
        })
}

/// The VNI of a network name: 24 bits of its FNV-1a hash, never 0, the
/// same on every host (so hosts agree with no store of their own).
pub fn vni_of_name(name: &str) -> u32 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    match (hash ^ (hash >> 24)) & VNI_MAX {
        0 => 1,
        vni => vni,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_name_or_a_vni_makes_a_vxlan_network_and_neither_a_local_one() {
        let mode = |pairs: &[(&str, &str)]| NetworkMode::from_options(&options(pairs));
        assert_eq!(mode(&[]).unwrap(), NetworkMode::Local);
        assert_eq!(mode(&[(OPT_MODE, "vxlan")]).unwrap(), NetworkMode::Local);
        assert_eq!(mode(&[(OPT_MODE, "routed")]).unwrap(), NetworkMode::Routed);
        assert_eq!(
            mode(&[(OPT_VNI, "5001")]).unwrap(),
            NetworkMode::Vxlan { vni: 5001 }
        );
        let named = mode(&[(OPT_NETWORK, "blue")]).unwrap();
        assert_eq!(
            named,
            NetworkMode::Vxlan {
                vni: vni_of_name("blue")
            }
        );
        assert_ne!(vni_of_name("blue"), vni_of_name("red"));
    }

    #[test]
    fn bad_modes_and_vnis_are_refused_with_what_to_give() {
        let error = |pairs: &[(&str, &str)]| {
            NetworkMode::from_options(&options(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(error(&[(OPT_MODE, "vlan2")]).contains("give vxlan"));
        assert!(error(&[(OPT_VNI, "0")]).contains("from 1 to 16777215"));
        assert!(error(&[(OPT_VNI, "16777216")]).contains("from 1 to 16777215"));
        assert!(error(&[(OPT_MODE, "vlan")]).contains("not available yet"));
        let named_routed = error(&[(OPT_MODE, "routed"), (OPT_NETWORK, "blue")]);
        assert!(named_routed.contains("place in each host's docker-ovn-host-cidr"));
        assert!(!error(&[(OPT_MODE, "routed"), (OPT_VNI, "7")]).is_empty());
        assert!(!error(&[(OPT_NETWORK, "bad name!")]).is_empty());
    }

    #[test]
    fn a_mode_reads_back_as_written_and_old_records_are_local() {
        for mode in [
            NetworkMode::Local,
            NetworkMode::Vxlan { vni: 42 },
            NetworkMode::Routed,
        ] {
            let text = mode.to_string();
            let field = |name: &str| {
                text.split(' ')
                    .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            };
            assert_eq!(NetworkMode::parse(field("mode"), field("vni")), Some(mode));
        }
        assert_eq!(NetworkMode::parse(None, None), Some(NetworkMode::Local));
        assert_eq!(NetworkMode::parse(Some("vxlan"), None), None);
        assert_eq!(NetworkMode::mtu(NetworkMode::Vxlan { vni: 1 }, 1500), 1450);
        assert_eq!(NetworkMode::mtu(NetworkMode::Routed, 1500), 1500);
    }
}
