//! The crate's one error type.

use std::time::Duration;

use serde_json::Value as Json;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to an ovsdb-server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection string is not `unix:PATH` or `tcp:HOST:PORT`.
    #[error("bad OVSDB connection string {target:?}: {reason}")]
    BadTarget { target: String, reason: String },

    /// Connecting or talking to the server failed at the socket level.
    #[error("OVSDB server {target} unreachable: {source}")]
    Io {
        target: String,
        #[source]
        source: std::io::Error,
    },

    /// The connection dropped while the request was in flight: it may or
    /// may not have been applied.
    #[error("connection to OVSDB server {target} lost while {method} was in flight")]
    Disconnected { target: String, method: String },

    /// No reply within the deadline (this includes waiting to reconnect).
    #[error("OVSDB server {target} gave no reply to {method} within {timeout:?}")]
    Timeout {
        target: String,
        method: String,
        timeout: Duration,
    },

    /// The server could not be reached for the whole deadline.
    #[error("OVSDB server {target} unreachable, {method} not sent: {reason}")]
    Unavailable {
        target: String,
        method: String,
        reason: String,
    },

    /// The client was shut down.
    #[error("OVSDB client for {target} is closed")]
    Closed { target: String },

    /// A socket error below the framing layer (the client reports it as
    /// [`Error::Io`] with the server's name).
    #[error("OVSDB stream I/O error: {0}")]
    Stream(#[from] std::io::Error),

    /// A message larger than the configured maximum frame size.
    #[error("OVSDB message exceeds the {limit}-byte frame limit")]
    FrameTooLarge { limit: usize },

    /// Bytes on the wire that are not a JSON-RPC message.
    #[error("malformed OVSDB message: {0}")]
    Protocol(String),

    /// A JSON document that does not have the OVSDB shape expected.
    #[error("cannot decode OVSDB data: {0}")]
    Decode(String),

    /// The server answered the request with a JSON-RPC error.
    #[error("OVSDB {method} failed: {error}{}", details_suffix(.details))]
    Rpc {
        method: String,
        error: String,
        details: Option<String>,
    },

    /// One operation of a transaction failed, or the commit did.
    #[error("OVSDB transaction on {database} failed at {}: {kind}{}", operation_label(.operation), details_suffix(.details))]
    Transaction {
        database: String,
        /// Index of the failing operation; `None` when the commit failed.
        operation: Option<usize>,
        kind: OperationErrorKind,
        details: Option<String>,
    },

    /// A typed row could not be built from a row of the server.
    #[error("{table} row {uuid}: column {column}: {reason}")]
    TypedRow {
        table: &'static str,
        uuid: String,
        column: &'static str,
        reason: String,
    },

    /// A table or column not in the server's schema.
    #[error("schema of {database} has no {what}")]
    Schema { database: String, what: String },
}

impl Error {
    pub(crate) fn decode(reason: impl Into<String>) -> Error {
        Error::Decode(reason.into())
    }

    /// For a failed transaction: the failing operation's index (`None`
    /// for the commit) and the error.
    pub fn transaction_failure(&self) -> Option<(Option<usize>, &OperationErrorKind)> {
        match self {
            Error::Transaction {
                operation, kind, ..
            } => Some((*operation, kind)),
            _ => None,
        }
    }

    /// Whether operation `index` of a transaction failed with `timed out`:
    /// how a `wait` used as an optimistic check reports a mismatch.
    pub fn is_timed_out_at(&self, index: usize) -> bool {
        self.transaction_failure() == Some((Some(index), &OperationErrorKind::TimedOut))
    }

    /// Whether the failure is the connection's rather than the request's:
    /// the same request may succeed once the server is back. (After
    /// `Disconnected` or `Timeout` it may also have been applied already.)
    pub fn is_connection_error(&self) -> bool {
        matches!(
            self,
            Error::Io { .. }
                | Error::Disconnected { .. }
                | Error::Timeout { .. }
                | Error::Unavailable { .. }
        )
    }
}

fn details_suffix(details: &Option<String>) -> String {
    details
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}

fn operation_label(operation: &Option<usize>) -> String {
    match operation {
        Some(index) => format!("operation {index}"),
        None => "commit".to_string(),
    }
}

/// The `error` strings of RFC 7047 section 5.2 (and the ones ovsdb-server
/// adds), typed so callers can match on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationErrorKind {
    ConstraintViolation,
    ReferentialIntegrityViolation,
    ResourcesExhausted,
    IoError,
    DuplicateUuidName,
    DomainError,
    RangeError,
    TimedOut,
    NotSupported,
    Aborted,
    NotOwner,
    SyntaxError,
    UnknownColumn,
    UnknownTable,
    Canceled,
    /// Any other error string the server sent.
    Other(String),
}

impl OperationErrorKind {
    pub fn from_error_string(error: &str) -> OperationErrorKind {
        match error {
            "constraint violation" => Self::ConstraintViolation,
            "referential integrity violation" => Self::ReferentialIntegrityViolation,
            "resources exhausted" => Self::ResourcesExhausted,
            "I/O error" => Self::IoError,
            "duplicate uuid-name" => Self::DuplicateUuidName,
            "domain error" => Self::DomainError,
            "range error" => Self::RangeError,
            "timed out" => Self::TimedOut,
            "not supported" => Self::NotSupported,
            "aborted" => Self::Aborted,
            "not owner" => Self::NotOwner,
            "syntax error" => Self::SyntaxError,
            "unknown column" => Self::UnknownColumn,
            "unknown table" => Self::UnknownTable,
            "canceled" => Self::Canceled,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::ConstraintViolation => "constraint violation",
            Self::ReferentialIntegrityViolation => "referential integrity violation",
            Self::ResourcesExhausted => "resources exhausted",
            Self::IoError => "I/O error",
            Self::DuplicateUuidName => "duplicate uuid-name",
            Self::DomainError => "domain error",
            Self::RangeError => "range error",
            Self::TimedOut => "timed out",
            Self::NotSupported => "not supported",
            Self::Aborted => "aborted",
            Self::NotOwner => "not owner",
            Self::SyntaxError => "syntax error",
            Self::UnknownColumn => "unknown column",
            Self::UnknownTable => "unknown table",
            Self::Canceled => "canceled",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for OperationErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads `{"error": "...", "details": "..."}` objects.
pub(crate) fn error_object(json: &Json) -> Option<(String, Option<String>)> {
    let error = json.get("error")?;
    if error.is_null() {
        return None;
    }
    let text = error
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| error.to_string());
    let details = json
        .get("details")
        .and_then(Json::as_str)
        .map(str::to_string);
    Some((text, details))
}
