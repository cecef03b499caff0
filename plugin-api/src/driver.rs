//! The two traits a plugin implements: [`NetworkDriver`] and [`IpamDriver`].
//!
//! Methods return `impl Future + Send` so that implementations may simply
//! write `async fn` and the router can run them on any tokio runtime,
//! multi-threaded included. One type may implement both traits.
//!
//! Optional protocol methods have defaults chosen for what dockerd does with
//! the reply (see `libnetwork-protocol.md` §2.13); each default says why.

use std::future::Future;

use crate::error::{PluginError, PluginResult};
use crate::wire::{
    AddressSpacesResponse, AllocateNetworkRequest, AllocateNetworkResponse, CapabilitiesResponse,
    CreateEndpointRequest, CreateEndpointResponse, CreateNetworkRequest, DeleteEndpointRequest,
    DeleteNetworkRequest, DiscoveryRequest, Empty, EndpointOperInfoRequest,
    EndpointOperInfoResponse, FreeNetworkRequest, GwAllocCheckRequest, GwAllocCheckResponse,
    IpamCapabilitiesResponse, JoinRequest, JoinResponse, LeaveRequest,
    ProgramExternalConnectivityRequest, ReleaseAddressRequest, ReleasePoolRequest,
    RequestAddressRequest, RequestAddressResponse, RequestPoolRequest, RequestPoolResponse,
    RevokeExternalConnectivityRequest,
};

/// A libnetwork remote network driver (`/NetworkDriver.*`).
pub trait NetworkDriver: Send + Sync + 'static {
    /// `GetCapabilities`. A failure here leaves the driver unregistered
    /// until dockerd restarts, so it should not depend on anything remote.
    fn get_capabilities(&self) -> impl Future<Output = PluginResult<CapabilitiesResponse>> + Send;

    /// `CreateNetwork`.
    fn create_network(
        &self,
        request: CreateNetworkRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send;

    /// `DeleteNetwork`.
    fn delete_network(
        &self,
        request: DeleteNetworkRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send;

    /// `CreateEndpoint`.
    fn create_endpoint(
        &self,
        request: CreateEndpointRequest,
    ) -> impl Future<Output = PluginResult<CreateEndpointResponse>> + Send;

    /// `DeleteEndpoint`. dockerd only logs errors, so a failure leaks state:
    /// be idempotent and tolerate unknown ids.
    fn delete_endpoint(
        &self,
        request: DeleteEndpointRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send;

    /// `DeleteEndpoint` retried by dockerd without its body, after the
    /// connection of the first attempt broke (moby/moby#39331), so no
    /// endpoint is named. On an error dockerd keeps its endpoint, and
    /// `docker network rm` fails with "has active endpoints" until dockerd
    /// restarts.
    /// Default: refuse, right for a driver that cannot find what the lost
    /// call left behind; one that reconciles its own state should answer
    /// success and let reconciliation finish the deletion.
    fn delete_endpoint_with_lost_body(&self) -> PluginResult<Empty> {
        Err(PluginError::lost_body("NetworkDriver.DeleteEndpoint"))
    }

    /// `Join`.
    fn join(&self, request: JoinRequest)
    -> impl Future<Output = PluginResult<JoinResponse>> + Send;

    /// `Leave`. dockerd only logs errors.
    fn leave(&self, request: LeaveRequest) -> impl Future<Output = PluginResult<Empty>> + Send;

    /// `EndpointOperInfo`. Default: `{"Value": {}}`. dockerd asks right
    /// after a Join, and an error there fails the container's start and
    /// leaves its endpoint behind; it never shows a remote driver's value,
    /// so the cheapest valid answer is best. A call whose body dockerd
    /// lost is answered `{"Value": {}}` without asking the driver.
    fn endpoint_oper_info(
        &self,
        request: EndpointOperInfoRequest,
    ) -> impl Future<Output = PluginResult<EndpointOperInfoResponse>> + Send {
        let _ = request;
        async { Ok(EndpointOperInfoResponse::default()) }
    }

    /// `ProgramExternalConnectivity`. Default: not implemented (404), which
    /// dockerd explicitly treats as "optional method absent" and so as
    /// success; any other error would fail the container's Join.
    fn program_external_connectivity(
        &self,
        request: ProgramExternalConnectivityRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send {
        let _ = request;
        async {
            Err(PluginError::not_implemented(
                "ProgramExternalConnectivity is not implemented by this driver",
            ))
        }
    }

    /// `RevokeExternalConnectivity`. Default: not implemented (404), which
    /// dockerd treats as success, like Program.
    fn revoke_external_connectivity(
        &self,
        request: RevokeExternalConnectivityRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send {
        let _ = request;
        async {
            Err(PluginError::not_implemented(
                "RevokeExternalConnectivity is not implemented by this driver",
            ))
        }
    }

    /// `DiscoverNew`. Default: `{}`. Sent only in swarm mode; a local-scope
    /// driver has nothing to do, and an error would only be logged as noise.
    fn discover_new(
        &self,
        request: DiscoveryRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send {
        let _ = request;
        async { Ok(Empty {}) }
    }

    /// `DiscoverDelete`. Default: `{}`, for the same reason as `discover_new`.
    fn discover_delete(
        &self,
        request: DiscoveryRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send {
        let _ = request;
        async { Ok(Empty {}) }
    }

    /// `AllocateNetwork` (swarm manager, global scope only). Default: echo
    /// the request's options, because the reply *replaces* the options that
    /// workers later receive in CreateNetwork; answering `{}` or 404 would
    /// lose the user's `-o` options or fail the allocation.
    fn allocate_network(
        &self,
        request: AllocateNetworkRequest,
    ) -> impl Future<Output = PluginResult<AllocateNetworkResponse>> + Send {
        async move {
            Ok(AllocateNetworkResponse {
                options: request.options,
            })
        }
    }

    /// `FreeNetwork` (swarm manager). Default: `{}`, nothing was allocated.
    fn free_network(
        &self,
        request: FreeNetworkRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send {
        let _ = request;
        async { Ok(Empty {}) }
    }

    /// `GwAllocCheck` (Docker 28+, only if the capability says so).
    /// Default: skip nothing, i.e. Docker's normal gateway allocation.
    fn gw_alloc_check(
        &self,
        request: GwAllocCheckRequest,
    ) -> impl Future<Output = PluginResult<GwAllocCheckResponse>> + Send {
        let _ = request;
        async { Ok(GwAllocCheckResponse::default()) }
    }
}

/// A libnetwork remote IPAM driver (`/IpamDriver.*`).
pub trait IpamDriver: Send + Sync + 'static {
    /// `GetCapabilities`. Default: neither a MAC nor request replay is
    /// needed. (dockerd registers the driver even if this call fails.)
    fn get_capabilities(
        &self,
    ) -> impl Future<Output = PluginResult<IpamCapabilitiesResponse>> + Send {
        async { Ok(IpamCapabilitiesResponse::default()) }
    }

    /// `GetDefaultAddressSpaces`. Default: `LocalDefault` / `GlobalDefault`,
    /// the names Docker's built-in IPAM uses.
    fn get_default_address_spaces(
        &self,
    ) -> impl Future<Output = PluginResult<AddressSpacesResponse>> + Send {
        async {
            Ok(AddressSpacesResponse {
                local_default_address_space: "LocalDefault".into(),
                global_default_address_space: "GlobalDefault".into(),
            })
        }
    }

    /// `RequestPool`. Identical requests must return the same pool id.
    fn request_pool(
        &self,
        request: RequestPoolRequest,
    ) -> impl Future<Output = PluginResult<RequestPoolResponse>> + Send;

    /// `ReleasePool`. dockerd only logs errors.
    fn release_pool(
        &self,
        request: ReleasePoolRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send;

    /// `RequestAddress`. The reply's address must be CIDR and non-empty.
    fn request_address(
        &self,
        request: RequestAddressRequest,
    ) -> impl Future<Output = PluginResult<RequestAddressResponse>> + Send;

    /// `ReleaseAddress`. dockerd only logs errors.
    fn release_address(
        &self,
        request: ReleaseAddressRequest,
    ) -> impl Future<Output = PluginResult<Empty>> + Send;
}
