//! placeholder crate doc, rewritten at the end
pub mod client;
mod connection;
pub mod error;
pub mod framing;
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
