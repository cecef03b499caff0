//! A minimal client of the Docker plugin protocol, speaking HTTP/1.0 over
//! the plugin's unix socket exactly as dockerd does: `POST`, no
//! Content-Type, a JSON body. Plugins that listen on TCP (as the Python
//! driver the benchmark compares with) are reached the same way.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One plugin reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }
}

/// Calls `POST /<method>` on a plugin socket.
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

    /// Sends `body` to `method` (e.g. `NetworkDriver.CreateNetwork`).
    pub fn call(&self, method: &str, body: &serde_json::Value) -> Reply {
        self.call_raw(method, body.to_string().as_bytes())
    }

    /// Calls `method`, asserting a 200 reply; returns the body.
    pub fn ok(&self, method: &str, body: serde_json::Value) -> serde_json::Value {
        let reply = self.call(method, &body);
        assert!(
            reply.is_ok(),
            "{method} {body} -> {} {}",
            reply.status,
            reply.body
        );
        reply.body
    }

    /// Sends raw bytes, for malformed-input tests. A plugin that cannot
    /// be reached, or hangs up without a full reply (as dockerd sees a
    /// stopped or killed one), gives status 0 with the error in `Err`.
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

/// How long a call may take before it counts as a hung plugin.
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

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

/// A well-formed reply must be JSON; anything else is a broken exchange.
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
