//! Validated identifiers and the names derived from them.
//!
//! Docker ids reach netlink and OVSDB only through these types, so every
//! interface name fits IFNAMSIZ and no name can be forged from a request.

use crate::error::{DriverError, Result};

/// Linux allows 15 bytes plus the terminating NUL.
pub const IFNAMSIZ_MAX: usize = 15;

/// How many hex digits of an endpoint id go into its interface names:
/// 12 hex digits (48 bits) as `docker ps` shows them; a Join whose names
/// are another endpoint's is refused, and Leave and Delete only remove a
/// pair and a port that name their own endpoint in full.
const ID_CHARS_IN_NAMES: usize = 12;

/// How long Docker's network and endpoint ids are, in hex digits.
const DOCKER_ID_LEN: usize = 64;

/// How long a swarm network's id is: swarmkit's 128 random bits in base
/// 36, zero-padded. The node's dockerd passes it on as the NetworkID.
const SWARM_ID_LEN: usize = 25;

/// A Docker network or endpoint id: 64 lowercase hex digits, or, for a
/// network of a swarm, 25 lowercase base-36 digits.
///
/// Docker never sends a shorter one, and a short id would share its
/// first 12 digits (its interface names) with every id it prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DockerId(String);

impl DockerId {
    /// Checks `value` as the `what` of a request (e.g. "NetworkID").
    pub fn parse(what: &str, value: &str) -> Result<DockerId> {
        let all = |valid: fn(&u8) -> bool| value.bytes().all(|b| valid(&b));
        let docker =
            value.len() == DOCKER_ID_LEN && all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let swarm = value.len() == SWARM_ID_LEN && all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'z'));
        if !docker && !swarm {
            return Err(DriverError::invalid(
                what,
                format!(
                    "{:?} is not a Docker id (64 lowercase hex digits, \
                     or 25 base-36 digits for a swarm network)",
                    Short(value)
                ),
            ));
        }
        Ok(DockerId(value.to_string()))
    }

    /// Whether this is a swarm network's id.
    pub fn is_swarm(&self) -> bool {
        self.0.len() == SWARM_ID_LEN
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

/// The highest 802.1Q VLAN id (4095 is reserved).
pub const VLAN_MAX: u16 = 4094;

/// A VLAN id given as option `option` (`ovn.vlan`, `ovs.vlan`): 1 to 4094.
pub fn parse_vlan(option: &str, value: &str) -> Result<u16> {
    value
        .parse::<u16>()
        .ok()
        .filter(|vlan| (1..=VLAN_MAX).contains(vlan))
        .ok_or_else(|| {
            DriverError::invalid(
                option,
                format!("{value:?}: give a VLAN id from 1 to {VLAN_MAX}"),
            )
        })
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
            format!(
                "{:?}: use 1 to 64 letters, digits, '-', '_' or '.'",
                Short(value)
            ),
        ));
    }
    Ok(value.to_string())
}

/// The longest `SandboxKey` accepted: Linux's `PATH_MAX`.
const SANDBOX_KEY_MAX: usize = 4096;

/// Join's `SandboxKey`, the path of the sandbox's network namespace,
/// which the driver records on the OVS interface: an absolute path of at
/// most `PATH_MAX` bytes without control characters.
pub fn check_sandbox_key(value: &str) -> Result<()> {
    let valid = value.starts_with('/')
        && value.len() <= SANDBOX_KEY_MAX
        && !value.chars().any(char::is_control);
    if !valid {
        return Err(DriverError::invalid(
            "SandboxKey",
            format!(
                "{:?} is not a network namespace path (absolute, at most {SANDBOX_KEY_MAX} bytes, no control characters)",
                Short(value)
            ),
        ));
    }
    Ok(())
}

/// A request value in an error message, cut to its first 80 characters:
/// a megabyte-long id must not become a megabyte-long error and log line.
pub struct Short<'a>(pub &'a str);

impl std::fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 80;
        match self.0.char_indices().nth(SHOWN) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}... ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
}

/// The logical switch of a network private to one Docker network.
pub fn private_switch_name(network: &DockerId) -> String {
    format!("docker-{}", network.short())
}

/// The OVS internal port (and kernel device) holding the gateway address
/// of logical switch `switch` on this host: `dovngw` + 9 hex digits of a
/// hash of the switch's name, 15 bytes. From the switch rather than a
/// Docker network id, because each host's Docker network of one shared
/// switch has another id while the gateway is the switch's. 36 bits make a
/// clash unlikely; one is refused, never resolved by sharing a port.
pub fn gateway_interface(switch: &str) -> String {
    format!(
        "{GATEWAY_INTERFACE_PREFIX}{:09x}",
        fnv1a(switch) & 0xf_ffff_ffff
    )
}

/// The first letters of every gateway port's name: iptables matches all
/// of them as `dovngw+`.
pub const GATEWAY_INTERFACE_PREFIX: &str = "dovngw";

/// The `localport` logical switch port carrying the gateway of `switch`.
pub fn gateway_logical_port(switch: &str) -> String {
    format!("docker-ovn-gateway-{switch}")
}

/// The `localnet` logical switch port of provider network `switch`.
pub fn localnet_logical_port(switch: &str) -> String {
    format!("docker-ovn-localnet-{switch}")
}

/// FNV-1a (64 bits): stable across builds and hosts, unlike std's hasher.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn ids_are_hex_of_docker_length() {
        assert!(DockerId::parse("NetworkID", ID).is_ok());
        for bad in [
            "",
            "abc",
            &ID[..12],
            &ID[..63],
            &ID.to_uppercase(),
            "0123456789ab;",
            &format!("{ID}0"),
            "0123456789abcdefghijklmnO",
            "0123456789abcdefghijklmno0",
        ] {
            assert!(DockerId::parse("NetworkID", bad).is_err(), "{bad}");
        }
        let swarm = DockerId::parse("NetworkID", "7n1m0bztp5gvdq2jh1w3x4yzk").unwrap();
        assert!(swarm.is_swarm());
        assert_eq!(swarm.short(), "7n1m0bztp5gv");
        assert!(!DockerId::parse("NetworkID", ID).unwrap().is_swarm());
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
    fn sandbox_keys_are_absolute_paths_without_control_characters() {
        assert!(check_sandbox_key("/var/run/docker/netns/0123456789ab").is_ok());
        for bad in [
            "",
            "netns/x",
            "/x\0y",
            "/x\ny",
            &format!("/{}", "a".repeat(4096)),
        ] {
            assert!(check_sandbox_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(10_000);
        let shown = format!("{:?}", Short(&long));
        assert!(
            shown.len() < 120 && shown.ends_with("(10000 bytes)"),
            "{shown}"
        );
        assert_eq!(format!("{:?}", Short("ab")), "\"ab\"");
    }

    #[test]
    fn gateway_names_fit_ifnamsiz_are_stable_and_differ() {
        let blue = gateway_interface("blue");
        assert_eq!(blue.len(), IFNAMSIZ_MAX);
        assert_eq!(blue, gateway_interface("blue"));
        assert_ne!(blue, gateway_interface("blue2"));
        assert_eq!(gateway_interface(""), "dovngw484222325");
        assert!(gateway_interface(&"n".repeat(64)).len() == IFNAMSIZ_MAX);
        assert_eq!(gateway_logical_port("blue"), "docker-ovn-gateway-blue");
    }

    #[test]
    fn network_names_are_restricted() {
        assert_eq!(parse_network_name("blue-1.a_b").unwrap(), "blue-1.a_b");
        for bad in ["", "-x", "a b", "x;y", &"n".repeat(65)] {
            assert!(parse_network_name(bad).is_err(), "{bad}");
        }
    }
}
