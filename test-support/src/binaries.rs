//! Where the daemons and schemas are, and which package brings them.

use std::path::{Path, PathBuf};

/// The databases tests can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    OpenVswitch,
    OvnNorthbound,
    OvnSouthbound,
}

impl Schema {
    /// The installed `.ovsschema` file; panics naming the package when absent.
    pub fn path(self) -> PathBuf {
        let (path, package) = match self {
            Schema::OpenVswitch => (
                "/usr/share/openvswitch/vswitch.ovsschema",
                "openvswitch-common",
            ),
            Schema::OvnNorthbound => ("/usr/share/ovn/ovn-nb.ovsschema", "ovn-common"),
            Schema::OvnSouthbound => ("/usr/share/ovn/ovn-sb.ovsschema", "ovn-common"),
        };
        if !Path::new(path).exists() {
            panic!(
                "{path} not found: install the Debian package {package} (apt-get install {package})"
            );
        }
        PathBuf::from(path)
    }

    /// The database name inside the schema.
    pub fn database(self) -> &'static str {
        match self {
            Schema::OpenVswitch => "Open_vSwitch",
            Schema::OvnNorthbound => "OVN_Northbound",
            Schema::OvnSouthbound => "OVN_Southbound",
        }
    }
}

/// The Debian package that installs `binary`.
fn package_of(binary: &str) -> &'static str {
    match binary {
        "ovsdb-server" | "ovsdb-tool" | "ovsdb-client" | "ovs-vsctl" | "ovs-ofctl"
        | "ovs-appctl" => "openvswitch-common / openvswitch-switch",
        "ovs-vswitchd" => "openvswitch-switch",
        "ovn-northd" => "ovn-central",
        "ovn-controller" => "ovn-host",
        "ovn-nbctl" | "ovn-sbctl" => "ovn-common",
        "dockerd" | "docker" => "docker.io",
        "tcpdump" => "tcpdump",
        _ => "(unknown package)",
    }
}

/// The full path of `binary` from `PATH` or the sbin directories; panics
/// with the package to install when it is missing.
pub fn require_binary(binary: &str) -> PathBuf {
    let path_var = std::env::var("PATH").unwrap_or_default();
    let dirs = path_var
        .split(':')
        .map(PathBuf::from)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin"].map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join(binary);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{binary} not found: this test needs a real {binary}; install the Debian package {}",
        package_of(binary)
    );
}

/// Runs `program ARGS` (found by [`require_binary`]) and returns its
/// stdout; panics with the command and its stderr unless it succeeds.
pub fn tool_ok<S: AsRef<std::ffi::OsStr>>(program: &str, args: &[S]) -> String {
    let output = std::process::Command::new(require_binary(program))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    assert!(
        output.status.success(),
        "{program} {}: {}",
        shown.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
