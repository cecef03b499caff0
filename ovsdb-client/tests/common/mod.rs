//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use ovsdb_client::transaction::Transaction;
use ovsdb_client::{Client, Replica, Row, Tables, Uuid};

/// Every row of `tables` as the server holds them now, without the
/// `_uuid`/`_version` columns a monitor does not carry.
pub async fn server_rows(
    client: &Client,
    database: &str,
    tables: &[&str],
) -> BTreeMap<String, BTreeMap<Uuid, Row>> {
    let mut txn = Transaction::new(database);
    let selects: Vec<usize> = tables.iter().map(|t| txn.select(t, vec![])).collect();
    let outcome = client.transact(&txn).await.expect("select all");
    let mut out = BTreeMap::new();
    for (table, at) in tables.iter().zip(selects) {
        let rows = outcome.rows(at).expect("rows");
        let by_uuid = rows
            .iter()
            .map(|row| {
                let mut row = row.clone();
                let uuid = row.uuid().expect("_uuid");
                row.remove("_uuid");
                row.remove("_version");
                (uuid, row)
            })
            .collect();
        out.insert(table.to_string(), by_uuid);
    }
    out
}

/// The replica's rows in the same shape as [`server_rows`].
pub fn replica_rows(replica: &Replica, tables: &[&str]) -> BTreeMap<String, BTreeMap<Uuid, Row>> {
    replica.read(|t| rows_of(t, tables))
}

fn rows_of(t: &Tables, tables: &[&str]) -> BTreeMap<String, BTreeMap<Uuid, Row>> {
    tables
        .iter()
        .map(|table| {
            let rows = t
                .rows(table)
                .map(|(u, r)| {
                    let mut r = r.clone();
                    r.remove("_version");
                    (u, r)
                })
                .collect();
            (table.to_string(), rows)
        })
        .collect()
}

/// Waits (on change notifications, not polling) until the replica equals
/// the server's current contents.
pub async fn assert_converges(replica: &Replica, client: &Client, database: &str, tables: &[&str]) {
    let expected = server_rows(client, database, tables).await;
    let converged = replica
        .wait_for(
            Duration::from_secs(10),
            "replica to equal the server",
            |t| (rows_of(t, tables) == expected).then_some(()),
        )
        .await;
    if converged.is_err() {
        assert_eq!(
            replica_rows(replica, tables),
            expected,
            "replica did not converge"
        );
    }
}

/// A small deterministic generator, so a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
