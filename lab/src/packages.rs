//! What the lab needs from the system, which Debian package brings each
//! piece, and installing the missing ones (as root, with apt-get).

use std::path::Path;
use std::time::Duration;

use anyhow::bail;

use super::cmd::{self, say};

/// apt-get downloads and unpacks: generous.
const APT_TIMEOUT: Duration = Duration::from_secs(1800);

/// A binary (looked up on the search path) or an absolute file path, and the
/// Debian package that installs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub what: &'static str,
    pub package: &'static str,
    /// Needed only when the lab runs Docker.
    pub docker: bool,
}

const fn core(what: &'static str, package: &'static str) -> Requirement {
    Requirement {
        what,
        package,
        docker: false,
    }
}

const fn docker(what: &'static str, package: &'static str) -> Requirement {
    Requirement {
        what,
        package,
        docker: true,
    }
}

pub const REQUIREMENTS: &[Requirement] = &[
    core("ovsdb-server", "openvswitch-common"),
    core("ovsdb-tool", "openvswitch-common"),
    core(
        "/usr/share/openvswitch/vswitch.ovsschema",
        "openvswitch-common",
    ),
    core("ovs-vswitchd", "openvswitch-switch"),
    core("ovs-vsctl", "openvswitch-switch"),
    core("ovn-northd", "ovn-central"),
    core("ovn-controller", "ovn-host"),
    core("ovn-nbctl", "ovn-common"),
    core("ovn-sbctl", "ovn-common"),
    core("/usr/share/ovn/ovn-nb.ovsschema", "ovn-common"),
    core("/usr/share/ovn/ovn-sb.ovsschema", "ovn-common"),
    core("ip", "iproute2"),
    // Provisioned machines: checksum offload (see offload.rs).
    core("ethtool", "ethtool"),
    // What is on the underlay's wire, for the demo's hints and the tests.
    core("tcpdump", "tcpdump"),
    // Rate limits are measured with it (`ovn.rate`, `ovs.rate`).
    core("iperf3", "iperf3"),
    docker("containerd", "containerd"),
    docker("dockerd", "docker.io"),
    docker("docker", "docker.io"),
    // The test image is this static binary alone: no registry here.
    docker("busybox", "busybox-static"),
    docker("tar", "tar"),
];

impl Requirement {
    fn present(&self) -> bool {
        if self.what.starts_with('/') {
            Path::new(self.what).is_file()
        } else {
            cmd::find_binary(self.what).is_some()
        }
    }
}

/// The requirements `is_present` says are missing.
pub fn missing(with_docker: bool, is_present: impl Fn(&Requirement) -> bool) -> Vec<Requirement> {
    REQUIREMENTS
        .iter()
        .filter(|r| with_docker || !r.docker)
        .filter(|r| !is_present(r))
        .copied()
        .collect()
}

/// The Debian packages to install for `missing`, sorted, each once.
pub fn packages(missing: &[Requirement]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = missing.iter().map(|r| r.package).collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}

/// Installs what is missing when root; otherwise fails naming the packages.
pub fn ensure(with_docker: bool, is_root: bool) -> anyhow::Result<()> {
    let absent = missing(with_docker, Requirement::present);
    if absent.is_empty() {
        say("packages: all present");
        return Ok(());
    }
    let names = packages(&absent);
    let what: Vec<&str> = absent.iter().map(|r| r.what).collect();
    if !is_root {
        bail!(
            "missing {}: install the Debian packages {} (apt-get install {})",
            what.join(", "),
            names.join(", "),
            names.join(" ")
        );
    }
    say(format!(
        "packages: missing {}; installing {}",
        what.join(", "),
        names.join(" ")
    ));
    install(&names)?;
    let still = missing(with_docker, Requirement::present);
    if !still.is_empty() {
        let what: Vec<&str> = still.iter().map(|r| r.what).collect();
        bail!("still missing after apt-get install: {}", what.join(", "));
    }
    Ok(())
}

fn install(packages: &[&str]) -> anyhow::Result<()> {
    let apt = |args: &[&str]| {
        let mut command = cmd::command("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        command
    };
    cmd::run_visible(apt(&["update"]), APT_TIMEOUT)?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    cmd::run_visible(apt(&install), APT_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_name_their_packages_once() {
        let gone = ["ovsdb-server", "ovsdb-tool", "dockerd", "docker", "busybox"];
        let absent = missing(true, |r| !gone.contains(&r.what));
        assert_eq!(
            packages(&absent),
            vec!["busybox-static", "docker.io", "openvswitch-common"]
        );
    }

    #[test]
    fn without_docker_the_docker_packages_are_not_needed() {
        let absent = missing(false, |r| {
            r.what != "ovn-northd" && r.package != "docker.io"
        });
        assert_eq!(packages(&absent), vec!["ovn-central"]);
    }

    #[test]
    fn nothing_missing_means_nothing_to_install() {
        assert!(missing(true, |_| true).is_empty());
    }
}
