//! Reading a request body with a size limit.
//!
//! Done by hand rather than with axum's `Bytes` extractor or tower-http's
//! limit layer so that a refusal is a 413 with the JSON error body dockerd
//! can show, like every other failure.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::error::{ErrorKind, PluginError, PluginResult};

/// Collects the body, refusing anything over `limit` bytes. A declared
/// `Content-Length` over the limit is refused before reading a byte.
pub(crate) async fn read_limited(request: Request, limit: usize) -> PluginResult<Bytes> {
    if declared_length(&request).is_some_and(|len| len > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(too_large(limit)),
        Err(err) => Err(PluginError::bad_request(format!(
            "reading the request body: {err}"
        ))),
    }
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
}
