//! `serve --metrics-listen`: host1's driver in the lab serves Prometheus
//! metrics on 127.0.0.1:9477 (`docker_ovn_lab::env::METRICS_LISTEN`).
//! Scraped before, during and after real `docker run`s: the counts moved
//! by what the runs did, and every line parses as the Prometheus text
//! format. Needs root and the lab; fails (never skips) without them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use docker_ovn_lab::env::METRICS_LISTEN;
use test_support::{DockerNetwork, Lab};

/// `GET /metrics`: the body, after checking the status and content type.
fn scrape() -> String {
    let mut stream = TcpStream::connect(METRICS_LISTEN)
        .unwrap_or_else(|e| panic!("host1's driver serves no metrics on {METRICS_LISTEN}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {METRICS_LISTEN}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read the reply");
    let (head, body) = reply.split_once("\r\n\r\n").expect("an HTTP reply");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// Every sample of a scrape by its name and labels, after checking each
/// line against the text format: `# HELP`/`# TYPE` comments, then
/// `name{label="value",...} number`.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut found = BTreeMap::new();
    let mut typed = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let words: Vec<&str> = comment.splitn(3, ' ').collect();
            assert!(matches!(words[0], "HELP" | "TYPE"), "comment {line:?}");
            assert!(valid_name(words[1]), "name in {line:?}");
            if words[0] == "TYPE" {
                let kinds = ["counter", "gauge", "histogram", "summary", "untyped"];
                assert!(kinds.contains(&words[2]), "type in {line:?}");
                typed.push(words[1].to_string());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("value in {line:?}")),
        };
        let name = series.split('{').next().unwrap_or_default();
        assert!(valid_name(name), "name in {line:?}");
        assert!(
            typed.iter().any(|t| name.starts_with(t.as_str())),
            "{line:?} before its # TYPE"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(valid_labels(labels), "labels in {line:?}");
        }
        found.insert(series.to_string(), value);
    }
    found
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `` or `{a="x",b="y"}` (values without quotes or backslashes here).
fn valid_labels(labels: &str) -> bool {
    if labels.is_empty() {
        return true;
    }
    let Some(inner) = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}')) else {
        return false;
    };
    inner.split("\",").all(|pair| {
        pair.split_once("=\"")
            .is_some_and(|(key, _)| valid_name(key))
    })
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

const JOINS: &str =
    "docker_ovn_plugin_requests_total{method=\"NetworkDriver.Join\",outcome=\"ok\"}";
const JOIN_TIMES: &str = "docker_ovn_plugin_request_duration_seconds_count{method=\"NetworkDriver.Join\",outcome=\"ok\"}";
const LEAVES: &str =
    "docker_ovn_plugin_requests_total{method=\"NetworkDriver.Leave\",outcome=\"ok\"}";
const READY: &str = "docker_ovn_readiness_wait_seconds_count{backend=\"ovn\"}";

#[test]
fn the_metrics_count_real_docker_runs_and_parse_as_prometheus_text() {
    let _lab = Lab::require();
    let before = samples(&scrape());
    for connection in ["open_vswitch", "ovn_northbound", "openflow"] {
        let up = format!("docker_ovn_connection_up{{connection=\"{connection}\"}}");
        assert_eq!(value(&before, &up), 1.0, "{up}");
    }
    assert!(
        before
            .keys()
            .any(|k| k.starts_with("docker_ovn_build_info{version=")),
        "no build info"
    );
    let mut net = DockerNetwork::create("dovn-metrics", &["--subnet", "10.83.0.0/24"]);
    net.run("dovn-metrics-a", &[]);
    net.run("dovn-metrics-b", &[]);
    let during = samples(&scrape());
    for series in [JOINS, READY] {
        let moved = value(&during, series) - value(&before, series);
        assert!(
            moved >= 2.0,
            "{series} moved by {moved}, not by the two runs"
        );
    }
    assert_eq!(
        value(&during, JOINS),
        value(&during, JOIN_TIMES),
        "Join's count and histogram"
    );
    let endpoints = format!(
        "docker_ovn_endpoints{{backend=\"ovn\",network=\"{}\"}}",
        net.id
    );
    assert_eq!(value(&during, &endpoints), 2.0, "{endpoints}");
    net.remove();
    let after = samples(&scrape());
    let left = value(&after, LEAVES) - value(&during, LEAVES);
    assert!(left >= 2.0, "Leave moved by {left}");
    assert!(
        !after.contains_key(&endpoints),
        "{endpoints} after the network went"
    );
}
