//! UDP for tests of published ports: busybox has no UDP server, so the
//! echo a container "runs" is a thread of the test that entered the
//! container's network namespace (its socket lives there, behind the
//! container's interface, as a server of the container would).

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A UDP echo on `port` inside a network namespace; stopped when dropped.
pub struct UdpEcho {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    /// Echoes every datagram to `port` in the namespace at `netns` (a
    /// path such as `/proc/PID/ns/net`).
    pub fn start(netns: &str, port: u16) -> UdpEcho {
        let socket = in_netns(netns, move || UdpSocket::bind(("0.0.0.0", port)))
            .unwrap_or_else(|e| panic!("bind UDP port {port} in {netns}: {e}"));
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buffer = [0u8; 1500];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((length, from)) = socket.recv_from(&mut buffer) {
                    let _ = socket.send_to(&buffer[..length], from);
                }
            }
        });
        UdpEcho {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends `payload` to `target` from the namespace at `netns` (`None`:
/// this one) and returns the answer, if one came within two seconds.
pub fn udp_ask(netns: Option<&str>, target: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let payload = payload.to_vec();
    let ask = move || -> std::io::Result<Vec<u8>> {
        let socket = UdpSocket::bind(("0.0.0.0", 0))?;
        socket.set_read_timeout(Some(Duration::from_secs(2)))?;
        socket.send_to(&payload, target)?;
        let mut buffer = [0u8; 1500];
        let length = socket.recv(&mut buffer)?;
        Ok(buffer[..length].to_vec())
    };
    match netns {
        Some(netns) => in_netns(netns, ask).ok(),
        None => ask().ok(),
    }
}

/// Runs `f` on a thread of its own that entered the network namespace at
/// `netns` (sockets made there stay there).
fn in_netns<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let file = File::open(netns)?;
    std::thread::spawn(move || {
        // SAFETY: setns on a namespace file this thread holds open; it
        // changes only this thread's network namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        f()
    })
    .join()
    .expect("the namespace thread")
}

/// The path of a container's network namespace, by its main process.
pub fn container_netns(container: &str) -> String {
    let pid = crate::lab::docker_ok(&["inspect", "-f", "{{.State.Pid}}", container]);
    format!("/proc/{pid}/ns/net")
}

/// The path of a namespace made with `ip netns add`.
pub fn named_netns(name: &str) -> String {
    format!("/var/run/netns/{name}")
}

/// A datagram's answer as text, for assertions.
pub fn answer_text(answer: Option<Vec<u8>>) -> String {
    answer.map_or("(no answer)".into(), |a| {
        String::from_utf8_lossy(&a).into_owned()
    })
}
