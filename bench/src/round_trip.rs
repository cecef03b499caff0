//! What one plugin call costs with no work behind it: a round trip over
//! a unix socket, back to back and after the client and the server have
//! slept. Every plugin call pays it, and each OVSDB transaction inside a
//! call pays its like again; how much more it costs after a sleep
//! (processes woken rather than running) is what a lifecycle spread
//! over waiting daemons pays on top.
//!
//! Measured twice with the benchmark's own plugin client: against a bare
//! echo server in a process of its own (the machine's part: a kernel
//! round trip and two processes woken), and against docker-ovn's
//! `Plugin.Activate` (its HTTP stack's part on top).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use test_support::PluginClient;

use crate::stats::Samples;

/// Round trips timed in each way.
const BACK_TO_BACK: usize = 100;
const AFTER_SLEEP: usize = 50;
/// The pause before each round trip of the second kind: long enough for
/// the processes to sleep, as between a lifecycle's calls on daemons
/// that wait for ovsdb-server or ovn-controller.
pub const SLEEP: Duration = Duration::from_millis(20);

/// Round trips back to back and after [`SLEEP`].
#[derive(Debug, Clone)]
pub struct RoundTrips {
    pub back_to_back: Samples,
    pub after_sleep: Samples,
}

/// The echo server's and docker-ovn's `Plugin.Activate` round trips.
pub struct RoundTripTimes {
    pub echo: RoundTrips,
    pub activate: RoundTrips,
}

pub fn measure(driver: &PluginClient) -> anyhow::Result<RoundTripTimes> {
    let dir = tempfile::tempdir()?;
    let server = EchoServer::start(&dir.path().join("echo.sock"))?;
    let echo = round_trips(&server.client());
    let stopped = server.stop();
    let activate = round_trips(driver);
    let (echo, activate) = (echo?, activate?);
    stopped?;
    Ok(RoundTripTimes { echo, activate })
}

fn round_trips(client: &PluginClient) -> anyhow::Result<RoundTrips> {
    let timed = |pause: Duration| -> anyhow::Result<Duration> {
        std::thread::sleep(pause);
        let started = Instant::now();
        let reply = client.call("Plugin.Activate", &json!({}));
        if !reply.is_ok() {
            bail!("Plugin.Activate -> {} {}", reply.status, reply.body);
        }
        Ok(started.elapsed())
    };
    // The first call of each kind warms the connection path; not counted.
    timed(Duration::ZERO)?;
    let back_to_back = (0..BACK_TO_BACK)
        .map(|_| timed(Duration::ZERO))
        .collect::<anyhow::Result<_>>()?;
    let after_sleep = (0..AFTER_SLEEP)
        .map(|_| timed(SLEEP))
        .collect::<anyhow::Result<_>>()?;
    Ok(RoundTrips {
        back_to_back: Samples::new(back_to_back),
        after_sleep: Samples::new(after_sleep),
    })
}

/// Answers every HTTP request on a unix socket with `{}`: the benchmark's
/// own binary run with `--echo-server`, a process of its own as the
/// driver is, stopped by pid.
struct EchoServer {
    path: PathBuf,
    child: Child,
}

impl EchoServer {
    fn start(path: &Path) -> anyhow::Result<EchoServer> {
        let child = Command::new(std::env::current_exe()?)
            .arg("--echo-server")
            .arg(path)
            .stdin(Stdio::null())
            .spawn()?;
        let mut server = EchoServer {
            path: path.to_path_buf(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            if let Some(status) = server.child.try_wait()? {
                bail!("the echo server exited at start: {status}");
            }
            if Instant::now() > deadline {
                server.stop()?;
                bail!(
                    "the echo server did not listen on {} in 10 s",
                    path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(server)
    }

    fn client(&self) -> PluginClient {
        PluginClient::new(&self.path)
    }

    fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

/// The echo server's process (`--echo-server PATH`): serves until killed.
pub fn serve_echo(path: &Path) -> anyhow::Result<()> {
    let listener = UnixListener::bind(path)?;
    // A client that went away is its own failure, reported there.
    for stream in listener.incoming().flatten() {
        let _ = answer(stream);
    }
    Ok(())
}

/// Reads one request (headers, then `Content-Length` bytes) and replies.
fn answer(stream: UnixStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    reader.read_exact(&mut vec![0; length])?;
    reader
        .into_inner()
        .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echo_server_reads_the_whole_request_and_answers_empty_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || answer(listener.accept().unwrap().0));
        let reply =
            PluginClient::new(&path).call("NetworkDriver.Join", &json!({"EndpointID": "e"}));
        server.join().unwrap().unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, json!({}));
    }
}
