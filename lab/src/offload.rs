//! Checksum offload where TCP crosses the userspace datapath: provisioned
//! machines' TCP to the central (`lab provision`), the local lab's outside
//! hosts.
//!
//! A provisioned host's address sits on `br-phy`, so its TCP to the central
//! goes through ovs-vswitchd, which reads the NIC with a packet socket. A
//! segment whose checksum the sender (or the hypervisor) left to be
//! completed by offload arrives there unfinished, is passed on to the
//! `br-phy` tap as it is, and the kernel drops it: ping works, the
//! Southbound connection does not (seen here over a veth). So the central
//! sends complete checksums (`tx off`) and the host asks its NIC for
//! complete ones (`rx off`, which makes virtio's host side finish them).
//! The local lab's underlay needs neither: only OVS's own Geneve packets
//! (complete checksums) cross it, and its central is on unix sockets. Its
//! outside hosts on the VLAN switch do: their veth ends are no OVS ports,
//! so they send complete checksums.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::cmd::{self, say};
use super::uplink;

/// `ethtool -K DEV rx off` on the host's uplink.
pub fn receive_complete_checksums(device: &str) {
    set(None, device, "rx");
}

/// `ethtool -K DEV tx off` on `device` of namespace `netns`: an end of a
/// veth whose TCP crosses a userspace datapath (the lab's outside hosts).
pub fn send_complete_checksums_in(netns: &str, device: &str) {
    set(Some(netns), device, "tx");
}

/// `ethtool -K DEV tx off` on the central's interface that holds `ip`.
pub fn send_complete_checksums(ip: Ipv4Addr) {
    match uplink::device_with(ip) {
        Some((device, _)) => set(None, &device, "tx"),
        None => say(format!(
            "no interface holds {ip}: checksum offload left as it is"
        )),
    }
}

/// A failure is only a warning: some NICs cannot change this, and many
/// never leave checksums unfinished in the first place.
fn set(netns: Option<&str>, device: &str, direction: &str) {
    let mut ethtool = cmd::command_in(netns, "ethtool");
    ethtool.args(["-K", device, direction, "off"]);
    let device = match netns {
        Some(netns) => format!("{netns}: {device}"),
        None => device.to_string(),
    };
    match cmd::run(ethtool, Duration::from_secs(10)) {
        Ok(_) => say(format!(
            "{device}: {direction} checksum offload off (TCP through the userspace datapath)"
        )),
        Err(error) => say(format!(
            "{device}: cannot turn {direction} checksum offload off ({error:#}); \
             TCP through the userspace datapath may fail (ovn-controller to the central, \
             an outside host to a container)"
        )),
    }
}
