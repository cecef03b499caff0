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

    fn publish_target(&self, endpoint: &EndpointRef) -> Result<std::net::Ipv4Addr> {
        self.record(format!("publish_target {}", endpoint.endpoint));
        Err(crate::backend::no_gateway(endpoint))
    }

    fn published_ports(&self) -> Result<&crate::host::published_ports::PublishedPorts> {
        Err(DriverError::NotConfigured("no published ports here".into()))
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

fn program_request(port_map: serde_json::Value) -> ProgramExternalConnectivityRequest {
    serde_json::from_value(json!({
        "NetworkID": NETWORK, "EndpointID": ENDPOINT,
        "Options": {"com.docker.network.portmap": port_map,
                    "com.docker.network.endpoint.exposedports": [{"Proto": 6, "Port": 80}]}
    }))
    .expect("a ProgramExternalConnectivity request")
}

#[tokio::test]
async fn a_port_map_is_checked_before_the_backend_is_asked() {
    let (driver, backend) = driver(Recording::default());
    driver
        .program_external_connectivity(program_request(json!([])))
        .await
        .expect("nothing to publish");
    let bad = [
        json!([{"Proto": 1, "Port": 80, "HostPort": 8080, "HostPortEnd": 8080}]),
        json!([{"Proto": 6, "Port": 80, "HostIP": "::1", "HostPort": 8080}]),
        json!([{"Proto": 6, "Port": "80"}]),
    ];
    for port_map in bad {
        let error = driver
            .program_external_connectivity(program_request(port_map))
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::BadRequest, "{}", error.message());
    }
    assert!(backend.calls().is_empty(), "{:?}", backend.calls());
    let error = driver
        .program_external_connectivity(program_request(
            json!([{"Proto": 6, "Port": 80, "HostPort": 8080, "HostPortEnd": 8080}]),
        ))
        .await
        .expect_err("the network has no gateway");
    assert_eq!(error.kind(), ErrorKind::BadRequest);
    assert!(
        error.message().contains("no IPv4 gateway"),
        "{}",
        error.message()
    );
    assert_eq!(backend.calls(), [format!("publish_target {ENDPOINT}")]);
}

#[tokio::test]
async fn a_retry_without_its_body_is_refused_by_program_and_answered_by_revoke() {
    let (driver, backend) = driver(Recording::default());
    let error = driver
        .program_external_connectivity(ProgramExternalConnectivityRequest::default())
        .await
        .expect_err("which ports is lost");
    assert_eq!(error.kind(), ErrorKind::BadRequest);
    assert!(
        error.message().contains("without its body"),
        "{}",
        error.message()
    );
    driver
        .revoke_external_connectivity(RevokeExternalConnectivityRequest::default())
        .await
        .expect("answered: reconciliation removes what is left");
    assert!(backend.calls().is_empty(), "{:?}", backend.calls());
}
