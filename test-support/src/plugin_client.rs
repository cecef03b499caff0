//! The Docker plugin protocol as dockerd speaks it: the lab's
//! [`docker_ovn_lab::plugin_client`], with the tests' assertion on top.

use std::net::SocketAddr;
use std::path::Path;

pub use docker_ovn_lab::plugin_client::Reply;

/// Calls `POST /<method>` on a plugin socket; see
/// [`docker_ovn_lab::plugin_client::PluginClient`].
#[derive(Debug, Clone)]
pub struct PluginClient(docker_ovn_lab::plugin_client::PluginClient);

impl PluginClient {
    pub fn new(socket: impl AsRef<Path>) -> PluginClient {
        PluginClient(docker_ovn_lab::plugin_client::PluginClient::new(socket))
    }

    /// A plugin listening on TCP at `address`.
    pub fn tcp(address: SocketAddr) -> PluginClient {
        PluginClient(docker_ovn_lab::plugin_client::PluginClient::tcp(address))
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

    /// Sends raw bytes, for malformed-input tests; status 0 when the
    /// plugin could not be reached or gave no full reply.
    pub fn call_raw(&self, method: &str, body: &[u8]) -> Reply {
        self.0.call_raw(method, body)
    }
}
