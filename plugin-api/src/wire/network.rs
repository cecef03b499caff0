//! NetworkDriver calls about whole networks: capabilities, create, delete,
//! the swarm allocator pair and the gateway-allocation check.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::options::NetworkOptions;

/// A libnetwork data/connectivity scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Node-local. What this project reports as `Scope` (see DESIGN.md §2).
    #[default]
    Local,
    /// Cluster-wide.
    Global,
}

/// Reply to `NetworkDriver.GetCapabilities` (empty request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CapabilitiesResponse {
    /// Data scope; mandatory, anything but local/global fails registration.
    pub scope: Scope,
    /// Connectivity scope; absent means "same as `scope`".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity_scope: Option<Scope>,
    /// Docker 28+: ask dockerd to call `GwAllocCheck` before allocating gateways.
    pub gw_alloc_checker: bool,
}

/// One address pool of a network, as the IPAM driver handed it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct IpamData {
    /// Address space name, e.g. `LocalDefault`.
    pub address_space: String,
    /// The subnet, CIDR.
    pub pool: String,
    /// The gateway with the pool's prefix length (`10.1.0.1/24`); empty if none.
    pub gateway: String,
    /// `--aux-address` reservations, name → CIDR.
    pub aux_addresses: BTreeMap<String, String>,
}

/// `NetworkDriver.CreateNetwork` request (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateNetworkRequest {
    /// Docker's 64-hex network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Network options, including the user's `-o` driver options.
    pub options: NetworkOptions,
    /// One entry per IPv4 subnet.
    #[serde(rename = "IPv4Data")]
    pub ipv4_data: Vec<IpamData>,
    /// One entry per IPv6 subnet; empty unless IPv6 is enabled.
    #[serde(rename = "IPv6Data")]
    pub ipv6_data: Vec<IpamData>,
}

/// `NetworkDriver.DeleteNetwork` request (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteNetworkRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
}

/// `NetworkDriver.AllocateNetwork` request (swarm manager, global scope only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocateNetworkRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// The network's `--opt` values.
    pub options: BTreeMap<String, String>,
    /// IPv4 pools allocated by the swarm.
    #[serde(rename = "IPv4Data")]
    pub ipv4_data: Vec<IpamData>,
    /// IPv6 pools allocated by the swarm.
    #[serde(rename = "IPv6Data")]
    pub ipv6_data: Vec<IpamData>,
}

/// Reply to `NetworkDriver.AllocateNetwork`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AllocateNetworkResponse {
    /// Replaces the driver options that workers receive in CreateNetwork:
    /// return the request's options (plus any of yours) or they are lost.
    pub options: BTreeMap<String, String>,
}

/// `NetworkDriver.FreeNetwork` request (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FreeNetworkRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
}

/// `NetworkDriver.GwAllocCheck` request (Docker 28+, only with the capability).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct GwAllocCheckRequest {
    /// The same options CreateNetwork will receive.
    pub options: NetworkOptions,
}

/// Reply to `NetworkDriver.GwAllocCheck`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GwAllocCheckResponse {
    /// Do not reserve an IPv4 gateway address.
    #[serde(rename = "SkipIPv4")]
    pub skip_ipv4: bool,
    /// Do not reserve an IPv6 gateway address.
    #[serde(rename = "SkipIPv6")]
    pub skip_ipv6: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use serde_json::{Value, json};

    #[test]
    fn capabilities_serialise_like_the_reference() {
        let caps = CapabilitiesResponse {
            scope: Scope::Local,
            connectivity_scope: Some(Scope::Global),
            gw_alloc_checker: false,
        };
        let expected =
            json!({"Scope": "local", "ConnectivityScope": "global", "GwAllocChecker": false});
        assert_eq!(serde_json::to_value(&caps).unwrap(), expected);
        assert_eq!(
            keys::from_value::<CapabilitiesResponse>(expected).unwrap(),
            caps
        );
        let minimal = CapabilitiesResponse::default();
        assert_eq!(
            serde_json::to_value(minimal).unwrap(),
            json!({"Scope": "local", "GwAllocChecker": false})
        );
    }

    fn reference_create_network() -> Value {
        json!({
            "NetworkID": "6f1b6c0d3e0c4a2f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f",
            "Options": {
                "com.docker.network.enable_ipv4": true,
                "com.docker.network.enable_ipv6": false,
                "com.docker.network.internal": true,
                "com.docker.network.generic": {"ovn.network": "blue"}
            },
            "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.1.0.0/24", "Gateway": "10.1.0.1/24",
                          "AuxAddresses": {"name": "10.1.0.5/24"}}],
            "IPv6Data": []
        })
    }

    #[test]
    fn create_network_round_trips_the_reference_example() {
        let input = reference_create_network();
        let req: CreateNetworkRequest = keys::from_value(input.clone()).unwrap();
        assert!(req.network_id.starts_with("6f1b6c0d"));
        assert!(req.options.internal);
        assert_eq!(req.options.generic_opt("ovn.network"), Some("blue"));
        assert_eq!(req.ipv4_data[0].pool, "10.1.0.0/24");
        assert_eq!(req.ipv4_data[0].gateway, "10.1.0.1/24");
        assert_eq!(req.ipv4_data[0].aux_addresses["name"], "10.1.0.5/24");
        assert!(req.ipv6_data.is_empty());
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
    }

    #[test]
    fn create_network_tolerates_lowercase_keys_and_nulls() {
        let req: CreateNetworkRequest = keys::from_value(json!({
            "networkid": "n1", "options": null, "ipv4data": [{"pool": "10.0.0.0/8", "auxaddresses": null}],
            "IPv6Data": null
        }))
        .unwrap();
        assert_eq!(req.network_id, "n1");
        assert_eq!(req.options, NetworkOptions::default());
        assert_eq!(req.ipv4_data[0].pool, "10.0.0.0/8");
        assert!(req.ipv4_data[0].aux_addresses.is_empty());
        assert!(req.ipv6_data.is_empty());
    }

    #[test]
    fn allocate_network_round_trip() {
        let input = json!({"NetworkID": "n", "Options": {"a": "b"},
                           "IPv4Data": [{"AddressSpace": "", "Pool": "10.0.0.0/24", "Gateway": "10.0.0.1/24", "AuxAddresses": {}}],
                           "IPv6Data": []});
        let req: AllocateNetworkRequest = keys::from_value(input.clone()).unwrap();
        assert_eq!(req.options["a"], "b");
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
        let reply = AllocateNetworkResponse {
            options: req.options,
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"Options": {"a": "b"}})
        );
    }

    #[test]
    fn gw_alloc_check_round_trip() {
        let req: GwAllocCheckRequest =
            keys::from_value(json!({"Options": {"com.docker.network.generic": {"k": "v"}}}))
                .unwrap();
        assert_eq!(req.options.generic_opt("k"), Some("v"));
        let reply = GwAllocCheckResponse {
            skip_ipv4: true,
            skip_ipv6: false,
        };
        assert_eq!(
            serde_json::to_value(reply).unwrap(),
            json!({"SkipIPv4": true, "SkipIPv6": false})
        );
    }

    #[test]
    fn delete_and_free_network() {
        let req: DeleteNetworkRequest = keys::from_value(json!({"NetworkId": "n"})).unwrap();
        assert_eq!(req.network_id, "n");
        let req: FreeNetworkRequest = keys::from_value(json!({"networkID": "m"})).unwrap();
        assert_eq!(req.network_id, "m");
    }
}
