//! Heap held by the driver's two replicas (Open_vSwitch and
//! OVN_Northbound, monitored with the driver's own requests) per Docker
//! endpoint, against private `ovsdb-server`s filled with endpoint-shaped
//! rows: the same columns, external_ids keys and value lengths that
//! docker-ovn writes, plus what ovn-controller (`ovn-installed`), ovs-vswitchd
//! (`ofport`) and ovn-northd (`up`) add.
//!
//! Two ways of filling, for each N:
//! - initial: N endpoints exist, then the replicas start (one big monitor
//!   reply): what a driver restart on a loaded host costs;
//! - incremental: the replicas exist, then each endpoint arrives as the
//!   driver makes it, one transaction (so one `update2`) at a time, followed
//!   by the modifications of ovn-controller, ovs-vswitchd and ovn-northd.
//!
//! Printed per endpoint: bytes still held at the end with the connections
//! (their read buffers included), bytes the replicas alone keep (as asked of the
//! allocator, and rounded up to glibc malloc chunks, which is closer to
//! RSS), allocations they keep, the peak above the starting point while
//! filling, and allocations and bytes allocated while filling (churn).
//!
//! Run: `cargo bench -p docker-ovn --bench replica_memory`
//! (`ENDPOINTS=1000,5000` is the default list of N.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::transaction::{Condition, Mutation, Transaction};
use ovsdb_client::{Atom, Client, Replica, Row, Tables, Value};
use test_support::{OvsdbServer, Schema};

// ---------------------------------------------------------------- counting

/// Counts the heap of every thread but the writer's (whose transactions
/// are not the replicas' cost).
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static LIVE_CHUNKS: AtomicI64 = AtomicI64::new(0);
static LIVE_COUNT: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static UNCOUNTED: Cell<bool> = const { Cell::new(false) };
    /// This thread's own live bytes, immune to other threads' noise.
    static MINE: Cell<i64> = const { Cell::new(0) };
}

/// What glibc malloc takes for a request on 64-bit Linux: the size plus
/// an 8-byte header, rounded up to 16, at least 32.
fn chunk(size: usize) -> i64 {
    ((size + 8 + 15) & !15).max(32) as i64
}

fn counted() -> bool {
    !UNCOUNTED.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && counted() {
            let live = LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
            PEAK.fetch_max(live + layout.size() as i64, Ordering::Relaxed);
            LIVE_CHUNKS.fetch_add(chunk(layout.size()), Ordering::Relaxed);
            LIVE_COUNT.fetch_add(1, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            MINE.with(|m| m.set(m.get() + layout.size() as i64));
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if counted() {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
            LIVE_CHUNKS.fetch_sub(chunk(layout.size()), Ordering::Relaxed);
            LIVE_COUNT.fetch_sub(1, Ordering::Relaxed);
            MINE.with(|m| m.set(m.get() - layout.size() as i64));
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The counters at one moment.
#[derive(Debug, Clone, Copy)]
struct Heap {
    live: i64,
    chunks: i64,
    count: i64,
    allocs: u64,
    allocated: u64,
}

fn heap() -> Heap {
    Heap {
        live: LIVE.load(Ordering::Relaxed),
        chunks: LIVE_CHUNKS.load(Ordering::Relaxed),
        count: LIVE_COUNT.load(Ordering::Relaxed),
        allocs: ALLOCS.load(Ordering::Relaxed),
        allocated: ALLOCATED.load(Ordering::Relaxed),
    }
}

/// Starts a phase: the peak is measured from here.
fn start_phase() -> Heap {
    let now = heap();
    PEAK.store(now.live, Ordering::Relaxed);
    now
}

// ---------------------------------------------------------------- endpoints

const OVS: &str = "Open_vSwitch";
const NB: &str = "OVN_Northbound";
const BRIDGE: &str = "br-int";
const SWITCH: &str = "docker-ovn-bench";
/// A chassis name as ovn-controller's `system-id`: a UUID.
const HOST: &str = "8d9a4b52-3c1e-4f0a-9b7d-2e6c5a1f0d34";
/// Endpoints per transaction when filling before the replicas start.
const BATCH: usize = 250;

/// One Docker endpoint's ids, with the lengths Docker gives them.
struct Endpoint {
    id: String,
    network: String,
    port: String,
    mac: String,
    ipv4: String,
}

/// A deterministic 64-hex-digit id, like Docker's.
fn docker_id(seed: u64) -> String {
    let mut x = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    (0..4)
        .map(|_| {
            x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (x >> 29);
            format!("{x:016x}")
        })
        .collect()
}

fn endpoint(i: usize) -> Endpoint {
    let id = docker_id(i as u64 + 1);
    Endpoint {
        network: docker_id(0),
        port: format!("ovn{}", &id[..12]),
        mac: format!(
            "02:42:0a:{:02x}:{:02x}:{:02x}",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ),
        ipv4: format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
        id,
    }
}

/// The Interface (and Port) external_ids the driver writes on Join.
fn interface_ids(e: &Endpoint) -> Vec<(String, String)> {
    [
        ("docker-ovn:owner", "docker-ovn".to_string()),
        ("docker-ovn:network", e.network.clone()),
        ("docker-ovn:endpoint", e.id.clone()),
        ("docker-ovn:host", HOST.to_string()),
        ("docker-ovn:joined", "1764326400".to_string()),
        ("iface-id", e.id.clone()),
        ("attached-mac", e.mac.clone()),
        ("iface-status", "active".to_string()),
        (
            "docker-ovn:sandbox",
            format!("/var/run/docker/netns/{}", &e.id[52..]),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The OVS rows of one endpoint, as `LocalSwitch::add_port` inserts them.
fn add_ovs_rows(txn: &mut Transaction, e: &Endpoint, settled: bool) {
    let mut ids = interface_ids(e);
    let mut interface = Row::new().with("name", e.port.as_str());
    if settled {
        ids.push(("ovn-installed".into(), "true".into()));
        interface.insert("ofport", 7i64);
    }
    let interface = txn.insert(
        "Interface",
        interface.with("external_ids", Value::map(ids.clone())),
    );
    let port = txn.insert(
        "Port",
        Row::new()
            .with("name", e.port.as_str())
            .with("interfaces", Value::from(interface))
            .with("external_ids", Value::map(interface_ids(e))),
    );
    txn.mutate(
        "Bridge",
        vec![Condition::eq("name", BRIDGE)],
        vec![Mutation::insert("ports", Value::from(port))],
    );
}

/// The logical switch port of one endpoint, as `Northbound::create_port`
/// inserts it.
fn add_nb_rows(txn: &mut Transaction, e: &Endpoint, settled: bool) {
    let addresses = format!("{} {}", e.mac, e.ipv4);
    let mut lsp = Row::new()
        .with("name", e.id.as_str())
        .with("addresses", Value::set([addresses.as_str()]))
        .with("port_security", Value::set([addresses.as_str()]))
        .with("options", Value::map([("requested-chassis", HOST)]))
        .with(
            "external_ids",
            Value::map([
                ("docker-ovn:owner", "docker-ovn"),
                ("docker-ovn:network", e.network.as_str()),
                ("docker-ovn:endpoint", e.id.as_str()),
                ("docker-ovn:host", HOST),
                ("docker-ovn:created", "1764326399"),
            ]),
        );
    if settled {
        lsp.insert("up", true);
    }
    let lsp = txn.insert("Logical_Switch_Port", lsp);
    txn.mutate(
        "Logical_Switch",
        vec![Condition::eq("name", SWITCH)],
        vec![Mutation::insert("ports", Value::from(lsp))],
    );
}

/// What ovs-vswitchd, ovn-controller and ovn-northd change once a port is
/// in: one `update2` modify each on Interface and Logical_Switch_Port.
fn settle(ovs: &mut Transaction, nb: &mut Transaction, e: &Endpoint) {
    ovs.update(
        "Interface",
        vec![Condition::eq("name", e.port.as_str())],
        Row::new().with("ofport", 7i64),
    );
    ovs.mutate(
        "Interface",
        vec![Condition::eq("name", e.port.as_str())],
        vec![Mutation::insert(
            "external_ids",
            Value::map([("ovn-installed", "true")]),
        )],
    );
    nb.update(
        "Logical_Switch_Port",
        vec![Condition::eq("name", e.id.as_str())],
        Row::new().with("up", true),
    );
}

// ---------------------------------------------------------------- servers

/// Private servers holding the bridge and the logical switch the
/// endpoints go on.
struct Servers {
    ovs: OvsdbServer,
    nb: OvsdbServer,
}

async fn start_servers() -> Servers {
    let ovs = OvsdbServer::start_open_vswitch(HOST);
    ovs.vsctl(&["add-br", BRIDGE]);
    let nb = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect(&nb.unix_target())
        .await
        .expect("connect NB");
    let mut txn = Transaction::new(NB);
    let network = format!("docker-ovn:docker-network:{}", docker_id(0));
    txn.insert(
        "Logical_Switch",
        Row::new().with("name", SWITCH).with(
            "external_ids",
            Value::map([
                ("docker-ovn:owner", "docker-ovn"),
                ("docker-ovn:subnet4", "10.0.0.0/8"),
                ("docker-ovn:gateway4", "10.255.255.254"),
                ("docker-ovn:mtu", "1442"),
                (network.as_str(), HOST),
            ]),
        ),
    );
    client.transact(&txn).await.expect("add switch");
    Servers { ovs, nb }
}

impl Servers {
    fn targets(&self) -> (String, String) {
        (self.ovs.unix_target(), self.nb.unix_target())
    }
}

/// One client of each server.
async fn connect_both((ovs, nb): &(String, String)) -> (Client, Client) {
    let ovs = Client::connect(ovs).await.expect("connect Open_vSwitch");
    let nb = Client::connect(nb).await.expect("connect OVN_Northbound");
    (ovs, nb)
}

/// Inserts endpoints `0..count` in final state, `BATCH` per transaction.
async fn fill_in_batches(servers: &Servers, count: usize) {
    let (ovs, nb) = connect_both(&servers.targets()).await;
    for start in (0..count).step_by(BATCH) {
        let mut ovs_txn = Transaction::new(OVS);
        let mut nb_txn = Transaction::new(NB);
        for i in start..(start + BATCH).min(count) {
            let e = endpoint(i);
            add_ovs_rows(&mut ovs_txn, &e, true);
            add_nb_rows(&mut nb_txn, &e, true);
        }
        let (a, b) = tokio::join!(ovs.transact(&ovs_txn), nb.transact(&nb_txn));
        a.expect("fill OVS");
        b.expect("fill NB");
    }
}

/// The endpoints arrive one at a time, as the driver makes them, from a
/// thread whose heap is not counted.
fn fill_one_by_one(servers: &Servers, count: usize) {
    let targets = servers.targets();
    let writer = std::thread::spawn(move || {
        UNCOUNTED.with(|c| c.set(true));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("writer runtime");
        runtime.block_on(write_each(&targets, count));
    });
    writer.join().expect("writer thread");
}

async fn write_each(targets: &(String, String), count: usize) {
    let (ovs, nb) = connect_both(targets).await;
    for i in 0..count {
        let e = endpoint(i);
        let (mut ovs_txn, mut nb_txn) = (Transaction::new(OVS), Transaction::new(NB));
        add_nb_rows(&mut nb_txn, &e, false);
        nb.transact(&nb_txn).await.expect("create endpoint");
        add_ovs_rows(&mut ovs_txn, &e, false);
        ovs.transact(&ovs_txn).await.expect("join endpoint");
        let (mut ovs_txn, mut nb_txn) = (Transaction::new(OVS), Transaction::new(NB));
        settle(&mut ovs_txn, &mut nb_txn, &e);
        let (a, b) = tokio::join!(ovs.transact(&ovs_txn), nb.transact(&nb_txn));
        a.expect("settle OVS");
        b.expect("settle NB");
    }
}

// ---------------------------------------------------------------- replicas

/// The driver's two replicas, with exactly its monitor requests
/// (`LocalSwitch::connect`, `Northbound::connect`).
struct Replicas {
    clients: [Client; 2],
    ovs: Replica,
    nb: Replica,
}

/// `LocalSwitch::connect`'s monitor requests.
fn ovs_requests() -> Vec<MonitorRequest> {
    docker_ovn::host::local_switch::monitor_requests()
}

/// `Northbound::connect`'s monitor requests.
fn nb_requests() -> Vec<MonitorRequest> {
    docker_ovn::ovn::northbound::monitor_requests()
}

async fn replicate(servers: &Servers) -> Replicas {
    let (ovs_client, nb_client) = connect_both(&servers.targets()).await;
    let ovs = ovs_client.replicate(OVS, &ovs_requests()).await;
    let nb = nb_client.replicate(NB, &nb_requests()).await;
    Replicas {
        clients: [ovs_client, nb_client],
        ovs: ovs.expect("replicate Open_vSwitch"),
        nb: nb.expect("replicate OVN_Northbound"),
    }
}

/// Waits until both replicas hold `count` settled endpoints.
async fn wait_settled(replicas: &Replicas, count: usize) {
    let timeout = Duration::from_secs(60);
    let settled = |row: &Row| row.map_str("external_ids", "ovn-installed") == Some("true");
    replicas
        .ovs
        .wait_for(timeout, "settled interfaces", |t| {
            let ready = t.rows("Interface").filter(|(_, r)| settled(r)).count();
            let linked = bridge_ports(t);
            // add-br also made the bridge's own port.
            (ready == count && linked == count + 1).then_some(())
        })
        .await
        .expect("OVS replica settles");
    let up = |row: &Row| row.get("up").and_then(Value::atom) == Some(&Atom::Boolean(true));
    replicas
        .nb
        .wait_for(timeout, "ports up", |t| {
            (t.rows("Logical_Switch_Port").filter(|(_, r)| up(r)).count() == count).then_some(())
        })
        .await
        .expect("NB replica settles");
}

fn bridge_ports(t: &Tables) -> usize {
    t.find("Bridge", |r| r.get_str("name") == Some(BRIDGE))
        .and_then(|(_, r)| r.get("ports").map(Value::len))
        .unwrap_or(0)
}

// ---------------------------------------------------------------- report

/// One phase's numbers, in bytes (or allocations) per endpoint.
struct Measured {
    /// Everything still held at the end, connections included.
    retained: f64,
    replica: f64,
    replica_chunks: f64,
    replica_allocs: f64,
    peak: f64,
    churn_allocs: f64,
    churn_bytes: f64,
}

/// Closes the connections, then drops the replicas: what is freed by
/// the second step is what the replicas held.
async fn release(replicas: Replicas) -> Heap {
    let Replicas { clients, ovs, nb } = replicas;
    for client in &clients {
        client.close();
    }
    drop(clients);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let with = heap();
    drop((ovs, nb));
    let without = heap();
    Heap {
        live: with.live - without.live,
        chunks: with.chunks - without.chunks,
        count: with.count - without.count,
        allocs: 0,
        allocated: 0,
    }
}

fn measured(count: usize, start: &Heap, end: &Heap, kept: &Heap) -> Measured {
    let per = |x: f64| x / count as f64;
    Measured {
        retained: per((end.live - start.live) as f64),
        replica: per(kept.live as f64),
        replica_chunks: per(kept.chunks as f64),
        replica_allocs: per(kept.count as f64),
        peak: per((PEAK.load(Ordering::Relaxed) - start.live) as f64),
        churn_allocs: per((end.allocs - start.allocs) as f64),
        churn_bytes: per((end.allocated - start.allocated) as f64),
    }
}

async fn initial(count: usize) -> Measured {
    let servers = start_servers().await;
    fill_in_batches(&servers, count).await;
    let start = start_phase();
    let replicas = replicate(&servers).await;
    wait_settled(&replicas, count).await;
    let end = heap();
    breakdown(&replicas, count);
    measured(count, &start, &end, &release(replicas).await)
}

async fn incremental(count: usize) -> Measured {
    let servers = start_servers().await;
    let replicas = replicate(&servers).await;
    let start = start_phase();
    let servers = tokio::task::spawn_blocking(move || {
        fill_one_by_one(&servers, count);
        servers
    })
    .await
    .expect("writer");
    wait_settled(&replicas, count).await;
    let end = heap();
    let kept = release(replicas).await;
    drop(servers);
    measured(count, &start, &end, &kept)
}

/// Bytes per endpoint of a tight copy of each table's rows (the rows
/// cloned into a vector): the cost of their vectors of columns and atoms,
/// without the replica's hash tables and without strings (which a clone
/// shares).
fn breakdown(replicas: &Replicas, count: usize) {
    let tables = [
        (&replicas.ovs, "Port"),
        (&replicas.ovs, "Interface"),
        (&replicas.ovs, "Bridge"),
        (&replicas.nb, "Logical_Switch_Port"),
        (&replicas.nb, "Logical_Switch"),
    ];
    let parts: Vec<String> = tables
        .iter()
        .map(|(replica, table)| {
            let before = MINE.with(Cell::get);
            let copy: Vec<Row> = replica.read(|t| t.rows(table).map(|(_, r)| r.clone()).collect());
            let bytes = MINE.with(Cell::get) - before - (copy.capacity() * size_of::<Row>()) as i64;
            drop(copy);
            format!("{table} {:.0}", bytes as f64 / count as f64)
        })
        .collect();
    println!(
        "  row structure (strings shared, not counted), bytes/endpoint: {}",
        parts.join(", ")
    );
}

fn print_row(phase: &str, count: usize, m: &Measured) {
    println!(
        "| {phase} | {count} | {:.0} | {:.0} | {:.0} | {:.1} | {:.0} | {:.1} | {:.0} |",
        m.retained,
        m.replica,
        m.replica_chunks,
        m.replica_allocs,
        m.peak,
        m.churn_allocs,
        m.churn_bytes
    );
}

fn counts() -> Vec<usize> {
    std::env::var("ENDPOINTS")
        .ok()
        .map(|list| {
            list.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![1000, 5000])
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "sizes: Atom {} B, Value {} B, Row {} B",
        size_of::<Atom>(),
        size_of::<Value>(),
        size_of::<Row>()
    );
    let mut rows = Vec::new();
    for count in counts() {
        println!("N = {count}:");
        rows.push(("initial", count, runtime.block_on(initial(count))));
        rows.push(("incremental", count, runtime.block_on(incremental(count))));
    }
    println!();
    println!(
        "Per endpoint: Port + Interface + Logical_Switch_Port rows, and one UUID in each ports set."
    );
    println!(
        "| fill | N | retained B | replica B | replica B (glibc chunks) | replica allocations | peak B above start | allocations while filling | B allocated while filling |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (phase, count, m) in &rows {
        print_row(phase, *count, m);
    }
}
