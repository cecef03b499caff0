//! How a `-d ovs` network reaches other hosts, from its `-o ovs.*`
//! options: not at all (a network private to this host), over VXLAN (a
//! network named with `ovs.network` or numbered with `ovs.vni`, the same
//! on every host that has it), by direct routing (`ovs.mode=routed`: the
//! host routes between its subnet and the peers', see
//! [`crate::ovs::routed`]), or on a VLAN of an uplink (`ovs.mode=vlan
//! ovs.vlan=N ovs.uplink=IFACE`, see [`crate::ovs::uplink`]).
//!
//! A Docker network's id differs on every host (scope `local`), so a
//! VXLAN network spans hosts only by a name or a VNI the user gives each
//! host alike; one with neither stays on its host. A routed network is
//! matched across hosts by its place in each host's CIDR instead.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{DriverError, Result};
use crate::names::{VLAN_MAX, parse_network_name, parse_vlan};

/// `-o ovs.mode=vxlan|routed|vlan`.
pub const OPT_MODE: &str = "ovs.mode";
/// `-o ovs.vlan=N`: the VLAN id of a VLAN network, 1 to 4094.
pub const OPT_VLAN: &str = "ovs.vlan";
/// `-o ovs.uplink=IFACE`: the interface a VLAN network's frames leave by.
pub const OPT_UPLINK: &str = "ovs.uplink";
/// `-o ovs.network=NAME`: the network every host names alike (VXLAN).
pub const OPT_NETWORK: &str = "ovs.network";
/// `-o ovs.vni=N`: the VXLAN network identifier, 1 to 16777215.
pub const OPT_VNI: &str = "ovs.vni";
/// The `-o` keys of `-d ovs` (its mode's, and the policy's of
/// [`crate::docker::network_policy`]).
pub const OVS_KEYS: [&str; 8] = [
    OPT_MODE,
    OPT_NETWORK,
    OPT_VNI,
    OPT_VLAN,
    OPT_UPLINK,
    "ovs.icc",
    "ovs.rate",
    "ovs.allow-overlap",
];

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
    /// Its frames tagged `vid` on an uplink (the record names it).
    Vlan { vid: u16 },
}

impl NetworkMode {
    /// The mode `options` (the network's `ovs.*` options) ask for.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<NetworkMode> {
        let mode = options.get(OPT_MODE).map(String::as_str);
        let only_for =
            |keys: &[&str], reason: &str| match keys.iter().find(|k| options.contains_key(**k)) {
                Some(key) => Err(DriverError::invalid(*key, reason.to_string())),
                None => Ok(()),
            };
        if mode != Some("vlan") {
            only_for(&[OPT_VLAN, OPT_UPLINK], "is for ovs.mode=vlan")?;
        }
        match mode {
            None | Some("vxlan") => {
                Ok(vni_of(options)?.map_or(NetworkMode::Local, |vni| NetworkMode::Vxlan { vni }))
            }
            Some("routed") => {
                only_for(
                    &[OPT_NETWORK, OPT_VNI],
                    "is for VXLAN networks; a routed network is matched across hosts by \
                     its place in each host's docker-ovn-host-cidr, not by a name",
                )?;
                Ok(NetworkMode::Routed)
            }
            Some("vlan") => {
                only_for(
                    &[OPT_NETWORK, OPT_VNI],
                    "is for VXLAN networks; a VLAN network is its VLAN id on the uplink",
                )?;
                uplink_of(options)?;
                Ok(NetworkMode::Vlan {
                    vid: vlan_of(options)?,
                })
            }
            Some(other) => Err(DriverError::invalid(
                OPT_MODE,
                format!("{other:?}: give vxlan (the default), routed or vlan"),
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
            NetworkMode::Local | NetworkMode::Routed | NetworkMode::Vlan { .. } => underlay_mtu,
        }
    }

    /// As a network record holds it: `mode=local`, `mode=vxlan vni=N`,
    /// `mode=routed`, `mode=vlan vlan=N`; `field` reads a record's field.
    pub fn parse<'a>(field: impl Fn(&str) -> Option<&'a str>) -> Option<NetworkMode> {
        match (field("mode"), field("vni"), field("vlan")) {
            // Records written before modes existed are local.
            (None | Some("local"), None, None) => Some(NetworkMode::Local),
            (Some("routed"), None, None) => Some(NetworkMode::Routed),
            (Some("vxlan"), Some(vni), None) => {
                let vni = vni.parse().ok().filter(|v| (1..=VNI_MAX).contains(v))?;
                Some(NetworkMode::Vxlan { vni })
            }
            (Some("vlan"), None, Some(vid)) => {
                let vid = vid.parse().ok().filter(|v| (1..=VLAN_MAX).contains(v))?;
                Some(NetworkMode::Vlan { vid })
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
            NetworkMode::Vlan { vid } => write!(f, "mode=vlan vlan={vid}"),
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

/// The VLAN id `ovs.vlan` gives (required with `ovs.mode=vlan`).
fn vlan_of(options: &BTreeMap<String, String>) -> Result<u16> {
    let value = options.get(OPT_VLAN).ok_or_else(|| {
        DriverError::invalid(OPT_VLAN, "ovs.mode=vlan needs -o ovs.vlan=N (1 to 4094)")
    })?;
    parse_vlan(OPT_VLAN, value)
}

/// The uplink `ovs.uplink` names (required with `ovs.mode=vlan`): an
/// interface name as the kernel takes it.
pub fn uplink_of(options: &BTreeMap<String, String>) -> Result<Option<String>> {
    if options.get(OPT_MODE).map(String::as_str) != Some("vlan") {
        return Ok(None);
    }
    let name = options.get(OPT_UPLINK).ok_or_else(|| {
        DriverError::invalid(
            OPT_UPLINK,
            "ovs.mode=vlan needs -o ovs.uplink=IFACE (the trunk)",
        )
    })?;
    let valid = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    match valid {
        true => Ok(Some(name.clone())),
        false => Err(DriverError::invalid(
            OPT_UPLINK,
            format!("{name:?}: not an interface name (up to 15 of A-Z a-z 0-9 . _ -)"),
        )),
    }
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
    use crate::docker::network_policy::options;

    #[test]
    fn a_name_or_a_vni_makes_a_vxlan_network_and_neither_a_local_one() {
        let mode = |pairs: &[(&str, &str)]| NetworkMode::from_options(&options(pairs));
        assert_eq!(mode(&[]).unwrap(), NetworkMode::Local);
        assert_eq!(mode(&[(OPT_MODE, "vxlan")]).unwrap(), NetworkMode::Local);
        assert_eq!(mode(&[(OPT_MODE, "routed")]).unwrap(), NetworkMode::Routed);
        let vlan = [(OPT_MODE, "vlan"), (OPT_VLAN, "100"), (OPT_UPLINK, "eth1")];
        assert_eq!(mode(&vlan).unwrap(), NetworkMode::Vlan { vid: 100 });
        assert_eq!(uplink_of(&options(&vlan)).unwrap().as_deref(), Some("eth1"));
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
        assert!(error(&[(OPT_MODE, "vlan"), (OPT_UPLINK, "eth1")]).contains("needs -o ovs.vlan"));
        assert!(error(&[(OPT_MODE, "vlan"), (OPT_VLAN, "7")]).contains("needs -o ovs.uplink"));
        let vlan = |vid: &str, uplink: &str| {
            error(&[(OPT_MODE, "vlan"), (OPT_VLAN, vid), (OPT_UPLINK, uplink)])
        };
        assert!(vlan("4095", "eth1").contains("from 1 to 4094"));
        assert!(vlan("7", "eth 1").contains("not an interface name"));
        assert!(error(&[(OPT_VLAN, "7")]).contains("is for ovs.mode=vlan"));
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
            NetworkMode::Vlan { vid: 100 },
        ] {
            let text = mode.to_string();
            let field = |name: &str| {
                text.split(' ')
                    .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            };
            assert_eq!(NetworkMode::parse(field), Some(mode));
        }
        assert_eq!(NetworkMode::parse(|_| None), Some(NetworkMode::Local));
        let vxlan_without_vni = |name: &str| (name == "mode").then_some("vxlan");
        assert_eq!(NetworkMode::parse(vxlan_without_vni), None);
        assert_eq!(NetworkMode::mtu(NetworkMode::Vxlan { vni: 1 }, 1500), 1450);
        assert_eq!(NetworkMode::mtu(NetworkMode::Routed, 1500), 1500);
    }
}
