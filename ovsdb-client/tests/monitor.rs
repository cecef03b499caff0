//! Monitors and replicas against a real ovsdb-server. Needs `ovsdb-server`
//! (Debian: openvswitch-common) and the OVS/OVN schemas; fails without.

mod common;

use std::time::Duration;

use common::{Rng, assert_converges};
use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::rows::{Interface, LogicalSwitchPort};
use ovsdb_client::transaction::{Condition, Mutation, Transaction};
use ovsdb_client::{Client, MonitorEvent, Row, Uuid, Value};
use test_support::{OvsdbServer, Schema};

const NB: &str = "OVN_Northbound";
const TABLES: &[&str] = &["Logical_Switch", "Logical_Switch_Port"];

/// One random change made by the second client: insert, update (scalar,
/// optional, set and map columns), mutate a set, or delete.
async fn random_change(client: &Client, rng: &mut Rng, switches: &mut Vec<Uuid>, serial: u64) {
    let mut txn = Transaction::new(NB);
    let choice = if switches.is_empty() { 0 } else { rng.below(6) };
    let target = switches
        .get(rng.below(switches.len() as u64) as usize)
        .copied();
    match (choice, target) {
        (0, _) | (_, None) => {
            let ports: Vec<_> = (0..rng.below(3))
                .map(|i| {
                    txn.insert(
                        "Logical_Switch_Port",
                        Row::new().with("name", format!("p{serial}-{i}")),
                    )
                })
                .collect();
            let ls = txn.insert(
                "Logical_Switch",
                Row::new()
                    .with("name", format!("ls{serial}"))
                    .with("ports", Value::set(ports)),
            );
            let outcome = client.transact(&txn).await.unwrap();
            switches.push(outcome.uuid_of(&ls).unwrap());
            return;
        }
        (1, Some(ls)) => {
            let ids = Value::map([
                ("k", format!("{}", rng.below(3))),
                ("serial", format!("{serial}")),
            ]);
            txn.update(
                "Logical_Switch",
                vec![Condition::uuid(ls)],
                Row::new().with("external_ids", ids),
            );
        }
        (2, Some(ls)) => {
            let port = txn.insert(
                "Logical_Switch_Port",
                Row::new().with("name", format!("q{serial}")),
            );
            txn.mutate(
                "Logical_Switch",
                vec![Condition::uuid(ls)],
                vec![Mutation::insert("ports", Value::from(port))],
            );
        }
        (3, Some(ls)) => {
            // Drop one port reference (the port row is then collected).
            txn.mutate(
                "Logical_Switch_Port",
                vec![],
                vec![Mutation::insert(
                    "addresses",
                    Value::set([format!("02:00:00:00:00:{:02x}", serial % 256)]),
                )],
            );
            txn.mutate(
                "Logical_Switch",
                vec![Condition::uuid(ls)],
                vec![Mutation::delete("ports", Value::empty())],
            );
        }
        (4, _) => {
            let tag = Value::set((rng.below(2) == 0).then_some(serial as i64));
            txn.update(
                "Logical_Switch_Port",
                vec![],
                Row::new()
                    .with("tag_request", tag)
                    .with("enabled", Value::set([rng.below(2) == 0])),
            );
        }
        (_, Some(ls)) => {
            switches.retain(|s| *s != ls);
            txn.delete("Logical_Switch", vec![Condition::uuid(ls)]);
        }
    }
    client.transact(&txn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_converges_to_the_server_under_random_changes() {
    let server = OvsdbServer::start(Schema::OvnNorthbound);
    let watcher = Client::connect(&server.unix_target()).await.unwrap();
    let writer = Client::connect(&server.unix_target()).await.unwrap();
    let replica = watcher
        .replicate(
            NB,
            &[
                MonitorRequest::new("Logical_Switch"),
                MonitorRequest::new("Logical_Switch_Port"),
            ],
        )
        .await
        .unwrap();
    let mut rng = Rng::new(0x5eed);
    let mut switches = Vec::new();
    for serial in 0..300 {
        random_change(&writer, &mut rng, &mut switches, serial).await;
        if serial % 50 == 49 {
            assert_converges(&replica, &writer, NB, TABLES).await;
        }
    }
    assert_converges(&replica, &writer, NB, TABLES).await;
    let typed: Vec<LogicalSwitchPort> = replica.read(|t| t.typed()).unwrap();
    assert_eq!(typed.len(), replica.read(|t| t.len("Logical_Switch_Port")));
}

#[tokio::test]
async fn conditional_replica_holds_only_matching_rows() {
    let server = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect(&server.unix_target()).await.unwrap();
    let replica = client
        .replicate(
            NB,
            &[MonitorRequest::new("Logical_Switch")
                .columns(&["name", "external_ids"])
                .conditions(vec![Condition::includes(
                    "external_ids",
                    Value::map([("owner", "me")]),
                )])],
        )
        .await
        .unwrap();
    let mut txn = Transaction::new(NB);
    txn.insert(
        "Logical_Switch",
        Row::new()
            .with("name", "mine")
            .with("external_ids", Value::map([("owner", "me")])),
    );
    txn.insert(
        "Logical_Switch",
        Row::new()
            .with("name", "theirs")
            .with("external_ids", Value::map([("owner", "you")])),
    );
    client.transact(&txn).await.unwrap();
    let name = replica
        .wait_for(Duration::from_secs(5), "my switch", |t| {
            t.find("Logical_Switch", |r| r.get_str("name") == Some("mine"))
                .map(|(_, r)| r.clone())
        })
        .await
        .unwrap();
    assert!(name.get("ports").is_none(), "unmonitored column replicated");
    // The update for "theirs" would have arrived in the same notification.
    assert_eq!(replica.read(|t| t.len("Logical_Switch")), 1);
}

#[tokio::test]
async fn wait_for_ovn_installed_wakes_on_the_update() {
    let server = OvsdbServer::start(Schema::OpenVswitch);
    let client = Client::connect(&server.unix_target()).await.unwrap();
    let replica = client
        .replicate(
            "Open_vSwitch",
            &[MonitorRequest::new("Interface").columns(&["name", "external_ids"])],
        )
        .await
        .unwrap();
    let mut txn = Transaction::new("Open_vSwitch");
    let iface = txn.insert("Interface", Row::new().with("name", "veth1"));
    let port = txn.insert(
        "Port",
        Row::new()
            .with("name", "veth1")
            .with("interfaces", Value::from(iface)),
    );
    let bridge = txn.insert(
        "Bridge",
        Row::new()
            .with("name", "br-int")
            .with("ports", Value::from(port)),
    );
    txn.insert(
        "Open_vSwitch",
        Row::new().with("bridges", Value::from(bridge)),
    );
    client.transact(&txn).await.unwrap();

    let setter = client.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut txn = Transaction::new("Open_vSwitch");
        txn.mutate(
            "Interface",
            vec![Condition::eq("name", "veth1")],
            vec![Mutation::insert(
                "external_ids",
                Value::map([("ovn-installed", "true")]),
            )],
        );
        setter.transact(&txn).await.unwrap();
    });
    let installed = replica
        .wait_for(Duration::from_secs(5), "ovn-installed on veth1", |t| {
            t.find("Interface", |r| {
                r.get_str("name") == Some("veth1")
                    && r.map_str("external_ids", "ovn-installed") == Some("true")
            })
            .map(|(uuid, _)| uuid)
        })
        .await
        .unwrap();
    let typed: Vec<Interface> = replica.read(|t| t.typed()).unwrap();
    assert_eq!(typed[0].uuid, installed);
    assert_eq!(
        typed[0]
            .external_ids
            .get("ovn-installed")
            .map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn raw_monitor_and_monitor_cond_streams_and_cancel() {
    let server = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect(&server.unix_target()).await.unwrap();
    let mut txn = Transaction::new(NB);
    txn.insert("Address_Set", Row::new().with("name", "before"));
    client.transact(&txn).await.unwrap();

    let mut v1 = client
        .monitor(NB, &[MonitorRequest::new("Address_Set")])
        .await
        .unwrap();
    let mut v2 = client
        .monitor_cond(NB, &[MonitorRequest::new("Address_Set")])
        .await
        .unwrap();
    let MonitorEvent::Initial(initial) = next(&mut v1).await else {
        panic!("no initial")
    };
    assert_eq!(only_row(&initial)["new"]["name"], "before");
    let MonitorEvent::Initial(initial) = next(&mut v2).await else {
        panic!("no initial")
    };
    assert_eq!(only_row(&initial)["initial"]["name"], "before");

    let mut txn = Transaction::new(NB);
    txn.update(
        "Address_Set",
        vec![Condition::eq("name", "before")],
        Row::new().with("name", "after"),
    );
    client.transact(&txn).await.unwrap();
    let MonitorEvent::Update(update) = next(&mut v1).await else {
        panic!("no update")
    };
    assert_eq!(only_row(&update)["old"]["name"], "before");
    assert_eq!(only_row(&update)["new"]["name"], "after");
    let MonitorEvent::Update(update) = next(&mut v2).await else {
        panic!("no update2")
    };
    assert_eq!(only_row(&update)["modify"]["name"], "after");

    client.monitor_cancel(&v1.id).await.unwrap();
    assert!(
        client.monitor_cancel(&v1.id).await.is_err(),
        "second cancel must fail"
    );
    let mut txn = Transaction::new(NB);
    txn.delete("Address_Set", vec![]);
    client.transact(&txn).await.unwrap();
    let MonitorEvent::Update(update) = next(&mut v2).await else {
        panic!("no delete")
    };
    assert!(only_row(&update).get("delete").is_some());
    assert!(
        v1.events.try_recv().is_err(),
        "cancelled monitor still reports"
    );
}

#[tokio::test]
async fn replicating_an_unknown_table_is_a_clear_error() {
    let server = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect(&server.unix_target()).await.unwrap();
    let err = client
        .replicate(NB, &[MonitorRequest::new("No_Such_Table")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("No_Such_Table"), "{err}");
}

async fn next(stream: &mut ovsdb_client::MonitorStream) -> MonitorEvent {
    tokio::time::timeout(Duration::from_secs(5), stream.events.recv())
        .await
        .expect("monitor event within 5 s")
        .expect("monitor open")
}

fn only_row(updates: &serde_json::Value) -> &serde_json::Value {
    let rows = updates["Address_Set"]
        .as_object()
        .expect("Address_Set updates");
    assert_eq!(rows.len(), 1, "{updates}");
    rows.values().next().unwrap()
}
