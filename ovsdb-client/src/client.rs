//! The client handle: requests with deadlines, monitors, locks, events.
//!
//! All I/O happens in one background task per client (see
//! [`crate::connection`]); the handle only queues requests and waits for
//! their replies, so it is cheap to clone and to share between tasks.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::connection::{ConnectionTask, Outgoing};
use crate::error::{Error, Result};
use crate::framing::DEFAULT_MAX_FRAME;
use crate::monitor::{MonitorRequest, requests_json};
use crate::replica::{Layout, Replica, ReplicaShared};
use crate::schema::DatabaseSchema;
use crate::target::Target;
use crate::transaction::{Transaction, TransactionOutcome};

/// How a client connects and how patient it is.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub target: Target,
    /// Deadline of every request, including time spent waiting for a
    /// connection.
    pub request_timeout: Duration,
    /// Send an `echo` after this long without hearing from the server, and
    /// drop the connection after twice as long. `None` disables probing.
    pub probe_interval: Option<Duration>,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub max_frame: usize,
}

impl ClientConfig {
    /// Defaults for the server at `target` (`unix:PATH` or `tcp:HOST:PORT`).
    pub fn new(target: &str) -> Result<ClientConfig> {
        Ok(ClientConfig {
            target: Target::parse(target)?,
            request_timeout: Duration::from_secs(30),
            probe_interval: Some(Duration::from_secs(5)),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(4),
            max_frame: DEFAULT_MAX_FRAME,
        })
    }

    pub fn request_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.request_timeout = timeout;
        self
    }

    pub fn probe_interval(mut self, interval: Option<Duration>) -> ClientConfig {
        self.probe_interval = interval;
        self
    }

    pub fn backoff(mut self, min: Duration, max: Duration) -> ClientConfig {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    pub fn max_frame(mut self, bytes: usize) -> ClientConfig {
        self.max_frame = bytes;
        self
    }
}

/// Something that happened to the connection or a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A session is up and every monitor has been re-sent on it.
    Connected,
    /// The session ended; the client is reconnecting.
    Disconnected { reason: String },
    /// The server granted a lock this client asked for.
    Locked(String),
    /// Another client stole a lock this client held.
    Stolen(String),
}

/// What the connection task does with a reply.
pub(crate) enum ReplyTo {
    Caller(oneshot::Sender<Result<Json>>),
    /// A (re-)sent monitor: its result is the initial state.
    Monitor {
        monitor: String,
        done: Option<oneshot::Sender<Result<()>>>,
    },
    /// A lock re-requested after reconnecting.
    Relock(String),
    /// Our own inactivity probe.
    Probe,
}

pub(crate) struct Pending {
    pub method: String,
    pub sent: bool,
    pub reply_to: ReplyTo,
}

/// Where a monitor's updates go.
pub(crate) enum MonitorSink {
    Replica(Arc<ReplicaShared>),
    Raw(mpsc::UnboundedSender<MonitorEvent>),
}

/// A monitor the connection task re-sends after each reconnect.
pub(crate) struct Subscription {
    pub monitor: String,
    pub method: &'static str,
    pub database: String,
    pub requests: Json,
    pub sink: MonitorSink,
}

/// State shared by the handles and the connection task.
pub(crate) struct Shared {
    pub target: Target,
    pub pending: Mutex<HashMap<u64, Pending>>,
    pub events: broadcast::Sender<Event>,
    pub connected: watch::Sender<bool>,
    pub last_error: Mutex<Option<String>>,
    pub locks: Mutex<BTreeSet<String>>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Records a request under a fresh id; `sent` when it goes out now
    /// rather than through the outbox.
    pub(crate) fn register(&self, method: &str, reply_to: ReplyTo, sent: bool) -> u64 {
        let id = self.next_id();
        self.pending().insert(
            id,
            Pending {
                method: method.to_string(),
                sent,
                reply_to,
            },
        );
        id
    }

    pub(crate) fn pending(&self) -> MutexGuard<'_, HashMap<u64, Pending>> {
        // Entries are inserted and removed whole, so a poisoned map is
        // still consistent.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn locks(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_last_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

struct Handle {
    shared: Arc<Shared>,
    outbox: mpsc::UnboundedSender<Outgoing>,
    config: ClientConfig,
    next_monitor: AtomicU64,
}

/// An OVSDB client; clones share one connection.
///
/// Dropping the last clone closes the connection.
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

/// Updates of a raw monitor (see [`Client::monitor`]).
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorEvent {
    /// The monitor was (re-)established: the full initial state, as
    /// `<table-updates>` (or `<table-updates2>` for `monitor_cond`).
    Initial(Json),
    /// One `update` (or `update2`) notification's table updates.
    Update(Json),
}

/// A raw monitor: its initial state and a stream of updates. Re-sent after
/// each reconnect, when a fresh [`MonitorEvent::Initial`] arrives.
pub struct MonitorStream {
    pub id: String,
    pub events: mpsc::UnboundedReceiver<MonitorEvent>,
}

/// A `transact` request in flight, cancellable with [`Client::cancel`].
pub struct PendingTransaction {
    id: u64,
    reply: oneshot::Receiver<Result<Json>>,
    transaction: Transaction,
    client: Client,
}

impl PendingTransaction {
    /// The JSON-RPC id, for [`Client::cancel`].
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Waits for the outcome (within the client's request timeout).
    pub async fn outcome(self) -> Result<TransactionOutcome> {
        let result = self
            .client
            .await_reply(self.id, "transact", self.reply)
            .await?;
        self.transaction.parse_reply(&result)
    }
}

impl Client {
    /// Connects to `target` with default settings; see [`ClientConfig`].
    ///
    /// Returns once the first session is up, or fails with the reason.
    pub async fn connect(target: &str) -> Result<Client> {
        Client::connect_with(ClientConfig::new(target)?).await
    }

    /// Connects with explicit settings.
    pub async fn connect_with(config: ClientConfig) -> Result<Client> {
        let first = config.target.connect().await?;
        Ok(Client::start(config, Some(first)))
    }

    /// Starts a client that connects in the background and keeps trying;
    /// requests made before the server is reachable wait (within their
    /// deadline) instead of failing.
    pub fn connect_lazily(config: ClientConfig) -> Client {
        Client::start(config, None)
    }

    fn start(config: ClientConfig, first: Option<crate::target::Stream>) -> Client {
        let (outbox, inbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            target: config.target.clone(),
            pending: Mutex::new(HashMap::new()),
            events: broadcast::Sender::new(256),
            connected: watch::Sender::new(false),
            last_error: Mutex::new(None),
            locks: Mutex::new(BTreeSet::new()),
            next_id: AtomicU64::new(1),
        });
        let task = ConnectionTask::new(shared.clone(), config.clone(), inbox);
        tokio::spawn(task.run(first));
        Client {
            handle: Arc::new(Handle {
                shared,
                outbox,
                config,
                next_monitor: AtomicU64::new(1),
            }),
        }
    }

    /// The server this client talks to.
    pub fn target(&self) -> &Target {
        &self.handle.shared.target
    }

    /// Whether a session is up right now.
    pub fn is_connected(&self) -> bool {
        *self.handle.shared.connected.borrow()
    }

    /// Connection and lock events.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.handle.shared.events.subscribe()
    }

    /// Sends any request and waits for its `result`.
    pub async fn call(&self, method: &str, params: Json) -> Result<Json> {
        let (id, reply) = self.queue(method, params)?;
        self.await_reply(id, method, reply).await
    }

    fn queue(&self, method: &str, params: Json) -> Result<(u64, oneshot::Receiver<Result<Json>>)> {
        let (tx, rx) = oneshot::channel();
        let id = self
            .handle
            .shared
            .register(method, ReplyTo::Caller(tx), false);
        let message = json!({"id": id, "method": method, "params": params});
        self.send(Outgoing::Request { id, message })?;
        Ok((id, rx))
    }

    fn send(&self, outgoing: Outgoing) -> Result<()> {
        self.handle
            .outbox
            .send(outgoing)
            .map_err(|_| Error::Closed {
                target: self.target().to_string(),
            })
    }

    async fn await_reply(
        &self,
        id: u64,
        method: &str,
        reply: oneshot::Receiver<Result<Json>>,
    ) -> Result<Json> {
        self.within_deadline(method, reply, || {
            // Removing the entry also stops a queued request from being
            // sent later, after the caller has given up on it.
            self.handle.shared.pending().remove(&id);
        })
        .await
    }

    /// The outcome the connection task sends on `reply`, or, once the
    /// request timeout passes, `on_timeout` run and a timeout error.
    async fn within_deadline<T>(
        &self,
        method: &str,
        reply: oneshot::Receiver<Result<T>>,
        on_timeout: impl FnOnce(),
    ) -> Result<T> {
        let timeout = self.handle.config.request_timeout;
        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Closed {
                target: self.target().to_string(),
            }),
            Err(_) => {
                on_timeout();
                Err(self.timeout_error(method, timeout))
            }
        }
    }

    fn timeout_error(&self, method: &str, timeout: Duration) -> Error {
        let target = self.target().to_string();
        match (self.is_connected(), self.handle.shared.last_error()) {
            (false, Some(reason)) => Error::Unavailable {
                target,
                method: method.to_string(),
                reason,
            },
            _ => Error::Timeout {
                target,
                method: method.to_string(),
                timeout,
            },
        }
    }

    /// `list_dbs`: the databases the server holds.
    pub async fn list_dbs(&self) -> Result<Vec<String>> {
        let result = self.call("list_dbs", json!([])).await?;
        serde_json::from_value(result.clone())
            .map_err(|_| Error::decode(format!("list_dbs result is not a list of names: {result}")))
    }

    /// `get_schema`: the schema of `database`.
    pub async fn get_schema(&self, database: &str) -> Result<DatabaseSchema> {
        let result = self.call("get_schema", json!([database])).await?;
        DatabaseSchema::from_json(&result)
    }

    /// `echo`: the server returns `params` unchanged.
    pub async fn echo(&self, params: Json) -> Result<Json> {
        self.call("echo", params).await
    }

    /// `transact`: runs the transaction and decodes every result; a failed
    /// operation or commit becomes [`Error::Transaction`].
    pub async fn transact(&self, transaction: &Transaction) -> Result<TransactionOutcome> {
        let result = self.call("transact", transaction.to_params()).await?;
        transaction.parse_reply(&result)
    }

    /// Starts a transaction and returns at once, so it can be cancelled.
    pub fn start_transaction(&self, transaction: Transaction) -> Result<PendingTransaction> {
        let (id, reply) = self.queue("transact", transaction.to_params())?;
        Ok(PendingTransaction {
            id,
            reply,
            transaction,
            client: self.clone(),
        })
    }

    /// `cancel`: abandons the request `id` (in practice a `transact`
    /// blocked in a `wait`). ovsdb-server drops a cancelled request without
    /// replying, so an `echo` follows the cancel: the server answers in
    /// order, so once the echo returns, the request either completed (its
    /// caller has the real outcome) or never will, and its caller gets an
    /// [`Error::Rpc`] with error `"canceled"`.
    pub async fn cancel(&self, id: u64) -> Result<()> {
        self.send(Outgoing::Notify(
            json!({"id": null, "method": "cancel", "params": [id]}),
        ))?;
        self.echo(json!(["cancel", id])).await?;
        let abandoned = self.handle.shared.pending().remove(&id);
        if let Some(Pending {
            method,
            reply_to: ReplyTo::Caller(caller),
            ..
        }) = abandoned
        {
            let _ = caller.send(Err(Error::Rpc {
                method,
                error: "canceled".into(),
                details: Some("cancelled by the client".into()),
            }));
        }
        Ok(())
    }

    /// `lock`: asks for `lock`; `true` when granted at once. When not, the
    /// server grants it later with [`Event::Locked`]. The lock is asked for
    /// again after every reconnect until [`Client::unlock`].
    pub async fn lock(&self, lock: &str) -> Result<bool> {
        self.handle.shared.locks().insert(lock.to_string());
        self.lock_call("lock", lock).await
    }

    /// `steal`: takes `lock` from its holder, who gets `stolen`.
    pub async fn steal(&self, lock: &str) -> Result<bool> {
        self.handle.shared.locks().insert(lock.to_string());
        self.lock_call("steal", lock).await
    }

    /// `unlock`: releases (or stops waiting for) `lock`.
    pub async fn unlock(&self, lock: &str) -> Result<()> {
        self.handle.shared.locks().remove(lock);
        self.call("unlock", json!([lock])).await.map(|_| ())
    }

    async fn lock_call(&self, method: &str, lock: &str) -> Result<bool> {
        let result = self.call(method, json!([lock])).await?;
        result
            .get("locked")
            .and_then(Json::as_bool)
            .ok_or_else(|| Error::decode(format!("{method} result without \"locked\": {result}")))
    }

    /// `monitor` (RFC 7047 section 4.1.5): raw `update` notifications.
    pub async fn monitor(
        &self,
        database: &str,
        requests: &[MonitorRequest],
    ) -> Result<MonitorStream> {
        self.raw_monitor("monitor", database, requests_json(requests, false))
            .await
    }

    /// `monitor_cond` (ovsdb-server(7)): raw `update2` notifications. For a
    /// cache that stays equal to the server, use [`Client::replicate`].
    pub async fn monitor_cond(
        &self,
        database: &str,
        requests: &[MonitorRequest],
    ) -> Result<MonitorStream> {
        self.raw_monitor("monitor_cond", database, requests_json(requests, true))
            .await
    }

    async fn raw_monitor(
        &self,
        method: &'static str,
        database: &str,
        requests: Json,
    ) -> Result<MonitorStream> {
        let (tx, events) = mpsc::unbounded_channel();
        let id = self
            .subscribe(method, database, requests, MonitorSink::Raw(tx))
            .await?;
        Ok(MonitorStream { id, events })
    }

    /// Replicates the chosen tables of `database` with `monitor_cond`.
    /// Returns once the replica holds the initial state; after a reconnect
    /// the monitor is re-sent and the replica rebuilt.
    pub async fn replicate(&self, database: &str, requests: &[MonitorRequest]) -> Result<Replica> {
        let schema = self.get_schema(database).await?;
        for request in requests {
            if schema.table(&request.table).is_none() {
                return Err(Error::Schema {
                    database: database.to_string(),
                    what: format!("table {}", request.table),
                });
            }
        }
        let monitored: Vec<_> = requests
            .iter()
            .map(|r| (r.table.clone(), r.columns.clone()))
            .collect();
        let shared = Arc::new(ReplicaShared::new(Layout::new(schema, &monitored)));
        self.subscribe(
            "monitor_cond",
            database,
            requests_json(requests, true),
            MonitorSink::Replica(shared.clone()),
        )
        .await?;
        Ok(Replica { shared })
    }

    async fn subscribe(
        &self,
        method: &'static str,
        database: &str,
        requests: Json,
        sink: MonitorSink,
    ) -> Result<String> {
        let monitor = format!(
            "m{}",
            self.handle.next_monitor.fetch_add(1, Ordering::Relaxed)
        );
        let (done, established) = oneshot::channel();
        self.send(Outgoing::Subscribe {
            subscription: Subscription {
                monitor: monitor.clone(),
                method,
                database: database.to_string(),
                requests,
                sink,
            },
            done,
        })?;
        self.within_deadline(method, established, || {
            let _ = self.send(Outgoing::Unsubscribe {
                monitor: monitor.clone(),
                reply: None,
            });
        })
        .await
        .map(|()| monitor)
    }

    /// `monitor_cancel`: stops the monitor `id` (a raw monitor's id).
    pub async fn monitor_cancel(&self, monitor: &str) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(Outgoing::Unsubscribe {
            monitor: monitor.to_string(),
            reply: Some(tx),
        })?;
        self.within_deadline("monitor_cancel", rx, || {})
            .await
            .map(|_| ())
    }

    /// Stops the background task and fails what is still pending.
    pub fn close(&self) {
        let _ = self.send(Outgoing::Close);
    }
}
