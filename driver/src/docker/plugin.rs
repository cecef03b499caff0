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
    JoinResponse, LeaveRequest,
};
use plugin_api::{IpamDriver, NetworkDriver, PluginResult};

use std::sync::Arc;

use crate::backend::{Backend, EndpointRef};
use crate::docker::ipam::Ipam;
use crate::docker::network_spec::NetworkSpec;
use crate::error::Result;
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
    Ok(EndpointRef {
        network: DockerId::parse("NetworkID", &request.network_id)?,
        endpoint: DockerId::parse("EndpointID", &request.endpoint_id)?,
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
        let endpoint = EndpointRef {
            network: DockerId::parse("NetworkID", &request.network_id)?,
            endpoint: DockerId::parse("EndpointID", &request.endpoint_id)?,
        };
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
        let endpoint = EndpointRef {
            network: DockerId::parse("NetworkID", &request.network_id)?,
            endpoint: DockerId::parse("EndpointID", &request.endpoint_id)?,
        };
        Ok(self.backend.join(&endpoint, &request.sandbox_key).await?)
    }

    async fn leave(&self, request: LeaveRequest) -> PluginResult<Empty> {
        self.backend.leave(&endpoint_ref(&request)?).await?;
        Ok(Empty {})
    }
}

impl IpamDriver for Ipam {
    async fn get_capabilities(&self) -> PluginResult<IpamCapabilitiesResponse> {
        Ok(self.capabilities())
    }

    async fn get_default_address_spaces(&self) -> PluginResult<AddressSpacesResponse> {
        Ok(self.address_spaces())
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
mod tests {
    //! Join and Leave through the seam, with a fake backend: what the
    //! Docker-facing layer refuses never reaches a backend, what it
    //! accepts arrives parsed, and a backend's error reaches dockerd as
    //! the protocol error of its kind. No root, no daemon.

    use std::sync::Mutex;

    use plugin_api::ErrorKind;
    use plugin_api::wire::{EndpointInterface, InterfaceName};
    use serde_json::json;

    use super::*;
    use crate::error::DriverError;

    const NETWORK: &str = "7a1bd9b1c3e8a4f90a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071";
    const ENDPOINT: &str = "e5c2f1a0b9d8c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2";
    const SANDBOX: &str = "/var/run/docker/netns/0123456789ab";

    /// Records each call it receives; Join fails with `join_error` if set.
    #[derive(Default)]
    struct Recording {
        calls: Mutex<Vec<String>>,
        join_error: Option<fn() -> DriverError>,
    }

    impl Recording {
        fn record(&self, call: String) {
            self.calls.lock().expect("calls").push(call);
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().expect("calls").clone()
        }
    }

    impl Backend for Recording {
        fn capabilities(&self) -> CapabilitiesResponse {
            CapabilitiesResponse::default()
        }

        fn options(&self) -> crate::docker::network_spec::KnownOptions {
            crate::docker::network_spec::OVN_OPTIONS
        }

        async fn create_network(&self, spec: &NetworkSpec) -> Result<()> {
            self.record(format!("create_network {}", spec.network));
            Ok(())
        }

        async fn delete_network(&self, network: &DockerId) -> Result<()> {
            self.record(format!("delete_network {network}"));
            Ok(())
        }

        async fn create_endpoint(
            &self,
            endpoint: &EndpointRef,
            _: &EndpointInterface,
        ) -> Result<CreateEndpointResponse> {
            self.record(format!("create_endpoint {}", endpoint.endpoint));
            Ok(CreateEndpointResponse::default())
        }

        async fn delete_endpoint(&self, endpoint: &EndpointRef) -> Result<()> {
            self.record(format!("delete_endpoint {}", endpoint.endpoint));
            Ok(())
        }

        async fn join(&self, endpoint: &EndpointRef, sandbox_key: &str) -> Result<JoinResponse> {
            let EndpointRef { network, endpoint } = endpoint;
            self.record(format!("join {network} {endpoint} {sandbox_key}"));
            if let Some(error) = self.join_error {
                return Err(error());
            }
            Ok(JoinResponse {
                interface_name: Some(InterfaceName {
                    src_name: "ovce5c2f1a0b9d8".into(),
                    dst_prefix: "eth".into(),
                }),
                ..Default::default()
            })
        }

        async fn leave(&self, endpoint: &EndpointRef) -> Result<()> {
            let EndpointRef { network, endpoint } = endpoint;
            self.record(format!("leave {network} {endpoint}"));
            Ok(())
        }

        fn endpoint_oper_info(&self, _: &EndpointRef) -> EndpointOperInfoResponse {
            EndpointOperInfoResponse::default()
        }
    }

    fn driver(backend: Recording) -> (Driver<Recording>, Arc<Recording>) {
        let backend = Arc::new(backend);
        (Driver::new(backend.clone()), backend)
    }

    fn join_request(network: &str, endpoint: &str, sandbox: &str) -> JoinRequest {
        serde_json::from_value(json!({
            "NetworkID": network, "EndpointID": endpoint, "SandboxKey": sandbox, "Options": {}
        }))
        .expect("a Join request")
    }

    fn leave_request(network: &str, endpoint: &str) -> LeaveRequest {
        serde_json::from_value(json!({"NetworkID": network, "EndpointID": endpoint}))
            .expect("a Leave request")
    }

    #[tokio::test]
    async fn join_hands_the_checked_ids_and_sandbox_to_the_backend() {
        let (driver, backend) = driver(Recording::default());
        let reply = driver
            .join(join_request(NETWORK, ENDPOINT, SANDBOX))
            .await
            .expect("joined");
        let interface = reply.interface_name.expect("an interface");
        assert_eq!(interface.src_name, "ovce5c2f1a0b9d8");
        assert_eq!(
            backend.calls(),
            [format!("join {NETWORK} {ENDPOINT} {SANDBOX}")]
        );
    }

    #[tokio::test]
    async fn a_join_refused_by_the_layer_never_reaches_the_backend() {
        let (driver, backend) = driver(Recording::default());
        let cases = [
            join_request(NETWORK, ENDPOINT, "relative/netns"),
            join_request(NETWORK, ENDPOINT, "/var/run/docker/netns/a\nb"),
            join_request(NETWORK, "e5c2", SANDBOX),
            join_request("not-hex", ENDPOINT, SANDBOX),
        ];
        for request in cases {
            let error = driver.join(request).await.expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::BadRequest, "{}", error.message());
        }
        assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    }

    #[tokio::test]
    async fn a_backend_s_join_error_reaches_dockerd_with_its_kind_and_context() {
        let (driver, _) = driver(Recording {
            join_error: Some(|| DriverError::UnknownNetwork {
                network: NETWORK.into(),
            }),
            ..Default::default()
        });
        let error = driver
            .join(join_request(NETWORK, ENDPOINT, SANDBOX))
            .await
            .expect_err("the backend failed");
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert!(error.message().contains(NETWORK), "{}", error.message());
    }

    #[tokio::test]
    async fn leave_reaches_the_backend_with_both_ids() {
        let (driver, backend) = driver(Recording::default());
        driver
            .leave(leave_request(NETWORK, ENDPOINT))
            .await
            .expect("left");
        assert_eq!(backend.calls(), [format!("leave {NETWORK} {ENDPOINT}")]);
    }

    #[tokio::test]
    async fn a_leave_with_a_bad_id_changes_nothing() {
        let (driver, backend) = driver(Recording::default());
        for request in [leave_request(NETWORK, ""), leave_request("x", ENDPOINT)] {
            let error = driver.leave(request).await.expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::BadRequest);
        }
        assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    }

    #[tokio::test]
    async fn a_network_with_an_unknown_option_never_reaches_the_backend() {
        let (driver, backend) = driver(Recording::default());
        let request: CreateNetworkRequest = serde_json::from_value(json!({
            "NetworkID": NETWORK,
            "Options": {"com.docker.network.generic": {"ovn.bogus": "1"}},
            "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.90.0.0/24",
                          "Gateway": "10.90.0.1/24"}],
            "IPv6Data": []
        }))
        .expect("a CreateNetwork request");
        let error = driver.create_network(request).await.expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::BadRequest);
        assert!(error.message().contains("ovn.bogus"), "{}", error.message());
        assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    }
}
