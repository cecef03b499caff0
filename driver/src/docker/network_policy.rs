//! What a network allows its containers: the same `-o` options on both
//! drivers, under each driver's prefix (`-o ovn.icc=false`, `-o
//! ovs.rate=100`), as Docker's `bridge` has them:
//!
//! - `icc=false`: no traffic between the network's containers (Docker
//!   bridge's `enable_icc=false`); the gateway, egress and published
//!   ports still work.
//! - `rate=MBIT`: each container limited to MBIT Mbit/s in each direction.
//! - `allow-overlap=true`: a subnet overlapping a route or address of the
//!   host is accepted knowingly (otherwise refused, naming the route).

use std::collections::BTreeMap;

use crate::error::{DriverError, Result};

/// The policy option names, after the driver's prefix.
pub const POLICY_OPTIONS: [&str; 3] = ["icc", "rate", "allow-overlap"];
/// The highest rate limit, in Mbit/s (100 Gbit/s).
pub const RATE_MAX_MBIT: u32 = 100_000;

/// The burst a rate limit allows, in kbit, for a rate of `kbps`: a
/// quarter of a second at the rate, on both drivers. Measured with iperf3
/// at 20 Mbit/s: a tenth of a second leaves TCP at about half the rate
/// (the drops come too often), a whole second lets it exceed the rate by
/// 15% over five seconds; a quarter gives 94 to 98%.
pub fn burst_kbit(kbps: u32) -> u32 {
    kbps / 4
}

/// A network's policy, parsed from its `-o` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Containers of the network may reach each other.
    pub icc: bool,
    /// Each container's limit in each direction, in Mbit/s.
    pub rate_mbit: Option<u32>,
    /// A subnet overlapping the host's routes is accepted.
    pub allow_overlap: bool,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        NetworkPolicy {
            icc: true,
            rate_mbit: None,
            allow_overlap: false,
        }
    }
}

impl NetworkPolicy {
    /// The policy `generic` (the network's `-o` options) asks of `driver`.
    pub fn from_options(generic: &BTreeMap<String, String>, driver: &str) -> Result<NetworkPolicy> {
        let option = |name: &str| {
            let key = format!("{driver}.{name}");
            generic.get(&key).map(|value| (key, value.as_str()))
        };
        let defaults = NetworkPolicy::default();
        Ok(NetworkPolicy {
            icc: option("icc").map_or(Ok(defaults.icc), |(k, v)| parse_bool(&k, v))?,
            rate_mbit: option("rate").map(|(k, v)| parse_rate(&k, v)).transpose()?,
            allow_overlap: option("allow-overlap")
                .map_or(Ok(defaults.allow_overlap), |(k, v)| parse_bool(&k, v))?,
        })
    }
}

/// `true`/`false` (or `1`/`0`), as Docker's boolean options.
fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(DriverError::invalid(
            key,
            format!("{value:?}: give true or false"),
        )),
    }
}

fn parse_rate(key: &str, value: &str) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(rate) if (1..=RATE_MAX_MBIT).contains(&rate) => Ok(rate),
        _ => Err(DriverError::invalid(
            key,
            format!("{value:?}: give the limit in Mbit/s, from 1 to {RATE_MAX_MBIT}"),
        )),
    }
}

/// `-o` options from pairs, for tests.
#[cfg(test)]
pub(crate) fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_docker_s_bridge_defaults() {
        let policy = NetworkPolicy::from_options(&options(&[]), "ovn").unwrap();
        assert_eq!(policy, NetworkPolicy::default());
        assert!(policy.icc && policy.rate_mbit.is_none() && !policy.allow_overlap);
    }

    #[test]
    fn each_driver_reads_its_own_prefix() {
        let set = options(&[
            ("ovs.icc", "false"),
            ("ovs.rate", "100"),
            ("ovn.icc", "true"),
        ]);
        let ovs = NetworkPolicy::from_options(&set, "ovs").unwrap();
        assert_eq!((ovs.icc, ovs.rate_mbit), (false, Some(100)));
        let ovn = NetworkPolicy::from_options(&set, "ovn").unwrap();
        assert!(ovn.icc && ovn.rate_mbit.is_none());
    }

    #[test]
    fn bad_values_name_the_option() {
        for (key, value) in [
            ("ovn.icc", "no"),
            ("ovn.rate", "0"),
            ("ovn.rate", "100001"),
            ("ovn.rate", "1.5"),
            ("ovn.allow-overlap", "yes"),
        ] {
            let error = NetworkPolicy::from_options(&options(&[(key, value)]), "ovn").unwrap_err();
            assert!(error.to_string().contains(key), "{error}");
        }
    }
}
