//! The comparison: Debian's `ovn-docker-overlay-driver` (package
//! `ovn-docker`), run from a patched copy of the installed file in a
//! temporary directory and stopped by pid. Its code is never part of this
//! repository; only the run-time fixes below are.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use test_support::PluginClient;

const PACKAGE: &str = "ovn-docker";
const PROGRAM: &str = "ovn-docker-overlay-driver";
/// Its shebang's interpreter: Debian's python3-openvswitch and
/// python3-flask live there, not in another python3 first on PATH.
const PYTHON: &str = "/usr/bin/python3";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The Python driver, running.
pub struct PythonDriver {
    child: Child,
    pub address: SocketAddr,
    dir: tempfile::TempDir,
}

impl PythonDriver {
    /// Starts it against the lab's Open_vSwitch database (`OVS_RUNDIR`,
    /// which `ovs-vsctl` reads; it finds the Northbound database in
    /// `external_ids:ovn-nb` there).
    pub fn start(ovs_rundir: &str) -> anyhow::Result<PythonDriver> {
        let dir = tempfile::Builder::new()
            .prefix("ovn-docker-py.")
            .tempdir()?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let script = dir.path().join(PROGRAM);
        let source = std::fs::read_to_string(installed()?)?;
        std::fs::write(&script, patched(&source, dir.path(), address.port())?)?;
        let log = std::fs::File::create(dir.path().join("driver.log"))?;
        let child = Command::new(PYTHON)
            .arg(&script)
            .env("OVS_RUNDIR", ovs_rundir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot run {PYTHON} {}", script.display()))?;
        let mut driver = PythonDriver {
            child,
            address,
            dir,
        };
        driver.wait_ready()?;
        Ok(driver)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn client(&self) -> PluginClient {
        PluginClient::tcp(self.address)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("{PROGRAM} exited ({status}): {}", self.log_tail());
            }
            if self
                .client()
                .call("Plugin.Activate", &serde_json::json!({}))
                .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "{PROGRAM} did not answer on {} within {START_TIMEOUT:?}: {}",
            self.address,
            self.log_tail()
        )
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("driver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

impl Drop for PythonDriver {
    /// Stops exactly the process this run started.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The installed program, as the package lists it.
fn installed() -> anyhow::Result<PathBuf> {
    let listing = Command::new("dpkg").args(["-L", PACKAGE]).output()?;
    let text = String::from_utf8_lossy(&listing.stdout);
    text.lines()
        .find(|line| line.ends_with(&format!("/{PROGRAM}")))
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .with_context(|| {
            format!("{PROGRAM} is not installed: apt-get install {PACKAGE} python3-flask")
        })
}

/// The fixes the 2015 driver needs to run here, each applied exactly once
/// (a changed upstream file fails loudly rather than running unpatched).
fn patched(source: &str, dir: &Path, port: u16) -> anyhow::Result<String> {
    let spec_dir = dir.join("plugins").display().to_string();
    let fixes = [
        // Python 3: subprocess output is bytes; the code treats it as str.
        (
            "output = output[0].strip()",
            "output = output[0].decode().strip()".to_string(),
        ),
        // Docker refuses global-scope legacy plugins outside swarm.
        (
            r#"jsonify({"Scope": "global"})"#,
            r#"jsonify({"Scope": "local"})"#.to_string(),
        ),
        // Loopback only, on a port of our choosing.
        (
            "app.run(host='0.0.0.0')",
            format!("app.run(host='127.0.0.1', port={port})"),
        ),
        // Its spec file would advertise it to the lab's dockerd (and be
        // deleted at exit, with any spec of that name already there).
        (
            r#"PLUGIN_DIR = "/etc/docker/plugins""#,
            format!("PLUGIN_DIR = {spec_dir:?}"),
        ),
        (
            r#"PLUGIN_FILE = "/etc/docker/plugins/openvswitch.spec""#,
            format!("PLUGIN_FILE = \"{spec_dir}/openvswitch.spec\""),
        ),
    ];
    let mut text = source.to_string();
    for (from, to) in fixes {
        if text.matches(from).count() != 1 {
            bail!("{PROGRAM}: expected `{from}` exactly once; the installed version differs");
        }
        text = text.replace(from, &to);
    }
    Ok(text)
}

/// A loopback port nothing listens on right now.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "PLUGIN_DIR = \"/etc/docker/plugins\"\n\
        PLUGIN_FILE = \"/etc/docker/plugins/openvswitch.spec\"\n\
        output = output[0].strip()\n\
        return jsonify({\"Scope\": \"global\"})\n\
        app.run(host='0.0.0.0')\n";

    #[test]
    fn every_fix_is_applied() {
        let text = patched(SAMPLE, Path::new("/tmp/x"), 5123).expect("patched");
        assert!(text.contains("output[0].decode().strip()"));
        assert!(text.contains(r#"{"Scope": "local"}"#));
        assert!(text.contains("app.run(host='127.0.0.1', port=5123)"));
        assert!(text.contains("PLUGIN_FILE = \"/tmp/x/plugins/openvswitch.spec\""));
        assert!(!text.contains("0.0.0.0"));
    }

    #[test]
    fn a_different_file_is_refused() {
        assert!(patched("print('hello')", Path::new("/tmp/x"), 5123).is_err());
    }
}
