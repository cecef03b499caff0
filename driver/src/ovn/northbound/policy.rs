//! A network's policy ([`crate::docker::network_policy`]) in Northbound:
//! the ACL that keeps a switch's containers apart (`icc=false`), made
//! with the switch, and each endpoint's pair of QoS rows (`rate`), made
//! and deleted with its port.
//!
//! The ACL works at IP: traffic from the subnet to the subnet is dropped
//! unless one end is the gateway (every host's gateway holds the one
//! address). What crosses the host, egress and published ports (hairpin
//! traffic is masqueraded to the gateway), still passes; ARP does too, as
//! on Docker's bridge with `enable_icc=false`.
//!
//! The QoS rows are per port, not one per switch: ovn-controller gives
//! each logical flow of a `set_meter` its own meter, so a row matching
//! every port would be one limit shared by all of them.

use ovsdb_client::{Row, Value};

use crate::docker::network_policy::burst_kbit;
use crate::docker::network_spec::NetworkSpec;
use crate::external_ids::{ENDPOINT, OWNER, OWNER_VALUE};

/// The isolation ACL's priority: above anything ovn-northd's defaults use.
const ISOLATION_PRIORITY: i64 = 1000;
/// The QoS rows' priority.
const RATE_PRIORITY: i64 = 1000;
/// The ACL of a network created with `icc=false`; `None` for any other.
pub fn isolation_acl(spec: &NetworkSpec) -> Option<Row> {
    if spec.policy.icc {
        return None;
    }
    let families = [
        ("ip4", spec.subnet4, spec.gateway4),
        ("ip6", spec.subnet6, spec.gateway6),
    ];
    let parts: Vec<String> = families
        .into_iter()
        .filter_map(|(family, subnet, gateway)| {
            let subnet = subnet?;
            let mut part = format!("{family}.src == {subnet} && {family}.dst == {subnet}");
            if let Some(gateway) = gateway.filter(|_| !spec.internal) {
                part.push_str(&format!(
                    " && {family}.src != {gateway} && {family}.dst != {gateway}"
                ));
            }
            Some(format!("({part})"))
        })
        .collect();
    Some(
        Row::new()
            .with("priority", ISOLATION_PRIORITY)
            .with("direction", "to-lport")
            .with("match", parts.join(" || ").as_str())
            .with("action", "drop")
            .with("external_ids", Value::map([(OWNER, OWNER_VALUE)])),
    )
}

/// The two QoS rows that limit endpoint `endpoint` (its port's name) to
/// `rate_mbit` Mbit/s: what it sends (`from-lport`), what it receives
/// (`to-lport`).
pub fn rate_rows(endpoint: &str, rate_mbit: u32) -> [Row; 2] {
    let kbps = rate_mbit.saturating_mul(1000);
    let row = |direction: &str, port: &str| {
        Row::new()
            .with("priority", RATE_PRIORITY)
            .with("direction", direction)
            .with("match", format!("{port} == \"{endpoint}\"").as_str())
            .with(
                "bandwidth",
                Value::map([
                    ("rate", i64::from(kbps)),
                    ("burst", i64::from(burst_kbit(kbps))),
                ]),
            )
            .with(
                "external_ids",
                Value::map([(OWNER, OWNER_VALUE), (ENDPOINT, endpoint)]),
            )
    };
    [row("from-lport", "inport"), row("to-lport", "outport")]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::network_spec::OVN_OPTIONS;
    use plugin_api::wire::CreateNetworkRequest;
    use serde_json::json;

    fn spec(icc: &str) -> NetworkSpec {
        let request: CreateNetworkRequest = plugin_api::keys::from_value(json!({
            "NetworkID": "7a1bd9b1c3e8a4f90a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071",
            "Options": {"com.docker.network.generic": {"ovn.icc": icc}},
            "IPv4Data": [{"Pool": "10.1.0.0/24", "Gateway": "10.1.0.1/24"}],
            "IPv6Data": [{"Pool": "fd00:1::/64"}]
        }))
        .unwrap();
        NetworkSpec::from_request(&request, OVN_OPTIONS).unwrap()
    }

    #[test]
    fn only_icc_false_has_an_acl_and_it_spares_the_gateway() {
        assert!(isolation_acl(&spec("true")).is_none());
        let acl = isolation_acl(&spec("false")).unwrap();
        assert_eq!(
            acl.get_str("match"),
            Some(
                "(ip4.src == 10.1.0.0/24 && ip4.dst == 10.1.0.0/24 && ip4.src != 10.1.0.1 \
                 && ip4.dst != 10.1.0.1) || (ip6.src == fd00:1::/64 && ip6.dst == fd00:1::/64)"
            )
        );
        assert_eq!(acl.get_str("action"), Some("drop"));
    }

    #[test]
    fn each_endpoint_is_limited_both_ways_in_kbps() {
        let [from, to] = rate_rows("e5c2", 100);
        assert_eq!(from.get_str("match"), Some("inport == \"e5c2\""));
        assert_eq!(to.get_str("match"), Some("outport == \"e5c2\""));
        assert_eq!(from.map_str("external_ids", ENDPOINT), Some("e5c2"));
        let bandwidth = from.get("bandwidth").unwrap().as_map().unwrap();
        assert_eq!(bandwidth.len(), 2);
    }
}
