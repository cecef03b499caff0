//! Serving a router on the plugin's unix socket.
//!
//! dockerd discovers a v1 plugin by its socket file under
//! `/run/docker/plugins`; nothing else should be able to talk to it, hence
//! the 0600 mode and no TCP listener.

use std::future::Future;
use std::path::{Path, PathBuf};

use axum::Router;

use crate::error::Error;
use crate::socket::{self, SocketFile};

/// Where dockerd looks for the plugin named `ovn`.
pub const DEFAULT_SOCKET_PATH: &str = "/run/docker/plugins/ovn.sock";

/// Mode of the socket file: only root (dockerd) may connect.
pub const DEFAULT_SOCKET_MODE: u32 = 0o600;

/// Configures the socket a plugin is served on.
///
/// Binding refuses to start if another process answers on the path or if
/// the path is not a socket; a stale socket file is replaced.
#[derive(Debug, Clone)]
pub struct PluginServer {
    path: PathBuf,
    mode: u32,
}

impl Default for PluginServer {
    fn default() -> Self {
        Self::new(DEFAULT_SOCKET_PATH)
    }
}

impl PluginServer {
    /// A server for the socket at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PluginServer {
            path: path.into(),
            mode: DEFAULT_SOCKET_MODE,
        }
    }

    /// Overrides the socket file's permission bits (default 0600).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Claims the socket now, so a caller can report readiness (or a
    /// conflict) before serving. Needs no async runtime.
    pub fn bind(&self) -> Result<BoundServer, Error> {
        let (listener, socket) = socket::bind(&self.path, self.mode)?;
        Ok(BoundServer { listener, socket })
    }

    /// Binds and serves until `shutdown` completes; see [`BoundServer::serve`].
    pub async fn serve<F>(&self, router: Router, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.bind()?.serve(router, shutdown).await
    }
}

/// A claimed socket, ready to serve.
#[derive(Debug)]
pub struct BoundServer {
    listener: std::os::unix::net::UnixListener,
    socket: SocketFile,
}

impl BoundServer {
    /// The socket path.
    pub fn path(&self) -> &Path {
        self.socket.id().path()
    }

    /// Serves `router` until `shutdown` completes, then lets in-flight calls
    /// finish and returns. The socket file is removed as soon as shutdown
    /// begins, so dockerd's retries see "no plugin" rather than a listener
    /// that no longer accepts, and in any case before this returns.
    pub async fn serve<F>(self, router: Router, shutdown: F) -> Result<(), Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let BoundServer { listener, socket } = self;
        let path = socket.id().path().to_owned();
        let listener = tokio::net::UnixListener::from_std(listener)
            .map_err(|e| Error::io("registering the listener for", &path, e))?;
        let id = socket.id().clone();
        let signal = async move {
            shutdown.await;
            tracing::info!(path = %id.path().display(), "plugin shutting down");
            id.remove();
        };
        tracing::info!(path = %path.display(), "plugin listening");
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(signal)
            .await;
        drop(socket);
        served.map_err(|e| Error::io("serving on", &path, e))
    }
}

/// Serves `router` on the unix socket at `path` until `shutdown` completes.
///
/// Shorthand for `PluginServer::new(path).serve(router, shutdown)`.
pub async fn serve<F>(path: impl Into<PathBuf>, router: Router, shutdown: F) -> Result<(), Error>
where
    F: Future<Output = ()> + Send + 'static,
{
    PluginServer::new(path).serve(router, shutdown).await
}
