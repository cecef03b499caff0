//! End-to-end: the server on a temporary unix socket, spoken to with real
//! HTTP/1.1 the way dockerd does (POST, no Content-Type, empty bodies for
//! argument-less calls), against the crate's fake driver answering from
//! memory.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use plugin_api::testing::FakeDriver;
use plugin_api::{Error, PluginRouter, PluginServer};
use serde_json::{Value, json};
use tokio::net::UnixStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    _dir: tempfile::TempDir,
    path: PathBuf,
    driver: Arc<FakeDriver>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), Error>>,
}

/// The deadline of most tests: short, so that a slow call's 503 comes soon.
const DEADLINE: Duration = Duration::from_millis(300);

fn router(driver: &Arc<FakeDriver>, deadline: Duration) -> axum::Router {
    PluginRouter::new()
        .network_driver(driver.clone())
        .ipam_driver(driver.clone())
        .deadline(deadline)
        .build()
}

async fn start() -> anyhow::Result<Running> {
    start_with(DEADLINE).await
}

async fn start_with(deadline: Duration) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("plugins").join("ovn.sock");
    start_at(dir, path, deadline).await
}

async fn start_at(
    dir: tempfile::TempDir,
    path: PathBuf,
    deadline: Duration,
) -> anyhow::Result<Running> {
    let driver = Arc::new(FakeDriver::memory());
    let bound = PluginServer::new(&path).bind()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.serve(router(&driver, deadline), async move {
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
    let networks = server.driver.networks();
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
    let recorded = server.driver.endpoints().get("ep0123").cloned();
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
    assert!(server.driver.endpoints().is_empty());
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
    assert!(server.driver.networks().is_empty());
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
    let server = start_at(dir, path, DEADLINE).await?;
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

/// How an oversized body is framed on the wire.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `Content-Length` says how large it is: refused before reading.
    Declared,
    /// `Transfer-Encoding: chunked`: refused once the limit is crossed.
    Chunked,
}

/// Sends `POST /<method>` with a body of `len` bytes written in pieces of
/// `piece` bytes with a pause after each, the way a slow client (or one
/// scheduled out) does; returns the reply's status and JSON body. Strict
/// like no real client is: any error writing or reading fails it, so the
/// server must read the whole body (a plugin that answers and closes
/// while the client is still writing makes the kernel reset the
/// connection, and the client loses the reply).
async fn post_slowly(
    socket: &Path,
    method: &str,
    len: usize,
    piece: usize,
    framing: Framing,
) -> anyhow::Result<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = UnixStream::connect(socket).await.context("connecting")?;
    let length = match framing {
        Framing::Declared => format!("Content-Length: {len}"),
        Framing::Chunked => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "POST /{method} HTTP/1.1\r\nHost: plugin.moby.localhost\r\n\
         Accept: application/vnd.docker.plugins.v1.2+json\r\n\
         Connection: close\r\n{length}\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .context("writing the head")?;
    let mut left = len;
    while left > 0 {
        let n = piece.min(left);
        let data = vec![b'a'; n];
        let written = match framing {
            Framing::Declared => stream.write_all(&data).await,
            Framing::Chunked => {
                let mut chunk = format!("{n:x}\r\n").into_bytes();
                chunk.extend_from_slice(&data);
                chunk.extend_from_slice(b"\r\n");
                stream.write_all(&chunk).await
            }
        };
        written.with_context(|| format!("writing the body, {left} of {len} bytes left"))?;
        left -= n;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    if let Framing::Chunked = framing {
        stream
            .write_all(b"0\r\n\r\n")
            .await
            .context("ending the body")?;
    }
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .await
        .context("reading the reply")?;
    parse_reply(&reply)
}

/// `HTTP/1.1 STATUS ...\r\n<headers>\r\n\r\n<JSON>`.
fn parse_reply(reply: &[u8]) -> anyhow::Result<(u16, Value)> {
    let text = String::from_utf8_lossy(reply);
    let (head, body) = text.split_once("\r\n\r\n").context("no full reply")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    let body = serde_json::from_str(body).with_context(|| format!("not JSON: {body:?}"))?;
    Ok((status, body))
}

#[tokio::test]
async fn an_oversized_body_sent_slowly_still_gets_the_413() -> anyhow::Result<()> {
    // Long enough for the slow writes, which the deadline bounds too.
    let server = start_with(Duration::from_secs(30)).await?;
    let expected = json!({"Err": "request body exceeds the limit of 1048576 bytes"});
    for framing in [Framing::Declared, Framing::Chunked] {
        let len = plugin_api::DEFAULT_BODY_LIMIT + 1;
        let reply = post_slowly(
            &server.path,
            "NetworkDriver.GwAllocCheck",
            len,
            64 << 10,
            framing,
        )
        .await
        .with_context(|| format!("{framing:?}"))?;
        assert_eq!(reply, (413, expected.clone()), "{framing:?}");
    }
    assert!(server.driver.calls().is_empty());
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_body_ten_times_the_limit_still_gets_the_413() -> anyhow::Result<()> {
    let server = start_with(Duration::from_secs(30)).await?;
    for framing in [Framing::Declared, Framing::Chunked] {
        let len = 10 * plugin_api::DEFAULT_BODY_LIMIT;
        let reply = post_slowly(
            &server.path,
            "NetworkDriver.CreateNetwork",
            len,
            1 << 20,
            framing,
        )
        .await
        .with_context(|| format!("{framing:?}"))?;
        assert_eq!(reply.0, 413, "{framing:?}: {}", reply.1);
        assert!(
            reply.1["Err"]
                .as_str()
                .is_some_and(|m| m.contains("exceeds the limit"))
        );
    }
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn past_the_discard_bound_a_client_reading_while_writing_gets_the_413() -> anyhow::Result<()>
{
    // 20 MiB is past the 16 MiB the server discards: it answers and then
    // closes with the rest unread. A client that reads while it writes,
    // as hyper does here and Go's net/http does for dockerd, still gets
    // the answer; one that only reads after writing everything may see a
    // reset (see `src/body.rs`).
    let server = start_with(Duration::from_secs(30)).await?;
    let body = vec![b'a'; 20 * plugin_api::DEFAULT_BODY_LIMIT];
    let (status, reply) = post_bytes(&server.path, "NetworkDriver.CreateNetwork", body).await?;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        reply,
        json!({"Err": "request body exceeds the limit of 1048576 bytes"})
    );
    let (status, _) = post_bytes(&server.path, "Plugin.Activate", Vec::new()).await?;
    assert_eq!(status, StatusCode::OK);
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_body_stalled_past_the_deadline_still_gets_the_503() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_with(Duration::from_secs(2)).await?;
    let mut stream = UnixStream::connect(&server.path).await?;
    let body = br#"{"NetworkID": "stalled"}"#;
    let (first, rest) = body.split_at(10);
    let head = format!(
        "POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: plugin\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(first).await?;
    // Past the deadline, and well within the deadline's length again that
    // the server then waits for the rest of the body (a margin of 1.7 s
    // for a loaded machine).
    tokio::time::sleep(Duration::from_millis(2300)).await;
    stream
        .write_all(rest)
        .await
        .context("the rest of the body")?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await?;
    let expected = json!({"Err": "NetworkDriver.CreateNetwork did not complete within 2000 ms"});
    assert_eq!(parse_reply(&reply)?, (503, expected));
    assert!(server.driver.calls().is_empty());
    server.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_unknown_method_with_a_large_body_sent_slowly_gets_the_404() -> anyhow::Result<()> {
    let server = start_with(Duration::from_secs(30)).await?;
    let reply = post_slowly(
        &server.path,
        "VolumeDriver.Mount",
        4 << 20,
        256 << 10,
        Framing::Declared,
    )
    .await?;
    let expected = json!({"Err": "unknown plugin method \"VolumeDriver.Mount\""});
    assert_eq!(reply, (404, expected));
    server.shutdown().await?;
    Ok(())
}
