//! NetworkDriver calls about endpoints: create, inspect, delete, join,
//! leave, and external connectivity.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::options::EndpointOptions;

/// The endpoint's addresses: CIDR strings and a MAC, `""` when unassigned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EndpointInterface {
    /// IPv4 address with prefix length, e.g. `10.1.0.2/24`.
    pub address: String,
    /// IPv6 address with prefix length.
    #[serde(rename = "AddressIPv6")]
    pub address_ipv6: String,
    /// MAC, `aa:bb:cc:dd:ee:ff`.
    pub mac_address: String,
}

impl EndpointInterface {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.address.is_empty() && self.address_ipv6.is_empty() && self.mac_address.is_empty()
    }
}

/// Names a network and one of its endpoints. This is the whole request of
/// EndpointOperInfo, DeleteEndpoint, Leave and RevokeExternalConnectivity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Docker's 64-hex endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
}

/// `NetworkDriver.EndpointOperInfo` request.
pub type EndpointOperInfoRequest = EndpointRequest;
/// `NetworkDriver.DeleteEndpoint` request (reply: [`super::Empty`]).
pub type DeleteEndpointRequest = EndpointRequest;
/// `NetworkDriver.Leave` request (reply: [`super::Empty`]).
pub type LeaveRequest = EndpointRequest;
/// `NetworkDriver.RevokeExternalConnectivity` request (reply: [`super::Empty`]).
pub type RevokeExternalConnectivityRequest = EndpointRequest;

/// `NetworkDriver.CreateEndpoint` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateEndpointRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Docker's endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// What Docker already assigned (from IPAM, `--mac-address`).
    pub interface: EndpointInterface,
    /// Endpoint options: exposed ports, port map, DNS, `--driver-opt`s.
    pub options: EndpointOptions,
}

/// Reply to `NetworkDriver.CreateEndpoint`.
///
/// Fill only fields that were empty in the request: dockerd rejects (and
/// rolls back) a reply that restates a value it already set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct CreateEndpointResponse {
    /// `None` (serialised as `{}`) when the driver adds nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<EndpointInterface>,
}

/// Reply to `NetworkDriver.EndpointOperInfo`: informational only, dockerd
/// does not display it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EndpointOperInfoResponse {
    /// Free-form details.
    pub value: Map<String, Value>,
}

/// `NetworkDriver.Join` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JoinRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Docker's endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// The sandbox's netns path, `/var/run/docker/netns/<sandbox id[:12]>`.
    pub sandbox_key: String,
    /// The *sandbox* labels (exposed ports, port map), not endpoint options.
    pub options: EndpointOptions,
}

/// The interface dockerd moves into the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct InterfaceName {
    /// Name of an interface that exists in the host netns at reply time.
    pub src_name: String,
    /// Prefix dockerd renames it to, plus an index (`eth` → `eth0`).
    pub dst_prefix: String,
}

/// How a static route reaches its destination (`types.RouteType`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum RouteType {
    /// Via `NextHop` (0).
    #[default]
    NextHop,
    /// Directly connected on the interface, no next hop (1).
    Connected,
}

impl From<RouteType> for u8 {
    fn from(kind: RouteType) -> u8 {
        match kind {
            RouteType::NextHop => 0,
            RouteType::Connected => 1,
        }
    }
}

impl TryFrom<u8> for RouteType {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, String> {
        match value {
            0 => Ok(RouteType::NextHop),
            1 => Ok(RouteType::Connected),
            other => Err(format!("unknown route type {other}, expected 0 or 1")),
        }
    }
}

/// A route dockerd adds inside the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct StaticRoute {
    /// Destination, CIDR.
    pub destination: String,
    /// Next-hop or connected.
    pub route_type: RouteType,
    /// Bare IP for [`RouteType::NextHop`], empty for connected routes.
    pub next_hop: String,
}

/// Reply to `NetworkDriver.Join`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct JoinResponse {
    /// The interface to move in; `None` means dockerd adds no interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<InterfaceName>,
    /// IPv4 default gateway, bare IP; empty for none. Without any gateway
    /// (and without `disable_gateway_service`) dockerd also attaches the
    /// container to `docker_gwbridge`.
    pub gateway: String,
    /// IPv6 default gateway, bare IP; empty for none.
    #[serde(rename = "GatewayIPv6")]
    pub gateway_ipv6: String,
    /// Extra routes.
    pub static_routes: Vec<StaticRoute>,
    /// Suppress dockerd's `docker_gwbridge` fallback.
    pub disable_gateway_service: bool,
}

/// `NetworkDriver.ProgramExternalConnectivity` request (reply: [`super::Empty`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ProgramExternalConnectivityRequest {
    /// Docker's network id.
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    /// Docker's endpoint id.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// The sandbox labels (port map, exposed ports).
    pub options: EndpointOptions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use crate::wire::labels;
    use serde_json::json;

    #[test]
    fn create_endpoint_request_matches_the_reference() {
        let input = json!({
            "NetworkID": "n", "EndpointID": "e",
            "Interface": {"Address": "10.1.0.2/24", "AddressIPv6": "", "MacAddress": ""},
            "Options": {"com.docker.network.endpoint.exposedports": [{"Proto": 6, "Port": 80}],
                        "com.docker.network.endpoint.macaddress": "AkIKAQAC"}
        });
        let req: CreateEndpointRequest = keys::from_value(input.clone()).unwrap();
        assert_eq!(req.interface.address, "10.1.0.2/24");
        assert!(req.interface.mac_address.is_empty());
        assert_eq!(req.options.get_str(labels::MAC_ADDRESS), Some("AkIKAQAC"));
        assert_eq!(req.options.exposed_ports().unwrap()[0].port, 80);
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
    }

    #[test]
    fn create_endpoint_reply_is_empty_object_or_interface() {
        assert_eq!(
            serde_json::to_value(CreateEndpointResponse::default()).unwrap(),
            json!({})
        );
        let reply = CreateEndpointResponse {
            interface: Some(EndpointInterface {
                mac_address: "02:42:0a:01:00:02".into(),
                ..Default::default()
            }),
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"Interface": {"Address": "", "AddressIPv6": "", "MacAddress": "02:42:0a:01:00:02"}})
        );
        let parsed: CreateEndpointResponse = keys::from_value(json!({"Interface": null})).unwrap();
        assert_eq!(parsed.interface, None);
    }

    #[test]
    fn join_request_matches_the_reference() {
        let req: JoinRequest = keys::from_value(json!({
            "NetworkID": "n", "EndpointID": "e", "SandboxKey": "/var/run/docker/netns/0123456789ab",
            "Options": {"com.docker.network.portmap": []}
        }))
        .unwrap();
        assert_eq!(req.sandbox_key, "/var/run/docker/netns/0123456789ab");
        assert!(req.options.port_map().unwrap().is_empty());
    }

    #[test]
    fn join_reply_serialises_like_the_reference() {
        let reply = JoinResponse {
            interface_name: Some(InterfaceName {
                src_name: "tmp1234".into(),
                dst_prefix: "eth".into(),
            }),
            gateway: "10.1.0.1".into(),
            gateway_ipv6: String::new(),
            static_routes: vec![StaticRoute {
                destination: "169.254.1.1/32".into(),
                route_type: RouteType::Connected,
                next_hop: String::new(),
            }],
            disable_gateway_service: false,
        };
        let expected = json!({
            "InterfaceName": {"SrcName": "tmp1234", "DstPrefix": "eth"},
            "Gateway": "10.1.0.1", "GatewayIPv6": "",
            "StaticRoutes": [{"Destination": "169.254.1.1/32", "RouteType": 1, "NextHop": ""}],
            "DisableGatewayService": false
        });
        assert_eq!(serde_json::to_value(&reply).unwrap(), expected);
        assert_eq!(keys::from_value::<JoinResponse>(expected).unwrap(), reply);
    }

    #[test]
    fn join_reply_without_interface_omits_it() {
        let value = serde_json::to_value(JoinResponse::default()).unwrap();
        assert!(value.get("InterfaceName").is_none(), "{value}");
    }

    #[test]
    fn route_type_rejects_unknown_numbers() {
        let err = keys::from_value::<StaticRoute>(json!({"RouteType": 7})).unwrap_err();
        assert!(err.to_string().contains("unknown route type 7"), "{err}");
    }

    #[test]
    fn endpoint_request_is_case_insensitive() {
        let req: EndpointRequest =
            keys::from_value(json!({"networkid": "n", "ENDPOINTID": "e"})).unwrap();
        assert_eq!(
            (req.network_id.as_str(), req.endpoint_id.as_str()),
            ("n", "e")
        );
    }

    #[test]
    fn oper_info_and_program_round_trip() {
        let reply = EndpointOperInfoResponse::default();
        assert_eq!(serde_json::to_value(reply).unwrap(), json!({"Value": {}}));
        let input = json!({"NetworkID": "n", "EndpointID": "e",
                           "Options": {"com.docker.network.driver.private.no_proxy_6to4": true}});
        let req: ProgramExternalConnectivityRequest = keys::from_value(input.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), input);
    }
}
