//! Where `GET /metrics` is served (`--metrics-listen`): a loopback TCP
//! address (`127.0.0.1:9477`, `[::1]:9477`) or a unix socket path
//! (`/run/docker-ovn/metrics.sock`). Any other address is refused: the
//! metrics name networks and endpoints, and the driver opens no port to
//! the network (the old Python drivers listened on 0.0.0.0:5000).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;

use super::Metrics;

/// `--metrics-listen`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsListen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl FromStr for MetricsListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with('/') {
            return Ok(MetricsListen::Unix(PathBuf::from(text)));
        }
        let address: SocketAddr = text.parse().map_err(|_| {
            format!("{text:?}: give a loopback address and port (127.0.0.1:9477) or a socket path")
        })?;
        if !address.ip().is_loopback() {
            return Err(format!(
                "{address}: metrics are served on loopback or a unix socket only; put a \
                 proxy or the Prometheus agent on this host"
            ));
        }
        Ok(MetricsListen::Tcp(address))
    }
}

/// This host's endpoints per network at the moment of a scrape:
/// `(backend, network, count)`.
pub type EndpointCounter = Arc<dyn Fn() -> Vec<(&'static str, String, usize)> + Send + Sync>;

/// Binds `listen` (failing the start at once if it cannot), then serves
/// the metrics there in the background.
pub async fn serve(
    listen: &MetricsListen,
    metrics: Arc<Metrics>,
    endpoints: EndpointCounter,
) -> anyhow::Result<()> {
    let scrape = move || {
        let text = metrics.scrape(&endpoints());
        async move { ([(CONTENT_TYPE, prometheus_text::CONTENT_TYPE)], text) }
    };
    let router = Router::new().route("/metrics", get(scrape));
    match listen {
        MetricsListen::Tcp(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("metrics: cannot listen on {address}"))?;
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
        MetricsListen::Unix(path) => {
            // The plugin socket's server: mode 0600, a stale file (a
            // killed daemon's) replaced, a live one's refused.
            let server = plugin_api::PluginServer::new(path)
                .bind()
                .with_context(|| format!("metrics: cannot listen on {}", path.display()))?;
            tokio::spawn(server.serve(router, std::future::pending()));
        }
    }
    tracing::info!(listen = ?listen, "serving Prometheus metrics on /metrics");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_and_socket_paths_are_accepted() {
        assert_eq!(
            "127.0.0.1:9477".parse(),
            Ok(MetricsListen::Tcp("127.0.0.1:9477".parse().unwrap()))
        );
        assert!("[::1]:9477".parse::<MetricsListen>().is_ok());
        assert_eq!(
            "/run/m.sock".parse(),
            Ok(MetricsListen::Unix(PathBuf::from("/run/m.sock")))
        );
        let public = "0.0.0.0:9477".parse::<MetricsListen>().unwrap_err();
        assert!(public.contains("loopback"), "{public}");
        assert!("10.0.0.1:9477".parse::<MetricsListen>().is_err());
        assert!("localhost".parse::<MetricsListen>().is_err());
    }

    #[tokio::test]
    async fn a_unix_socket_serves_the_scrape_and_a_stale_socket_is_replaced() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.sock");
        // What a killed daemon leaves: a socket file nobody listens on.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let metrics = Arc::new(Metrics::new());
        let endpoints: EndpointCounter = Arc::new(|| vec![("ovn", "n1".to_string(), 3)]);
        serve(&MetricsListen::Unix(path.clone()), metrics, endpoints)
            .await
            .unwrap();
        let mut stream = tokio::net::UnixStream::connect(&path).await.unwrap();
        let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert!(
            reply.contains("docker_ovn_endpoints{backend=\"ovn\",network=\"n1\"} 3"),
            "{reply}"
        );
    }
}
