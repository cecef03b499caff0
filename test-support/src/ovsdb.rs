//! A standalone `ovsdb-server` in a temporary directory.

use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::binaries::{Schema, require_binary, tool_ok};

/// A running `ovsdb-server` holding one database, listening on a unix
/// socket and, if asked, on a TCP port of 127.0.0.1.
pub struct OvsdbServer {
    dir: TempDir,
    schema: Schema,
    tcp_port: Option<u16>,
    child: Option<Child>,
}

impl OvsdbServer {
    /// Creates a fresh database from the installed schema and serves it on
    /// a unix socket.
    pub fn start(schema: Schema) -> OvsdbServer {
        OvsdbServer::start_inner(schema, false)
    }

    /// An Open_vSwitch database as a Docker host's: initialised, with
    /// `external_ids:system-id` set to `system_id` (the chassis name the
    /// driver binds endpoints to).
    pub fn start_open_vswitch(system_id: &str) -> OvsdbServer {
        let server = OvsdbServer::start(Schema::OpenVswitch);
        let system_id = format!("external_ids:system-id={system_id}");
        server.vsctl(&["--", "init", "--", "set", "open_vswitch", ".", &system_id]);
        server
    }

    /// Like [`OvsdbServer::start`], and also on `tcp:127.0.0.1:PORT`.
    pub fn start_with_tcp(schema: Schema) -> OvsdbServer {
        OvsdbServer::start_inner(schema, true)
    }

    fn start_inner(schema: Schema, tcp: bool) -> OvsdbServer {
        let dir = tempfile::Builder::new()
            .prefix("ovsdb-test-")
            .tempdir()
            .expect("create a temporary directory");
        let db = dir.path().join("db.db");
        let status = Command::new(require_binary("ovsdb-tool"))
            .arg("create")
            .arg(&db)
            .arg(schema.path())
            .status()
            .expect("run ovsdb-tool");
        assert!(
            status.success(),
            "ovsdb-tool create {} failed",
            db.display()
        );
        let mut server = OvsdbServer {
            dir,
            schema,
            tcp_port: tcp.then(free_tcp_port),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let dir = self.dir.path();
        let mut command = Command::new(require_binary("ovsdb-server"));
        command
            .arg(dir.join("db.db"))
            .arg(format!("--remote=punix:{}", self.socket().display()))
            .arg(format!("--unixctl={}", dir.join("ovsdb.ctl").display()))
            .arg(format!("--pidfile={}", dir.join("ovsdb.pid").display()))
            .arg(format!("--log-file={}", dir.join("ovsdb.log").display()))
            .arg("-vconsole:off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(port) = self.tcp_port {
            command.arg(format!("--remote=ptcp:{port}:127.0.0.1"));
        }
        self.child = Some(command.spawn().expect("spawn ovsdb-server"));
        self.wait_until_listening();
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let unix_up = UnixStream::connect(self.socket()).is_ok();
            let tcp_up = self
                .tcp_port
                .is_none_or(|port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
            if unix_up && tcp_up {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("ovsdb-server exited with {status}; log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "ovsdb-server did not listen within 10 s; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The server's unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("db.sock")
    }

    /// `unix:PATH` for clients.
    pub fn unix_target(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// `tcp:127.0.0.1:PORT`; panics when started without TCP.
    pub fn tcp_target(&self) -> String {
        let port = self.tcp_port.expect("server started without TCP");
        format!("tcp:127.0.0.1:{port}")
    }

    /// The database name served.
    pub fn database(&self) -> &'static str {
        self.schema.database()
    }

    /// The directory holding the database, socket and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `ovs-vsctl --no-wait args...` on this database (no
    /// ovs-vswitchd needed), panicking with its stderr unless it succeeds;
    /// its stdout.
    pub fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.unix_target());
        let args: Vec<&str> = [db.as_str(), "--no-wait"]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        tool_ok("ovs-vsctl", &args)
    }

    /// Runs `ovs-vsctl --no-wait args...` on this database, whatever the
    /// outcome.
    pub fn try_vsctl(&self, args: &[&str]) -> Output {
        Command::new(require_binary("ovs-vsctl"))
            .arg(format!("--db={}", self.unix_target()))
            .arg("--no-wait")
            .args(args)
            .output()
            .expect("run ovs-vsctl")
    }

    /// Every row of every table, as `ovsdb-client dump` prints them
    /// (sorted, so two dumps of the same contents are equal).
    pub fn dump(&self) -> String {
        let output = Command::new(require_binary("ovsdb-client"))
            .arg("dump")
            .arg(self.unix_target())
            .arg(self.database())
            .output()
            .expect("run ovsdb-client");
        assert!(
            output.status.success(),
            "ovsdb-client dump: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ovsdb.log")).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (as a crash would) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same database file and addresses.
    pub fn restart(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(self.socket());
        self.spawn();
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("find a free TCP port on 127.0.0.1")
}
