//! A client of the Docker plugin protocol, speaking HTTP/1.0 over the
//! plugin's unix socket exactly as dockerd does: `POST /<method>`, no
//! Content-Type, a JSON body; the driver closes the connection after the
//! reply. Plugins that listen on TCP (the Python driver the benchmark
//! compares with) are reached the same way. The lab uses it to be dockerd
//! on hosts that have none; `test-support` wraps it for the tests.
//!
//! ```no_run
//! use docker_ovn_lab::plugin_client::PluginClient;
//! let client = PluginClient::new("/run/docker/plugins/ovn.sock");
//! let reply = client.call_raw("Plugin.Activate", b"{}");
//! assert_eq!(reply.status, 200);
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How long a call may take before it counts as a hung plugin (dockerd
/// itself gives up after 60 s; a loaded benchmark lab may be slower).
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// One plugin reply: status 0 when there was no well-formed reply, with
/// the reason in `Err`.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }

    /// The driver's message: `Err` (NetworkDriver) or `Error` (IPAM).
    pub fn error_message(&self) -> String {
        ["Err", "Error"]
            .iter()
            .find_map(|key| self.body.get(key).and_then(Value::as_str))
            .map_or_else(|| self.body.to_string(), String::from)
    }
}

/// Calls `POST /<method>` on a plugin's socket.
#[derive(Debug, Clone)]
pub struct PluginClient {
    socket: Socket,
}

/// Where the plugin listens.
#[derive(Debug, Clone)]
enum Socket {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl std::fmt::Display for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Socket::Unix(path) => write!(f, "{}", path.display()),
            Socket::Tcp(address) => write!(f, "tcp://{address}"),
        }
    }
}

impl PluginClient {
    /// A plugin on the unix socket `socket`.
    pub fn new(socket: impl AsRef<Path>) -> PluginClient {
        PluginClient {
            socket: Socket::Unix(socket.as_ref().to_path_buf()),
        }
    }

    /// A plugin listening on TCP at `address`.
    pub fn tcp(address: SocketAddr) -> PluginClient {
        PluginClient {
            socket: Socket::Tcp(address),
        }
    }

    /// Calls `method` (e.g. `IpamDriver.RequestPool`) and decodes its
    /// reply; a status other than 200 is an error carrying the driver's
    /// message.
    pub fn call<T: DeserializeOwned>(&self, method: &str, body: &Value) -> anyhow::Result<T> {
        let reply = self.call_raw(method, body.to_string().as_bytes());
        if !reply.is_ok() {
            bail!(
                "{method} on {}: {} {}",
                self.socket,
                reply.status,
                reply.error_message()
            );
        }
        serde_json::from_value(reply.body)
            .map_err(|e| anyhow::anyhow!("the reply of {method} on {}: {e}", self.socket))
    }

    /// Sends raw bytes (malformed-input tests use this). A plugin that
    /// cannot be reached, or hangs up without a full reply (as dockerd
    /// sees a stopped or killed one), gives status 0 with the error in `Err`.
    pub fn call_raw(&self, method: &str, body: &[u8]) -> Reply {
        let failed = |error: String| Reply {
            status: 0,
            body: serde_json::json!({"Err": format!("{}: {error}", self.socket)}),
        };
        match self.exchange(method, body) {
            Ok(reply) => parse_reply(&reply).unwrap_or_else(failed),
            Err(error) => failed(error.to_string()),
        }
    }

    fn exchange(&self, method: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
        match &self.socket {
            Socket::Unix(path) => {
                let stream = UnixStream::connect(path)?;
                stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
                exchange_on(stream, method, body)
            }
            Socket::Tcp(address) => {
                let stream = TcpStream::connect(address)?;
                stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
                exchange_on(stream, method, body)
            }
        }
    }
}

/// One request and its whole reply; the plugin closes after answering
/// HTTP/1.0.
fn exchange_on(
    mut stream: impl Read + Write,
    method: &str,
    body: &[u8],
) -> std::io::Result<Vec<u8>> {
    let head = format!(
        "POST /{method} HTTP/1.0\r\nHost: plugin\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    // A plugin may answer (a 413, say) and close before reading the whole
    // body; its reply is still there to read, as Go's client reads it.
    match stream.write_all(body) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
}

/// `HTTP/1.x STATUS ...\r\n<headers>\r\n\r\n<JSON>`; anything else is a
/// broken exchange.
fn parse_reply(bytes: &[u8]) -> Result<Reply, String> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete HTTP reply {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {head:?}"))?;
    let body =
        serde_json::from_str(body).map_err(|_| format!("reply body is not JSON: {body:?}"))?;
    Ok(Reply { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_split_into_status_and_json() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n{\"PoolID\":1}";
        let reply = parse_reply(raw).expect("a reply");
        assert_eq!((reply.status, reply.body), (200, json!({"PoolID": 1})));
        assert!(parse_reply(b"HTTP/1.0 200 OK\r\n").is_err());
        assert!(parse_reply(b"HTTP/1.0 200 OK\r\n\r\nnot json").is_err());
    }

    #[test]
    fn error_replies_name_the_driver_s_message() {
        let reply = |body| Reply { status: 500, body };
        assert_eq!(
            reply(json!({"Err": "no such network"})).error_message(),
            "no such network"
        );
        assert_eq!(
            reply(json!({"Error": "pool busy"})).error_message(),
            "pool busy"
        );
        assert_eq!(reply(json!({"x": 1})).error_message(), "{\"x\":1}");
    }

    #[test]
    fn a_call_to_a_missing_socket_names_the_method_and_socket() {
        let client = PluginClient::new("/nonexistent/ovn.sock");
        let error = client
            .call::<Value>("Plugin.Activate", &json!({}))
            .expect_err("no socket");
        assert!(format!("{error:#}").contains("Plugin.Activate on /nonexistent/ovn.sock"));
        assert_eq!(client.call_raw("Plugin.Activate", b"{}").status, 0);
    }
}
