//! Request and reply bodies of every libnetwork remote-driver call.
//!
//! Field names are exactly the PascalCase keys dockerd uses. All request
//! types are `#[serde(default)]` and are meant to be decoded with
//! [`crate::keys`], which adds Go's case-insensitive key matching; replies
//! serialise to what dockerd expects.

pub mod activate;
pub mod discovery;
pub mod endpoint;
pub mod ipam;
pub mod labels;
pub mod network;
pub mod options;

pub use activate::ActivateResponse;
pub use discovery::{DiscoveryRequest, NodeDiscoveryData};
pub use endpoint::{
    CreateEndpointRequest, CreateEndpointResponse, DeleteEndpointRequest, EndpointInterface,
    EndpointOperInfoRequest, EndpointOperInfoResponse, EndpointRequest, InterfaceName, JoinRequest,
    JoinResponse, LeaveRequest, ProgramExternalConnectivityRequest,
    RevokeExternalConnectivityRequest, RouteType, StaticRoute,
};
pub use ipam::{
    AddressSpacesResponse, IpamCapabilitiesResponse, ReleaseAddressRequest, ReleasePoolRequest,
    RequestAddressRequest, RequestAddressResponse, RequestPoolRequest, RequestPoolResponse,
};
pub use network::{
    AllocateNetworkRequest, AllocateNetworkResponse, CapabilitiesResponse, CreateNetworkRequest,
    DeleteNetworkRequest, FreeNetworkRequest, GwAllocCheckRequest, GwAllocCheckResponse, IpamData,
    Scope,
};
pub use options::{EndpointOptions, IpProtocol, NetworkOptions, PortBinding, TransportPort};

use serde::{Deserialize, Serialize};

/// The `{}` reply (and the request of bodyless calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&Empty {}).unwrap(), "{}");
        let _: Empty = crate::keys::decode(b"").unwrap();
        let _: Empty = crate::keys::decode(br#"{"Anything": 1}"#).unwrap();
    }
}
