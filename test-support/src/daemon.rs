//! A `docker-ovn serve` started by a test on a socket of its own, killed
//! (by pid) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::plugin_client::{PluginClient, Reply};

/// One driver process and a client for its socket.
pub struct DriverDaemon {
    /// Behind a lock so a test can kill and restart the daemon while other
    /// threads are calling it.
    child: Mutex<Option<Child>>,
    binary: PathBuf,
    args: Vec<String>,
    /// The network namespace it runs in (its veths are made there), or
    /// `None` for the test's own.
    netns: Option<String>,
    socket: PathBuf,
    pub client: PluginClient,
    _dir: tempfile::TempDir,
}

impl DriverDaemon {
    /// Starts `binary serve --ovs-db OVS --nb-db NB` on a temporary socket
    /// and waits until the socket is there.
    pub fn start(binary: &Path, ovs_db: &str, nb_db: &str) -> DriverDaemon {
        DriverDaemon::start_with(binary, ovs_db, nb_db, &[])
    }

    /// Like [`DriverDaemon::start`], with more `serve` flags.
    pub fn start_with(binary: &Path, ovs_db: &str, nb_db: &str, extra: &[&str]) -> DriverDaemon {
        DriverDaemon::start_inner(None, binary, ovs_db, nb_db, extra)
    }

    /// Like [`DriverDaemon::start_with`], inside network namespace `netns`
    /// (`ip netns exec`, which execs the daemon: its pid is the daemon's).
    /// Its veths and its reconciliation then see only that namespace, so it
    /// neither sees nor touches other drivers' devices.
    pub fn start_in_netns(
        netns: &str,
        binary: &Path,
        ovs_db: &str,
        nb_db: &str,
        extra: &[&str],
    ) -> DriverDaemon {
        DriverDaemon::start_inner(Some(netns), binary, ovs_db, nb_db, extra)
    }

    fn start_inner(
        netns: Option<&str>,
        binary: &Path,
        ovs_db: &str,
        nb_db: &str,
        extra: &[&str],
    ) -> DriverDaemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("ovn.sock");
        let mut args = vec![
            "serve".to_string(),
            "--ovs-db".into(),
            ovs_db.into(),
            "--nb-db".into(),
            nb_db.into(),
            "--socket".into(),
            socket.display().to_string(),
            // A test's daemon serves -d ovn only, unless it asks for
            // more: -d ovs would take the default bridge of the database.
            "--ovs-socket".into(),
            dir.path().join("ovs.sock").display().to_string(),
        ];
        if !extra.iter().any(|a| a.starts_with("--ovs-bridge")) {
            args.push("--no-ovs".into());
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let daemon = DriverDaemon {
            child: Mutex::new(None),
            binary: binary.to_path_buf(),
            args,
            netns: netns.map(str::to_string),
            client: PluginClient::new(&socket),
            socket,
            _dir: dir,
        };
        daemon.spawn();
        daemon
    }

    fn spawn(&self) {
        let _ = std::fs::remove_file(&self.socket);
        let mut command = match &self.netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns]).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        let child = command
            .args(&self.args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start docker-ovn serve");
        *self.child() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.socket.exists() {
            assert!(
                Instant::now() < deadline,
                "docker-ovn serve did not create {}",
                self.socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub fn kill(&self) {
        if let Some(mut child) = self.child().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again with the same flags and socket.
    pub fn restart(&self) {
        self.kill();
        self.spawn();
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `method`, asserting a 200 reply; returns the body.
    pub fn ok(&self, method: &str, body: serde_json::Value) -> serde_json::Value {
        self.client.ok(method, body)
    }

    /// Calls `method` whatever the reply.
    pub fn call(&self, method: &str, body: serde_json::Value) -> Reply {
        self.client.call(method, &body)
    }

    /// A client of its `-d ovs` socket (served when started with
    /// `--ovs-bridge`; otherwise the daemon runs `--no-ovs`).
    pub fn ovs_client(&self) -> PluginClient {
        PluginClient::new(self._dir.path().join("ovs.sock"))
    }
}

impl Drop for DriverDaemon {
    fn drop(&mut self) {
        self.kill();
    }
}
