//! The axum router: one `POST /<Interface>.<Method>` route per call.
//!
//! Every route runs the same pipeline (`dispatch`): read the body under a
//! size limit, parse it with Go's leniency (Docker sends no Content-Type, so
//! no `axum::Json`), call the driver in its own task under a deadline, and
//! turn the outcome into a response in `reply.rs`. Whatever of the body a
//! refusal leaves unread is discarded after answering, so that the answer
//! reaches a client still sending it (`body.rs` says why and how far).
//!
//! The routes of each interface are one table (`network_routes`,
//! `ipam_routes`, expanded by `route_table!`): a line per call, with what
//! the call does with an empty body.
//!
//! A call that needs a body and arrives with none is dockerd's retry of a
//! call whose connection broke: its plugin client re-sends the request
//! with the body already consumed (moby/moby#39331). Such a call was
//! received, and perhaps partly carried out, by a plugin process that then
//! died. Most routes refuse it, naming the cause. EndpointOperInfo and
//! DeleteEndpoint answer it, because dockerd turns their failure into an
//! endpoint it can never delete; Program- and RevokeExternalConnectivity
//! reach the driver with `{}`, so a driver without them answers 404 as it
//! always does, which dockerd takes as success (see `network_routes`).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{MethodRouter, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;
use tracing::{Instrument, Span, field};

use crate::body::RequestBody;
use crate::driver::{IpamDriver, NetworkDriver};
use crate::error::{Error, ErrorKind, PluginError, PluginResult};
use crate::keys;
use crate::reply::{self, Api};
use crate::wire::{ActivateResponse, Empty, EndpointOperInfoResponse, activate};

/// Default time a call may take before dockerd gets a 503. dockerd itself
/// waits forever on a v1 plugin, so without this a stuck backend would hang
/// `docker run` indefinitely.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// Default maximum request body: 1 MiB, far above any real dockerd request.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Every route's settings (the router's state).
#[derive(Clone)]
struct Limits {
    deadline: Duration,
    body_limit: usize,
    observer: Option<Arc<dyn CallObserver>>,
}

/// Told of every call to a driver method once it is answered: the seam
/// metrics hang on ([`PluginRouter::observer`]). Called on the request's
/// task: it must not block.
pub trait CallObserver: Send + Sync + 'static {
    /// `method` is `NetworkDriver.Join`, ...; `outcome` is `ok` or the
    /// error's [`ErrorKind::as_str`]; `elapsed` counts from the request's
    /// arrival to its answer.
    fn call_answered(&self, method: &str, outcome: &'static str, elapsed: Duration);
}

/// Names one call, e.g. `NetworkDriver.Join`.
#[derive(Debug, Clone, Copy)]
struct Call {
    api: Api,
    method: &'static str,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.api.as_str(), self.method)
    }
}

type Routes = Vec<(Call, MethodRouter<Limits>)>;

/// Builds the plugin's [`axum::Router`].
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # fn f<D: plugin_api::NetworkDriver + plugin_api::IpamDriver>(driver: Arc<D>) {
/// let router = plugin_api::PluginRouter::new()
///     .network_driver(driver.clone())
///     .ipam_driver(driver)
///     .deadline(Duration::from_secs(30))
///     .build();
/// # }
/// ```
pub struct PluginRouter {
    network: Option<Routes>,
    ipam: Option<Routes>,
    limits: Limits,
}

impl Default for PluginRouter {
    fn default() -> Self {
        Self::new()
    }
}

impl PluginRouter {
    /// A router serving only `Plugin.Activate` until drivers are added.
    pub fn new() -> Self {
        PluginRouter {
            network: None,
            ipam: None,
            limits: Limits {
                deadline: DEFAULT_DEADLINE,
                body_limit: DEFAULT_BODY_LIMIT,
                observer: None,
            },
        }
    }

    /// Serves `/NetworkDriver.*` with `driver` (replacing an earlier one).
    pub fn network_driver<N: NetworkDriver>(mut self, driver: Arc<N>) -> Self {
        self.network = Some(network_routes(&driver));
        self
    }

    /// Serves `/IpamDriver.*` with `driver` (replacing an earlier one).
    pub fn ipam_driver<I: IpamDriver>(mut self, driver: Arc<I>) -> Self {
        self.ipam = Some(ipam_routes(&driver));
        self
    }

    /// How long one call may take, body included. When it passes, dockerd
    /// gets a 503 and the driver's future is dropped (cancelled): dockerd
    /// has then already failed the operation and will roll it back (e.g.
    /// Leave after a failed Join), so finishing it later would race that.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.limits.deadline = deadline;
        self
    }

    /// Tells `observer` of every driver call once answered.
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.limits.observer = Some(observer);
        self
    }

    /// Largest accepted request body in bytes; larger ones get a 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.limits.body_limit = bytes;
        self
    }

    /// The finished router.
    pub fn build(self) -> Router {
        let mut implements = Vec::new();
        let mut router = Router::new();
        for (name, routes) in [
            (activate::NETWORK_DRIVER, self.network),
            (activate::IPAM_DRIVER, self.ipam),
        ] {
            let Some(routes) = routes else { continue };
            implements.push(name.to_owned());
            for (call, method_router) in routes {
                router = router.route(&format!("/{call}"), method_router);
            }
        }
        let activate = ActivateResponse { implements };
        router
            .route("/Plugin.Activate", activate_route(activate))
            .fallback(unknown_method)
            .method_not_allowed_fallback(wrong_http_method)
            .with_state(self.limits)
    }
}

fn activate_route(reply: ActivateResponse) -> MethodRouter<Limits> {
    let reply = Arc::new(reply);
    let answer =
        |reply: Arc<ActivateResponse>, _: Empty| async move { Ok(ActivateResponse::clone(&reply)) };
    route(Api::Plugin, "Activate", &reply, answer, EmptyBody::Expected).1
}

/// The route table of one interface: one line per call, naming the call,
/// the trait method that answers it (with `(request)` if it takes the
/// decoded body, `()` if dockerd sends none) and what an empty body means
/// (an [`EmptyBody`] variant). Expands to the [`Routes`] of `$driver`.
macro_rules! route_table {
    ($api:ident for $driver:ident: $T:ident {
        $( $call:ident => $method:ident ($($request:ident)?), $empty:ident $(($answer:expr))?; )*
    }) => {
        vec![$(
            route(
                Api::$api,
                stringify!($call),
                $driver,
                route_table!(@handler $T as $api, $method ($($request)?)),
                EmptyBody::$empty $(($answer))?,
            ),
        )*]
    };
    // A call without a body still decodes one, as `{}`, so that garbage
    // sent to it is refused like anywhere else.
    (@handler $T:ident as $trait:ident, $method:ident ()) => {
        |driver: Arc<$T>, _: Empty| async move { <$T as $trait>::$method(&driver).await }
    };
    (@handler $T:ident as $trait:ident, $method:ident (request)) => {
        |driver: Arc<$T>, request| async move { <$T as $trait>::$method(&driver, request).await }
    };
}

fn network_routes<N: NetworkDriver>(driver: &Arc<N>) -> Routes {
    route_table!(NetworkDriver for driver: N {
        // dockerd sends the capability calls without a body.
        GetCapabilities => get_capabilities(), Expected;
        CreateNetwork => create_network(request), Refused;
        DeleteNetwork => delete_network(request), Refused;
        AllocateNetwork => allocate_network(request), Refused;
        FreeNetwork => free_network(request), Refused;
        GwAllocCheck => gw_alloc_check(request), Refused;
        CreateEndpoint => create_endpoint(request), Refused;
        // Asked after a Join that dockerd no longer rolls back: a refusal
        // fails the container and strands its endpoint. Without a body no
        // endpoint is named, so none has operational data to show.
        EndpointOperInfo => endpoint_oper_info(request),
            Answered(|_| Ok(EndpointOperInfoResponse::default()));
        // On a failure dockerd keeps the endpoint for good; only the driver
        // knows whether it can finish the lost deletion itself.
        DeleteEndpoint => delete_endpoint(request),
            Answered(N::delete_endpoint_with_lost_body);
        Join => join(request), Refused;
        Leave => leave(request), Refused;
        DiscoverNew => discover_new(request), Refused;
        DiscoverDelete => discover_delete(request), Refused;
        // A refusal of a lost Program fails the container's start, so both
        // reach the driver with `{}`: one without them answers its usual
        // 404, which dockerd takes as success.
        ProgramExternalConnectivity => program_external_connectivity(request), Expected;
        RevokeExternalConnectivity => revoke_external_connectivity(request), Expected;
    })
}

fn ipam_routes<I: IpamDriver>(driver: &Arc<I>) -> Routes {
    route_table!(IpamDriver for driver: I {
        // Both sent without a body.
        GetCapabilities => get_capabilities(), Expected;
        GetDefaultAddressSpaces => get_default_address_spaces(), Expected;
        RequestPool => request_pool(request), Refused;
        ReleasePool => release_pool(request), Refused;
        RequestAddress => request_address(request), Refused;
        ReleaseAddress => release_address(request), Refused;
    })
}

/// One POST route whose handler decodes `Req`, calls `handler` with the
/// shared `target` and encodes `Resp`; `empty` says what a request without
/// a body gets (see the module doc).
fn route<T, Req, Resp, F, Fut>(
    api: Api,
    method: &'static str,
    target: &Arc<T>,
    handler: F,
    empty: EmptyBody<fn(&T) -> PluginResult<Resp>>,
) -> (Call, MethodRouter<Limits>)
where
    T: Send + Sync + 'static,
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: Fn(Arc<T>, Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = PluginResult<Resp>> + Send + 'static,
{
    let call = Call { api, method };
    let target = Arc::clone(target);
    let method_router = post(move |State(limits): State<Limits>, request: Request| {
        let target = Arc::clone(&target);
        let handler = handler.clone();
        let empty = empty.map(|answer| {
            let target = Arc::clone(&target);
            move || answer(&target)
        });
        let run = move |req| handler(target, req);
        dispatch(call, limits, request, Handlers { run, empty })
    });
    (call, method_router)
}

/// What a route does with an empty body; `A` answers a lost one.
#[derive(Clone, Copy)]
enum EmptyBody<A> {
    /// Decode it as `{}`: the call has no body, or the driver's answer
    /// to a lost one is the right one.
    Expected,
    /// dockerd lost the body: refuse the call, naming the cause.
    Refused,
    /// dockerd lost the body: answer this instead.
    Answered(A),
}

impl<A> EmptyBody<A> {
    fn map<B>(self, f: impl FnOnce(A) -> B) -> EmptyBody<B> {
        match self {
            EmptyBody::Expected => EmptyBody::Expected,
            EmptyBody::Refused => EmptyBody::Refused,
            EmptyBody::Answered(answer) => EmptyBody::Answered(f(answer)),
        }
    }
}

/// How one call is answered: `run` with the decoded request, or as
/// `empty` says when there is no body.
struct Handlers<F, L> {
    run: F,
    empty: EmptyBody<L>,
}

async fn dispatch<Req, Resp, F, Fut, L>(
    call: Call,
    limits: Limits,
    request: Request,
    handlers: Handlers<F, L>,
) -> Response
where
    Req: DeserializeOwned,
    Resp: Serialize + Send + 'static,
    F: FnOnce(Req) -> Fut,
    Fut: Future<Output = PluginResult<Resp>> + Send + 'static,
    L: FnOnce() -> PluginResult<Resp>,
{
    let span = tracing::info_span!(
        "plugin_call",
        method = %call,
        network = field::Empty,
        endpoint = field::Empty,
        pool = field::Empty,
    );
    let started = Instant::now();
    let mut body = RequestBody::new(request);
    let work = execute(call, limits.body_limit, &mut body, handlers).instrument(span.clone());
    let result = tokio::time::timeout(limits.deadline, work)
        .await
        .unwrap_or_else(|_| Err(deadline_passed(call, limits.deadline)));
    // A refusal may leave part of the body unread (see `body.rs`).
    body.discard_rest(limits.body_limit, limits.deadline);
    let elapsed = started.elapsed();
    log_outcome(&span, &result, elapsed);
    if let Some(observer) = &limits.observer {
        let outcome = result.as_ref().map_or_else(|e| e.kind().as_str(), |_| "ok");
        observer.call_answered(&call.to_string(), outcome, elapsed);
    }
    match &result {
        Ok(value) => reply::success(call.api, value),
        Err(err) => reply::failure(call.api, err),
    }
}

async fn execute<Req, Resp, F, Fut, L>(
    call: Call,
    body_limit: usize,
    body: &mut RequestBody,
    handlers: Handlers<F, L>,
) -> PluginResult<Resp>
where
    Req: DeserializeOwned,
    Resp: Send + 'static,
    F: FnOnce(Req) -> Fut,
    Fut: Future<Output = PluginResult<Resp>> + Send + 'static,
    L: FnOnce() -> PluginResult<Resp>,
{
    let body = body.read_limited(body_limit).await?;
    if body.is_empty() {
        match handlers.empty {
            EmptyBody::Expected => {}
            EmptyBody::Refused => return Err(PluginError::lost_body(call)),
            EmptyBody::Answered(answer) => {
                tracing::warn!("{call} retried by dockerd without its body (moby/moby#39331)");
                return answer();
            }
        }
    }
    let value = keys::parse(&body).map_err(|e| invalid_request(call, e))?;
    record_ids(&value);
    let typed: Req = keys::from_value(value).map_err(|e| invalid_request(call, e))?;
    run_isolated((handlers.run)(typed)).await
}

fn invalid_request(call: Call, err: Error) -> PluginError {
    PluginError::bad_request(format!("invalid {call} request: {err}"))
}

fn deadline_passed(call: Call, deadline: Duration) -> PluginError {
    PluginError::unavailable(format!(
        "{call} did not complete within {} ms",
        deadline.as_millis()
    ))
}

/// Puts the ids a request names into the span before decoding, so even a
/// request that fails to decode is logged with them.
fn record_ids(value: &Value) {
    let span = Span::current();
    for (field, key) in [
        ("network", "NetworkID"),
        ("endpoint", "EndpointID"),
        ("pool", "PoolID"),
    ] {
        if let Some(id) = keys::lookup_str(value, key) {
            span.record(field, id);
        }
    }
}

/// Runs the driver in its own task so that a panic becomes a 500 instead
/// of a dropped connection (which dockerd would retry for ~15 s). The task
/// is aborted if the caller goes away, e.g. when the deadline passes.
async fn run_isolated<T: Send + 'static>(
    work: impl Future<Output = PluginResult<T>> + Send + 'static,
) -> PluginResult<T> {
    let mut task = AbortOnDrop(tokio::spawn(work.in_current_span()));
    match (&mut task.0).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => Err(PluginError::internal(
            "the driver panicked while handling the call",
        )),
        Err(_) => Err(PluginError::unavailable("the call was cancelled")),
    }
}

struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn log_outcome<T>(span: &Span, result: &PluginResult<T>, elapsed: Duration) {
    let duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    match result {
        Ok(_) => tracing::info!(parent: span, duration_us, "plugin call succeeded"),
        Err(err) => tracing::warn!(
            parent: span,
            duration_us,
            kind = ?err.kind(),
            error = %err,
            "plugin call failed"
        ),
    }
}

async fn unknown_method(State(limits): State<Limits>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    tracing::warn!(path, "request for an unknown plugin method");
    let name = path.trim_start_matches('/');
    let err = PluginError::not_implemented(format!("unknown plugin method {name:?}"));
    refuse_unread(limits, request, Api::of_path(&path), &err)
}

async fn wrong_http_method(State(limits): State<Limits>, request: Request) -> Response {
    let method = request.method();
    let err = PluginError::new(
        ErrorKind::MethodNotAllowed,
        format!("{method} is not supported, plugin calls are POST"),
    );
    let api = Api::of_path(request.uri().path());
    refuse_unread(limits, request, api, &err)
}

/// Answers `err` to a request whose body nobody reads, discarding the body
/// so that the answer reaches a client still sending it (see `body.rs`).
fn refuse_unread(limits: Limits, request: Request, api: Api, err: &PluginError) -> Response {
    RequestBody::new(request).discard_rest(limits.body_limit, limits.deadline);
    reply::failure(api, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeDriver, LOST_DELETE};
    use axum::body::Body;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use serde_json::json;
    use tower::ServiceExt;

    /// The router's fake, answering from memory, with the failures these
    /// tests map onto statuses.
    fn fake_driver() -> Arc<FakeDriver> {
        let fake = FakeDriver::memory()
            .failing(
                "IpamDriver.RequestPool",
                PluginError::conflict("pool overlaps"),
            )
            .failing(
                "IpamDriver.RequestAddress",
                PluginError::unavailable("northbound unreachable"),
            );
        Arc::new(fake)
    }

    fn app(fake: &Arc<FakeDriver>) -> Router {
        PluginRouter::new()
            .network_driver(fake.clone())
            .ipam_driver(fake.clone())
            .deadline(Duration::from_millis(200))
            .build()
    }

    async fn call(router: &Router, method: &str, path: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {bytes:?}"));
        (status, value)
    }

    #[tokio::test]
    async fn activate_lists_only_registered_interfaces() {
        let fake = fake_driver();
        let (status, body) = call(&app(&fake), "POST", "/Plugin.Activate", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"Implements": ["NetworkDriver", "IpamDriver"]}));
        let only_ipam = PluginRouter::new().ipam_driver(fake).build();
        let (_, body) = call(&only_ipam, "POST", "/Plugin.Activate", "").await;
        assert_eq!(body, json!({"Implements": ["IpamDriver"]}));
        let (status, _) = call(&only_ipam, "POST", "/NetworkDriver.GetCapabilities", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn requests_reach_the_driver_decoded() {
        let fake = fake_driver();
        let body =
            r#"{"networkid":"n1","options":{"com.docker.network.generic":{"ovn.network":"blue"}}}"#;
        let (status, reply) = call(&app(&fake), "POST", "/NetworkDriver.CreateNetwork", body).await;
        assert_eq!((status, reply), (StatusCode::OK, json!({})));
        let created: Vec<_> = fake.networks().into_values().collect();
        assert_eq!(created[0].network_id, "n1");
        assert_eq!(created[0].options.generic_opt("ovn.network"), Some("blue"));
    }

    #[tokio::test]
    async fn wrong_types_are_400_naming_method_and_field() {
        let fake = fake_driver();
        let body = r#"{"NetworkID":"n","IPv4Data":[{"Pool":7}]}"#;
        let (status, reply) = call(&app(&fake), "POST", "/NetworkDriver.CreateNetwork", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let msg = reply["Err"].as_str().unwrap();
        assert!(
            msg.starts_with(
                "invalid NetworkDriver.CreateNetwork request: field `IPv4Data[0].Pool`"
            ),
            "{msg}"
        );
        assert!(fake.networks().is_empty());
    }

    #[tokio::test]
    async fn driver_error_kinds_become_statuses() {
        let fake = fake_driver();
        let router = app(&fake);
        let (status, reply) = call(
            &router,
            "POST",
            "/NetworkDriver.DeleteNetwork",
            r#"{"NetworkID":"x"}"#,
        )
        .await;
        assert_eq!(
            (status, reply),
            (StatusCode::NOT_FOUND, json!({"Err": "no network x"}))
        );
        let (status, reply) = call(&router, "POST", "/IpamDriver.RequestPool", "{}").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            reply,
            json!({"Err": "pool overlaps", "Error": "pool overlaps"})
        );
        let (status, _) = call(&router, "POST", "/IpamDriver.RequestAddress", "{}").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn optional_methods_have_docker_friendly_defaults() {
        let fake = fake_driver();
        let router = app(&fake);
        let (status, reply) = call(
            &router,
            "POST",
            "/NetworkDriver.ProgramExternalConnectivity",
            "{}",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(reply["Err"].as_str().unwrap().contains("not implemented"));
        let (status, _) = call(
            &router,
            "POST",
            "/NetworkDriver.RevokeExternalConnectivity",
            "{}",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let body = r#"{"NetworkID":"n","Options":{"k":"v"}}"#;
        let (status, reply) = call(&router, "POST", "/NetworkDriver.AllocateNetwork", body).await;
        assert_eq!(
            (status, reply),
            (StatusCode::OK, json!({"Options": {"k": "v"}}))
        );
        for (path, expected) in [
            ("/NetworkDriver.FreeNetwork", json!({})),
            ("/NetworkDriver.DiscoverNew", json!({})),
            ("/NetworkDriver.DiscoverDelete", json!({})),
            ("/NetworkDriver.EndpointOperInfo", json!({"Value": {}})),
            (
                "/NetworkDriver.GwAllocCheck",
                json!({"SkipIPv4": false, "SkipIPv6": false}),
            ),
            (
                "/IpamDriver.GetCapabilities",
                json!({"RequiresMACAddress": false, "RequiresRequestReplay": false}),
            ),
            (
                "/IpamDriver.GetDefaultAddressSpaces",
                json!({"LocalDefaultAddressSpace": "LocalDefault", "GlobalDefaultAddressSpace": "GlobalDefault"}),
            ),
        ] {
            // Docker sends the capability calls without a body, the rest
            // with one.
            let body = if path.contains("Capabilities") || path.contains("AddressSpaces") {
                ""
            } else {
                "{}"
            };
            assert_eq!(
                call(&router, "POST", path, body).await,
                (StatusCode::OK, expected),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn a_retry_that_lost_its_body_is_answered_only_where_refusing_strands_an_endpoint() {
        let fake = fake_driver();
        let router = app(&fake);
        let (status, reply) = call(&router, "POST", "/NetworkDriver.EndpointOperInfo", "").await;
        assert_eq!((status, reply), (StatusCode::OK, json!({"Value": {}})));
        let (status, reply) = call(&router, "POST", "/NetworkDriver.DeleteEndpoint", "").await;
        assert_eq!((status, reply), (StatusCode::OK, json!({})));
        assert_eq!(fake.count(LOST_DELETE), 1);
        for path in [
            "/NetworkDriver.CreateNetwork",
            "/NetworkDriver.Join",
            "/NetworkDriver.Leave",
            "/IpamDriver.ReleaseAddress",
        ] {
            let (status, reply) = call(&router, "POST", path, "").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            let message = reply["Err"].as_str().unwrap();
            assert!(message.contains("without a body"), "{path}: {message}");
            assert!(message.contains("moby/moby#39331"), "{path}: {message}");
        }
        // Not implemented, with a body or without: dockerd's "absent".
        let (status, _) = call(
            &router,
            "POST",
            "/NetworkDriver.ProgramExternalConnectivity",
            "",
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Only a body of zero bytes is a lost one: `{}` reaches the driver.
        let (status, _) = call(&router, "POST", "/NetworkDriver.DeleteEndpoint", "{}").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fake.count(LOST_DELETE), 1);
        assert!(fake.networks().is_empty());
    }

    #[tokio::test]
    async fn a_panicking_driver_gets_a_500() {
        let fake = fake_driver();
        let (status, reply) = call(
            &app(&fake),
            "POST",
            "/NetworkDriver.CreateNetwork",
            r#"{"NetworkID":"panic"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            reply["Err"].as_str().unwrap().contains("panicked"),
            "{reply}"
        );
    }

    #[tokio::test]
    async fn deadline_cancels_the_driver() {
        let fake = fake_driver();
        let body = r#"{"NetworkID":"slow","Options":{"com.docker.network.generic":{"test.sleep_ms":"400"}}}"#;
        let (status, reply) = call(&app(&fake), "POST", "/NetworkDriver.CreateNetwork", body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            reply,
            json!({"Err": "NetworkDriver.CreateNetwork did not complete within 200 ms"})
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            fake.networks().is_empty(),
            "the cancelled call must not finish"
        );
    }

    #[tokio::test]
    async fn unknown_paths_and_verbs_get_json_errors() {
        let fake = fake_driver();
        let router = app(&fake);
        let (status, reply) = call(&router, "POST", "/NetworkDriver.Frobnicate", "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            reply,
            json!({"Err": "unknown plugin method \"NetworkDriver.Frobnicate\""})
        );
        let (status, reply) = call(&router, "POST", "/IpamDriver.Frobnicate", "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(reply["Err"], reply["Error"]);
        let (status, reply) = call(&router, "GET", "/Plugin.Activate", "").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(reply["Err"].as_str().unwrap().contains("POST"), "{reply}");
    }

    #[tokio::test]
    async fn body_limit_is_configurable() {
        let fake = fake_driver();
        let router = PluginRouter::new()
            .network_driver(fake)
            .body_limit(16)
            .build();
        let body = r#"{"NetworkID":"0123456789abcdef"}"#;
        let (status, reply) = call(&router, "POST", "/NetworkDriver.CreateNetwork", body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            reply,
            json!({"Err": "request body exceeds the limit of 16 bytes"})
        );
    }
}
