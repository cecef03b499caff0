//! Serving from the moment the socket is bound, before the driver exists.
//!
//! dockerd gives a managed plugin about ten seconds after starting it to
//! answer on its socket, then registers its drivers from the capability
//! calls it makes at once; a failed capability call leaves the driver
//! unregistered until dockerd restarts. A plugin that connects to what it
//! drives before binding therefore fails to enable whenever that is slow
//! or down. [`Startup`] lets it bind first: until [`Startup::ready`] hands
//! over the real router, the handshake (`Plugin.Activate`, both
//! `GetCapabilities`, `GetDefaultAddressSpaces`) is answered from what the
//! plugin declared ([`Handshake`]), and every other call waits for the
//! real router, up to a bound, then gets a 503 saying why the driver is
//! not ready.
//!
//! ```no_run
//! use std::time::Duration;
//! use plugin_api::starting::{Handshake, Startup};
//! use plugin_api::wire::{CapabilitiesResponse, Scope};
//! # async fn connect() -> plugin_api::Router { unimplemented!() }
//!
//! # async fn run() -> Result<(), plugin_api::Error> {
//! let handshake = Handshake {
//!     network: Some(CapabilitiesResponse { scope: Scope::Local, ..Default::default() }),
//!     ipam: None,
//! };
//! let (startup, router) = Startup::new(handshake, Duration::from_secs(20));
//! let bound = plugin_api::PluginServer::default().bind()?;
//! tokio::spawn(bound.serve(router, std::future::pending()));
//! startup.waiting_for("connecting to the database");
//! startup.ready(connect().await);
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::driver::{IpamDriver, NetworkDriver};
use crate::error::{PluginError, PluginResult};
use crate::router::PluginRouter;
use crate::wire::*;

/// What a plugin answers before its driver is ready: the capabilities it
/// will have. `None` leaves that interface out of `Plugin.Activate`.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub network: Option<CapabilitiesResponse>,
    /// The IPAM driver's capabilities and default address spaces.
    pub ipam: Option<(IpamCapabilitiesResponse, AddressSpacesResponse)>,
}

/// Paths answered from the [`Handshake`] until the driver is ready.
const HANDSHAKE_PATHS: [&str; 4] = [
    "/Plugin.Activate",
    "/NetworkDriver.GetCapabilities",
    "/IpamDriver.GetCapabilities",
    "/IpamDriver.GetDefaultAddressSpaces",
];

#[derive(Clone)]
enum Stage {
    /// Why the driver is not ready yet.
    Starting(String),
    Ready(Router),
}

/// The handle that hands the real router over; see the module doc.
pub struct Startup {
    stage: watch::Sender<Stage>,
}

impl Startup {
    /// The handle and the router to serve now. A call other than the
    /// handshake waits up to `wait` for [`Startup::ready`].
    pub fn new(handshake: Handshake, wait: Duration) -> (Startup, Router) {
        let (stage, watching) = watch::channel(Stage::Starting("the driver is starting".into()));
        let early = Arc::new(Early {
            handshake,
            stage: watching.clone(),
        });
        let mut early_router = PluginRouter::new();
        if early.handshake.network.is_some() {
            early_router = early_router.network_driver(early.clone());
        }
        if early.handshake.ipam.is_some() {
            early_router = early_router.ipam_driver(early.clone());
        }
        let gate = Gate {
            early: early_router.build(),
            stage: watching,
            wait,
        };
        let router = Router::new().fallback(move |request: Request| gate.clone().forward(request));
        (Startup { stage }, router)
    }

    /// Says why the driver is not ready yet (a held call's 503 quotes it).
    pub fn waiting_for(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.stage.send_if_modified(|stage| match stage {
            Stage::Starting(old) if *old != reason => {
                *old = reason;
                true
            }
            _ => false,
        });
    }

    /// Serves every call, held ones first, with `router` from now on.
    pub fn ready(&self, router: Router) {
        self.stage.send_replace(Stage::Ready(router));
    }
}

#[derive(Clone)]
struct Gate {
    early: Router,
    stage: watch::Receiver<Stage>,
    wait: Duration,
}

impl Gate {
    async fn forward(self, request: Request) -> Response {
        let handshake = HANDSHAKE_PATHS.contains(&request.uri().path());
        let current = self.stage.borrow().clone();
        let router = match current {
            Stage::Ready(router) => router,
            Stage::Starting(_) if handshake => self.early.clone(),
            // The early router refuses what is still held after the wait.
            Stage::Starting(_) => self.ready_within().await.unwrap_or(self.early),
        };
        match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    async fn ready_within(&self) -> Option<Router> {
        let mut stage = self.stage.clone();
        let ready = stage.wait_for(|stage| matches!(stage, Stage::Ready(_)));
        match &*tokio::time::timeout(self.wait, ready).await.ok()?.ok()? {
            Stage::Ready(router) => Some(router.clone()),
            Stage::Starting(_) => None,
        }
    }
}

/// The drivers of the early router: the handshake, and a 503 for the rest.
struct Early {
    handshake: Handshake,
    stage: watch::Receiver<Stage>,
}

impl Early {
    fn not_ready<T>(&self) -> PluginResult<T> {
        let reason = match &*self.stage.borrow() {
            Stage::Starting(reason) => reason.clone(),
            Stage::Ready(_) => "the driver has just become ready: try again".into(),
        };
        Err(PluginError::unavailable(format!(
            "the driver is not ready: {reason}"
        )))
    }
}

impl NetworkDriver for Early {
    async fn get_capabilities(&self) -> PluginResult<CapabilitiesResponse> {
        Ok(self.handshake.network.clone().unwrap_or_default())
    }
    async fn create_network(&self, _: CreateNetworkRequest) -> PluginResult<Empty> {
        self.not_ready()
    }
    async fn delete_network(&self, _: DeleteNetworkRequest) -> PluginResult<Empty> {
        self.not_ready()
    }
    async fn create_endpoint(
        &self,
        _: CreateEndpointRequest,
    ) -> PluginResult<CreateEndpointResponse> {
        self.not_ready()
    }
    async fn delete_endpoint(&self, _: DeleteEndpointRequest) -> PluginResult<Empty> {
        self.not_ready()
    }
    async fn join(&self, _: JoinRequest) -> PluginResult<JoinResponse> {
        self.not_ready()
    }
    async fn leave(&self, _: LeaveRequest) -> PluginResult<Empty> {
        self.not_ready()
    }
}

impl IpamDriver for Early {
    async fn get_capabilities(&self) -> PluginResult<IpamCapabilitiesResponse> {
        Ok(self.handshake.ipam.clone().unwrap_or_default().0)
    }
    async fn get_default_address_spaces(&self) -> PluginResult<AddressSpacesResponse> {
        Ok(self.handshake.ipam.clone().unwrap_or_default().1)
    }
    async fn request_pool(&self, _: RequestPoolRequest) -> PluginResult<RequestPoolResponse> {
        self.not_ready()
    }
    async fn release_pool(&self, _: ReleasePoolRequest) -> PluginResult<Empty> {
        self.not_ready()
    }
    async fn request_address(
        &self,
        _: RequestAddressRequest,
    ) -> PluginResult<RequestAddressResponse> {
        self.not_ready()
    }
    async fn release_address(&self, _: ReleaseAddressRequest) -> PluginResult<Empty> {
        self.not_ready()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use serde_json::Value;

    fn post(path: &str) -> Request {
        Request::post(path).body(Body::from("{}")).unwrap()
    }

    async fn call(router: &Router, path: &str) -> (u16, Value) {
        let response = router.clone().oneshot(post(path)).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn handshake() -> Handshake {
        Handshake {
            network: Some(CapabilitiesResponse {
                scope: Scope::Local,
                ..Default::default()
            }),
            ipam: None,
        }
    }

    #[tokio::test]
    async fn the_handshake_is_answered_before_the_driver_is_ready() {
        let (startup, router) = Startup::new(handshake(), Duration::from_millis(50));
        startup.waiting_for("the database at unix:/x is down");
        let (status, activate) = call(&router, "/Plugin.Activate").await;
        assert_eq!(status, 200);
        assert_eq!(activate["Implements"], serde_json::json!(["NetworkDriver"]));
        let (status, caps) = call(&router, "/NetworkDriver.GetCapabilities").await;
        assert_eq!((status, caps["Scope"].as_str()), (200, Some("local")));
        // No IPAM was declared: not answered.
        let (status, _) = call(&router, "/IpamDriver.GetCapabilities").await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn other_calls_wait_then_say_why_the_driver_is_not_ready() {
        let (startup, router) = Startup::new(handshake(), Duration::from_millis(50));
        startup.waiting_for("the database at unix:/x is down");
        let (status, reply) = call(&router, "/NetworkDriver.DeleteNetwork").await;
        assert_eq!(status, 503);
        let message = reply["Err"].as_str().unwrap();
        assert!(message.contains("unix:/x is down"), "{message}");
    }

    #[tokio::test]
    async fn a_held_call_is_served_by_the_router_made_ready_meanwhile() {
        let (startup, router) = Startup::new(handshake(), Duration::from_secs(30));
        let held = tokio::spawn({
            let router = router.clone();
            async move { call(&router, "/NetworkDriver.Anything").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!held.is_finished());
        let ready = Router::new().fallback(|| async { "{\"served\": true}" });
        startup.ready(ready);
        let (status, reply) = held.await.unwrap();
        assert_eq!((status, reply["served"].as_bool()), (200, Some(true)));
        // And from then on the handshake too comes from the real router.
        let (_, reply) = call(&router, "/Plugin.Activate").await;
        assert_eq!(reply["served"].as_bool(), Some(true));
    }
}
