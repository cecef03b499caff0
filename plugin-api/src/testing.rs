//! A fake driver for tests of the router and the server: the crate's own
//! unit tests, `tests/fuzz_requests.rs` and `tests/http_unix.rs` share it.
//!
//! Compiled for the crate's unit tests and with the `testing` feature, which
//! the crate's dev-dependency on itself turns on for its integration tests;
//! nothing else should enable it.
//!
//! [`FakeDriver`] implements both traits. It records the name of every
//! call it receives and answers in one of two [modes](FakeMode): accept
//! everything (for tests of decoding and routing, where a driver's opinion
//! would only get in the way), or answer from memory like a tiny real
//! driver. Either way a test can script the failure of one call. The
//! optional methods are deliberately not overridden, so that tests through
//! the fake exercise the traits' defaults.
//!
//! Two hooks let a request ask for trouble: a `NetworkID` of `"panic"`
//! makes CreateNetwork panic, and the generic option `test.sleep_ms` makes
//! it sleep that long first.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::driver::{IpamDriver, NetworkDriver};
use crate::error::{PluginError, PluginResult};
use crate::wire::{
    CapabilitiesResponse, CreateEndpointRequest, CreateEndpointResponse, CreateNetworkRequest,
    DeleteEndpointRequest, DeleteNetworkRequest, Empty, EndpointInterface, InterfaceName,
    JoinRequest, JoinResponse, LeaveRequest, ReleaseAddressRequest, ReleasePoolRequest,
    RequestAddressRequest, RequestAddressResponse, RequestPoolRequest, RequestPoolResponse, Scope,
};

/// The name [`FakeDriver::calls`] records for a DeleteEndpoint whose body
/// dockerd lost (answered by `delete_endpoint_with_lost_body`).
pub const LOST_DELETE: &str = "NetworkDriver.DeleteEndpoint without a body";

/// How a [`FakeDriver`] answers the calls no failure is scripted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeMode {
    /// Every call succeeds with the reply's default value; nothing is
    /// checked (networks created are still remembered).
    Accepting,
    /// Networks and endpoints are remembered and an endpoint needs its
    /// network; DeleteNetwork of an unknown network is a 404; pools are
    /// IPv4 only (`pool-1`, `10.1.0.0/24`) and addresses come from it in
    /// order, the gateway being `.1`; Join names a veth after the endpoint.
    Memory,
}

/// A recording fake [`NetworkDriver`] and [`IpamDriver`]; see the module doc.
#[derive(Debug)]
pub struct FakeDriver {
    mode: FakeMode,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<&'static str>,
    failures: BTreeMap<&'static str, PluginError>,
    networks: BTreeMap<String, CreateNetworkRequest>,
    endpoints: BTreeMap<String, String>,
    next_host: u8,
}

impl FakeDriver {
    /// A fake in `mode` with no scripted failure.
    pub fn new(mode: FakeMode) -> Self {
        FakeDriver {
            mode,
            state: Mutex::default(),
        }
    }

    /// A fake that accepts everything ([`FakeMode::Accepting`]).
    pub fn accepting() -> Self {
        Self::new(FakeMode::Accepting)
    }

    /// A fake that answers from memory ([`FakeMode::Memory`]).
    pub fn memory() -> Self {
        Self::new(FakeMode::Memory)
    }

    /// Makes every `call` (e.g. `"IpamDriver.RequestPool"`) fail with
    /// `error` once it reaches the driver, whatever the mode.
    pub fn failing(self, call: &'static str, error: PluginError) -> Self {
        self.state().failures.insert(call, error);
        self
    }

    /// The calls received so far, in order, by name (e.g.
    /// `"NetworkDriver.Join"`); the optional methods are not recorded.
    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    /// How many times `call` was received.
    pub fn count(&self, call: &str) -> usize {
        self.state().calls.iter().filter(|c| **c == call).count()
    }

    /// The networks created and not deleted, by id.
    pub fn networks(&self) -> BTreeMap<String, CreateNetworkRequest> {
        self.state().networks.clone()
    }

    /// The endpoints created and not deleted: id to requested address.
    pub fn endpoints(&self) -> BTreeMap<String, String> {
        self.state().endpoints.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `call` and returns its scripted failure, if any.
    fn receive(&self, call: &'static str) -> PluginResult<()> {
        let mut state = self.state();
        state.calls.push(call);
        match state.failures.get(call) {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn remembers(&self) -> bool {
        self.mode == FakeMode::Memory
    }
}

/// The test hooks of CreateNetwork (see the module doc).
async fn misbehave_if_asked(req: &CreateNetworkRequest) -> PluginResult<()> {
    if req.network_id == "panic" {
        panic!("driver bug");
    }
    if let Some(ms) = req.options.generic_opt("test.sleep_ms") {
        let ms = ms
            .parse()
            .map_err(|_| PluginError::bad_request("test.sleep_ms is not a number"))?;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(())
}

impl NetworkDriver for FakeDriver {
    async fn get_capabilities(&self) -> PluginResult<CapabilitiesResponse> {
        self.receive("NetworkDriver.GetCapabilities")?;
        Ok(CapabilitiesResponse {
            scope: Scope::Local,
            connectivity_scope: Some(Scope::Global),
            gw_alloc_checker: false,
        })
    }

    async fn create_network(&self, req: CreateNetworkRequest) -> PluginResult<Empty> {
        self.receive("NetworkDriver.CreateNetwork")?;
        misbehave_if_asked(&req).await?;
        // Remembered only once done: a cancelled call leaves no trace.
        let mut state = self.state();
        state.networks.insert(req.network_id.clone(), req);
        Ok(Empty {})
    }

    async fn delete_network(&self, req: DeleteNetworkRequest) -> PluginResult<Empty> {
        self.receive("NetworkDriver.DeleteNetwork")?;
        let mut state = self.state();
        let known = state.networks.remove(&req.network_id).is_some();
        if self.remembers() && !known {
            let message = format!("no network {}", req.network_id);
            return Err(PluginError::not_found(message));
        }
        Ok(Empty {})
    }

    async fn create_endpoint(
        &self,
        req: CreateEndpointRequest,
    ) -> PluginResult<CreateEndpointResponse> {
        self.receive("NetworkDriver.CreateEndpoint")?;
        let mut state = self.state();
        if !self.remembers() {
            return Ok(CreateEndpointResponse::default());
        }
        if !state.networks.contains_key(&req.network_id) {
            let message = format!("no network {}", req.network_id);
            return Err(PluginError::not_found(message));
        }
        state
            .endpoints
            .insert(req.endpoint_id, req.interface.address);
        let interface = EndpointInterface {
            mac_address: "02:42:0a:01:00:02".into(),
            ..Default::default()
        };
        Ok(CreateEndpointResponse {
            interface: Some(interface),
        })
    }

    async fn delete_endpoint(&self, req: DeleteEndpointRequest) -> PluginResult<Empty> {
        self.receive("NetworkDriver.DeleteEndpoint")?;
        let mut state = self.state();
        state.endpoints.remove(&req.endpoint_id);
        Ok(Empty {})
    }

    /// Success: the fake stands for a driver that reconciles its state.
    fn delete_endpoint_with_lost_body(&self) -> PluginResult<Empty> {
        self.receive(LOST_DELETE)?;
        Ok(Empty {})
    }

    async fn join(&self, req: JoinRequest) -> PluginResult<JoinResponse> {
        self.receive("NetworkDriver.Join")?;
        if !self.remembers() {
            return Ok(JoinResponse::default());
        }
        let short: String = req.endpoint_id.chars().take(4).collect();
        Ok(JoinResponse {
            interface_name: Some(InterfaceName {
                src_name: format!("veth{short}"),
                dst_prefix: "eth".into(),
            }),
            gateway: "10.1.0.1".into(),
            ..Default::default()
        })
    }

    async fn leave(&self, _: LeaveRequest) -> PluginResult<Empty> {
        self.receive("NetworkDriver.Leave")?;
        Ok(Empty {})
    }
}

impl IpamDriver for FakeDriver {
    async fn request_pool(&self, req: RequestPoolRequest) -> PluginResult<RequestPoolResponse> {
        self.receive("IpamDriver.RequestPool")?;
        if !self.remembers() {
            return Ok(RequestPoolResponse::default());
        }
        if req.v6 {
            return Err(PluginError::bad_request("IPv6 pools are not supported"));
        }
        Ok(RequestPoolResponse {
            pool_id: "pool-1".into(),
            pool: "10.1.0.0/24".into(),
            data: BTreeMap::new(),
        })
    }

    async fn release_pool(&self, _: ReleasePoolRequest) -> PluginResult<Empty> {
        self.receive("IpamDriver.ReleasePool")?;
        Ok(Empty {})
    }

    async fn request_address(
        &self,
        req: RequestAddressRequest,
    ) -> PluginResult<RequestAddressResponse> {
        self.receive("IpamDriver.RequestAddress")?;
        let mut state = self.state();
        if !self.remembers() {
            return Ok(RequestAddressResponse::default());
        }
        state.next_host = state.next_host.wrapping_add(1);
        let host = if req.is_gateway() {
            1
        } else {
            state.next_host.saturating_add(1)
        };
        Ok(RequestAddressResponse {
            address: format!("10.1.0.{host}/24"),
            data: BTreeMap::new(),
        })
    }

    async fn release_address(&self, _: ReleaseAddressRequest) -> PluginResult<Empty> {
        self.receive("IpamDriver.ReleaseAddress")?;
        Ok(Empty {})
    }
}
