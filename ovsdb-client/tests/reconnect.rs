//! Keepalive and reconnection against a real ovsdb-server that is left
//! idle, killed and restarted. Needs `ovsdb-server` (Debian:
//! openvswitch-common); fails without.

mod common;

use std::time::Duration;

use common::assert_converges;
use ovsdb_client::monitor::MonitorRequest;
use ovsdb_client::transaction::Transaction;
use ovsdb_client::{Client, ClientConfig, Event, Row};
use test_support::{OvsdbServer, Schema};

const NB: &str = "OVN_Northbound";

fn fast_reconnect(target: &str) -> ClientConfig {
    ClientConfig::new(target)
        .unwrap()
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .request_timeout(Duration::from_secs(10))
}

async fn add_address_set(client: &Client, name: &str) {
    let mut txn = Transaction::new(NB);
    txn.insert("Address_Set", Row::new().with("name", name));
    client.transact(&txn).await.unwrap();
}

#[tokio::test]
async fn idle_tcp_connection_survives_thirty_seconds() {
    let server = OvsdbServer::start_with_tcp(Schema::OvnNorthbound);
    // Probing is the server's job here: our own probe is off, so only
    // answering the server's echo keeps the session (ovsdb-server probes
    // TCP clients every 5 s and drops silent ones after 10).
    let config = ClientConfig::new(&server.tcp_target())
        .unwrap()
        .probe_interval(None);
    let client = Client::connect_with(config).await.unwrap();
    let mut events = client.events();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(client.is_connected());
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, Event::Disconnected { .. }),
            "session interrupted while idle: {event:?}"
        );
    }
    assert!(client.list_dbs().await.unwrap().contains(&NB.to_string()));
    assert!(
        !server.log().contains("inactivity probe"),
        "server log mentions a failed probe:\n{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_is_rebuilt_after_the_server_restarts() {
    let mut server = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect_with(fast_reconnect(&server.unix_target()))
        .await
        .unwrap();
    let replica = client
        .replicate(NB, &[MonitorRequest::new("Address_Set")])
        .await
        .unwrap();
    let mut events = client.events();
    add_address_set(&client, "before-crash").await;

    server.kill();
    wait_for_event(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(!client.is_connected());

    // While it is down, change the database behind the client's back by
    // restarting with a second writer making changes first.
    server.restart();
    let writer = Client::connect(&server.unix_target()).await.unwrap();
    add_address_set(&writer, "while-away").await;
    let mut txn = Transaction::new(NB);
    txn.delete(
        "Address_Set",
        vec![ovsdb_client::transaction::Condition::eq(
            "name",
            "before-crash",
        )],
    );
    writer.transact(&txn).await.unwrap();

    wait_for_event(&mut events, |e| *e == Event::Connected).await;
    assert_converges(&replica, &writer, NB, &["Address_Set"]).await;
    let names: Vec<String> = replica.read(|t| {
        t.rows("Address_Set")
            .filter_map(|(_, r)| r.get_str("name").map(str::to_string))
            .collect()
    });
    assert_eq!(names, vec!["while-away".to_string()]);

    // And it keeps following live updates on the new session.
    add_address_set(&writer, "after-reconnect").await;
    assert_converges(&replica, &writer, NB, &["Address_Set"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_made_while_down_complete_once_the_server_is_back() {
    let mut server = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect_with(fast_reconnect(&server.unix_target()))
        .await
        .unwrap();
    server.kill();
    let queued = {
        let client = client.clone();
        tokio::spawn(async move { add_address_set(&client, "queued").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.restart();
    tokio::time::timeout(Duration::from_secs(10), queued)
        .await
        .unwrap()
        .unwrap();
    let mut txn = Transaction::new(NB);
    let at = txn.select("Address_Set", vec![]);
    let outcome = client.transact(&txn).await.unwrap();
    assert_eq!(outcome.rows(at).unwrap().len(), 1);
}

#[tokio::test]
async fn lazy_client_connects_when_the_server_appears() {
    let mut server = OvsdbServer::start(Schema::OvnNorthbound);
    server.kill();
    let client = Client::connect_lazily(fast_reconnect(&server.unix_target()));
    assert!(!client.is_connected());
    server.restart();
    assert!(client.list_dbs().await.unwrap().contains(&NB.to_string()));
}

async fn wait_for_event(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    wanted: impl Fn(&Event) -> bool,
) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("event within 10 s")
            .expect("event channel open");
        if wanted(&event) {
            return;
        }
    }
}
