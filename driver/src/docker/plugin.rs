//! The libnetwork `NetworkDriver` over a [`Backend`] and the `IpamDriver`
//! over [`Ipam`]: the one place driver errors become protocol errors.
//!
//! Every id a call carries is checked here too, even where the driver
//! does not act on it (EndpointOperInfo, the NetworkID of Leave and
//! DeleteEndpoint, the swarm-only AllocateNetwork and FreeNetwork): no
//! call answers success to a request dockerd could never have sent.

use plugin_api::wire::{
    AddressSpacesResponse, IpamCapabilitiesResponse, ReleaseAddressRequest, ReleasePoolRequest,
    RequestAddressRequest, RequestAddressResponse, RequestPoolRequest, RequestPoolResponse,
};
use plugin_api::wire::{
    AllocateNetworkRequest, AllocateNetworkResponse, CapabilitiesResponse, CreateEndpointRequest,
    CreateEndpointResponse, CreateNetworkRequest, DeleteEndpointRequest, DeleteNetworkRequest,
    Empty, EndpointOperInfoResponse, EndpointRequest, FreeNetworkRequest, JoinRequest,
    JoinResponse, LeaveRequest, ProgramExternalConnectivityRequest,
    RevokeExternalConnectivityRequest,
};
use plugin_api::{IpamDriver, NetworkDriver, PluginResult};

use std::sync::Arc;

use crate::backend::{Backend, EndpointRef};
use crate::docker::ipam::Ipam;
use crate::docker::network_spec::NetworkSpec;
use crate::error::{DriverError, Result};
use crate::host::published_ports::PortRequest;
use crate::names::{DockerId, check_sandbox_key};

/// The `NetworkDriver` of one backend: checks every request, then hands
/// it to the backend.
pub struct Driver<B> {
    backend: Arc<B>,
}

impl<B: Backend> Driver<B> {
    pub fn new(backend: Arc<B>) -> Driver<B> {
        Driver { backend }
    }
}

/// Both ids of an endpoint request, checked.
fn endpoint_ref(request: &EndpointRequest) -> Result<EndpointRef> {
    endpoint_of(&request.network_id, &request.endpoint_id)
}

/// A request's `NetworkID` and `EndpointID`, checked.
fn endpoint_of(network: &str, endpoint: &str) -> Result<EndpointRef> {
    Ok(EndpointRef {
        network: DockerId::parse("NetworkID", network)?,
        endpoint: DockerId::parse("EndpointID", endpoint)?,
    })
}

impl<B: Backend> NetworkDriver for Driver<B> {
    async fn get_capabilities(&self) -> PluginResult<CapabilitiesResponse> {
        Ok(self.backend.capabilities())
    }

    async fn create_network(&self, request: CreateNetworkRequest) -> PluginResult<Empty> {
        let spec = NetworkSpec::from_request(&request, self.backend.options())?;
        self.backend.create_network(&spec).await?;
        Ok(Empty {})
    }

    async fn delete_network(&self, request: DeleteNetworkRequest) -> PluginResult<Empty> {
        let network = DockerId::parse("NetworkID", &request.network_id)?;
        self.backend.delete_network(&network).await?;
        Ok(Empty {})
    }

    /// Swarm only; as the trait's default, the options go back unchanged.
    async fn allocate_network(
        &self,
        request: AllocateNetworkRequest,
    ) -> PluginResult<AllocateNetworkResponse> {
        DockerId::parse("NetworkID", &request.network_id)?;
        Ok(AllocateNetworkResponse {
            options: request.options,
        })
    }

    /// Swarm only; nothing was allocated.
    async fn free_network(&self, request: FreeNetworkRequest) -> PluginResult<Empty> {
        DockerId::parse("NetworkID", &request.network_id)?;
        Ok(Empty {})
    }

    async fn create_endpoint(
        &self,
        request: CreateEndpointRequest,
    ) -> PluginResult<CreateEndpointResponse> {
        let endpoint = endpoint_of(&request.network_id, &request.endpoint_id)?;
        Ok(self
            .backend
            .create_endpoint(&endpoint, &request.interface)
            .await?)
    }

    async fn endpoint_oper_info(
        &self,
        request: EndpointRequest,
    ) -> PluginResult<EndpointOperInfoResponse> {
        Ok(self.backend.endpoint_oper_info(&endpoint_ref(&request)?))
    }

    async fn delete_endpoint(&self, request: DeleteEndpointRequest) -> PluginResult<Empty> {
        self.backend
            .delete_endpoint(&endpoint_ref(&request)?)
            .await?;
        Ok(Empty {})
    }

    /// Docker forgets the endpoint; what the lost call did not remove is
    /// deleted by reconciliation: its port and veth went with the sandbox
    /// or the Leave before, and its logical switch port is then unjoined
    /// and older than the grace period. The router has logged the retry.
    fn delete_endpoint_with_lost_body(&self) -> PluginResult<Empty> {
        Ok(Empty {})
    }

    async fn join(&self, request: JoinRequest) -> PluginResult<JoinResponse> {
        check_sandbox_key(&request.sandbox_key)?;
        let endpoint = endpoint_of(&request.network_id, &request.endpoint_id)?;
        Ok(self.backend.join(&endpoint, &request.sandbox_key).await?)
    }

    async fn leave(&self, request: LeaveRequest) -> PluginResult<Empty> {
        self.backend.leave(&endpoint_ref(&request)?).await?;
        Ok(Empty {})
    }

    /// The port map (`docker run -p`) becomes DNAT rules to the endpoint's
    /// address, all or none; a port taken fails the container's start.
    /// Exposed ports alone open nothing, as on Docker's `bridge` (they
    /// matter there only to links with inter-container traffic off).
    async fn program_external_connectivity(
        &self,
        request: ProgramExternalConnectivityRequest,
    ) -> PluginResult<Empty> {
        if request == ProgramExternalConnectivityRequest::default() {
            return Err(DriverError::invalid(
                "ProgramExternalConnectivity",
                "it came without its body: dockerd's retry of a call the driver was \
                 restarted in; which ports to publish is lost, start the container again",
            )
            .into());
        }
        let endpoint = endpoint_of(&request.network_id, &request.endpoint_id)?;
        request.options.exposed_ports()?;
        let requests = request
            .options
            .port_map()?
            .iter()
            .map(PortRequest::from_binding)
            .collect::<Result<Vec<_>>>()?;
        if requests.is_empty() {
            return Ok(Empty {});
        }
        let address = self.backend.publish_target(&endpoint)?;
        self.backend
            .published_ports()?
            .publish(&endpoint.endpoint, address, &requests)
            .await?;
        Ok(Empty {})
    }

    /// Idempotent: an endpoint without published ports costs nothing. A
    /// retry that lost its body (the driver restarted in the call) is
    /// answered: reconciliation removes the ports of endpoints gone.
    async fn revoke_external_connectivity(
        &self,
        request: RevokeExternalConnectivityRequest,
    ) -> PluginResult<Empty> {
        if request == RevokeExternalConnectivityRequest::default() {
            return Ok(Empty {});
        }
        let endpoint = endpoint_ref(&request)?;
        self.backend
            .published_ports()?
            .revoke(endpoint.endpoint.as_str())
            .await?;
        Ok(Empty {})
    }
}

impl IpamDriver for Ipam {
    async fn get_capabilities(&self) -> PluginResult<IpamCapabilitiesResponse> {
        Ok(Ipam::capabilities())
    }

    async fn get_default_address_spaces(&self) -> PluginResult<AddressSpacesResponse> {
        Ok(Ipam::address_spaces())
    }

    async fn request_pool(&self, request: RequestPoolRequest) -> PluginResult<RequestPoolResponse> {
        Ok(Ipam::request_pool(self, &request).await?)
    }

    async fn release_pool(&self, request: ReleasePoolRequest) -> PluginResult<Empty> {
        Ipam::release_pool(self, &request).await?;
        Ok(Empty {})
    }

    async fn request_address(
        &self,
        request: RequestAddressRequest,
    ) -> PluginResult<RequestAddressResponse> {
        Ok(Ipam::request_address(self, &request).await?)
    }

    async fn release_address(&self, request: ReleaseAddressRequest) -> PluginResult<Empty> {
        Ipam::release_address(self, &request).await?;
        Ok(Empty {})
    }
}

#[cfg(test)]
mod tests;
