//! An asynchronous client for the Open vSwitch Database protocol
//! (RFC 7047), as spoken by `ovsdb-server` for the `Open_vSwitch`,
//! `OVN_Northbound` and `OVN_Southbound` databases.
//!
//! # What it is
//! - One connection per [`Client`], shared by clones, with many requests in
//!   flight, replies matched by id, a deadline on every request, answers to
//!   the server's `echo` and probes of its own, so idle sessions survive.
//! - Every method of RFC 7047 and ovsdb-server(7): `list_dbs`,
//!   `get_schema`, `transact`, `cancel`, `monitor`, `monitor_cond`,
//!   `monitor_cancel`, `lock`, `steal`, `unlock`, `echo`.
//! - A [`transaction::Transaction`] builder with every operation of RFC
//!   7047 section 5.2 and typed per-operation errors
//!   ([`Error::Transaction`] with the failing operation's index).
//! - A [`Replica`]: tables monitored with `monitor_cond`, kept equal to the
//!   server by `update2`, and waited on without polling
//!   ([`Replica::wait_for`]).
//! - Reconnection with backoff: after the server restarts, monitors are
//!   re-sent, replicas rebuilt and locks asked for again; subscribers hear
//!   of it through [`Client::events`].
//! - Hand-written [typed rows](rows) for the tables docker-ovn uses, checked
//!   against the installed schemas by the tests.
//!
//! # What it is not
//! - Not a schema code generator: rows are dynamic ([`Row`]) unless typed
//!   by hand in [`rows`].
//! - No SSL yet: `ssl:` targets are refused, never sent in clear text.
//! - No `monitor_cond_since`/`update3`, no Raft leader tracking across a
//!   cluster's members: point it at one server (or a load-balanced name).
//! - No client-side transaction retry: a transaction that failed with a
//!   connection error may or may not have committed; callers make their
//!   transactions idempotent (`wait` guards, insert-if-absent).
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//! use ovsdb_client::monitor::MonitorRequest;
//! use ovsdb_client::transaction::{Condition, Mutation, Transaction};
//! use ovsdb_client::{Client, Row, Value};
//!
//! # async fn demo() -> ovsdb_client::Result<()> {
//! let nb = Client::connect("unix:/var/run/ovn/ovnnb_db.sock").await?;
//!
//! // Follow every logical switch port.
//! let ports = nb
//!     .replicate("OVN_Northbound", &[MonitorRequest::new("Logical_Switch_Port")])
//!     .await?;
//!
//! // A switch and one port, linked by a named UUID, in one transaction.
//! let mut txn = Transaction::new("OVN_Northbound");
//! let port = txn.insert(
//!     "Logical_Switch_Port",
//!     Row::new()
//!         .with("name", "web")
//!         .with("addresses", Value::set(["02:00:0a:00:00:02 10.0.0.2"])),
//! );
//! txn.insert(
//!     "Logical_Switch",
//!     Row::new().with("name", "blue").with("ports", Value::from(port)),
//! );
//! nb.transact(&txn).await?;
//!
//! // Wait, without polling, until the replica has seen it.
//! ports
//!     .wait_for(Duration::from_secs(5), "port web", |tables| {
//!         // An index lookup: the schema makes `name` unique.
//!         tables.find_by("Logical_Switch_Port", "name", "web")
//!             .map(|(uuid, _)| uuid)
//!     })
//!     .await?;
//! # let _ = (Condition::eq("name", "blue"), Mutation::insert("ports", Value::empty()));
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//! - [`client`]: the handle, its configuration and events.
//! - [`transaction`]: operations, conditions, mutations, results.
//! - [`monitor`]: monitor requests and `update2` decoding.
//! - [`replica`]: the monitor cache, its lookups by unique column, and
//!   waiting on it.
//! - `intern` (private): one shared copy of each string a replica holds.
//! - [`rows`]: typed rows for the `Open_vSwitch` and `OVN_Northbound` tables.
//! - [`schema`]: database schemas and column types.
//! - [`value`]: atoms, sets, maps and rows (RFC 7047 section 5.1).
//! - [`framing`]: the JSON stream codec (no separators, bounded frames).
//! - [`target`]: `unix:` and `tcp:` connection strings.
//! - [`error`]: the crate's error type.

pub mod client;
mod connection;
pub mod error;
pub mod framing;
#[cfg(test)]
mod fuzz;
mod intern;
pub mod monitor;
pub mod replica;
pub mod rows;
pub mod schema;
pub mod target;
pub mod transaction;
pub mod value;

pub use client::{Client, ClientConfig, Event, MonitorEvent, MonitorStream, PendingTransaction};
pub use error::{Error, OperationErrorKind, Result};
pub use replica::{Replica, Tables};
pub use uuid::Uuid;
pub use value::{Atom, Row, Value};
