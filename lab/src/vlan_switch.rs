//! The "physical switch" of a lab of several hosts: an Open vSwitch of
//! its own (ovsdb-server and ovs-vswitchd, userspace datapath) in the
//! underlay's namespace, with one bridge, `br-vlan`, in `NORMAL` mode, as
//! a VLAN-aware switch of the machine room would be. This kernel has no
//! 802.1Q devices, so tags are pushed and popped only by OVS bridges.
//!
//! - Each host K has a trunk to it: the veth `dovn-trkK` in the host
//!   (unconfigured: the uplink `-d ovs` VLAN networks take with
//!   `-o ovs.uplink=dovn-trkK`), `dovn-trkK-s` on the switch, a port of
//!   `br-vlan` with no tag (every VLAN, tagged).
//! - Outside hosts: the namespaces `dovn-vlan100` and `dovn-vlan200`, each
//!   with `eth0` at 10.250.0.254/24 on an access port of VLAN 100 and 200
//!   (the same address on both: only the VLAN tells them apart), for the
//!   tests; `dovn-vlan300` at 10.253.0.254/24 on VLAN 300, the demo's;
//!   `dovn-flat` at 10.251.0.254/24, untagged.
//! - The underlay bridge is uplinked to it too (`dovn-ulsw`, a trunk):
//!   each host's `br-phy`, which holds its tunnel endpoint, is then on the
//!   physical network, mapped as [`PHYSNET`] for OVN provider networks,
//!   whose frames leave untagged or tagged by `br-int` itself.

use anyhow::Context;

use super::cmd::{self, say};
use super::env::{HostEnv, UnderlayEnv};
use super::underlay::{delete_netns, ensure_netns, ensure_veth_pair, ip};
use super::{host, offload};

/// The switch's bridge.
pub const SWITCH_BRIDGE: &str = "br-vlan";
/// The outside hosts: VLAN (0: untagged), namespace and address.
pub const OUTSIDE_HOSTS: [(u16, &str, &str); 4] = [
    (100, "dovn-vlan100", "10.250.0.254/24"),
    (200, "dovn-vlan200", "10.250.0.254/24"),
    (300, "dovn-vlan300", "10.253.0.254/24"),
    (0, "dovn-flat", "10.251.0.254/24"),
];
/// The name each host's `ovn-bridge-mappings` gives the physical network.
pub const PHYSNET: &str = "physnet1";
/// The underlay bridge's trunk to the switch: its two ends.
const UNDERLAY_LINK: (&str, &str) = ("dovn-ulsw", "dovn-ulsw-s");

/// Host `index`'s end of its trunk, and the switch's end.
pub fn trunk_names(host: &HostEnv) -> (String, String) {
    let index = host.name.trim_start_matches("host");
    (format!("dovn-trk{index}"), format!("dovn-trk{index}-s"))
}

/// Starts the switch's OVS and bridge and the outside hosts, if missing.
pub fn start(underlay: &UnderlayEnv) -> anyhow::Result<()> {
    let switch = &underlay.switch;
    host::start(switch)?;
    let mut args = host::netdev_bridge(SWITCH_BRIDGE);
    args.extend(["fail_mode=standalone".to_string()]);
    host::vsctl(switch, &args).context("physical switch: creating br-vlan")?;
    for (vlan, netns, address) in OUTSIDE_HOSTS {
        outside_host(underlay, vlan, netns, address)?;
    }
    link_underlay(underlay)?;
    say(format!(
        "physical switch: {SWITCH_BRIDGE} in namespace {} (outside hosts on VLANs 100, 200 \
         and 300 and untagged; the underlay's {} uplinked as {PHYSNET})",
        underlay.netns, underlay.bridge
    ));
    Ok(())
}

/// The namespace `netns` with `eth0` at `address` on an access port of `vlan`.
fn outside_host(
    underlay: &UnderlayEnv,
    vlan: u16,
    netns: &str,
    address: &str,
) -> anyhow::Result<()> {
    let port = format!("dovn-v{vlan}");
    let switch_ns = Some(underlay.netns.as_str());
    ensure_netns(netns)?;
    ip(Some(netns), &["link", "set", "lo", "up"])?;
    ensure_veth_pair((switch_ns, &port), (Some(netns), "eth0"))?;
    ip(Some(netns), &["addr", "replace", address, "dev", "eth0"])?;
    ip(Some(netns), &["link", "set", "eth0", "up"])?;
    // The outside end is no OVS port: its TCP would leave with checksums
    // the userspace datapath passes on unfinished.
    offload::send_complete_checksums_in(netns, "eth0");
    let tag = format!("tag={vlan}");
    let args = [
        "--may-exist",
        "add-port",
        SWITCH_BRIDGE,
        &port,
        "--",
        "set",
        "Port",
        &port,
        &tag,
    ];
    host::vsctl(&underlay.switch, &args.map(String::from))
        .with_context(|| format!("physical switch: access port {port} on VLAN {vlan}"))?;
    Ok(())
}

/// The underlay bridge's trunk port on the switch, if missing: a veth
/// pair inside the underlay's namespace.
fn link_underlay(underlay: &UnderlayEnv) -> anyhow::Result<()> {
    let ns = Some(underlay.netns.as_str());
    let (bridge_end, switch_end) = UNDERLAY_LINK;
    ensure_veth_pair((ns, bridge_end), (ns, switch_end))?;
    ip(ns, &["link", "set", bridge_end, "master", &underlay.bridge])?;
    let args = ["--may-exist", "add-port", SWITCH_BRIDGE, switch_end];
    host::vsctl(&underlay.switch, &args.map(String::from))
        .context("physical switch: the underlay's trunk port")?;
    Ok(())
}

/// Host `host`'s trunk to the switch, if missing.
pub fn connect(host: &HostEnv, underlay: &UnderlayEnv) -> anyhow::Result<()> {
    let (host_end, switch_end) = trunk_names(host);
    let host_ns = host.netns.as_deref();
    let switch_ns = Some(underlay.netns.as_str());
    ensure_veth_pair((host_ns, &host_end), (switch_ns, &switch_end))?;
    never_answer_arp(host_ns, &host_end)?;
    let args = [
        "--may-exist",
        "add-port",
        SWITCH_BRIDGE,
        switch_end.as_str(),
    ];
    host::vsctl(&underlay.switch, &args.map(String::from))
        .with_context(|| format!("physical switch: trunk port {switch_end}"))?;
    say(format!(
        "{}: trunk {host_end} to the physical switch ({switch_end} there)",
        host.name
    ));
    Ok(())
}

/// The trunk hears the underlay's broadcasts too (the switch carries the
/// underlay): the host's kernel must not answer an ARP request for its
/// tunnel address there, with the trunk's MAC, or the other hosts would
/// tunnel to a device no OVS bridge reads.
fn never_answer_arp(netns: Option<&str>, device: &str) -> anyhow::Result<()> {
    // The namespace's own /proc/sys, seen from inside it (no procps here).
    let write = format!("echo 8 > /proc/sys/net/ipv4/conf/{device}/arp_ignore");
    let mut shell = cmd::command_in(netns, "sh");
    shell.args(["-c", &write]);
    cmd::run(shell, std::time::Duration::from_secs(10))
        .map(drop)
        .with_context(|| format!("{device}: {write}"))
}

/// Stops the switch's daemons and deletes the outside hosts; the trunks
/// go with the underlay's namespace.
pub fn stop(underlay: &UnderlayEnv) -> anyhow::Result<()> {
    host::stop(&underlay.switch)?;
    for (_, netns, _) in OUTSIDE_HOSTS {
        delete_netns(netns)?;
    }
    Ok(())
}
