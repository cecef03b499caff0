//! `-d ovn` provider networks: a logical switch on the physical network
//! rather than on the overlay, through OVN's `localnet` port.
//!
//! - `ovn.physnet=NAME`: the physical network, as every host's
//!   `ovn-bridge-mappings` names it (`physnet1:br-phy`).
//! - `ovn.vlan=N`: its VLAN (1 to 4094); untagged without.
//! - `ovn.gateway=router|host`: whose is the gateway address. `router`
//!   (the default) is the physical network's own router, named by
//!   `--gateway`; `host` opts into the per-host gateway of overlay
//!   networks, for a physical network without a router.

use std::collections::BTreeMap;

use crate::error::{DriverError, Result};
use crate::names::parse_vlan;

pub const OPT_PHYSNET: &str = "ovn.physnet";
pub const OPT_VLAN: &str = "ovn.vlan";
pub const OPT_GATEWAY: &str = "ovn.gateway";

/// Where a provider network's logical switch meets the physical network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderNetwork {
    /// The bridge-mapping name of the physical network.
    pub physnet: String,
    /// Its 802.1Q VLAN, if tagged.
    pub vlan: Option<u16>,
    /// Each host routes for it with its own gateway port (`ovn.gateway=host`)
    /// instead of the physical network's router.
    pub host_gateway: bool,
}

impl ProviderNetwork {
    /// The provider network `generic` (the `-o` options) asks for: `None`
    /// for an overlay network.
    pub fn from_options(generic: &BTreeMap<String, String>) -> Result<Option<ProviderNetwork>> {
        let Some(physnet) = generic.get(OPT_PHYSNET) else {
            if let Some(key) = [OPT_VLAN, OPT_GATEWAY]
                .iter()
                .find(|k| generic.contains_key(**k))
            {
                return Err(DriverError::invalid(
                    *key,
                    format!("{key} is for provider networks: add -o {OPT_PHYSNET}=NAME"),
                ));
            }
            return Ok(None);
        };
        Ok(Some(ProviderNetwork {
            physnet: parse_physnet(physnet)?,
            vlan: generic
                .get(OPT_VLAN)
                .map(|v| parse_vlan(OPT_VLAN, v))
                .transpose()?,
            host_gateway: generic
                .get(OPT_GATEWAY)
                .map(|v| parse_gateway_mode(v))
                .transpose()?
                .unwrap_or(false),
        }))
    }

    /// `physnet1`, `physnet1 VLAN 100`: for messages and `status`.
    pub fn describe(&self) -> String {
        match self.vlan {
            Some(vlan) => format!("{} VLAN {vlan}", self.physnet),
            None => self.physnet.clone(),
        }
    }
}

/// A bridge-mapping name: what `ovn-bridge-mappings` can hold, which
/// splits its value at `,` and `:`.
fn parse_physnet(value: &str) -> Result<String> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(DriverError::invalid(
            OPT_PHYSNET,
            format!(
                "{value:?}: give the physical network's name as ovn-bridge-mappings has it \
                 (letters, digits, '-', '_', '.')"
            ),
        ));
    }
    Ok(value.to_string())
}

fn parse_gateway_mode(value: &str) -> Result<bool> {
    match value {
        "host" => Ok(true),
        "router" => Ok(false),
        _ => Err(DriverError::invalid(
            OPT_GATEWAY,
            format!(
                "{value:?}: give \"router\" (the physical network's router at --gateway, the \
                 default) or \"host\" (each host routes for the network)"
            ),
        )),
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
    fn a_provider_network_names_its_physnet_and_may_name_a_vlan_and_host_gateway() {
        assert_eq!(ProviderNetwork::from_options(&options(&[])).unwrap(), None);
        let flat = ProviderNetwork::from_options(&options(&[(OPT_PHYSNET, "physnet1")]))
            .unwrap()
            .unwrap();
        assert_eq!((flat.vlan, flat.host_gateway), (None, false));
        assert_eq!(flat.describe(), "physnet1");
        let tagged = ProviderNetwork::from_options(&options(&[
            (OPT_PHYSNET, "physnet1"),
            (OPT_VLAN, "100"),
            (OPT_GATEWAY, "host"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!((tagged.vlan, tagged.host_gateway), (Some(100), true));
        assert_eq!(tagged.describe(), "physnet1 VLAN 100");
    }

    #[test]
    fn bad_provider_options_are_refused_with_what_to_give() {
        let cases = [
            (vec![(OPT_VLAN, "100")], "add -o ovn.physnet"),
            (vec![(OPT_GATEWAY, "host")], "add -o ovn.physnet"),
            (vec![(OPT_PHYSNET, "phys:net")], "letters, digits"),
            (vec![(OPT_PHYSNET, "")], "letters, digits"),
            (vec![(OPT_PHYSNET, "p"), (OPT_VLAN, "0")], "1 to 4094"),
            (vec![(OPT_PHYSNET, "p"), (OPT_VLAN, "4095")], "1 to 4094"),
            (vec![(OPT_PHYSNET, "p"), (OPT_GATEWAY, "yes")], "\"router\""),
        ];
        for (pairs, expected) in cases {
            let error = ProviderNetwork::from_options(&options(&pairs)).unwrap_err();
            assert!(error.to_string().contains(expected), "{pairs:?}: {error}");
        }
    }
}
