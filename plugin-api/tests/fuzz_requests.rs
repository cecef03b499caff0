//! Fuzzing the router with what dockerd (or anyone who can reach the
//! socket) might send: real request bodies (`fuzz_corpus/`) mutated byte by
//! byte, to every method. Nothing may panic; every reply is JSON with a
//! 2xx, 4xx or 5xx status; a driver is only called with a body that
//! decoded.
//!
//! `cargo test -p plugin-api --test fuzz_requests` runs a short campaign
//! (CI); `FUZZ_CASES=1000000 cargo test --release -p plugin-api --test
//! fuzz_requests` the full one.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use plugin_api::PluginRouter;
use plugin_api::testing::FakeDriver;
use proptest::prelude::*;
use proptest::test_runner::Config;
use tower::ServiceExt;

const CORPUS: &[&str] = &[
    include_str!("../fuzz_corpus/create_network.json"),
    include_str!("../fuzz_corpus/create_endpoint.json"),
    include_str!("../fuzz_corpus/join.json"),
    include_str!("../fuzz_corpus/request_pool.json"),
    include_str!("../fuzz_corpus/request_address.json"),
    "",
];

const METHODS: &[&str] = &[
    "Plugin.Activate",
    "NetworkDriver.GetCapabilities",
    "NetworkDriver.CreateNetwork",
    "NetworkDriver.DeleteNetwork",
    "NetworkDriver.CreateEndpoint",
    "NetworkDriver.EndpointOperInfo",
    "NetworkDriver.DeleteEndpoint",
    "NetworkDriver.Join",
    "NetworkDriver.Leave",
    "NetworkDriver.ProgramExternalConnectivity",
    "NetworkDriver.AllocateNetwork",
    "NetworkDriver.DiscoverNew",
    "IpamDriver.GetDefaultAddressSpaces",
    "IpamDriver.RequestPool",
    "IpamDriver.ReleasePool",
    "IpamDriver.RequestAddress",
    "IpamDriver.ReleaseAddress",
    "NetworkDriver.NoSuchMethod",
];

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

/// One byte-level edit of a corpus body.
fn mutate(seed: &str, edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for &(kind, at, byte) in edits {
        let at = at % (bytes.len() + 1);
        match kind % 4 {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            _ => {}
        }
    }
    bytes
}

async fn exchange(router: axum::Router, method: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let request = Request::post(format!("/{method}"))
        .body(Body::from(body))
        .expect("request");
    let response = router
        .oneshot(request)
        .await
        .expect("the router never fails");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{method}: reply {status} is not JSON: {bytes:?}"));
    (status, json)
}

proptest! {
    #![proptest_config(Config { cases: cases(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn mutated_requests_get_json_replies_and_never_panic(
        method in 0..METHODS.len(),
        seed in 0..CORPUS.len(),
        edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 0..6),
    ) {
        // Accepting everything: the fuzzing is of decoding and the router,
        // not of a driver.
        let driver = Arc::new(FakeDriver::accepting());
        let router = PluginRouter::new().network_driver(driver.clone()).ipam_driver(driver.clone()).build();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let body = mutate(CORPUS[seed], &edits);
        let (status, reply) = runtime.block_on(exchange(router, METHODS[method], body));
        prop_assert!(matches!(status, 200..=299 | 400..=499 | 500..=599), "status {}", status);
        // The fake never refuses a request as malformed: a 400 is the
        // router's, for a body that did not decode, so no driver saw it.
        if status == 400 {
            prop_assert!(driver.calls().is_empty(), "{} reached the driver: {}", METHODS[method], reply);
        }
        if status >= 400 {
            let message = reply["Err"].as_str().unwrap_or_default();
            prop_assert!(!message.is_empty(), "error reply without Err: {}", reply);
        }
    }
}
