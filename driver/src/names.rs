//! Validated identifiers and the names derived from them.
//!
//! Docker ids reach netlink and OVSDB only through these types, so every
//! interface name fits IFNAMSIZ and no name can be forged from a request.

use crate::error::{DriverError, Result};

/// Linux allows 15 bytes plus the terminating NUL.
pub const IFNAMSIZ_MAX: usize = 15;

/// How many hex digits of an endpoint id go into its interface names:
/// 12 hex digits (48 bits) as `docker ps` shows them; a clash with a live
/// endpoint is detected and refused, never silently shared.
const ID_CHARS_IN_NAMES: usize = 12;

/// A Docker network or endpoint id: 12 to 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DockerId(String);

impl DockerId {
    /// Checks `value` as the `what` of a request (e.g. "NetworkID").
    pub fn parse(what: &str, value: &str) -> Result<DockerId> {
        let valid_len = (12..=64).contains(&value.len());
        let valid_chars = value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid_len || !valid_chars {
            return Err(DriverError::invalid(
                what,
                format!("{value:?} is not a Docker id (12 to 64 lowercase hex digits)"),
            ));
        }
        Ok(DockerId(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, as Docker prints ids.
    pub fn short(&self) -> &str {
        &self.0[..ID_CHARS_IN_NAMES]
    }
}

impl std::fmt::Display for DockerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host side of an endpoint's veth pair, the OVS port: `ovn` + 12 hex.
pub fn host_interface(endpoint: &DockerId) -> String {
    format!("ovn{}", endpoint.short())
}

/// The container side before Docker moves and renames it: `ovc` + 12 hex.
pub fn container_interface(endpoint: &DockerId) -> String {
    format!("ovc{}", endpoint.short())
}

/// What the alias of an endpoint's host-side veth starts with: the mark
/// that makes a kernel device the driver's.
pub const VETH_ALIAS_PREFIX: &str = "docker-ovn endpoint ";

/// The alias of endpoint `endpoint`'s host-side veth.
pub fn veth_alias(endpoint: &DockerId) -> String {
    format!("{VETH_ALIAS_PREFIX}{endpoint}")
}

/// The endpoint a veth alias names, if it is one of the driver's.
pub fn endpoint_of_alias(alias: &str) -> Option<DockerId> {
    let id = alias.strip_prefix(VETH_ALIAS_PREFIX)?;
    DockerId::parse("alias", id).ok()
}

/// A user-chosen logical network name (`-o ovn.network=NAME`).
pub fn parse_network_name(value: &str) -> Result<String> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !value.starts_with('-');
    if !valid {
        return Err(DriverError::invalid(
            "ovn.network",
            format!("{value:?}: use 1 to 64 letters, digits, '-', '_' or '.'"),
        ));
    }
    Ok(value.to_string())
}

/// The logical switch of a network private to one Docker network.
pub fn private_switch_name(network: &DockerId) -> String {
    format!("docker-{}", network.short())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn ids_are_hex_of_docker_length() {
        assert!(DockerId::parse("NetworkID", ID).is_ok());
        assert!(DockerId::parse("NetworkID", &ID[..12]).is_ok());
        for bad in [
            "",
            "abc",
            "0123456789AB",
            "0123456789ab;",
            &format!("{ID}0"),
        ] {
            assert!(DockerId::parse("NetworkID", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn interface_names_fit_ifnamsiz_and_differ() {
        let id = DockerId::parse("EndpointID", ID).unwrap();
        assert_eq!(host_interface(&id), "ovn0123456789ab");
        assert_eq!(host_interface(&id).len(), IFNAMSIZ_MAX);
        assert_eq!(container_interface(&id).len(), IFNAMSIZ_MAX);
        assert_ne!(host_interface(&id), container_interface(&id));
    }

    #[test]
    fn veth_aliases_round_trip_and_foreign_ones_are_not_ours() {
        let id = DockerId::parse("EndpointID", ID).unwrap();
        assert_eq!(endpoint_of_alias(&veth_alias(&id)), Some(id));
        for foreign in [
            "",
            "docker-ovn endpoint xyz",
            "uplink",
            &format!("other {ID}"),
        ] {
            assert_eq!(endpoint_of_alias(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn network_names_are_restricted() {
        assert_eq!(parse_network_name("blue-1.a_b").unwrap(), "blue-1.a_b");
        for bad in ["", "-x", "a b", "x;y", &"n".repeat(65)] {
            assert!(parse_network_name(bad).is_err(), "{bad}");
        }
    }
}
