//! Against a real `ovs-vswitchd` (userspace datapath) started by each
//! test in a temporary directory and a network namespace of its own
//! (`test_support::Switch`); `ovs-ofctl` reads the tables back as the
//! oracle. Needs root (namespaces) and the Debian package
//! openvswitch-switch; fails, naming it, without.

use std::net::Ipv4Addr;
use std::time::Duration;

use flows::{
    Action, Client, Command, Config, Event, Flow, FlowMod, FlowsError, Match, Port, Target,
};
use test_support::Switch;

async fn client(switch: &Switch) -> Client {
    let target = Target::parse(&switch.target()).expect("a target");
    Client::connect(Config::new(target))
        .await
        .expect("connected")
}

fn arp_for(table: u8, cookie: u64, last: u8) -> Flow {
    Flow::new(table, 100)
        .cookie(cookie)
        .matching(
            Match::new()
                .eth_type(0x0806)
                .arp_tpa(Ipv4Addr::new(10, 1, 0, last)),
        )
        .action(Action::Output(Port::Number(u32::from(last))))
}

#[tokio::test]
async fn add_modify_strict_delete_and_delete_by_cookie_across_tables() {
    let switch = Switch::start("br-flows1");
    let client = client(&switch).await;
    let round1 = 0x1_0000_0000;
    let flows = [
        arp_for(0, round1 | 1, 1),
        arp_for(1, round1 | 2, 2),
        arp_for(2, 0x2_0000_0000, 3),
    ];
    let adds: Vec<FlowMod> = flows.iter().map(Flow::add).collect();
    client.flow_mods(&adds).await.expect("added");
    assert_eq!(switch.flows().len(), 3, "{:?}", switch.flows());

    let changed = arp_for(1, round1 | 2, 2).action(Action::Output(Port::Number(9)));
    client
        .flow_mods(&[FlowMod::new(Command::ModifyStrict, changed)])
        .await
        .expect("modified");
    let dump = switch.flows().join("\n");
    assert!(dump.contains("actions=output:2,output:9"), "{dump}");

    client
        .flow_mods(&[FlowMod::new(Command::DeleteStrict, arp_for(0, 0, 1))])
        .await
        .expect("deleted strictly");
    assert_eq!(switch.flows().len(), 2);

    client
        .flow_mods(&[FlowMod::delete_by_cookie(round1, 0xffff_ffff_0000_0000)])
        .await
        .expect("round deleted");
    let left = switch.flows();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].contains("cookie=0x200000000"), "{left:?}");
    let aggregate = client
        .aggregate(0x2_0000_0000, u64::MAX)
        .await
        .expect("aggregate");
    assert_eq!(aggregate.flows, 1);
}

#[tokio::test]
async fn a_bundle_with_one_bad_flow_changes_nothing_and_names_it() {
    let switch = Switch::start("br-flows2");
    let client = client(&switch).await;
    client
        .flow_mods(&[arp_for(0, 1, 1).add()])
        .await
        .expect("added");
    let before = switch.flows();
    // Table 255 is no table: the switch, not the crate, refuses it.
    let bad = Flow::new(255, 1).action(Action::Output(Port::Number(1)));
    let bundle = vec![
        arp_for(0, 2, 2).add(),
        arp_for(1, 2, 3).add(),
        bad.add(),
        arp_for(2, 2, 4).add(),
    ];
    let error = client.bundle(&bundle).await.expect_err("refused");
    match &error {
        FlowsError::FlowRejected { index, flow, .. } => {
            assert_eq!(*index, 2, "{error}");
            assert!(flow.contains("table=255"), "{error}");
        }
        other => panic!("not a refused flow: {other}"),
    }
    assert_eq!(switch.flows(), before, "the bundle left something behind");
    client
        .bundle(&bundle[..2])
        .await
        .expect("a good bundle commits");
    assert_eq!(switch.flows().len(), 3);
}

#[tokio::test]
async fn ten_thousand_flows_in_one_bundle_and_their_statistics_by_cookie() {
    let switch = Switch::start("br-flows3");
    let client = client(&switch).await;
    let cookie = 0x7_0000_0000;
    let adds: Vec<FlowMod> = (0..10_000u32)
        .map(|n| {
            Flow::new(0, 100)
                .cookie(cookie | u64::from(n))
                .matching(
                    Match::new()
                        .eth_type(0x0800)
                        .ipv4_dst(Ipv4Addr::from(0x0a00_0000 + n)),
                )
                .action(Action::Output(Port::Number(1)))
                .add()
        })
        .collect();
    client.bundle(&adds).await.expect("committed");
    let aggregate = client
        .aggregate(cookie, 0xffff_ffff_0000_0000)
        .await
        .expect("aggregate");
    assert_eq!(aggregate.flows, 10_000);
    let replies = client
        .flow_stats_replies(cookie | 7, u64::MAX)
        .await
        .expect("stats");
    assert_eq!(replies.len(), 1, "one flow fits one reply");
    let read_back = client.flows(cookie | 7, u64::MAX).await.expect("flows");
    assert_eq!(read_back.len(), 1);
    assert_eq!(
        read_back[0].0, adds[7].flow,
        "the switch holds the flow as sent"
    );
    let every = client
        .flows(cookie, 0xffff_ffff_0000_0000)
        .await
        .expect("flows");
    assert_eq!(
        every.len(),
        10_000,
        "every part of the multipart reply decoded"
    );
    let all = client
        .flow_stats_replies(cookie, 0xffff_ffff_0000_0000)
        .await
        .expect("stats");
    assert!(all.len() > 1, "10,000 flows span several REPLY_MORE parts");
}

#[tokio::test]
async fn a_restarted_switch_is_reconnected_and_reported() {
    let mut switch = Switch::start("br-flows4");
    let client = client(&switch).await;
    let mut events = client.subscribe();
    client
        .flow_mods(&[arp_for(0, 1, 1).add()])
        .await
        .expect("added");
    switch.restart();
    let deadline = Duration::from_secs(30);
    let reconnected = tokio::time::timeout(deadline, async {
        let mut lost = false;
        loop {
            match events.recv().await {
                Ok(Event::Disconnected { .. }) => lost = true,
                Ok(Event::Connected { generation }) if lost => return generation,
                Ok(_) => {}
                Err(error) => panic!("events: {error}"),
            }
        }
    })
    .await
    .expect("reconnected within 30 s");
    assert_eq!(reconnected, 2);
    assert!(
        switch.flows().is_empty(),
        "a restarted switch has empty tables"
    );
    client
        .flow_mods(&[arp_for(0, 1, 1).add()])
        .await
        .expect("resynced");
    assert_eq!(switch.flows().len(), 1);
}

/// ovs-vswitchd probes a connection idle for 60 s with an echo request
/// (the `.mgmt` service's probe interval) and drops it if unanswered
/// another interval later: the probe must have come and been answered,
/// and the connection stayed up. The crate's own probes are pushed past
/// the test so that only the switch's count.
#[tokio::test]
async fn seventy_idle_seconds_and_still_connected() {
    let switch = Switch::start("br-flows5");
    let target = Target::parse(&switch.target()).expect("a target");
    let mut config = Config::new(target);
    config.keepalive = Duration::from_secs(300);
    let client = Client::connect(config).await.expect("connected");
    let mut events = client.subscribe();
    tokio::time::sleep(Duration::from_secs(70)).await;
    client.barrier().await.expect("still answering");
    assert!(
        client.echoes_answered() >= 1,
        "the switch never probed the idle connection"
    );
    assert_eq!(client.generation(), 1, "the connection was remade");
    assert!(
        events.try_recv().is_err(),
        "an event while idle: {:?}",
        events.try_recv()
    );
}

/// A bridge that also speaks OpenFlow 1.4 is spoken to in 1.4, with its
/// native bundle messages, and bundles stay all or nothing.
#[tokio::test]
async fn openflow_1_4_is_spoken_where_offered_with_native_bundles() {
    let switch = Switch::start_with_protocols("br-flows6", "OpenFlow13,OpenFlow14");
    let client = client(&switch).await;
    assert_eq!(client.version(), 5, "not OpenFlow 1.4");
    client
        .flow_mods(&[arp_for(0, 1, 1).add()])
        .await
        .expect("added");
    let before = switch.flows();
    let bad = Flow::new(255, 1).action(Action::Output(Port::Number(1)));
    let bundle = vec![arp_for(1, 2, 2).add(), bad.add()];
    let error = client.bundle(&bundle).await.expect_err("refused");
    assert!(
        matches!(error, FlowsError::FlowRejected { index: 1, .. }),
        "{error}"
    );
    assert_eq!(switch.flows(), before);
    client.bundle(&bundle[..1]).await.expect("committed");
    let aggregate = client.aggregate(0, 0).await.expect("aggregate");
    assert_eq!(aggregate.flows, 2);
}

/// Meters are added, changed in place when added again with another
/// rate, used by a flow (which reads back with its meter), and deleted;
/// deleting a meter that is gone is no error.
#[tokio::test]
async fn meters_are_set_used_by_a_flow_and_deleted() {
    use flows::meter::Meter;
    let switch = Switch::start("br-flows-m");
    let client = client(&switch).await;
    let meter = |kbps| Meter {
        id: 7,
        kbps,
        burst_kb: kbps / 4,
    };
    client.set_meters(&[meter(20_000)]).await.expect("added");
    client.set_meters(&[meter(30_000)]).await.expect("changed");
    let meters = switch.ofctl(&["dump-meters", "{}"]);
    assert!(meters.contains("meter=7 kbps burst"), "{meters}");
    assert!(meters.contains("rate=30000 burst_size=7500"), "{meters}");
    let flow = Flow::new(0, 100)
        .cookie(0x77)
        .matching(Match::new().in_port(1))
        .meter(7)
        .action(Action::Output(Port::Number(2)));
    client
        .flow_mods(&[flow.add()])
        .await
        .expect("a metered flow");
    let read: Vec<Flow> = client
        .flows(0x77, u64::MAX)
        .await
        .expect("read back")
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(read, [flow]);
    client
        .flow_mods(&[FlowMod::delete_by_cookie(0x77, u64::MAX)])
        .await
        .expect("flow deleted");
    client
        .delete_meters(&[7, 8])
        .await
        .expect("deleted, the absent one too");
    let meters = switch.ofctl(&["dump-meters", "{}"]);
    assert!(!meters.contains("meter=7"), "{meters}");
}
