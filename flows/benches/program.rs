//! How fast the crate programs a bridge, against `ovs-ofctl`: 10,000
//! flows one FLOW_MOD and barrier at a time, pipelined with one barrier,
//! and in one atomic bundle; `ovs-ofctl add-flow` one process per flow
//! (1,000 of them) and `ovs-ofctl --bundle add-flows` from a file; and a
//! resync, every flow of one cookie round replaced by the next round's in
//! one bundle. Prints each time and the ratios the targets are set on.
//! Needs root and ovs-vswitchd (Debian: openvswitch-switch), like the
//! live tests:
//!
//!     cargo bench -p flows --bench program

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use flows::{Action, Client, Config, Flow, FlowMod, Match, Port, Target};
use test_support::Switch;

const FLOWS: u32 = 10_000;
const PROCESSES: u32 = 1_000;
const ROUND_MASK: u64 = 0xffff_ffff_0000_0000;

fn flow(round: u64, n: u32) -> Flow {
    Flow::new(0, 100)
        .cookie((round << 32) | u64::from(n))
        .matching(
            Match::new()
                .eth_type(0x0800)
                .ipv4_dst(Ipv4Addr::from(0x0a00_0000 + n)),
        )
        .action(Action::Output(Port::Number(1)))
}

fn adds(round: u64, count: u32) -> Vec<FlowMod> {
    (0..count).map(|n| flow(round, n).add()).collect()
}

async fn clear(client: &Client) {
    client
        .flow_mods(&[FlowMod::delete_by_cookie(0, 0)])
        .await
        .expect("cleared");
}

async fn timed<F: std::future::Future<Output = ()>>(run: F) -> Duration {
    let started = Instant::now();
    run.await;
    started.elapsed()
}

fn per_second(count: u32, took: Duration) -> f64 {
    f64::from(count) / took.as_secs_f64()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let switch = Switch::start("br-bench");
    let target = Target::parse(&switch.target()).expect("a target");
    let client = Client::connect(Config::new(target))
        .await
        .expect("connected");
    let serial = timed(async {
        for flow_mod in adds(1, FLOWS) {
            client.flow_mods(&[flow_mod]).await.expect("added");
        }
    })
    .await;
    clear(&client).await;
    let pipelined = timed(async { client.flow_mods(&adds(1, FLOWS)).await.expect("added") }).await;
    clear(&client).await;
    let bundle = timed(async { client.bundle(&adds(1, FLOWS)).await.expect("committed") }).await;
    let resync = timed(async {
        let mut next = adds(2, FLOWS);
        next.push(FlowMod::delete_by_cookie(1 << 32, ROUND_MASK));
        client.bundle(&next).await.expect("resynced");
    })
    .await;
    let left = client
        .aggregate(1 << 32, ROUND_MASK)
        .await
        .expect("aggregate");
    assert_eq!(left.flows, 0, "the old round is gone");
    clear(&client).await;
    let per_process = ofctl_per_process(&switch);
    switch.ofctl(&["del-flows", "{}"]);
    let ofctl_bundle = ofctl_bundle(&switch);
    report(serial, pipelined, bundle, resync, per_process, ofctl_bundle);
}

/// `ovs-ofctl add-flow` once per flow, `PROCESSES` times.
fn ofctl_per_process(switch: &Switch) -> Duration {
    let started = Instant::now();
    for n in 0..PROCESSES {
        let text = flow(1, n).to_string();
        switch.ofctl(&["add-flow", "{}", &text]);
    }
    started.elapsed()
}

/// `ovs-ofctl --bundle add-flows` of all `FLOWS` from a file.
fn ofctl_bundle(switch: &Switch) -> Duration {
    let file = switch.db.dir().join("flows.txt");
    let text: Vec<String> = (0..FLOWS).map(|n| flow(1, n).to_string()).collect();
    std::fs::write(&file, text.join("\n")).expect("write the flow file");
    let path = file.display().to_string();
    let started = Instant::now();
    switch.ofctl(&["--bundle", "add-flows", "{}", &path]);
    started.elapsed()
}

fn report(
    serial: Duration,
    pipelined: Duration,
    bundle: Duration,
    resync: Duration,
    per_process: Duration,
    ofctl_bundle: Duration,
) {
    let process_rate = per_second(PROCESSES, per_process);
    let pipelined_rate = per_second(FLOWS, pipelined);
    println!("{FLOWS} flows on one bridge (userspace datapath)");
    let rows = [
        ("flows: one FLOW_MOD + barrier at a time", FLOWS, serial),
        ("flows: pipelined, one barrier", FLOWS, pipelined),
        ("flows: one atomic bundle", FLOWS, bundle),
        ("flows: resync, the next round in one bundle", FLOWS, resync),
        (
            "ovs-ofctl add-flow, a process per flow",
            PROCESSES,
            per_process,
        ),
        ("ovs-ofctl --bundle add-flows", FLOWS, ofctl_bundle),
    ];
    for (what, count, took) in rows {
        let ms = took.as_secs_f64() * 1000.0;
        let rate = per_second(count, took);
        println!("  {what:<46} {count:>6} flows {ms:>9.1} ms {rate:>10.0} flows/s");
    }
    println!(
        "pipelined / per-process rate: {:.0}x (target: at least 100x)",
        pipelined_rate / process_rate
    );
    println!(
        "bundle / ovs-ofctl's bundle time: {:.2} (target: at most 1.0)",
        bundle.as_secs_f64() / ofctl_bundle.as_secs_f64()
    );
    println!(
        "resync of {FLOWS} flows: {:.0} ms (target: under 1000 ms)",
        resync.as_secs_f64() * 1000.0
    );
}
