//! Reading a request body with a size limit, and discarding what a
//! refused call leaves unread.
//!
//! Done by hand rather than with axum's `Bytes` extractor or tower-http's
//! limit layer so that a refusal is a 413 with the JSON error body dockerd
//! can show, like every other failure.
//!
//! Why discard: a call refused before its body is read (a 413 on the
//! declared length, or on crossing the limit; a 503 at the deadline; an
//! unknown method) is answered while the client may still be writing.
//! If the connection then closed with the rest unread, the kernel would
//! reset it (`ECONNRESET`, or `EPIPE` on the client's next write), and a
//! client that writes its whole request before reading, or that gives up
//! on a failed write, would never see the answer. So the answer goes out
//! at once, and the rest of the body is read and thrown away in a task of
//! its own, which keeps the connection open until the client has sent
//! everything. This is bounded, so a client cannot keep a connection busy
//! forever: at most [`discard_limit`] bytes, and for at most the call's
//! deadline. Past either (or when the declared length alone is past the
//! byte bound) the rest is left unread and the connection is closed: a
//! client that reads while it writes, as Go's net/http does for dockerd,
//! still gets the answer; one that only reads after writing may see a
//! reset instead.

use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::{ErrorKind, PluginError, PluginResult};

/// The byte bound of discarding is this many times the body limit...
const DISCARD_FACTOR: usize = 16;
/// ...but at least this, so a small configured limit does not make
/// resets of modest bodies likely.
const MIN_DISCARD: usize = 16 << 20;

/// A request's body, read under a limit; what a call leaves unread is
/// discarded in the background (see the module doc).
pub(crate) struct RequestBody {
    body: Body,
    declared: Option<u64>,
    /// Read to its end, or broken: nothing is left to discard.
    done: bool,
}

impl RequestBody {
    pub(crate) fn new(request: Request) -> Self {
        RequestBody {
            declared: declared_length(&request),
            body: request.into_body(),
            done: false,
        }
    }

    /// Collects the body, refusing anything over `limit` bytes. A declared
    /// `Content-Length` over the limit is refused before reading a byte.
    pub(crate) async fn read_limited(&mut self, limit: usize) -> PluginResult<Bytes> {
        if self.declared.is_some_and(|len| len > limit as u64) {
            return Err(too_large(limit));
        }
        match Limited::new(&mut self.body, limit).collect().await {
            Ok(collected) => {
                self.done = true;
                Ok(collected.to_bytes())
            }
            Err(err) if err.is::<LengthLimitError>() => Err(too_large(limit)),
            Err(err) => {
                self.done = true;
                Err(PluginError::bad_request(format!(
                    "reading the request body: {err}"
                )))
            }
        }
    }

    /// Reads and drops the rest of the body, if any, in a task of its own:
    /// at most [`discard_limit`]`(limit)` bytes, for at most `within`.
    /// Needs a tokio runtime.
    pub(crate) fn discard_rest(self, limit: usize, within: Duration) {
        if self.done || self.body.is_end_stream() {
            return;
        }
        let bound = discard_limit(limit);
        if self.declared.is_some_and(|len| len > bound as u64) {
            tracing::debug!(
                declared = self.declared,
                bound,
                "not reading the rest of a request body past the discard limit"
            );
            return;
        }
        tokio::spawn(async move {
            let discarded = tokio::time::timeout(within, discard(self.body, bound)).await;
            if !matches!(discarded, Ok(Discarded::All)) {
                tracing::debug!(bound, "gave up discarding the rest of a request body");
            }
        });
    }
}

/// How many bytes of a refused body are read and dropped, at most.
pub(crate) fn discard_limit(limit: usize) -> usize {
    limit.saturating_mul(DISCARD_FACTOR).max(MIN_DISCARD)
}

#[derive(Debug, PartialEq, Eq)]
enum Discarded {
    /// Up to the end of the body (or until the client went away).
    All,
    /// Stopped at the bound.
    Bounded,
}

async fn discard(mut body: Body, bound: usize) -> Discarded {
    let mut read = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        read = read.saturating_add(frame.data_ref().map_or(0, |data| data.len()));
        if read > bound {
            return Discarded::Bounded;
        }
    }
    Discarded::All
}

fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large(limit: usize) -> PluginError {
    PluginError::new(
        ErrorKind::PayloadTooLarge,
        format!("request body exceeds the limit of {limit} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(body: Body, content_length: Option<usize>) -> Request {
        let mut builder = Request::builder().method("POST").uri("/x");
        if let Some(len) = content_length {
            builder = builder.header(header::CONTENT_LENGTH, len);
        }
        builder.body(body).unwrap()
    }

    async fn read_limited(request: Request, limit: usize) -> PluginResult<Bytes> {
        RequestBody::new(request).read_limited(limit).await
    }

    #[tokio::test]
    async fn small_bodies_are_read_whole() {
        let bytes = read_limited(request(Body::from("{}"), Some(2)), 10)
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"{}");
        let bytes = read_limited(request(Body::empty(), None), 10)
            .await
            .unwrap();
        assert!(bytes.is_empty());
    }

    #[tokio::test]
    async fn declared_oversize_is_refused_unread() {
        let err = read_limited(request(Body::from("x"), Some(11)), 10)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
    }

    #[tokio::test]
    async fn undeclared_oversize_is_refused_while_reading() {
        let err = read_limited(request(Body::from(vec![b'a'; 12]), None), 10)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
        assert!(err.message().contains("10 bytes"), "{}", err.message());
    }

    #[tokio::test]
    async fn discarding_stops_at_the_end_or_the_bound() {
        let body = || Body::from(vec![b'a'; 100]);
        assert_eq!(discard(body(), 100).await, Discarded::All);
        assert_eq!(discard(body(), 99).await, Discarded::Bounded);
    }

    #[test]
    fn the_discard_limit_is_a_multiple_of_the_limit_with_a_floor() {
        assert_eq!(discard_limit(crate::DEFAULT_BODY_LIMIT), 16 << 20);
        assert_eq!(discard_limit(16), 16 << 20);
        assert_eq!(discard_limit(4 << 20), 64 << 20);
        assert_eq!(discard_limit(usize::MAX), usize::MAX);
    }
}
