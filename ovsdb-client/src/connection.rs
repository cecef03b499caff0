//! The background task that owns the socket.
//!
//! One task per client reads and writes; it matches replies to requests by
//! id, answers the server's `echo`, probes an idle server, routes monitor
//! notifications, and after a lost session reconnects with backoff and
//! re-sends every monitor and lock, so nothing above it has to know.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::Framed;

use crate::client::{
    ClientConfig, Event, MonitorEvent, MonitorSink, Pending, ReplyTo, Shared, Subscription,
};
use crate::error::{Error, Result, error_object};
use crate::framing::JsonCodec;
use crate::target::Stream;

/// What a handle asks the task to do.
pub(crate) enum Outgoing {
    Request {
        id: u64,
        message: Json,
    },
    Notify(Json),
    Subscribe {
        subscription: Subscription,
        done: oneshot::Sender<Result<()>>,
    },
    Unsubscribe {
        monitor: String,
        reply: Option<oneshot::Sender<Result<Json>>>,
    },
    Close,
}

enum SessionEnd {
    Closed,
    Lost(String),
}

type Wire = Framed<Stream, JsonCodec>;

/// How many queued messages are written before one flush.
const WRITE_BATCH: usize = 256;

pub(crate) struct ConnectionTask {
    shared: Arc<Shared>,
    config: ClientConfig,
    inbox: mpsc::UnboundedReceiver<Outgoing>,
    subscriptions: Vec<Subscription>,
    /// Completion of monitors whose initial state has not arrived yet.
    first_done: HashMap<String, oneshot::Sender<Result<()>>>,
    backlog: VecDeque<Outgoing>,
}

impl ConnectionTask {
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: ClientConfig,
        inbox: mpsc::UnboundedReceiver<Outgoing>,
    ) -> ConnectionTask {
        ConnectionTask {
            shared,
            config,
            inbox,
            subscriptions: Vec::new(),
            first_done: HashMap::new(),
            backlog: VecDeque::new(),
        }
    }

    pub(crate) async fn run(mut self, first: Option<Stream>) {
        let mut next = first;
        loop {
            let stream = match next.take() {
                Some(stream) => stream,
                None => match self.reconnect().await {
                    Some(stream) => stream,
                    None => break,
                },
            };
            match self.session(stream).await {
                SessionEnd::Closed => break,
                SessionEnd::Lost(reason) => self.session_lost(reason),
            }
        }
        self.fail_everything();
    }

    /// Connects with exponential backoff, queueing what handles send in
    /// the meantime. `None` once the client is closed.
    async fn reconnect(&mut self) -> Option<Stream> {
        let mut backoff = self.config.backoff_min;
        loop {
            match self.config.target.connect().await {
                Ok(stream) => return Some(stream),
                Err(error) => {
                    tracing::debug!(target_db = %self.config.target, %error, "OVSDB reconnect failed");
                    self.shared.set_last_error(Some(error.to_string()));
                }
            }
            let wake = Instant::now() + backoff;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => break,
                    outgoing = self.inbox.recv() => match outgoing {
                        None | Some(Outgoing::Close) => return None,
                        Some(outgoing) => self.accept_while_down(outgoing),
                    },
                }
            }
            backoff = (backoff * 2).min(self.config.backoff_max);
        }
    }

    fn accept_while_down(&mut self, outgoing: Outgoing) {
        match outgoing {
            Outgoing::Subscribe { subscription, done } => {
                self.first_done.insert(subscription.monitor.clone(), done);
                self.subscriptions.push(subscription);
            }
            Outgoing::Unsubscribe { monitor, reply } => {
                // The server forgot the monitor with the session.
                self.remove_subscription(&monitor);
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(json!({})));
                }
            }
            other => self.backlog.push_back(other),
        }
    }

    async fn session(&mut self, stream: Stream) -> SessionEnd {
        let mut wire = Framed::new(stream, JsonCodec::new(self.config.max_frame));
        if let Err(error) = self.resume(&mut wire).await {
            return SessionEnd::Lost(error.to_string());
        }
        self.shared.set_last_error(None);
        self.shared.connected.send_replace(true);
        let _ = self.shared.events.send(Event::Connected);
        tracing::info!(target_db = %self.config.target, "OVSDB session up");
        let mut last_heard = Instant::now();
        let mut probe_sent = false;
        loop {
            let deadline = self.probe_deadline(last_heard, probe_sent);
            tokio::select! {
                incoming = wire.next() => {
                    let message = match incoming {
                        Some(Ok(message)) => message,
                        Some(Err(error)) => return SessionEnd::Lost(error.to_string()),
                        None => return SessionEnd::Lost("server closed the connection".into()),
                    };
                    last_heard = Instant::now();
                    probe_sent = false;
                    if let Err(error) = self.incoming(&mut wire, message).await {
                        return SessionEnd::Lost(error.to_string());
                    }
                }
                outgoing = self.inbox.recv() => match outgoing {
                    None | Some(Outgoing::Close) => return SessionEnd::Closed,
                    Some(outgoing) => match self.write_batch(&mut wire, outgoing).await {
                        Ok(false) => {}
                        Ok(true) => return SessionEnd::Closed,
                        Err(error) => return SessionEnd::Lost(error.to_string()),
                    },
                },
                () = sleep_until_opt(deadline) => {
                    if probe_sent {
                        return SessionEnd::Lost("no reply to the inactivity probe".into());
                    }
                    probe_sent = true;
                    if let Err(error) = self.send_probe(&mut wire).await {
                        return SessionEnd::Lost(error.to_string());
                    }
                }
            }
        }
    }

    fn probe_deadline(&self, last_heard: Instant, probe_sent: bool) -> Option<Instant> {
        let interval = self.config.probe_interval?;
        Some(last_heard + if probe_sent { interval * 2 } else { interval })
    }

    /// Re-sends monitors and locks, then whatever queued while down.
    async fn resume(&mut self, wire: &mut Wire) -> Result<()> {
        for index in 0..self.subscriptions.len() {
            let done = self.first_done.remove(&self.subscriptions[index].monitor);
            let message = self.monitor_message(index, done);
            wire.feed(message).await?;
        }
        let locks: Vec<String> = self.shared.locks().iter().cloned().collect();
        for lock in locks {
            let id = self
                .shared
                .register("lock", ReplyTo::Relock(lock.clone()), true);
            wire.feed(json!({"id": id, "method": "lock", "params": [lock]}))
                .await?;
        }
        while let Some(outgoing) = self.backlog.pop_front() {
            self.feed(wire, outgoing).await?;
        }
        wire.flush().await
    }

    fn monitor_message(&mut self, index: usize, done: Option<oneshot::Sender<Result<()>>>) -> Json {
        let sub = &self.subscriptions[index];
        let (monitor, method) = (sub.monitor.clone(), sub.method);
        let params = json!([sub.database, monitor, sub.requests]);
        let id = self
            .shared
            .register(method, ReplyTo::Monitor { monitor, done }, true);
        json!({"id": id, "method": method, "params": params})
    }

    /// Writes `first` and whatever else is queued, then flushes once.
    /// `Ok(true)` when the client was closed meanwhile.
    async fn write_batch(&mut self, wire: &mut Wire, first: Outgoing) -> Result<bool> {
        let mut closed = false;
        self.feed(wire, first).await?;
        for _ in 0..WRITE_BATCH {
            match self.inbox.try_recv() {
                Ok(Outgoing::Close) | Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
                Ok(outgoing) => self.feed(wire, outgoing).await?,
                Err(mpsc::error::TryRecvError::Empty) => break,
            }
        }
        wire.flush().await?;
        Ok(closed)
    }

    async fn feed(&mut self, wire: &mut Wire, outgoing: Outgoing) -> Result<()> {
        match outgoing {
            Outgoing::Request { id, message } => {
                // A request whose caller gave up is dropped unsent.
                let still_wanted = match self.shared.pending().get_mut(&id) {
                    Some(pending) => {
                        pending.sent = true;
                        true
                    }
                    None => false,
                };
                if still_wanted {
                    wire.feed(message).await?;
                }
            }
            Outgoing::Notify(message) => wire.feed(message).await?,
            Outgoing::Subscribe { subscription, done } => {
                self.subscriptions.push(subscription);
                let message = self.monitor_message(self.subscriptions.len() - 1, Some(done));
                wire.feed(message).await?;
            }
            Outgoing::Unsubscribe { monitor, reply } => {
                self.unsubscribe(wire, monitor, reply).await?;
            }
            // Handled by the loops that read the inbox.
            Outgoing::Close => {}
        }
        Ok(())
    }

    async fn unsubscribe(
        &mut self,
        wire: &mut Wire,
        monitor: String,
        reply: Option<oneshot::Sender<Result<Json>>>,
    ) -> Result<()> {
        if !self.remove_subscription(&monitor) {
            if let Some(reply) = reply {
                let _ = reply.send(Err(Error::Rpc {
                    method: "monitor_cancel".into(),
                    error: "unknown monitor".into(),
                    details: Some(monitor),
                }));
            }
            return Ok(());
        }
        let reply_to = match reply {
            Some(reply) => ReplyTo::Caller(reply),
            None => ReplyTo::Probe,
        };
        let id = self.shared.register("monitor_cancel", reply_to, true);
        wire.feed(json!({"id": id, "method": "monitor_cancel", "params": [monitor]}))
            .await
    }

    fn remove_subscription(&mut self, monitor: &str) -> bool {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|s| s.monitor != monitor);
        self.first_done.remove(monitor);
        before != self.subscriptions.len()
    }

    async fn send_probe(&mut self, wire: &mut Wire) -> Result<()> {
        let id = self.shared.register("echo", ReplyTo::Probe, true);
        wire.send(json!({"id": id, "method": "echo", "params": ["probe"]}))
            .await
    }

    async fn incoming(&mut self, wire: &mut Wire, mut message: Json) -> Result<()> {
        match message.get("method").and_then(Json::as_str) {
            Some(method) => {
                let method = method.to_string();
                self.server_request(wire, &method, &mut message).await
            }
            None => {
                self.reply(message);
                Ok(())
            }
        }
    }

    /// Takes `params` and `id` out of `message` rather than copying them:
    /// an `update2` can be large.
    async fn server_request(
        &mut self,
        wire: &mut Wire,
        method: &str,
        message: &mut Json,
    ) -> Result<()> {
        let id = take(message, "id").unwrap_or(Json::Null);
        let params = take(message, "params").unwrap_or(json!([]));
        match method {
            "echo" => {
                wire.send(json!({"id": id, "result": params, "error": null}))
                    .await
            }
            "update" | "update2" => self.route_update(method, &params),
            "locked" | "stolen" => {
                let lock = params
                    .get(0)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string();
                let event = if method == "locked" {
                    Event::Locked(lock)
                } else {
                    Event::Stolen(lock)
                };
                let _ = self.shared.events.send(event);
                Ok(())
            }
            _ if id.is_null() => Ok(()),
            _ => {
                wire.send(json!({"id": id, "result": null, "error": "unknown method"}))
                    .await
            }
        }
    }

    fn route_update(&mut self, method: &str, params: &Json) -> Result<()> {
        let monitor = params.get(0).and_then(Json::as_str).unwrap_or_default();
        let updates = params.get(1).unwrap_or(&Json::Null);
        let Some(sub) = self.subscriptions.iter().find(|s| s.monitor == monitor) else {
            return Ok(());
        };
        match &sub.sink {
            MonitorSink::Replica(replica) if method == "update2" => {
                // A replica that cannot apply an update would drift from
                // the server: start over with a fresh session instead.
                replica.apply_update2(updates)
            }
            MonitorSink::Replica(_) => {
                Err(Error::Protocol(format!("{method} for replica {monitor}")))
            }
            MonitorSink::Raw(events) => {
                let _ = events.send(MonitorEvent::Update(updates.clone()));
                Ok(())
            }
        }
    }

    fn reply(&mut self, mut message: Json) {
        let Some(id) = message.get("id").and_then(Json::as_u64) else {
            return;
        };
        let Some(pending) = self.shared.pending().remove(&id) else {
            return;
        };
        // The result is moved out, not copied: a monitor's initial state
        // can be hundreds of megabytes of JSON tree.
        let outcome = match error_object(&message) {
            Some((error, details)) => Err(Error::Rpc {
                method: pending.method.clone(),
                error,
                details,
            }),
            None => Ok(take(&mut message, "result").unwrap_or(Json::Null)),
        };
        match pending.reply_to {
            ReplyTo::Caller(caller) => {
                let _ = caller.send(outcome);
            }
            ReplyTo::Monitor { monitor, done } => self.monitor_started(&monitor, outcome, done),
            ReplyTo::Relock(lock) => {
                if outcome.is_ok_and(|r| r.get("locked") == Some(&json!(true))) {
                    let _ = self.shared.events.send(Event::Locked(lock));
                }
            }
            ReplyTo::Probe => {}
        }
    }

    fn monitor_started(
        &mut self,
        monitor: &str,
        outcome: Result<Json>,
        done: Option<oneshot::Sender<Result<()>>>,
    ) {
        let result = outcome.and_then(|initial| {
            let sub = self.subscriptions.iter().find(|s| s.monitor == monitor);
            match sub.map(|s| &s.sink) {
                Some(MonitorSink::Replica(replica)) => replica.reset(&initial),
                Some(MonitorSink::Raw(events)) => {
                    let _ = events.send(MonitorEvent::Initial(initial));
                    Ok(())
                }
                None => Ok(()),
            }
        });
        if let Err(error) = &result {
            // The server refused the monitor: never send it again.
            tracing::warn!(monitor, %error, "OVSDB monitor refused");
            self.remove_subscription(monitor);
        }
        if let Some(done) = done {
            let _ = done.send(result);
        }
    }

    /// Requests sent on the lost session fail; queued ones wait for the
    /// next. Monitors still waiting for their first state are re-sent.
    fn session_lost(&mut self, reason: String) {
        tracing::warn!(target_db = %self.config.target, %reason, "OVSDB session lost; reconnecting");
        self.shared.set_last_error(Some(reason.clone()));
        self.shared.connected.send_replace(false);
        let _ = self.shared.events.send(Event::Disconnected { reason });
        let target = self.config.target.to_string();
        let lost: Vec<Pending> = {
            let mut pending = self.shared.pending();
            let ids: Vec<u64> = pending
                .iter()
                .filter(|(_, p)| p.sent)
                .map(|(id, _)| *id)
                .collect();
            ids.iter().filter_map(|id| pending.remove(id)).collect()
        };
        for pending in lost {
            match pending.reply_to {
                ReplyTo::Caller(caller) => {
                    let _ = caller.send(Err(Error::Disconnected {
                        target: target.clone(),
                        method: pending.method,
                    }));
                }
                ReplyTo::Monitor {
                    monitor,
                    done: Some(done),
                } => {
                    self.first_done.insert(monitor, done);
                }
                _ => {}
            }
        }
    }

    fn fail_everything(&mut self) {
        self.shared.connected.send_replace(false);
        let target = self.config.target.to_string();
        let drained: Vec<Pending> = self.shared.pending().drain().map(|(_, p)| p).collect();
        for pending in drained {
            if let ReplyTo::Caller(caller) = pending.reply_to {
                let _ = caller.send(Err(Error::Closed {
                    target: target.clone(),
                }));
            }
        }
        for (_, done) in self.first_done.drain() {
            let _ = done.send(Err(Error::Closed {
                target: target.clone(),
            }));
        }
    }
}

/// Moves member `key` out of a JSON object, leaving `null` behind.
fn take(message: &mut Json, key: &str) -> Option<Json> {
    message.get_mut(key).map(Json::take)
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
