//! End-to-end: the server on a temporary unix socket, spoken to with real
//! HTTP/1.1 the way dockerd does (POST, no Content-Type, empty bodies for
//! argument-less calls), against an in-memory driver.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use plugin_api::wire::*;
use plugin_api::{
    Error, IpamDriver, NetworkDriver, PluginError, PluginResult, PluginRouter, PluginServer,
};
use serde_json::{Value, json};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// In-memory driver: remembers networks and endpoints, hands out addresses
/// from one pool, and can be told to be slow.
#[derive(Default)]
struct Memory {
    networks: Mutex<BTreeMap<String, CreateNetworkRequest>>,
    endpoints: Mutex<BTreeMap<String, String>>,
    next_host: Mutex<u8>,
}

impl NetworkDriver for Memory {
    async fn get_capabilities(&self) -> PluginResult<CapabilitiesResponse> {
        Ok(CapabilitiesResponse {
            scope: Scope::Local,
            connectivity_scope: Some(Scope::Global),
            gw_alloc_checker: false,
        })
    }

    async fn create_network(&self, req: CreateNetworkRequest) -> PluginResult<Empty> {
        if let Some(ms) = req.options.generic_opt("test.sleep_ms") {
            let ms = ms
                .parse()
                .map_err(|_| PluginError::bad_request("test.sleep_ms is not a number"))?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        self.networks
            .lock()
            .unwrap()
            .insert(req.network_id.clone(), req);
        Ok(Empty {})
    }

    async fn delete_network(&self, req: DeleteNetworkRequest) -> PluginResult<Empty> {
        self.networks.lock().unwrap().remove(&req.network_id);
        Ok(Empty {})
    }

    async fn create_endpoint(
        &self,
        req: CreateEndpointRequest,
    ) -> PluginResult<CreateEndpointResponse> {
        if !self.networks.lock().unwrap().contains_key(&req.network_id) {
            return Err(PluginError::not_found(format!(
                "no network {}",
                req.network_id
            )));
        }
        self.endpoints
            .lock()
            .unwrap()
            .insert(req.endpoint_id, req.interface.address);
        Ok(CreateEndpointResponse {
            interface: Some(EndpointInterface {
                mac_address: "02:42:0a:01:00:02".into(),
                ..Default::default()
            }),
        })
    }

    async fn delete_endpoint(&self, req: DeleteEndpointRequest) -> PluginResult<Empty> {
        self.endpoints.lock().unwrap().remove(&req.endpoint_id);
        Ok(Empty {})
    }

    async fn join(&self, req: JoinRequest) -> PluginResult<JoinResponse> {
        Ok(JoinResponse {
            interface_name: Some(InterfaceName {
                src_name: format!("veth{}", &req.endpoint_id[..4]),
                dst_prefix: "eth".into(),
            }),
            gateway: "10.1.0.1".into(),
            ..Default::default()
        })
    }

    async fn leave(&self, _: LeaveRequest) -> PluginResult<Empty> {
        Ok(Empty {})
    }
}

impl IpamDriver for Memory {
    async fn request_pool(&self, req: RequestPoolRequest) -> PluginResult<RequestPoolResponse> {
        if req.v6 {
            return Err(PluginError::bad_request("IPv6 pools are not supported"));
        }
        Ok(RequestPoolResponse {
            pool_id: "pool-1".into(),
            pool: "10.1.0.0/24".into(),
            data: BTreeMap::new(),
        })
    }

    async fn release_pool(&self, _: ReleasePoolRequest) -> PluginResult<Empty> {
        Ok(Empty {})
    }

    async fn request_address(
        &self,
        req: RequestAddressRequest,
    ) -> PluginResult<RequestAddressResponse> {
        let mut next = self.next_host.lock().unwrap();
        *next += 1;
        let host = if req.is_gateway() { 1 } else { *next + 1 };
        Ok(RequestAddressResponse {
            address: format!("10.1.0.{host}/24"),
            data: BTreeMap::new(),
        })
    }

    async fn release_address(&self, _: ReleaseAddressRequest) -> PluginResult<Empty> {
        Ok(Empty {})
    }
}

struct Running {
    _dir: tempfile::TempDir,
    path: PathBuf,
    driver: Arc<Memory>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), Error>>,
}

fn router(driver: &Arc<Memory>) -> axum::Router {
    PluginRouter::new()
        .network_driver(driver.clone())
        .ipam_driver(driver.clone())
        .deadline(Duration::from_millis(300))
        .build()
}

async fn start() -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("plugins").join("ovn.sock");
    start_at(dir, path).await
}

async fn start_at(dir: tempfile::TempDir, path: PathBuf) -> anyhow::Result<Running> {
    let driver = Arc::new(Memory::default());
    let bound = PluginServer::new(&path).bind()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(router(&driver), async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        _dir: dir,
        path,
        driver,
        stop,
        task,
    })
}

/// One POST over a fresh connection, headers as dockerd sends them.
async fn post_bytes(
    socket: &Path,
    method: &str,
    body: Vec<u8>,
) -> anyhow::Result<(StatusCode, Value)> {
    let stream = UnixStream::connect(socket).await.context("connecting")?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let request = hyper::Request::post(format!("/{method}"))
        .header("Host", "plugin.moby.localhost")
        .header("Accept", "application/vnd.docker.plugins.v1.2+json")
        .body(Full::new(Bytes::from(body)))?;
    assert!(request.headers().get("content-type").is_none());
    let response = sender.send_request(request).await.context("sending")?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    driver.abort();
    let value = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{method}: body is not JSON: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok((status, value))
}

async fn post(socket: &Path, method: &str, body: Value) -> anyhow::Result<(StatusCode, Value)> {
    post_bytes(socket, method, serde_json::to_vec(&body)?).await
}

impl Running {
    async fn shutdown(self) -> anyhow::Result<PathBuf> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(self.path)
    }
}

#[tokio::test]
async fn activate_with_an_empty_body() -> anyhow::Result<()> {
    let server = start().await?;
    let (status, body) = post_bytes(&server.path, "Plugin.Activate", Vec::new()).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"Implements": ["NetworkDriver", "IpamDriver"]}));
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn get_capabilities() -> anyhow::Result<()> {
    let server = start().await?;
    let (status, body) =
        post_bytes(&server.path, "NetworkDriver.GetCapabilities", Vec::new()).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"Scope": "local", "ConnectivityScope": "global", "GwAllocChecker": false})
    );
    let (status, body) = post_bytes(&server.path, "IpamDriver.GetCapabilities", Vec::new()).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"RequiresMACAddress": false, "RequiresRequestReplay": false})
    );
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn create_network_without_content_type() -> anyhow::Result<()> {
    let server = start().await?;
    let request = json!({
        "NetworkID": "6f1b6c0d3e0c",
        "Options": {
            "com.docker.network.enable_ipv6": false,
            "com.docker.network.generic": {"ovn.network": "blue"}
        },
        "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.1.0.0/24", "Gateway": "10.1.0.1/24"}],
        "IPv6Data": []
    });
    let (status, body) = post(&server.path, "NetworkDriver.CreateNetwork", request).await?;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let networks = server.driver.networks.lock().unwrap().clone();
    let created = networks
        .get("6f1b6c0d3e0c")
        .context("network not recorded")?;
    assert_eq!(created.options.generic_opt("ovn.network"), Some("blue"));
    assert_eq!(created.ipv4_data[0].gateway, "10.1.0.1/24");
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn network_creation_as_dockerd_drives_it() -> anyhow::Result<()> {
    let server = start().await?;
    let sock = server.path.clone();
    let (_, spaces) = post_bytes(&sock, "IpamDriver.GetDefaultAddressSpaces", Vec::new()).await?;
    assert_eq!(spaces["LocalDefaultAddressSpace"], "LocalDefault");
    let pool_request = json!({"AddressSpace": "LocalDefault", "Pool": "", "V6": false});
    let (_, pool) = post(&sock, "IpamDriver.RequestPool", pool_request).await?;
    let expected = json!({"PoolID": "pool-1", "Pool": "10.1.0.0/24", "Data": {}});
    assert_eq!(pool, expected);
    let gateway_options = json!({"RequestAddressType": "com.docker.network.gateway"});
    let gateway_request = json!({"PoolID": "pool-1", "Address": "", "Options": gateway_options});
    let (_, gateway) = post(&sock, "IpamDriver.RequestAddress", gateway_request).await?;
    assert_eq!(gateway["Address"], "10.1.0.1/24");
    let reply = post(
        &sock,
        "NetworkDriver.CreateNetwork",
        json!({"NetworkID": "net1"}),
    )
    .await?;
    assert_eq!(reply, (StatusCode::OK, json!({})));
    let address_request = json!({"PoolID": "pool-1", "Options": null});
    let (_, address) = post(&sock, "IpamDriver.RequestAddress", address_request).await?;
    assert_eq!(address, json!({"Address": "10.1.0.3/24", "Data": {}}));
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn container_attach_and_detach_as_dockerd_drives_it() -> anyhow::Result<()> {
    let server = start().await?;
    let sock = server.path.clone();
    post(
        &sock,
        "NetworkDriver.CreateNetwork",
        json!({"NetworkID": "net1"}),
    )
    .await?;
    let ids = json!({"NetworkID": "net1", "EndpointID": "ep0123"});
    let mut create = ids.clone();
    create["Interface"] = json!({"Address": "10.1.0.3/24", "AddressIPv6": "", "MacAddress": ""});
    let (status, endpoint) = post(&sock, "NetworkDriver.CreateEndpoint", create).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(endpoint["Interface"]["MacAddress"], "02:42:0a:01:00:02");
    let recorded = server
        .driver
        .endpoints
        .lock()
        .unwrap()
        .get("ep0123")
        .cloned();
    assert_eq!(recorded.as_deref(), Some("10.1.0.3/24"));
    let mut join = ids.clone();
    join["SandboxKey"] = json!("/var/run/docker/netns/abc");
    let (_, join) = post(&sock, "NetworkDriver.Join", join).await?;
    assert_eq!(
        join["InterfaceName"],
        json!({"SrcName": "vethep01", "DstPrefix": "eth"})
    );
    assert_eq!(join["Gateway"], "10.1.0.1");
    let (status, _) = post(
        &sock,
        "NetworkDriver.ProgramExternalConnectivity",
        ids.clone(),
    )
    .await?;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "dockerd treats 404 here as success"
    );
    let (_, info) = post(&sock, "NetworkDriver.EndpointOperInfo", ids.clone()).await?;
    assert_eq!(info, json!({"Value": {}}));
    for method in ["NetworkDriver.Leave", "NetworkDriver.DeleteEndpoint"] {
        let reply = post(&sock, method, ids.clone()).await?;
        assert_eq!(reply, (StatusCode::OK, json!({})), "{method}");
    }
    assert!(server.driver.endpoints.lock().unwrap().is_empty());
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn bad_json_is_a_400_with_err() -> anyhow::Result<()> {
    let server = start().await?;
    let (status, body) = post_bytes(
        &server.path,
        "NetworkDriver.CreateNetwork",
        b"{\"NetworkID\": ".to_vec(),
    )
    .await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["Err"].as_str().context("no Err")?;
    assert!(message.contains("NetworkDriver.CreateNetwork"), "{message}");
    assert!(message.contains("EOF"), "{message}");
    let (status, body) = post(&server.path, "NetworkDriver.Join", json!({"NetworkID": 5})).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["Err"].as_str().context("no Err")?;
    assert!(message.contains("field `NetworkID`"), "{message}");
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_method_is_a_404_with_json() -> anyhow::Result<()> {
    let server = start().await?;
    let (status, body) = post(&server.path, "VolumeDriver.Mount", json!({})).await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"Err": "unknown plugin method \"VolumeDriver.Mount\""})
    );
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn two_mebibyte_body_is_a_413() -> anyhow::Result<()> {
    let server = start().await?;
    let padding = "x".repeat(2 << 20);
    let (status, body) = post(
        &server.path,
        "NetworkDriver.CreateNetwork",
        json!({"NetworkID": padding}),
    )
    .await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body,
        json!({"Err": "request body exceeds the limit of 1048576 bytes"})
    );
    assert!(server.driver.networks.lock().unwrap().is_empty());
    // The server is still fine afterwards.
    let (status, _) = post_bytes(&server.path, "Plugin.Activate", Vec::new()).await?;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn slow_handler_past_the_deadline_is_a_503() -> anyhow::Result<()> {
    let server = start().await?;
    let request = json!({"NetworkID": "slow", "Options": {"com.docker.network.generic": {"test.sleep_ms": "2000"}}});
    let started = std::time::Instant::now();
    let (status, body) = post(&server.path, "NetworkDriver.CreateNetwork", request).await?;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        json!({"Err": "NetworkDriver.CreateNetwork did not complete within 300 ms"})
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn ipam_errors_carry_error_and_err() -> anyhow::Result<()> {
    let server = start().await?;
    let (status, body) = post(&server.path, "IpamDriver.RequestPool", json!({"V6": true})).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"Err": "IPv6 pools are not supported", "Error": "IPv6 pools are not supported"})
    );
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn socket_is_mode_0600() -> anyhow::Result<()> {
    let server = start().await?;
    let meta = std::fs::symlink_metadata(&server.path)?;
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ovn.sock");
    drop(std::os::unix::net::UnixListener::bind(&path)?);
    assert!(std::fs::symlink_metadata(&path)?.file_type().is_socket());
    let server = start_at(dir, path).await?;
    let (status, _) = post_bytes(&server.path, "Plugin.Activate", Vec::new()).await?;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_live_socket_is_not_stolen() -> anyhow::Result<()> {
    let server = start().await?;
    let err = PluginServer::new(&server.path)
        .bind()
        .expect_err("second bind must fail");
    assert!(matches!(err, Error::AlreadyListening(_)), "{err}");
    assert!(
        err.to_string().contains("another plugin is listening"),
        "{err}"
    );
    let (status, _) = post_bytes(&server.path, "Plugin.Activate", Vec::new()).await?;
    assert_eq!(
        status,
        StatusCode::OK,
        "the first server must keep its socket"
    );
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_path_that_is_not_a_socket_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ovn.sock");
    std::fs::write(&path, "not a socket")?;
    let err = PluginServer::new(&path).bind().expect_err("must refuse");
    assert!(matches!(err, Error::NotASocket(_)), "{err}");
    assert_eq!(std::fs::read_to_string(&path)?, "not a socket");
    Ok(())
}

#[tokio::test]
async fn the_socket_is_removed_after_shutdown() -> anyhow::Result<()> {
    let server = start().await?;
    assert!(server.path.exists());
    let path = server.shutdown().await?;
    assert!(!path.exists(), "socket file still at {}", path.display());
    assert!(UnixStream::connect(&path).await.is_err());
    Ok(())
}
