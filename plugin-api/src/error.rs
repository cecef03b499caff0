//! The crate's error type and the error a driver method returns.
//!
//! [`Error`] covers what can go wrong inside this crate: decoding a request
//! body and running the socket. [`PluginError`] is what a driver hands back
//! to dockerd; the router turns it into an HTTP status and a JSON body in a
//! single place (`reply.rs`), so drivers never think about HTTP.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can fail inside `plugin-api` itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request body (or an option value) did not decode. `path` names the
    /// offending field, e.g. `IPv4Data[0].Pool`; it is empty for syntax errors.
    #[error("{}", describe_decode(.path, .message))]
    Decode {
        /// Dotted path of the field that failed, empty when unknown.
        path: String,
        /// What was wrong with it.
        message: String,
    },
    /// Something answered on the socket path: starting would steal it.
    #[error("another plugin is listening on {}", .0.display())]
    AlreadyListening(PathBuf),
    /// The socket path exists but is not a socket; we refuse to delete it.
    #[error("{} exists and is not a unix socket; refusing to replace it", .0.display())]
    NotASocket(PathBuf),
    /// A filesystem or socket operation failed.
    #[error("{op} {}: {source}", .path.display())]
    Io {
        /// What we were doing, e.g. "binding".
        op: &'static str,
        /// The file it was done to.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
}

fn describe_decode(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("field `{path}`: {message}")
    }
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Prefixes the path of a decode error with one more segment, as the
    /// error bubbles up out of nested objects (`key`) or arrays (`[3]`).
    pub(crate) fn within(self, segment: &str) -> Self {
        match self {
            Error::Decode { path, message } => {
                let path = match path.chars().next() {
                    None => segment.to_owned(),
                    Some('[') => format!("{segment}{path}"),
                    Some(_) => format!("{segment}.{path}"),
                };
                Error::Decode { path, message }
            }
            other => other,
        }
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Decode {
            path: String::new(),
            message: msg.to_string(),
        }
    }
}

/// What kind of failure a [`PluginError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or asks for something invalid (400).
    BadRequest,
    /// The named network, endpoint, pool or address does not exist (404).
    ///
    /// dockerd treats a 404 from Program/RevokeExternalConnectivity as
    /// success, so only use it there when that is what you mean.
    NotFound,
    /// The method is optional and this plugin does not implement it (404,
    /// which is how dockerd recognises an unimplemented optional method).
    NotImplemented,
    /// Only POST is spoken (405).
    MethodNotAllowed,
    /// The request conflicts with existing state, e.g. an address in use (409).
    Conflict,
    /// The body exceeds the configured limit (413).
    PayloadTooLarge,
    /// A dependency is down or the deadline passed; retrying may work (503).
    Unavailable,
    /// A bug or an unexpected failure (500).
    Internal,
}

impl ErrorKind {
    /// `bad_request`, `not_found`, ...: for metrics labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::NotFound => "not_found",
            ErrorKind::NotImplemented => "not_implemented",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

/// The error a driver method returns: a kind and a message for dockerd.
///
/// dockerd shows the message to the user as `NetworkDriver.<Method>: <message>`,
/// so write it for a person and do not repeat the method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PluginError {
    kind: ErrorKind,
    message: String,
}

/// Result of a driver method.
pub type PluginResult<T> = Result<T, PluginError>;

impl PluginError {
    /// An error of any kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            kind,
            message: message.into(),
        }
    }

    /// [`ErrorKind::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// [`ErrorKind::NotImplemented`].
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotImplemented, message)
    }

    /// [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// A refusal of a call whose body dockerd lost: its plugin client
    /// retries a call whose connection broke with the body already
    /// consumed (moby/moby#39331). `call` names it, e.g.
    /// `NetworkDriver.Join`.
    pub fn lost_body(call: impl std::fmt::Display) -> Self {
        Self::bad_request(format!(
            "{call} request without a body: dockerd retries a call whose connection \
             broke without its body (moby/moby#39331); nothing was changed"
        ))
    }

    /// The kind, which decides the HTTP status.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message sent to dockerd.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A decode failure is the caller's fault; anything else is ours.
impl From<Error> for PluginError {
    fn from(err: Error) -> Self {
        match err {
            Error::Decode { .. } => PluginError::bad_request(err.to_string()),
            other => PluginError::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::Error as _;

    #[test]
    fn decode_path_grows_outwards() {
        let err = Error::custom("expected a string")
            .within("Pool")
            .within("[0]")
            .within("IPv4Data");
        assert_eq!(
            err.to_string(),
            "field `IPv4Data[0].Pool`: expected a string"
        );
    }

    #[test]
    fn decode_error_without_path_is_just_the_message() {
        assert_eq!(Error::custom("EOF").to_string(), "EOF");
    }

    #[test]
    fn decode_errors_become_bad_requests() {
        let err = PluginError::from(Error::custom("nope").within("NetworkID"));
        assert_eq!(err.kind(), ErrorKind::BadRequest);
        assert_eq!(err.message(), "field `NetworkID`: nope");
    }

    #[test]
    fn socket_errors_become_internal() {
        let err = PluginError::from(Error::NotASocket("/tmp/x".into()));
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.message().contains("/tmp/x"), "{}", err.message());
    }
}
