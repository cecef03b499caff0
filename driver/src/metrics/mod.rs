//! Prometheus metrics (`serve --metrics-listen ADDR`, off by default):
//! what an operator graphs and alerts on, in the Prometheus text format
//! on `GET /metrics` of a loopback TCP address or a unix socket, never on
//! the plugin socket ([`listener`]).
//!
//! | metric | labels |
//! |---|---|
//! | `docker_ovn_plugin_requests_total` | `method`, `outcome` (`ok` or the error's kind) |
//! | `docker_ovn_plugin_request_duration_seconds` (0.5 ms to 16 s) | `method`, `outcome` |
//! | `docker_ovn_readiness_wait_seconds`: Join's wait for the port | `backend` |
//! | `docker_ovn_reconcile_actions_total` | `backend`, `object`, `action` |
//! | `docker_ovn_connection_up`, `docker_ovn_reconnects_total` | `connection` (`open_vswitch`, `ovn_northbound`, `openflow`) |
//! | `docker_ovn_endpoints`: this host's, at the scrape | `backend`, `network` |
//! | `docker_ovn_build_info` | `version` |
//!
//! One daemon per process: the backends report their readiness waits and
//! the reconcile loop its actions to the one installed [`Metrics`]
//! ([`install`]), rather than carrying a handle through every
//! constructor; without `--metrics-listen` nothing is installed and
//! those reports cost a load of an empty cell.

pub mod listener;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plugin_api::CallObserver;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::reconcile::Action;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    backend: String,
    object: String,
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    connection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NetworkLabels {
    backend: String,
    network: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The daemon's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    call_seconds: Histograms<CallLabels>,
    ready_wait: Histograms<BackendLabels>,
    reconcile_actions: Family<ActionLabels, Counter>,
    connection_up: Family<ConnectionLabels, Gauge>,
    reconnects: Family<ConnectionLabels, Counter>,
    endpoints: Family<NetworkLabels, Gauge>,
}

/// 0.5 ms, doubling, to 16 s: a Join on an idle host takes milliseconds,
/// one behind a busy ovn-controller seconds.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("docker_ovn"),
            calls: Family::default(),
            call_seconds: Family::new_with_constructor(seconds_histogram),
            ready_wait: Family::new_with_constructor(seconds_histogram),
            reconcile_actions: Family::default(),
            connection_up: Family::default(),
            reconnects: Family::default(),
            endpoints: Family::default(),
        };
        metrics.register();
        metrics
    }

    fn register(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "plugin_requests",
            "Plugin API calls answered",
            self.calls.clone(),
        );
        registry.register_with_unit(
            "plugin_request_duration",
            "Time from a plugin call's arrival to its answer",
            Unit::Seconds,
            self.call_seconds.clone(),
        );
        registry.register_with_unit(
            "readiness_wait",
            "Join's wait for its port to be ready (ovn-installed, a child's up, an OpenFlow port)",
            Unit::Seconds,
            self.ready_wait.clone(),
        );
        registry.register(
            "reconcile_actions",
            "Steps reconciliation took",
            self.reconcile_actions.clone(),
        );
        registry.register(
            "connection_up",
            "Whether the connection to a database or switch is up (1) or not (0)",
            self.connection_up.clone(),
        );
        registry.register(
            "reconnects",
            "Times a connection came back after it was lost",
            self.reconnects.clone(),
        );
        registry.register(
            "endpoints",
            "This host's endpoints per network",
            self.endpoints.clone(),
        );
        let version = vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())];
        registry.register("build", "The driver's build", Info::new(version));
    }

    /// Join waited `wait` for its port on `backend` (`ovn`, `ovs`).
    pub fn ready_waited(&self, backend: &str, wait: Duration) {
        let labels = BackendLabels {
            backend: backend.to_string(),
        };
        self.ready_wait
            .get_or_create(&labels)
            .observe(wait.as_secs_f64());
    }

    /// A reconciliation pass of `backend` took `actions`.
    pub fn reconciled(&self, backend: &str, actions: &[Action]) {
        for action in actions {
            let (object, step) = action.labels();
            let labels = ActionLabels {
                backend: backend.to_string(),
                object: object.to_string(),
                action: step.to_string(),
            };
            self.reconcile_actions.get_or_create(&labels).inc();
        }
    }

    /// Connection `connection` went up or down; `reconnected` when it came
    /// back after a loss.
    pub fn connection(&self, connection: &str, up: bool, reconnected: bool) {
        let labels = ConnectionLabels {
            connection: connection.to_string(),
        };
        self.connection_up.get_or_create(&labels).set(i64::from(up));
        let reconnects = self.reconnects.get_or_create(&labels);
        if reconnected {
            reconnects.inc();
        }
    }

    /// The text of a scrape, with this host's endpoints per network as
    /// `count_endpoints` finds them now: `(backend, network, count)`.
    pub fn scrape(&self, endpoints: &[(&str, String, usize)]) -> String {
        self.endpoints.clear();
        for (backend, network, count) in endpoints {
            let labels = NetworkLabels {
                backend: backend.to_string(),
                network: network.clone(),
            };
            let count = i64::try_from(*count).unwrap_or(i64::MAX);
            self.endpoints.get_or_create(&labels).set(count);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl CallObserver for Metrics {
    fn call_answered(&self, method: &str, outcome: &'static str, elapsed: Duration) {
        let labels = CallLabels {
            method: method.to_string(),
            outcome: outcome.to_string(),
        };
        self.calls.get_or_create(&labels).inc();
        self.call_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

static INSTALLED: OnceLock<Arc<Metrics>> = OnceLock::new();

/// Makes `metrics` the process's: what the backends report goes there.
pub fn install(metrics: Arc<Metrics>) {
    let _ = INSTALLED.set(metrics);
}

/// The installed metrics, if `--metrics-listen` asked for them.
pub fn installed() -> Option<&'static Arc<Metrics>> {
    INSTALLED.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_shows_what_was_observed_in_prometheus_text() {
        let metrics = Metrics::new();
        metrics.call_answered("NetworkDriver.Join", "ok", Duration::from_millis(3));
        metrics.call_answered("NetworkDriver.Join", "ok", Duration::from_millis(40));
        metrics.call_answered("NetworkDriver.CreateNetwork", "bad_request", Duration::ZERO);
        metrics.ready_waited("ovn", Duration::from_millis(12));
        metrics.connection("ovn_northbound", true, false);
        metrics.connection("ovn_northbound", true, true);
        let text = metrics.scrape(&[("ovn", "4d3c2b1a".to_string(), 2)]);
        for expected in [
            "docker_ovn_plugin_requests_total{method=\"NetworkDriver.Join\",outcome=\"ok\"} 2",
            "docker_ovn_plugin_requests_total{method=\"NetworkDriver.CreateNetwork\",outcome=\"bad_request\"} 1",
            "docker_ovn_plugin_request_duration_seconds_bucket{method=\"NetworkDriver.Join\",outcome=\"ok\",le=\"0.004\"} 1",
            "docker_ovn_plugin_request_duration_seconds_count{method=\"NetworkDriver.Join\",outcome=\"ok\"} 2",
            "docker_ovn_readiness_wait_seconds_count{backend=\"ovn\"} 1",
            "docker_ovn_connection_up{connection=\"ovn_northbound\"} 1",
            "docker_ovn_reconnects_total{connection=\"ovn_northbound\"} 1",
            "docker_ovn_endpoints{backend=\"ovn\",network=\"4d3c2b1a\"} 2",
            "docker_ovn_build_info{version=\"",
            "# TYPE docker_ovn_plugin_request_duration_seconds histogram",
        ] {
            assert!(text.contains(expected), "no {expected:?} in:\n{text}");
        }
        let gone = metrics.scrape(&[]);
        assert!(!gone.contains("network=\"4d3c2b1a\""), "{gone}");
    }
}
