//! `serve --metrics-listen`: the metrics ([`crate::metrics`]) made,
//! installed and served, and the connections and endpoints they report
//! found in the backends.

use std::sync::Arc;

use crate::cli::serve::Backends;
use crate::metrics::listener::{self, EndpointCounter, MetricsListen};
use crate::metrics::{self, Metrics};

/// The metrics flag of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics on GET /metrics at ADDR: a loopback
    /// address and port (127.0.0.1:9477) or a unix socket path; off
    /// without.
    #[arg(long, env = "DOCKER_OVN_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<MetricsListen>,
}

/// Makes, installs and serves the metrics if asked; they are then also
/// the plugin routers' call observer.
pub async fn start(
    args: &MetricsArgs,
    backends: &Backends,
) -> anyhow::Result<Option<Arc<Metrics>>> {
    let Some(listen) = &args.metrics_listen else {
        return Ok(None);
    };
    let metrics = Arc::new(Metrics::new());
    metrics::install(metrics.clone());
    watch_connections(&metrics, backends);
    listener::serve(listen, metrics.clone(), endpoint_counter(backends)).await?;
    Ok(Some(metrics))
}

/// Follows each connection's events into `connection_up` and
/// `reconnects`: each is up now (start-up waited for it), so every
/// `Connected` heard from here on is a reconnection.
fn watch_connections(metrics: &Arc<Metrics>, backends: &Backends) {
    use ovsdb_client::Event as Db;
    let mut databases = vec![("open_vswitch", backends.local.client().clone())];
    if let Some((_, nb)) = &backends.ovn {
        databases.push(("ovn_northbound", nb.client().clone()));
    }
    for (name, client) in databases {
        metrics.connection(name, client.is_connected(), false);
        let mut events = client.events();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            while let Ok(event) = recv(&mut events).await {
                match event {
                    Db::Connected => metrics.connection(name, true, true),
                    Db::Disconnected { .. } => metrics.connection(name, false, false),
                    _ => {}
                }
            }
        });
    }
    if let Some(ovs) = &backends.ovs {
        metrics.connection("openflow", true, false);
        let mut events = ovs.flows().client().subscribe();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            while let Ok(event) = recv(&mut events).await {
                match event {
                    flows::Event::Connected { .. } => metrics.connection("openflow", true, true),
                    flows::Event::Disconnected { .. } => {
                        metrics.connection("openflow", false, false)
                    }
                    _ => {}
                }
            }
        });
    }
}

/// The next event; a lagging receiver skips what it missed.
async fn recv<T: Clone>(
    events: &mut tokio::sync::broadcast::Receiver<T>,
) -> Result<T, tokio::sync::broadcast::error::RecvError> {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Err(RecvError::Lagged(_)) => continue,
            other => return other,
        }
    }
}

/// Counts this host's endpoints per network in the backends' replicas.
fn endpoint_counter(backends: &Backends) -> EndpointCounter {
    let ovn = backends.ovn.clone();
    let ovs = backends.ovs.clone();
    Arc::new(move || {
        let mut counts = std::collections::BTreeMap::<(&'static str, String), usize>::new();
        if let Some((backend, nb)) = &ovn {
            for port in nb.ports_of_host(backend.host()) {
                *counts.entry(("ovn", port.network)).or_default() += 1;
            }
        }
        if let Some(backend) = &ovs {
            for port in backend.endpoints() {
                *counts.entry(("ovs", port.network.to_string())).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|((backend, network), count)| (backend, network, count))
            .collect()
    })
}
