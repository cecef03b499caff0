//! Every method and transaction operation against a real ovsdb-server.
//! Needs `ovsdb-server` (Debian: openvswitch-common) and the OVN NB schema
//! (ovn-common); fails, never skips, without them.

use std::time::Duration;

use ovsdb_client::transaction::{Condition, Mutation, Mutator, Transaction, WaitUntil};
use ovsdb_client::{Client, ClientConfig, Error, Event, OperationErrorKind, Row, Value};
use serde_json::json;
use test_support::{OvsdbServer, Schema};

const NB: &str = "OVN_Northbound";

async fn nb() -> (OvsdbServer, Client) {
    let server = OvsdbServer::start(Schema::OvnNorthbound);
    let client = Client::connect(&server.unix_target())
        .await
        .expect("connect");
    (server, client)
}

/// Inserts a logical switch with the given ports; returns its UUID.
async fn add_switch(client: &Client, name: &str, ports: &[&str]) -> ovsdb_client::Uuid {
    let mut txn = Transaction::new(NB);
    let refs: Vec<_> = ports
        .iter()
        .map(|p| txn.insert("Logical_Switch_Port", Row::new().with("name", *p)))
        .collect();
    let ls = txn.insert(
        "Logical_Switch",
        Row::new()
            .with("name", name)
            .with("ports", Value::set(refs)),
    );
    let outcome = client.transact(&txn).await.expect("insert switch");
    outcome.uuid_of(&ls).expect("switch uuid")
}

#[tokio::test]
async fn list_dbs_get_schema_and_echo() {
    let (_server, client) = nb().await;
    let dbs = client.list_dbs().await.unwrap();
    assert!(dbs.contains(&NB.to_string()), "{dbs:?}");
    let schema = client.get_schema(NB).await.unwrap();
    assert_eq!(schema.name, NB);
    assert!(
        schema
            .column_type("Logical_Switch_Port", "addresses")
            .is_ok()
    );
    assert_eq!(client.echo(json!(["x", 1])).await.unwrap(), json!(["x", 1]));
    let err = client.get_schema("NoSuchDb").await.unwrap_err();
    assert!(
        matches!(&err, Error::Rpc { method, .. } if method == "get_schema"),
        "{err}"
    );
}

#[tokio::test]
async fn insert_select_update_mutate_delete() {
    let (_server, client) = nb().await;
    let ls = add_switch(&client, "blue", &["p1", "p2"]).await;

    let mut txn = Transaction::new(NB);
    let select = txn.select_columns(
        "Logical_Switch",
        vec![Condition::uuid(ls)],
        &["name", "ports"],
    );
    let outcome = client.transact(&txn).await.unwrap();
    let rows = outcome.rows(select).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get_str("name"), Some("blue"));
    assert_eq!(rows[0].get("ports").unwrap().len(), 2);

    let mut txn = Transaction::new(NB);
    let update = txn.update(
        "Logical_Switch_Port",
        vec![Condition::eq("name", "p1")],
        Row::new()
            .with("addresses", Value::set(["02:00:00:00:00:01 10.0.0.2"]))
            .with("external_ids", Value::map([("docker-ovn:owner", "test")])),
    );
    let mutate = txn.mutate(
        "Logical_Switch_Port",
        vec![Condition::eq("name", "p1")],
        vec![
            Mutation::insert("external_ids", Value::map([("k", "v")])),
            Mutation::insert("tag_request", 7i64),
        ],
    );
    let delete_p2_ref = txn.mutate(
        "Logical_Switch",
        vec![Condition::uuid(ls)],
        vec![Mutation::delete(
            "ports",
            Value::set(port_uuids(&client, &["p2"]).await),
        )],
    );
    let outcome = client.transact(&txn).await.unwrap();
    assert_eq!(outcome.count(update), Some(1));
    assert_eq!(outcome.count(mutate), Some(1));
    assert_eq!(outcome.count(delete_p2_ref), Some(1));

    let row = select_one(&client, "Logical_Switch_Port", "p1").await;
    assert_eq!(row.map_str("external_ids", "k"), Some("v"));
    assert_eq!(
        row.map_str("external_ids", "docker-ovn:owner"),
        Some("test")
    );
    assert_eq!(row.get("tag_request"), Some(&Value::from(7i64)));
    // p2 lost its only reference: the server collected it (non-root table).
    assert!(port_uuids(&client, &["p2"]).await.is_empty());

    let mut txn = Transaction::new(NB);
    let deleted = txn.delete("Logical_Switch", vec![Condition::eq("name", "blue")]);
    txn.comment("test: delete blue");
    let outcome = client.transact(&txn).await.unwrap();
    assert_eq!(outcome.count(deleted), Some(1));
    assert!(port_uuids(&client, &["p1"]).await.is_empty());
}

#[tokio::test]
async fn integer_mutators() {
    let (_server, client) = nb().await;
    let ls = add_switch(&client, "m", &["p"]).await;
    let cases = [
        (Mutator::Add, 10, 10),
        (Mutator::Multiply, 3, 30),
        (Mutator::Subtract, 2, 28),
        (Mutator::Divide, 4, 7),
        (Mutator::Modulo, 4, 3),
    ];
    for (mutator, operand, expected) in cases {
        let mut txn = Transaction::new(NB);
        txn.mutate(
            "Logical_Switch_Port",
            vec![Condition::eq("name", "p")],
            vec![Mutation::new("tag_request", mutator, operand as i64)],
        );
        if mutator == Mutator::Add {
            // tag_request is optional: give it a value before arithmetic.
            txn = Transaction::new(NB);
            txn.update(
                "Logical_Switch_Port",
                vec![Condition::eq("name", "p")],
                Row::new().with("tag_request", operand as i64),
            );
        }
        client.transact(&txn).await.unwrap();
        let row = select_one(&client, "Logical_Switch_Port", "p").await;
        assert_eq!(
            row.get("tag_request"),
            Some(&Value::from(expected as i64)),
            "{mutator:?}"
        );
    }
    let _ = ls;
}

#[tokio::test]
async fn failing_wait_returns_timed_out_and_applies_nothing() {
    let (_server, client) = nb().await;
    add_switch(&client, "w", &[]).await;
    let mut txn = Transaction::new(NB);
    txn.wait(
        "Logical_Switch",
        vec![Condition::eq("name", "w")],
        &["name"],
        WaitUntil::Equal,
        vec![Row::new().with("name", "something else")],
        Some(Duration::ZERO),
    );
    txn.insert("Logical_Switch", Row::new().with("name", "must-not-exist"));
    assert_rejected(
        &client,
        &txn,
        (Some(0), OperationErrorKind::TimedOut),
        "must-not-exist",
    )
    .await;

    // The matching wait passes and the insert happens.
    let mut txn = Transaction::new(NB);
    txn.wait(
        "Logical_Switch",
        vec![Condition::eq("name", "w")],
        &["name"],
        WaitUntil::Equal,
        vec![Row::new().with("name", "w")],
        Some(Duration::ZERO),
    );
    txn.insert("Logical_Switch", Row::new().with("name", "now-exists"));
    client.transact(&txn).await.unwrap();
    assert_eq!(
        select_all(&client, "Logical_Switch", "now-exists")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn blocked_wait_can_be_cancelled() {
    let (_server, client) = nb().await;
    let mut txn = Transaction::new(NB);
    txn.wait(
        "Logical_Switch",
        vec![Condition::eq("name", "never")],
        &["name"],
        WaitUntil::NotEqual,
        vec![],
        Some(Duration::from_secs(60)),
    );
    txn.insert("Logical_Switch", Row::new().with("name", "after-wait"));
    let pending = client.start_transaction(txn).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.cancel(pending.id()).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), pending.outcome())
        .await
        .expect("cancel must end the wait")
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rpc { error, .. } if error == "canceled"),
        "{err}"
    );
    // Satisfy the wait now: a cancelled transaction must not run after all.
    add_switch(&client, "never", &[]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        select_all(&client, "Logical_Switch", "after-wait")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn constraint_and_referential_integrity_violations_are_typed() {
    let (_server, client) = nb().await;
    add_switch(&client, "dup", &[]).await;
    // Logical_Switch_Port.name is indexed: a second port named p fails.
    add_switch(&client, "a", &["p"]).await;
    let mut txn = Transaction::new(NB);
    let port = txn.insert("Logical_Switch_Port", Row::new().with("name", "p"));
    txn.mutate(
        "Logical_Switch",
        vec![Condition::eq("name", "dup")],
        vec![Mutation::insert("ports", Value::from(port))],
    );
    let err = client.transact(&txn).await.unwrap_err();
    assert_eq!(
        err.transaction_failure(),
        Some((None, &OperationErrorKind::ConstraintViolation)),
        "{err}"
    );
    assert!(
        matches!(&err, Error::Transaction { details: Some(d), .. } if d.contains("Logical_Switch_Port")),
        "{err}"
    );

    let mut txn = Transaction::new(NB);
    txn.insert(
        "Logical_Switch",
        Row::new()
            .with("name", "dangling")
            .with("ports", Value::from(ovsdb_client::Uuid::from_u128(12345))),
    );
    let err = client.transact(&txn).await.unwrap_err();
    assert_eq!(
        err.transaction_failure().map(|(_, kind)| kind),
        Some(&OperationErrorKind::ReferentialIntegrityViolation),
        "{err}"
    );
}

#[tokio::test]
async fn abort_and_explicit_commit() {
    let (_server, client) = nb().await;
    let mut txn = Transaction::new(NB);
    txn.insert("Logical_Switch", Row::new().with("name", "aborted"));
    txn.abort();
    assert_rejected(
        &client,
        &txn,
        (Some(1), OperationErrorKind::Aborted),
        "aborted",
    )
    .await;

    let mut txn = Transaction::new(NB);
    txn.insert("Logical_Switch", Row::new().with("name", "durable"));
    txn.commit(true);
    client.transact(&txn).await.unwrap();
    assert_eq!(
        select_all(&client, "Logical_Switch", "durable").await.len(),
        1
    );
}

#[tokio::test]
async fn locks_assert_and_steal() {
    let (server, first) = nb().await;
    let second = Client::connect(&server.unix_target()).await.unwrap();
    let mut second_events = second.events();
    let mut first_events = first.events();

    assert!(first.lock("driver").await.unwrap());
    assert!(!second.lock("driver").await.unwrap());

    let mut txn = Transaction::new(NB);
    txn.assert_lock("driver");
    txn.comment("holder");
    first.transact(&txn).await.unwrap();
    let err = second.transact(&txn).await.unwrap_err();
    assert_eq!(
        err.transaction_failure().map(|(_, kind)| kind),
        Some(&OperationErrorKind::NotOwner),
        "{err}"
    );

    first.unlock("driver").await.unwrap();
    assert_eq!(
        next_lock_event(&mut second_events).await,
        Event::Locked("driver".into())
    );

    assert!(first.steal("driver").await.unwrap());
    assert_eq!(
        next_lock_event(&mut second_events).await,
        Event::Stolen("driver".into())
    );
    second.transact(&txn).await.unwrap_err();
    first.transact(&txn).await.unwrap();
    drop(first_events.try_recv());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_on_one_connection() {
    let (_server, client) = nb().await;
    let mut tasks = Vec::new();
    for i in 0..1000u32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            if i % 4 == 0 {
                let mut txn = Transaction::new(NB);
                txn.insert("Address_Set", Row::new().with("name", format!("as{i}")));
                client.transact(&txn).await.map(|_| json!(i))
            } else {
                client.echo(json!([i])).await.map(|v| v[0].clone())
            }
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), json!(i));
    }
    let mut txn = Transaction::new(NB);
    let all = txn.select("Address_Set", vec![]);
    assert_eq!(
        client
            .transact(&txn)
            .await
            .unwrap()
            .rows(all)
            .unwrap()
            .len(),
        250
    );
}

#[tokio::test]
async fn requests_fail_within_their_deadline_when_the_server_is_gone() {
    let (mut server, _) = nb().await;
    let config = ClientConfig::new(&server.unix_target())
        .unwrap()
        .request_timeout(Duration::from_millis(500));
    let client = Client::connect_with(config).await.unwrap();
    server.kill();
    let started = std::time::Instant::now();
    let err = client.list_dbs().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_connection_error(), "{err}");
    assert!(err.to_string().contains(&server.unix_target()), "{err}");
}

async fn next_lock_event(events: &mut tokio::sync::broadcast::Receiver<Event>) -> Event {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("lock event within 5 s")
            .unwrap();
        if matches!(event, Event::Locked(_) | Event::Stolen(_)) {
            return event;
        }
    }
}

/// Runs `txn`, which must fail at `failure`, and checks that the switch
/// it would have inserted, `absent`, does not exist: nothing was applied.
async fn assert_rejected(
    client: &Client,
    txn: &Transaction,
    failure: (Option<usize>, OperationErrorKind),
    absent: &str,
) {
    let err = client.transact(txn).await.unwrap_err();
    assert_eq!(
        err.transaction_failure(),
        Some((failure.0, &failure.1)),
        "{err}"
    );
    assert!(
        select_all(client, "Logical_Switch", absent)
            .await
            .is_empty(),
        "{absent} exists"
    );
}

async fn select_all(client: &Client, table: &str, name: &str) -> Vec<Row> {
    let mut txn = Transaction::new(NB);
    let at = txn.select(table, vec![Condition::eq("name", name)]);
    client
        .transact(&txn)
        .await
        .unwrap()
        .rows(at)
        .unwrap()
        .to_vec()
}

async fn select_one(client: &Client, table: &str, name: &str) -> Row {
    let mut rows = select_all(client, table, name).await;
    assert_eq!(rows.len(), 1, "{table} {name}");
    rows.remove(0)
}

async fn port_uuids(client: &Client, names: &[&str]) -> Vec<ovsdb_client::Uuid> {
    let mut out = Vec::new();
    for name in names {
        out.extend(
            select_all(client, "Logical_Switch_Port", name)
                .await
                .iter()
                .filter_map(Row::uuid),
        );
    }
    out
}
