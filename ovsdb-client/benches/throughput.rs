//! Transactions per second against a real OVN Northbound ovsdb-server,
//! serial and pipelined, next to the same work done by `ovn-nbctl`
//! processes, and the memory of a replica of 10,000 logical switch ports.
//!
//! Run: `cargo bench -p ovsdb-client --bench throughput`
//! (`NBCTL_PORTS=500` shortens the ovn-nbctl part; the rate is per port.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::transaction::{Condition, Mutation, Transaction};
use ovsdb_client::{Client, ClientConfig, Row, Value};
use test_support::{OvsdbServer, Schema, require_binary};

/// Counts live heap bytes, so the replica's own memory can be measured.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const NB: &str = "OVN_Northbound";
const PORTS: usize = 5000;
const IN_FLIGHT: usize = 64;

/// One port: insert the row and link it from its switch, as `lsp-add` does.
fn add_port_txn(switch: &str, port: &str) -> Transaction {
    let mut txn = Transaction::new(NB);
    let lsp = txn.insert(
        "Logical_Switch_Port",
        Row::new()
            .with("name", port)
            .with("addresses", Value::set(["02:00:00:00:00:01 10.0.0.1"]))
            .with("external_ids", Value::map([("docker-ovn:owner", "bench")])),
    );
    txn.mutate(
        "Logical_Switch",
        vec![Condition::eq("name", switch)],
        vec![Mutation::insert("ports", Value::from(lsp))],
    );
    txn
}

async fn add_switch(client: &Client, name: &str) {
    let mut txn = Transaction::new(NB);
    txn.insert("Logical_Switch", Row::new().with("name", name));
    client.transact(&txn).await.expect("add switch");
}

async fn serial(client: &Client) -> Duration {
    add_switch(client, "serial").await;
    let started = Instant::now();
    for i in 0..PORTS {
        client
            .transact(&add_port_txn("serial", &format!("s{i}")))
            .await
            .expect("serial insert");
    }
    started.elapsed()
}

async fn pipelined(client: &Client) -> Duration {
    add_switch(client, "pipelined").await;
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..PORTS)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .transact(&add_port_txn("pipelined", &format!("p{i}")))
                    .await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(
        results.iter().all(Result::is_ok),
        "a pipelined insert failed"
    );
    elapsed
}

fn nbctl(server: &OvsdbServer, count: usize) -> Duration {
    let nbctl = require_binary("ovn-nbctl");
    let db = format!("--db={}", server.unix_target());
    let run = |args: &[&str]| {
        let status = Command::new(&nbctl)
            .arg(&db)
            .args(args)
            .status()
            .expect("run ovn-nbctl");
        assert!(status.success(), "ovn-nbctl {args:?} failed");
    };
    run(&["ls-add", "nbctl"]);
    let started = Instant::now();
    for i in 0..count {
        let name = format!("n{i}");
        run(&["lsp-add", "nbctl", &name]);
    }
    started.elapsed()
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Heap held by a replica of every Logical_Switch_Port: live bytes with
/// the replica minus live bytes once it is dropped (buffers the connection
/// keeps, such as the read buffer, are not the cache's and are excluded).
async fn replica_bytes(target: &str) -> (usize, usize) {
    let client = Client::connect(target).await.expect("connect");
    let replica = client
        .replicate(NB, &[MonitorRequest::new("Logical_Switch_Port")])
        .await
        .expect("replicate");
    let ports = replica.read(|t| t.len("Logical_Switch_Port"));
    let with_replica = LIVE.load(Ordering::Relaxed);
    client.close();
    drop(client);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let connection_gone = LIVE.load(Ordering::Relaxed);
    drop(replica);
    let without = LIVE.load(Ordering::Relaxed);
    let _ = with_replica;
    (ports, connection_gone.saturating_sub(without))
}

fn main() {
    let nbctl_ports: usize = std::env::var("NBCTL_PORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PORTS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = OvsdbServer::start(Schema::OvnNorthbound);
    let (serial_time, pipelined_time) = runtime.block_on(async {
        let config = ClientConfig::new(&server.unix_target()).expect("target");
        let client = Client::connect_with(config).await.expect("connect");
        (serial(&client).await, pipelined(&client).await)
    });
    let (ports, bytes) = runtime.block_on(replica_bytes(&server.unix_target()));
    let nbctl_server = OvsdbServer::start(Schema::OvnNorthbound);
    let nbctl_time = nbctl(&nbctl_server, nbctl_ports);

    let serial_rate = rate(PORTS, serial_time);
    let pipelined_rate = rate(PORTS, pipelined_time);
    let nbctl_rate = rate(nbctl_ports, nbctl_time);
    println!(
        "ovsdb-client throughput: single-port transactions (insert Logical_Switch_Port + link it from its Logical_Switch), OVN_Northbound over a unix socket"
    );
    println!("| method | ports | seconds | transactions/s |");
    println!("|---|---|---|---|");
    println!(
        "| ovsdb-client serial | {PORTS} | {:.2} | {serial_rate:.0} |",
        serial_time.as_secs_f64()
    );
    println!(
        "| ovsdb-client pipelined ({IN_FLIGHT} in flight) | {PORTS} | {:.2} | {pipelined_rate:.0} |",
        pipelined_time.as_secs_f64()
    );
    println!(
        "| ovn-nbctl lsp-add (one process each) | {nbctl_ports} | {:.2} | {nbctl_rate:.1} |",
        nbctl_time.as_secs_f64()
    );
    println!();
    println!(
        "ratio pipelined / ovn-nbctl: {:.1}x (target >= 50x)",
        pipelined_rate / nbctl_rate
    );
    println!(
        "ratio serial / ovn-nbctl:    {:.1}x",
        serial_rate / nbctl_rate
    );
    println!(
        "replica of {ports} logical switch ports (all columns): {:.1} MB of heap (target < 20 MB)",
        bytes as f64 / 1e6
    );
}
