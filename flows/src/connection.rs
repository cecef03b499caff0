//! A controller's connection to one switch: `unix:<rundir>/<bridge>.mgmt`
//! or `tcp:HOST:PORT`, kept up by a task of its own.
//!
//! Many requests are in flight at once; replies and `OFPT_ERROR`s find
//! their request by xid. The switch's echo requests are answered, and an
//! idle connection is probed with echoes of our own. When the connection
//! breaks, every request in flight fails with [`FlowsError::Disconnected`],
//! the task reconnects with backoff, and subscribers get an [`Event`]: a
//! switch that restarted has empty tables, which its controller must fill
//! again. Asynchronous messages (PORT_STATUS, PACKET_IN, FLOW_REMOVED)
//! go to subscribers too.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::{FlowsError, Result};
use crate::message::{self, SwitchError};
use crate::wire;

/// Where the switch listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(PathBuf),
    Tcp(String),
}

impl Target {
    /// `unix:PATH` or `tcp:HOST:PORT`.
    pub fn parse(text: &str) -> Result<Target> {
        match text.split_once(':') {
            Some(("unix", path)) if !path.is_empty() => Ok(Target::Unix(path.into())),
            Some(("tcp", address)) if address.contains(':') => Ok(Target::Tcp(address.into())),
            _ => Err(FlowsError::BadTarget(text.to_string())),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
            Target::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// How the connection behaves.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    /// How long a request waits for its reply.
    pub request_timeout: Duration,
    /// Silence after which the switch is probed with an echo; twice this,
    /// and the connection counts as dead.
    pub keepalive: Duration,
    /// The longest wait between two reconnection attempts.
    pub max_backoff: Duration,
}

impl Config {
    pub fn new(target: Target) -> Config {
        Config {
            target,
            request_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What subscribers hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Connected, for the `generation`th time: above 1, the switch may
    /// have restarted with empty tables.
    Connected {
        generation: u64,
    },
    Disconnected {
        reason: String,
    },
    /// A message the switch sent unasked (PORT_STATUS, PACKET_IN, ...).
    Async {
        kind: u8,
        message: Vec<u8>,
    },
}

/// The replies of one request: several for a multipart request.
type Replies = Vec<Vec<u8>>;

/// The errors the switch sent for a batch of requests without replies,
/// with the xid each refers to.
pub(crate) type SilentErrors = Arc<Mutex<Vec<(u32, SwitchError)>>>;

/// A request sent, its replies still to come.
pub(crate) struct SentRequest {
    what: &'static str,
    xid: u32,
    reply: oneshot::Receiver<Result<Replies>>,
}

/// Requests in flight, by xid.
#[derive(Default)]
struct Pending {
    waiting: HashMap<u32, (oneshot::Sender<Result<Replies>>, Replies)>,
    /// Requests with no reply of their own (FLOW_MOD, a bundle's adds):
    /// their errors are gathered here until the barrier after them.
    silent: HashMap<u32, SilentErrors>,
}

struct Shared {
    config: Config,
    pending: Mutex<Pending>,
    next_xid: AtomicU32,
    connected: AtomicBool,
    generation: AtomicU64,
    /// The switch's echo requests answered (it probes an idle controller).
    echoes_answered: AtomicU64,
    /// The OpenFlow version of the current connection.
    version: AtomicU8,
    events: broadcast::Sender<Event>,
}

/// A connection to one switch; cheap to clone.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// To the connection task, which only the clients hold: when the last
    /// is dropped the queue closes, and the task closes the connection.
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
}

impl Client {
    /// Connects (waiting at most the request timeout for the first time)
    /// and keeps the connection up until every clone is dropped.
    pub async fn connect(config: Config) -> Result<Client> {
        let (outgoing, queue) = mpsc::unbounded_channel();
        let (events, mut first) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            config,
            pending: Mutex::new(Pending::default()),
            next_xid: AtomicU32::new(1),
            connected: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            echoes_answered: AtomicU64::new(0),
            version: AtomicU8::new(wire::OFP13),
            events,
        });
        tokio::spawn(keep_connected(Arc::downgrade(&shared), queue));
        let timeout = shared.config.request_timeout;
        let target = shared.config.target.to_string();
        let waited = tokio::time::timeout(timeout, async {
            loop {
                if let Ok(Event::Connected { .. }) = first.recv().await {
                    return;
                }
            }
        });
        waited.await.map_err(|_| FlowsError::Disconnected {
            target,
            reason: format!("no connection within {} ms", timeout.as_millis()),
        })?;
        Ok(Client { shared, outgoing })
    }

    /// Connection events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// The switch's address.
    pub fn target(&self) -> &Target {
        &self.shared.config.target
    }

    /// How many times the connection has come up.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    /// The OpenFlow version agreed with the switch (`wire` bytes: 4 for
    /// 1.3, 5 for 1.4); every message sent is in it.
    pub fn version(&self) -> u8 {
        self.shared.version.load(Ordering::SeqCst)
    }

    /// How many of the switch's echo requests have been answered.
    pub fn echoes_answered(&self) -> u64 {
        self.shared.echoes_answered.load(Ordering::SeqCst)
    }

    /// A fresh transaction id.
    pub fn xid(&self) -> u32 {
        self.shared.next_xid.fetch_add(1, Ordering::Relaxed)
    }

    fn disconnected(&self, reason: &str) -> FlowsError {
        FlowsError::Disconnected {
            target: self.shared.config.target.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Sends `message` (whose xid is `xid`) and waits for its replies.
    pub async fn request(&self, what: &'static str, xid: u32, message: Vec<u8>) -> Result<Replies> {
        let sent = self.send_request(what, xid, message)?;
        self.replies(sent).await
    }

    /// Sends `message` and returns at once: its replies are awaited with
    /// [`Client::replies`], so that more can be sent behind it first (the
    /// switch answers in order).
    pub(crate) fn send_request(
        &self,
        what: &'static str,
        xid: u32,
        message: Vec<u8>,
    ) -> Result<SentRequest> {
        let (sender, reply) = oneshot::channel();
        self.pending().waiting.insert(xid, (sender, Vec::new()));
        if let Err(error) = self.send(message) {
            self.pending().waiting.remove(&xid);
            return Err(error);
        }
        Ok(SentRequest { what, xid, reply })
    }

    /// The replies of a request sent with [`Client::send_request`].
    pub(crate) async fn replies(&self, sent: SentRequest) -> Result<Replies> {
        let SentRequest { what, xid, reply } = sent;
        let timeout = self.shared.config.request_timeout;
        let outcome = tokio::time::timeout(timeout, reply).await;
        self.pending().waiting.remove(&xid);
        match outcome {
            Ok(Ok(replies)) => replies,
            Ok(Err(_)) => Err(self.disconnected("the connection closed")),
            Err(_) => Err(FlowsError::Timeout {
                what,
                xid,
                target: self.shared.config.target.to_string(),
                millis: timeout.as_millis(),
            }),
        }
    }

    /// Sends a message that has no reply, its errors gathered in `errors`.
    pub(crate) fn send_silent(
        &self,
        xid: u32,
        message: Vec<u8>,
        errors: &SilentErrors,
    ) -> Result<()> {
        self.pending().silent.insert(xid, Arc::clone(errors));
        self.send(message)
    }

    /// Forgets the silent requests `xids` (their barrier has answered).
    pub(crate) fn forget_silent(&self, xids: &[u32]) {
        let mut pending = self.pending();
        for xid in xids {
            pending.silent.remove(xid);
        }
    }

    fn send(&self, mut message: Vec<u8>) -> Result<()> {
        if !self.shared.connected.load(Ordering::SeqCst) {
            return Err(self.disconnected("reconnecting"));
        }
        if let Some(version) = message.first_mut() {
            *version = self.version();
        }
        self.outgoing
            .send(message)
            .map_err(|_| self.disconnected("the connection task ended"))
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        lock(&self.shared.pending)
    }

    /// A barrier: every message sent before it has been processed.
    pub async fn barrier(&self) -> Result<()> {
        let sent = self.send_barrier()?;
        self.replies(sent).await.map(drop)
    }

    /// Sends a barrier, its reply to be awaited with [`Client::replies`].
    pub(crate) fn send_barrier(&self) -> Result<SentRequest> {
        let xid = self.xid();
        self.send_request("barrier", xid, message::barrier_request(xid)?)
    }
}

/// A poisoned lock only means a panicking holder; the map is still whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The connection task: connect, serve, and after a break connect again
/// with backoff, until the last [`Client`] is gone.
async fn keep_connected(
    shared: std::sync::Weak<Shared>,
    mut queue: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let outcome = match open(&strong.config.target).await {
            Ok(stream) => {
                backoff = Duration::from_millis(50);
                serve(&strong, stream, &mut queue).await
            }
            Err(error) => Err(error),
        };
        // Ok: every client is gone and the connection closed with them.
        let Err(reason) = outcome else {
            strong.connected.store(false, Ordering::SeqCst);
            return;
        };
        broken(&strong, &reason);
        let max = strong.config.max_backoff;
        drop(strong);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(max);
    }
}

/// Marks the connection down and fails what was in flight.
fn broken(shared: &Shared, reason: &str) {
    if shared.connected.swap(false, Ordering::SeqCst) {
        tracing::warn!(target_switch = %shared.config.target, reason, "OpenFlow connection lost");
        let _ = shared.events.send(Event::Disconnected {
            reason: reason.to_string(),
        });
    }
    let mut pending = lock(&shared.pending);
    for (_, (sender, _)) in pending.waiting.drain() {
        let _ = sender.send(Err(FlowsError::Disconnected {
            target: shared.config.target.to_string(),
            reason: reason.to_string(),
        }));
    }
}

/// A byte stream to the switch, of either kind.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn open(target: &Target) -> std::result::Result<Box<dyn Stream>, String> {
    let stream: Box<dyn Stream> = match target {
        Target::Unix(path) => Box::new(
            tokio::net::UnixStream::connect(path)
                .await
                .map_err(|e| e.to_string())?,
        ),
        Target::Tcp(address) => Box::new(
            tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| e.to_string())?,
        ),
    };
    Ok(stream)
}

/// One connection's life: hello, then messages both ways until it breaks.
async fn serve(
    shared: &Shared,
    stream: Box<dyn Stream>,
    queue: &mut mpsc::UnboundedReceiver<Vec<u8>>,
) -> std::result::Result<(), String> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let hello = message::hello(0).map_err(|e| e.to_string())?;
    writer.write_all(&hello).await.map_err(|e| e.to_string())?;
    let first = read_message(&mut reader).await?;
    if first.get(1) != Some(&message::OFPT_HELLO) {
        return Err("the switch did not start with HELLO".into());
    }
    let version = message::negotiate(&first).ok_or_else(|| {
        format!("the switch speaks neither OpenFlow 1.3 nor 1.4 (its HELLO: {first:02x?})")
    })?;
    shared.version.store(version, Ordering::SeqCst);
    while queue.try_recv().is_ok() {} // left by the previous connection
    shared.connected.store(true, Ordering::SeqCst);
    let generation = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!(target_switch = %shared.config.target, generation, "OpenFlow connection up");
    let _ = shared.events.send(Event::Connected { generation });
    exchange(shared, &mut reader, &mut writer, queue).await
}

/// Writes what callers queue, reads and dispatches what the switch sends,
/// and probes a silent switch.
///
/// Reading is cancellation-safe: `select!` drops the branches it does not
/// take, and a half-read message dropped with its future would leave the
/// stream out of step (the next "header" a piece of a body). So bytes go
/// into a [`Framer`] as they come, and whole messages are taken from it.
async fn exchange(
    shared: &Shared,
    reader: &mut (impl AsyncRead + Unpin),
    writer: &mut (impl AsyncWrite + Unpin),
    queue: &mut mpsc::UnboundedReceiver<Vec<u8>>,
) -> std::result::Result<(), String> {
    let keepalive = shared.config.keepalive;
    let mut framer = Framer::default();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut heard = tokio::time::Instant::now();
    let mut probed = false;
    loop {
        while let Some(message) = framer.next_message()? {
            if let Some(reply) = dispatch(shared, message) {
                writer.write_all(&reply).await.map_err(|e| e.to_string())?;
            }
        }
        tokio::select! {
            outgoing = queue.recv() => {
                let Some(message) = outgoing else { return Ok(()) };
                writer.write_all(&message).await.map_err(|e| e.to_string())?;
            }
            read = reader.read(&mut chunk) => {
                let count = read.map_err(|e| format!("reading from the switch: {e}"))?;
                if count == 0 {
                    return Err("the switch closed the connection".into());
                }
                framer.push(&chunk[..count]);
                (heard, probed) = (tokio::time::Instant::now(), false);
            }
            _ = tokio::time::sleep_until(heard + keepalive) => {
                if probed {
                    return Err("the switch stopped answering echoes".into());
                }
                let echo = message::echo(message::OFPT_ECHO_REQUEST, 0, &[])
                    .map_err(|e| e.to_string())?;
                writer.write_all(&echo).await.map_err(|e| e.to_string())?;
                (heard, probed) = (tokio::time::Instant::now(), true);
            }
        }
    }
}

/// How much one read takes from the socket at most.
const READ_CHUNK: usize = 64 * 1024;

/// Bytes from the switch, cut into whole messages by their length field.
#[derive(Default)]
struct Framer {
    buffer: Vec<u8>,
}

impl Framer {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, if all of it has come.
    fn next_message(&mut self) -> std::result::Result<Option<Vec<u8>>, String> {
        let Some(header) = self.buffer.get(..wire::XID_END) else {
            return Ok(None);
        };
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if length < wire::XID_END {
            return Err(format!("a message of length {length} from the switch"));
        }
        if self.buffer.len() < length {
            return Ok(None);
        }
        Ok(Some(self.buffer.drain(..length).collect()))
    }
}

/// One whole message: the header, then the length it names.
async fn read_message(
    reader: &mut (impl AsyncRead + Unpin),
) -> std::result::Result<Vec<u8>, String> {
    let mut message = vec![0u8; wire::XID_END];
    reader
        .read_exact(&mut message)
        .await
        .map_err(|e| format!("reading from the switch: {e}"))?;
    let length = usize::from(u16::from_be_bytes([message[2], message[3]]));
    if length < wire::XID_END {
        return Err(format!("a message of length {length} from the switch"));
    }
    message.resize(length, 0);
    reader
        .read_exact(&mut message[wire::XID_END..])
        .await
        .map_err(|e| format!("reading from the switch: {e}"))?;
    Ok(message)
}

/// Hands a message to whoever waits for it; returns what to answer.
fn dispatch(shared: &Shared, message: Vec<u8>) -> Option<Vec<u8>> {
    let kind = message[1];
    let xid = u32::from_be_bytes([message[4], message[5], message[6], message[7]]);
    let body = &message[wire::XID_END..];
    match kind {
        message::OFPT_ECHO_REQUEST => {
            shared.echoes_answered.fetch_add(1, Ordering::SeqCst);
            message::echo(message::OFPT_ECHO_REPLY, xid, body).ok()
        }
        message::OFPT_ECHO_REPLY | message::OFPT_HELLO => None,
        message::OFPT_ERROR => {
            deliver_error(shared, xid, body);
            None
        }
        message::OFPT_MULTIPART_REPLY => {
            let more = message::multipart_reply(body)
                .is_ok_and(|(_, flags, _)| flags & message::OFPMPF_REPLY_MORE != 0);
            deliver(shared, xid, message, !more);
            None
        }
        message::OFPT_BARRIER_REPLY | message::OFPT_EXPERIMENTER | message::OFPT_BUNDLE_CONTROL => {
            deliver(shared, xid, message, true);
            None
        }
        _ => {
            let _ = shared.events.send(Event::Async { kind, message });
            None
        }
    }
}

/// Adds a reply to request `xid`; the last one completes it.
fn deliver(shared: &Shared, xid: u32, message: Vec<u8>, last: bool) {
    let mut pending = lock(&shared.pending);
    let Some((_, replies)) = pending.waiting.get_mut(&xid) else {
        return;
    };
    replies.push(message);
    if last && let Some((sender, replies)) = pending.waiting.remove(&xid) {
        let _ = sender.send(Ok(replies));
    }
}

fn deliver_error(shared: &Shared, xid: u32, body: &[u8]) {
    let Ok(error) = SwitchError::parse(body) else {
        return;
    };
    let mut pending = lock(&shared.pending);
    if let Some(errors) = pending.silent.get(&xid) {
        lock(errors).push((xid, error));
    } else if let Some((sender, _)) = pending.waiting.remove(&xid) {
        let _ = sender.send(Err(FlowsError::Switch { xid, error }));
    } else {
        tracing::warn!(xid, %error, "an error for no request in flight");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message arriving in two pieces, split at every offset, is read
    /// whole; a second message behind it is left for the next read.
    #[tokio::test]
    async fn framing_holds_at_every_split() {
        let message = crate::flow::Flow::new(0, 1)
            .add()
            .encode(9)
            .expect("a flow");
        let barrier = message::barrier_request(10).expect("a barrier");
        for split in 1..message.len() {
            let (mut near, mut far) = tokio::io::duplex(4096);
            let (first, rest) = message.split_at(split);
            let (first, rest, next) = (first.to_vec(), rest.to_vec(), barrier.clone());
            let writer = tokio::spawn(async move {
                near.write_all(&first).await.expect("first part");
                tokio::task::yield_now().await;
                near.write_all(&rest).await.expect("second part");
                near.write_all(&next).await.expect("next message");
            });
            let read = read_message(&mut far).await.expect("read");
            assert_eq!(read, message, "split at {split}");
            assert_eq!(read_message(&mut far).await.expect("read"), barrier);
            writer.await.expect("writer");
        }
    }

    /// Dropping the last client closes the connection and ends its task,
    /// also while connected.
    #[tokio::test]
    async fn the_last_client_dropped_closes_the_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("br.mgmt");
        let listener = tokio::net::UnixListener::bind(&path).expect("listen");
        let switch = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let hello = message::hello(0).expect("hello");
            stream.write_all(&hello).await.expect("hello");
            let mut received = Vec::new();
            stream.read_to_end(&mut received).await.map(|_| received)
        });
        let client = Client::connect(Config::new(Target::Unix(path)))
            .await
            .expect("connected");
        assert_eq!(client.version(), wire::OFP14);
        drop(client);
        let closed = tokio::time::timeout(Duration::from_secs(5), switch).await;
        let received = closed
            .expect("closed within 5 s")
            .expect("task")
            .expect("read");
        assert_eq!(received.get(1), Some(&message::OFPT_HELLO));
    }

    /// The framer gives a message whole whatever pieces it came in, and
    /// the one behind it next.
    #[test]
    fn the_framer_holds_at_every_split() {
        let message = crate::flow::Flow::new(0, 1)
            .add()
            .encode(9)
            .expect("a flow");
        let barrier = message::barrier_request(10).expect("a barrier");
        let stream: Vec<u8> = message.iter().chain(&barrier).copied().collect();
        for split in 1..stream.len() {
            let mut framer = Framer::default();
            let mut messages = Vec::new();
            for piece in [&stream[..split], &stream[split..]] {
                framer.push(piece);
                while let Some(whole) = framer.next_message().expect("framed") {
                    messages.push(whole);
                }
            }
            assert_eq!(
                messages,
                [message.clone(), barrier.clone()],
                "split at {split}"
            );
        }
        let mut short = Framer::default();
        short.push(&[4, 0, 0, 4, 0, 0, 0, 1]);
        assert!(short.next_message().is_err());
    }

    #[tokio::test]
    async fn a_length_below_the_header_is_refused() {
        let (mut near, mut far) = tokio::io::duplex(64);
        near.write_all(&[4, 0, 0, 4, 0, 0, 0, 1])
            .await
            .expect("write");
        let error = read_message(&mut far).await.expect_err("refused");
        assert!(error.contains("length 4"), "{error}");
    }

    #[test]
    fn targets_parse() {
        assert_eq!(
            Target::parse("unix:/run/br-docker.mgmt"),
            Ok(Target::Unix("/run/br-docker.mgmt".into()))
        );
        assert_eq!(
            Target::parse("tcp:127.0.0.1:6653"),
            Ok(Target::Tcp("127.0.0.1:6653".into()))
        );
        for bad in [
            "",
            "unix:",
            "tcp:127.0.0.1",
            "ssl:1.2.3.4:6653",
            "/run/x.mgmt",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
