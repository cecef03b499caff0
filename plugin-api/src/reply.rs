//! The one place where results become HTTP responses.
//!
//! Success: 200 and the JSON reply (dockerd's decoder fails on an empty 200
//! body, so there always is one). Failure: a non-2xx status from the error's
//! kind and `{"Err": message}`. IPAM replies carry the message under `Error`
//! as well: dockerd reads `Err` from non-200 bodies but `Error` from the IPAM
//! reply struct, so sending both is right whichever path a daemon takes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::{ErrorKind, PluginError};

/// The media type dockerd asks for in `Accept`.
const PLUGIN_MEDIA_TYPE: &str = "application/vnd.docker.plugins.v1.2+json";

/// The interface a request path belongs to; decides the error body shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Plugin,
    NetworkDriver,
    IpamDriver,
}

impl Api {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Api::Plugin => "Plugin",
            Api::NetworkDriver => "NetworkDriver",
            Api::IpamDriver => "IpamDriver",
        }
    }

    /// Classifies a path such as `/IpamDriver.RequestPool`.
    pub(crate) fn of_path(path: &str) -> Api {
        let name = path.trim_start_matches('/');
        if name.starts_with("IpamDriver.") {
            Api::IpamDriver
        } else if name.starts_with("NetworkDriver.") {
            Api::NetworkDriver
        } else {
            Api::Plugin
        }
    }
}

/// HTTP status for each error kind.
pub(crate) fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        // 404 is how dockerd recognises an absent optional method.
        ErrorKind::NotFound | ErrorKind::NotImplemented => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A 200 reply.
pub(crate) fn success<T: Serialize>(api: Api, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => with_json(StatusCode::OK, body),
        Err(err) => failure(
            api,
            &PluginError::internal(format!("encoding reply: {err}")),
        ),
    }
}

/// An error reply.
pub(crate) fn failure(api: Api, err: &PluginError) -> Response {
    let body = match api {
        Api::IpamDriver => json!({"Err": err.message(), "Error": err.message()}),
        Api::Plugin | Api::NetworkDriver => json!({"Err": err.message()}),
    };
    with_json(status(err.kind()), body.to_string().into_bytes())
}

fn with_json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PLUGIN_MEDIA_TYPE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::Value;

    async fn body_json(response: Response) -> Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn network_errors_carry_err_only() {
        let response = failure(Api::NetworkDriver, &PluginError::conflict("in use"));
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(body_json(response).await, json!({"Err": "in use"}));
    }

    #[tokio::test]
    async fn ipam_errors_carry_err_and_error() {
        let response = failure(Api::IpamDriver, &PluginError::internal("boom"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body_json(response).await,
            json!({"Err": "boom", "Error": "boom"})
        );
    }

    #[tokio::test]
    async fn success_is_json_with_plugin_media_type() {
        let response = success(Api::Plugin, &crate::wire::Empty {});
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PLUGIN_MEDIA_TYPE);
        assert_eq!(body_json(response).await, json!({}));
    }

    #[test]
    fn every_kind_maps_to_a_failure_status() {
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::NotFound,
            ErrorKind::NotImplemented,
            ErrorKind::MethodNotAllowed,
            ErrorKind::Conflict,
            ErrorKind::PayloadTooLarge,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ] {
            let code = status(kind);
            assert!(
                code.is_client_error() || code.is_server_error(),
                "{kind:?} -> {code}"
            );
        }
        assert_eq!(status(ErrorKind::NotImplemented), StatusCode::NOT_FOUND);
    }

    #[test]
    fn paths_are_classified() {
        assert_eq!(Api::of_path("/IpamDriver.RequestPool"), Api::IpamDriver);
        assert_eq!(Api::of_path("/NetworkDriver.Join"), Api::NetworkDriver);
        assert_eq!(Api::of_path("/Plugin.Activate"), Api::Plugin);
        assert_eq!(Api::of_path("/VolumeDriver.Mount"), Api::Plugin);
    }
}
