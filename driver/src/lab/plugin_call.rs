//! One call to a driver over its plugin socket, as dockerd makes it:
//! `POST /<method>` in HTTP/1.0 (the driver closes the connection after
//! the reply), no Content-Type, a JSON body; the reply's status and JSON.
//! The lab uses it to be dockerd on the hosts that have none.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// dockerd's patience with a plugin.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Calls `method` (e.g. `IpamDriver.RequestPool`) and decodes its reply;
/// a status other than 200 is an error carrying the driver's message.
pub fn call<T: DeserializeOwned>(socket: &Path, method: &str, body: &Value) -> anyhow::Result<T> {
    let what = || format!("{method} on {}", socket.display());
    let raw = exchange(socket, method, body.to_string().as_bytes()).with_context(what)?;
    let (status, reply) = split_reply(&raw).with_context(what)?;
    if status != 200 {
        bail!("{}: {status} {}", what(), driver_error(&reply));
    }
    serde_json::from_value(reply).with_context(|| format!("the reply of {}", what()))
}

fn exchange(socket: &Path, method: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut request = format!(
        "POST /{method} HTTP/1.0\r\nHost: plugin\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    Ok(raw)
}

/// `HTTP/1.x STATUS ...\r\n<headers>\r\n\r\n<JSON>` → (status, JSON).
fn split_reply(raw: &[u8]) -> anyhow::Result<(u16, Value)> {
    let text = std::str::from_utf8(raw).context("the reply is not UTF-8")?;
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("no complete HTTP reply: {text:?}");
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    let json = serde_json::from_str(body).with_context(|| format!("not JSON: {body:?}"))?;
    Ok((status, json))
}

/// The message of an error reply: `Err` (NetworkDriver) or `Error` (IPAM).
fn driver_error(reply: &Value) -> String {
    ["Err", "Error"]
        .iter()
        .find_map(|key| reply.get(key).and_then(Value::as_str))
        .map_or_else(|| reply.to_string(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_split_into_status_and_json() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n{\"PoolID\":1}";
        let (status, json) = split_reply(raw).expect("a reply");
        assert_eq!((status, json), (200, json!({"PoolID": 1})));
        assert!(split_reply(b"HTTP/1.0 200 OK\r\n").is_err());
        assert!(split_reply(b"HTTP/1.0 200 OK\r\n\r\nnot json").is_err());
    }

    #[test]
    fn error_replies_name_the_driver_s_message() {
        assert_eq!(
            driver_error(&json!({"Err": "no such network"})),
            "no such network"
        );
        assert_eq!(driver_error(&json!({"Error": "pool busy"})), "pool busy");
        assert_eq!(driver_error(&json!({"x": 1})), "{\"x\":1}");
    }

    #[test]
    fn a_call_to_a_missing_socket_names_the_method_and_socket() {
        let error = call::<Value>(
            Path::new("/nonexistent/ovn.sock"),
            "Plugin.Activate",
            &json!({}),
        )
        .expect_err("no socket");
        assert!(format!("{error:#}").contains("Plugin.Activate on /nonexistent/ovn.sock"));
    }
}
