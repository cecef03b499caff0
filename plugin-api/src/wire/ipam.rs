//! IpamDriver calls. Note the error key of IPAM replies is `Error`, not
//! `Err`; the router sends both (see `reply.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::labels;

/// Reply to `IpamDriver.GetCapabilities` (empty request).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpamCapabilitiesResponse {
    /// dockerd generates a MAC per endpoint and passes it to RequestAddress.
    #[serde(rename = "RequiresMACAddress")]
    pub requires_mac_address: bool,
    /// dockerd replays pools and addresses to the driver after its restart.
    #[serde(rename = "RequiresRequestReplay")]
    pub requires_request_replay: bool,
}

/// Reply to `IpamDriver.GetDefaultAddressSpaces` (empty request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AddressSpacesResponse {
    /// Address space used for local-scope networks.
    pub local_default_address_space: String,
    /// Address space used for global-scope networks.
    pub global_default_address_space: String,
}

/// `IpamDriver.RequestPool` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RequestPoolRequest {
    /// One of the address spaces from GetDefaultAddressSpaces.
    pub address_space: String,
    /// `--subnet`, CIDR; empty means "you choose".
    pub pool: String,
    /// `--ip-range`, CIDR; empty for the whole pool.
    pub sub_pool: String,
    /// `--ipam-opt k=v`.
    pub options: BTreeMap<String, String>,
    /// Which family is asked for.
    #[serde(rename = "V6")]
    pub v6: bool,
}

/// Reply to `IpamDriver.RequestPool`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RequestPoolResponse {
    /// Opaque id the other calls refer to; identical requests must get the same id.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    /// The pool, CIDR.
    pub pool: String,
    /// Extra data; `com.docker.network.gateway` = `a.b.c.d/nn` supplies the
    /// gateway without a separate RequestAddress.
    pub data: BTreeMap<String, String>,
}

/// `IpamDriver.ReleasePool` request (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReleasePoolRequest {
    /// The id from RequestPool.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
}

/// `IpamDriver.RequestAddress` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RequestAddressRequest {
    /// The id from RequestPool.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    /// Bare IP asked for (`--ip`, `--gateway`, `--aux-address`), or empty.
    pub address: String,
    /// e.g. `RequestAddressType` or the endpoint MAC; often null.
    pub options: BTreeMap<String, String>,
}

impl RequestAddressRequest {
    /// True when dockerd is reserving the network's gateway address.
    pub fn is_gateway(&self) -> bool {
        self.options
            .get(labels::REQUEST_ADDRESS_TYPE)
            .map(String::as_str)
            == Some(labels::GATEWAY)
    }

    /// The MAC dockerd generated (only with `RequiresMACAddress`).
    pub fn mac_address(&self) -> Option<&str> {
        self.options.get(labels::MAC_ADDRESS).map(String::as_str)
    }
}

/// Reply to `IpamDriver.RequestAddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct RequestAddressResponse {
    /// The address with the pool's prefix length (`10.1.0.2/24`); never empty.
    pub address: String,
    /// Extra data.
    pub data: BTreeMap<String, String>,
}

/// `IpamDriver.ReleaseAddress` request (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ReleaseAddressRequest {
    /// The id from RequestPool.
    #[serde(rename = "PoolID")]
    pub pool_id: String,
    /// Bare IP.
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use serde_json::json;

    #[test]
    fn capabilities_and_address_spaces_serialise() {
        let caps = IpamCapabilitiesResponse {
            requires_mac_address: true,
            requires_request_replay: false,
        };
        assert_eq!(
            serde_json::to_value(caps).unwrap(),
            json!({"RequiresMACAddress": true, "RequiresRequestReplay": false})
        );
        let spaces = AddressSpacesResponse {
            local_default_address_space: "LocalDefault".into(),
            global_default_address_space: "GlobalDefault".into(),
        };
        assert_eq!(
            serde_json::to_value(&spaces).unwrap(),
            json!({"LocalDefaultAddressSpace": "LocalDefault", "GlobalDefaultAddressSpace": "GlobalDefault"})
        );
    }

    #[test]
    fn request_pool_round_trip() {
        let input = json!({"AddressSpace": "LocalDefault", "Pool": "10.1.0.0/24", "SubPool": "",
                           "Options": {"ovn.network": "blue"}, "V6": false});
        let req: RequestPoolRequest = keys::from_value(input.clone()).unwrap();
        assert_eq!(req.pool, "10.1.0.0/24");
        assert_eq!(req.options["ovn.network"], "blue");
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
        let req: RequestPoolRequest =
            keys::from_value(json!({"v6": true, "options": null})).unwrap();
        assert!(req.v6 && req.options.is_empty());
        let reply = RequestPoolResponse {
            pool_id: "p1".into(),
            pool: "10.1.0.0/24".into(),
            data: [(labels::GATEWAY.to_string(), "10.1.0.1/24".to_string())].into(),
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"PoolID": "p1", "Pool": "10.1.0.0/24", "Data": {"com.docker.network.gateway": "10.1.0.1/24"}})
        );
    }

    #[test]
    fn request_address_recognises_gateway_and_mac() {
        let req: RequestAddressRequest = keys::from_value(json!({
            "PoolID": "p1", "Address": "", "Options": {"RequestAddressType": "com.docker.network.gateway"}
        }))
        .unwrap();
        assert!(req.is_gateway());
        assert_eq!(req.mac_address(), None);
        let req: RequestAddressRequest = keys::from_value(json!({
            "PoolID": "p1", "Address": "10.1.0.9", "Options": null
        }))
        .unwrap();
        assert!(!req.is_gateway());
        assert_eq!(req.address, "10.1.0.9");
        let req: RequestAddressRequest = keys::from_value(json!({
            "poolid": "p1", "Options": {"com.docker.network.endpoint.macaddress": "02:42:0a:01:00:02"}
        }))
        .unwrap();
        assert_eq!(req.mac_address(), Some("02:42:0a:01:00:02"));
        let reply = RequestAddressResponse {
            address: "10.1.0.2/24".into(),
            data: BTreeMap::new(),
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"Address": "10.1.0.2/24", "Data": {}})
        );
    }

    #[test]
    fn release_requests_decode() {
        let req: ReleasePoolRequest = keys::from_value(json!({"PoolID": "p1"})).unwrap();
        assert_eq!(req.pool_id, "p1");
        let input = json!({"PoolID": "p1", "Address": "10.1.0.2"});
        let req: ReleaseAddressRequest = keys::from_value(input.clone()).unwrap();
        assert_eq!(req.address, "10.1.0.2");
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
    }
}
