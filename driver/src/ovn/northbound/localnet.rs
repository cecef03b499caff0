//! Provider networks in Northbound: the switch's `localnet` port, through
//! which ovn-controller patches it onto the bridge each host maps its
//! physical network to, and the switch keys that record the network.

use std::collections::BTreeMap;

use ovsdb_client::{Row, Value};

use super::owned;
use crate::docker::provider_network::ProviderNetwork;
use crate::external_ids::*;
use crate::names::localnet_logical_port;

/// The `localnet` port of provider network `switch`: `unknown` addresses
/// (every MAC of the physical network is behind it) and, for a VLAN,
/// `tag_request`, which ovn-northd copies to `tag` (a `tag` written
/// directly is cleared by recent ovn-northd).
pub(super) fn localnet_row(switch: &str, provider: &ProviderNetwork) -> Row {
    let mut row = Row::new()
        .with("name", localnet_logical_port(switch).as_str())
        .with("type", "localnet")
        .with("addresses", Value::set(["unknown"]))
        .with(
            "options",
            Value::map([("network_name", provider.physnet.as_str())]),
        )
        .with(
            "external_ids",
            Value::map([(OWNER, OWNER_VALUE), (LOCALNET_OF, switch)]),
        );
    if let Some(vlan) = provider.vlan {
        row = row.with("tag_request", Value::from(i64::from(vlan)));
    }
    row
}

/// The switch keys recording a provider network.
pub(super) fn provider_keys(provider: &ProviderNetwork) -> Vec<(String, String)> {
    let mut keys = vec![(PHYSNET.to_string(), provider.physnet.clone())];
    if let Some(vlan) = provider.vlan {
        keys.push((VLAN.to_string(), vlan.to_string()));
    }
    if provider.host_gateway {
        keys.push((HOST_GATEWAY.to_string(), "true".to_string()));
    }
    keys
}

/// The provider network a switch's keys record, if it is one.
pub(super) fn provider_of(ids: &BTreeMap<String, String>) -> Option<ProviderNetwork> {
    Some(ProviderNetwork {
        physnet: ids.get(PHYSNET)?.clone(),
        vlan: ids.get(VLAN).and_then(|v| v.parse().ok()),
        host_gateway: ids.get(HOST_GATEWAY).is_some_and(|v| v == "true"),
    })
}

/// Whether port row `row` is one the driver made for `switch` itself (its
/// gateway's localport, its localnet port) rather than for an endpoint.
pub(super) fn is_switch_port(row: &Row, switch: &str) -> bool {
    owned(row)
        && (row.map_str("external_ids", GATEWAY_OF) == Some(switch)
            || row.map_str("external_ids", LOCALNET_OF) == Some(switch))
}
