//! The lab's underlay, where the hosts meet: what crosses it, read with
//! `tcpdump` in its namespace, and host1's peers, changed by a test and
//! put back.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::lab::Lab;
use crate::lab_bridge::LabBridge;

/// The lab's underlay switch: its namespace and bridge.
pub const UNDERLAY_NETNS: &str = "dovn-underlay";
pub const UNDERLAY_BRIDGE: &str = "br-underlay";

/// A command's stdout and stderr, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `tcpdump` on the underlay switch for `filter` while `traffic` runs:
/// what it printed (`-v`: VXLAN headers with their VNI), at most 4
/// packets, within 8 s.
pub fn on_the_wire(filter: &str, traffic: impl FnOnce()) -> String {
    on_the_wire_at(UNDERLAY_BRIDGE, filter, traffic)
}

/// [`on_the_wire`] on `interface` of the underlay's namespace (a host's
/// trunk port on the physical switch, say), with link-level headers
/// (`-e`: MACs and 802.1Q tags).
pub fn on_the_wire_at(interface: &str, filter: &str, traffic: impl FnOnce()) -> String {
    let tcpdump = crate::require_binary("tcpdump");
    let child = Command::new("ip")
        .args(["netns", "exec", UNDERLAY_NETNS, "timeout", "8"])
        .arg(tcpdump)
        .args(["-l", "-nn", "-v", "-e", "-c", "4", "-i", interface])
        .args(filter.split(' '))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump runs in the underlay namespace");
    // tcpdump needs a moment to open its socket.
    std::thread::sleep(Duration::from_millis(800));
    traffic();
    let output = child.wait_with_output().expect("tcpdump ends");
    text(&output)
}

/// host1's `docker-ovn-peers`, put back when dropped.
pub struct PeersOfHost1 {
    pub bridge: LabBridge,
    original: String,
}

impl PeersOfHost1 {
    pub fn take(lab: &Lab) -> PeersOfHost1 {
        let bridge = LabBridge::of(lab);
        let original = bridge.vsctl(&["get", "Open_vSwitch", ".", "external_ids:docker-ovn-peers"]);
        PeersOfHost1 { bridge, original }
    }

    /// The peers as listed before the test changed them, without the one
    /// at `address`: `IP[=CIDR]` entries, comma-separated.
    pub fn original_without(&self, address: &str) -> String {
        let listed = self.original.trim().trim_matches('"');
        let kept: Vec<&str> = listed
            .split(',')
            .filter(|entry| entry.split('=').next() != Some(address))
            .collect();
        kept.join(",")
    }

    pub fn set(&self, value: &str) {
        let setting = format!("external_ids:docker-ovn-peers=\"{value}\"");
        self.bridge.vsctl(&["set", "Open_vSwitch", ".", &setting]);
    }
}

impl Drop for PeersOfHost1 {
    fn drop(&mut self) {
        let setting = format!("external_ids:docker-ovn-peers={}", self.original);
        self.bridge.vsctl(&["set", "Open_vSwitch", ".", &setting]);
    }
}
