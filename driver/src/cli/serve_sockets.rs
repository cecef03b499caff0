//! `docker-ovn serve`'s plugin sockets: bound before anything is
//! connected, so that dockerd finds them within the ten seconds it gives
//! a managed plugin even while OVSDB is down. Until the backends are
//! ready each socket answers the handshake from what its driver declares
//! and holds every other call (see [`plugin_api::starting`]).

use std::path::PathBuf;
use std::time::Duration;

use plugin_api::starting::{Handshake, Startup};
use plugin_api::{BoundServer, PluginServer};

use crate::backend::local_scope_capabilities;
use crate::cli::serve::ServeArgs;
use crate::docker::ipam::Ipam;

/// How long a call that arrives before the backends are ready waits for
/// them: under the 30 s dockerd's plugin client waits for an answer.
const STARTUP_WAIT: Duration = Duration::from_secs(20);

/// One plugin socket and the handle that makes its driver ready.
pub struct PluginSocket {
    pub path: PathBuf,
    pub startup: Startup,
}

/// The sockets of `-d ovn` and `-d ovs`, each absent when not served.
pub struct PluginSockets {
    pub ovn: Option<PluginSocket>,
    pub ovs: Option<PluginSocket>,
}

impl PluginSockets {
    /// Says on every socket why its driver is not ready yet.
    pub fn waiting_for(&self, reason: &str) {
        for socket in [&self.ovn, &self.ovs].into_iter().flatten() {
            socket.startup.waiting_for(reason);
        }
    }
}

/// Binds every socket the flags ask for (a socket in use fails the start
/// at once) and returns them with the future that serves them all until
/// the first signal.
pub fn bind_and_serve(
    args: &ServeArgs,
) -> anyhow::Result<(
    PluginSockets,
    impl Future<Output = anyhow::Result<()>> + use<>,
)> {
    let mut bound = Vec::new();
    let mut bind = |path: &PathBuf, handshake: Handshake| -> anyhow::Result<PluginSocket> {
        let (startup, router) = Startup::new(handshake, STARTUP_WAIT);
        let server = PluginServer::new(path).bind()?;
        tracing::info!(socket = %path.display(), "serving the Docker plugin API");
        bound.push((server, router));
        Ok(PluginSocket {
            path: path.clone(),
            startup,
        })
    };
    let ovn = match args.no_ovn {
        true => None,
        false => Some(bind(&args.db.socket, ovn_handshake())?),
    };
    let ovs = match args.no_ovs {
        true => None,
        false => Some(bind(&args.db.ovs_socket, ovs_handshake())?),
    };
    Ok((PluginSockets { ovn, ovs }, serve_all(bound)))
}

/// What `-d ovn` declares: its network driver and its IPAM.
fn ovn_handshake() -> Handshake {
    Handshake {
        network: Some(local_scope_capabilities()),
        ipam: Some((Ipam::capabilities(), Ipam::address_spaces())),
    }
}

/// What `-d ovs` declares: a network driver alone.
fn ovs_handshake() -> Handshake {
    Handshake {
        network: Some(local_scope_capabilities()),
        ipam: None,
    }
}

/// Serves every socket until the first signal.
async fn serve_all(bound: Vec<(BoundServer, plugin_api::Router)>) -> anyhow::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let serving = bound.into_iter().map(|(server, router)| {
        let mut stopped = stopped.clone();
        server.serve(router, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
    });
    for result in futures::future::join_all(serving).await {
        result?;
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon can still be killed.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
