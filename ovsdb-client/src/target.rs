//! OVS connection strings (`unix:PATH`, `tcp:HOST:PORT`) and the streams
//! they open.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::error::{Error, Result};

/// Where an ovsdb-server listens, in the syntax of `ovsdb-client(1)`.
///
/// SSL (`ssl:HOST:PORT`) is not supported yet and is refused with a clear
/// error rather than silently sent in clear text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl Target {
    /// Parses `unix:PATH` or `tcp:HOST:PORT` (IPv6 hosts in brackets).
    pub fn parse(text: &str) -> Result<Target> {
        let bad = |reason: &str| Error::BadTarget {
            target: text.to_string(),
            reason: reason.to_string(),
        };
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("empty socket path"));
            }
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = text.strip_prefix("tcp:") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| bad("expected tcp:HOST:PORT"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(bad("empty host"));
            }
            let port = port.parse().map_err(|_| bad("port is not a number"))?;
            return Ok(Target::Tcp {
                host: host.to_string(),
                port,
            });
        }
        if text.starts_with("ssl:") {
            return Err(bad("ssl: connections are not supported yet"));
        }
        Err(bad("expected unix:PATH or tcp:HOST:PORT"))
    }

    /// Opens a stream to the server.
    pub async fn connect(&self) -> Result<Stream> {
        let io = |source| Error::Io {
            target: self.to_string(),
            source,
        };
        match self {
            Target::Unix(path) => UnixStream::connect(path)
                .await
                .map(Stream::Unix)
                .map_err(io),
            Target::Tcp { host, port } => {
                let stream = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(io)?;
                // Small requests should leave at once, not wait for Nagle.
                stream.set_nodelay(true).map_err(io)?;
                Ok(Stream::Tcp(stream))
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
            Target::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Target::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = Error;
    fn from_str(s: &str) -> Result<Target> {
        Target::parse(s)
    }
}

/// A connected byte stream of either kind.
#[derive(Debug)]
pub enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ovs_syntax() {
        assert_eq!(
            Target::parse("unix:/run/openvswitch/db.sock").unwrap(),
            Target::Unix("/run/openvswitch/db.sock".into())
        );
        assert_eq!(
            Target::parse("tcp:127.0.0.1:6641").unwrap(),
            Target::Tcp {
                host: "127.0.0.1".into(),
                port: 6641
            }
        );
        let v6 = Target::parse("tcp:[::1]:6641").unwrap();
        assert_eq!(v6.to_string(), "tcp:[::1]:6641");
        for bad in [
            "",
            "unix:",
            "tcp:1.2.3.4",
            "tcp::1",
            "ssl:1.2.3.4:6641",
            "db.sock",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
