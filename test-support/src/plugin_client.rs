//! A minimal client of the Docker plugin protocol, speaking HTTP/1.0 over
//! the plugin's unix socket exactly as dockerd does: `POST`, no
//! Content-Type, a JSON body.

use std::io::{Read, Write};
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
    socket: PathBuf,
}

impl PluginClient {
    pub fn new(socket: impl AsRef<Path>) -> PluginClient {
        PluginClient {
            socket: socket.as_ref().to_path_buf(),
        }
    }

    /// Sends `body` to `method` (e.g. `NetworkDriver.CreateNetwork`).
    pub fn call(&self, method: &str, body: &serde_json::Value) -> Reply {
        self.call_raw(method, body.to_string().as_bytes())
    }

    /// Sends raw bytes, for malformed-input tests.
    pub fn call_raw(&self, method: &str, body: &[u8]) -> Reply {
        let mut stream = UnixStream::connect(&self.socket)
            .unwrap_or_else(|e| panic!("plugin socket {}: {e}", self.socket.display()));
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("set timeout");
        let head = format!(
            "POST /{method} HTTP/1.0\r\nHost: plugin\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .expect("send request head");
        stream.write_all(body).expect("send request body");
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).expect("read reply");
        parse_reply(&reply)
    }
}

fn parse_reply(bytes: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP reply with a head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("HTTP status");
    let body =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("reply body is not JSON: {body:?}"));
    Reply { status, body }
}
