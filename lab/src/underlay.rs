//! The local lab's wiring between hosts: a network namespace per host
//! (host2, host3, ...; host1 stays in this one), and the underlay switch, a
//! Linux bridge in a namespace of its own with one veth pair per host.
//!
//! The switch is not in the root namespace because there dockerd's
//! `iptables -P FORWARD DROP` together with `bridge-nf-call-iptables=1`
//! silently drops bridged IP (ARP passes). All names start with `dovn-`,
//! which is how the lab knows them as its own.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::cmd::{self, say};
use super::env::{HostEnv, UnderlayEnv};

const IP_TIMEOUT: Duration = Duration::from_secs(10);
/// The underlay's MTU: containers get this minus the Geneve overhead.
pub const UNDERLAY_MTU: &str = "1500";

/// Creates the underlay namespace and its bridge, if missing.
pub fn create(underlay: &UnderlayEnv) -> anyhow::Result<()> {
    ensure_netns(&underlay.netns)?;
    let ns = Some(underlay.netns.as_str());
    if !link_exists(ns, &underlay.bridge) {
        ip(ns, &["link", "add", &underlay.bridge, "type", "bridge"])?;
    }
    ip(ns, &["link", "set", &underlay.bridge, "up"])?;
    say(format!(
        "underlay: bridge {} in namespace {} ({})",
        underlay.bridge, underlay.netns, underlay.subnet
    ));
    Ok(())
}

/// Deletes the underlay namespace: its bridge and every veth end in it go
/// with it, and so do their peers in the hosts.
pub fn remove(underlay: &UnderlayEnv) -> anyhow::Result<()> {
    delete_netns(&underlay.netns)
}

/// The host's namespace (unless it is host1) and its veth pair to the
/// underlay bridge.
pub fn create_host(host: &HostEnv, underlay: &UnderlayEnv) -> anyhow::Result<()> {
    if let Some(netns) = &host.netns {
        ensure_netns(netns)?;
        // Loopback down would break anything in the host that talks to itself.
        ip(Some(netns), &["link", "set", "lo", "up"])?;
    }
    let Some(uplink) = &host.uplink else {
        return Ok(());
    };
    let Some(peer) = &uplink.underlay_peer else {
        return Ok(());
    };
    let host_ns = host.netns.as_deref();
    let under_ns = Some(underlay.netns.as_str());
    let have_host_end = link_exists(host_ns, &uplink.device);
    if !(have_host_end && link_exists(under_ns, peer)) {
        // Half a pair (an interrupted `up`) cannot be repaired: start over.
        if have_host_end {
            ip(host_ns, &["link", "del", &uplink.device])?;
        }
        add_veth(host_ns, &uplink.device, &underlay.netns, peer)?;
    }
    ip(
        under_ns,
        &["link", "set", peer, "master", &underlay.bridge, "up"],
    )?;
    say(format!(
        "{}: veth {} to the underlay ({} there)",
        host.name, uplink.device, peer
    ));
    Ok(())
}

/// `ip link add DEV [netns HOST] mtu 1500 type veth peer name PEER netns
/// UNDERLAY mtu 1500`: both ends land in their namespaces at once.
fn add_veth(
    host_ns: Option<&str>,
    device: &str,
    underlay_ns: &str,
    peer: &str,
) -> anyhow::Result<()> {
    let mut args = vec!["link", "add", device];
    if let Some(netns) = host_ns {
        args.extend(["netns", netns]);
    }
    args.extend(["mtu", UNDERLAY_MTU, "type", "veth", "peer", "name", peer]);
    args.extend(["netns", underlay_ns, "mtu", UNDERLAY_MTU]);
    ip(None, &args)
}

/// Removes what [`create_host`] made: host1's veth (in this namespace) or
/// the host's namespace. The daemons must be stopped first.
pub fn remove_host(host: &HostEnv) -> anyhow::Result<()> {
    if let Some(netns) = &host.netns {
        return delete_netns(netns);
    }
    let lab_veth = host
        .uplink
        .as_ref()
        .filter(|uplink| uplink.underlay_peer.is_some());
    if let Some(uplink) = lab_veth
        && is_veth(None, &uplink.device)
    {
        ip(None, &["link", "del", &uplink.device])?;
        say(format!("{}: deleted veth {}", host.name, uplink.device));
    }
    Ok(())
}

pub fn netns_path(name: &str) -> String {
    format!("/run/netns/{name}")
}

pub fn ensure_netns(name: &str) -> anyhow::Result<()> {
    if !Path::new(&netns_path(name)).exists() {
        ip(None, &["netns", "add", name])?;
        say(format!("network namespace {name} created"));
    }
    Ok(())
}

pub fn delete_netns(name: &str) -> anyhow::Result<()> {
    if Path::new(&netns_path(name)).exists() {
        ip(None, &["netns", "del", name])?;
        say(format!("network namespace {name} deleted"));
    }
    Ok(())
}

/// The veth pair `a` - `b`, each given with its namespace (`None`: here),
/// both up; made unless both ends exist. Half a pair (an interrupted
/// `up`) cannot be repaired: its end `a` is deleted and the pair made
/// again, both ends landing in their namespaces at once.
pub fn ensure_veth_pair(
    (a_ns, a): (Option<&str>, &str),
    (b_ns, b): (Option<&str>, &str),
) -> anyhow::Result<()> {
    if !(link_exists(a_ns, a) && link_exists(b_ns, b)) {
        if link_exists(a_ns, a) {
            ip(a_ns, &["link", "del", a])?;
        }
        let mut args = vec!["link", "add", a];
        args.extend(a_ns.iter().flat_map(|ns| ["netns", *ns]));
        args.extend(["type", "veth", "peer", "name", b]);
        args.extend(b_ns.iter().flat_map(|ns| ["netns", *ns]));
        ip(None, &args)?;
    }
    ip(a_ns, &["link", "set", a, "up"])?;
    ip(b_ns, &["link", "set", b, "up"])
}

/// Runs `ip ARGS` in `netns` (`None`: here).
pub fn ip(netns: Option<&str>, args: &[&str]) -> anyhow::Result<()> {
    let mut command = cmd::command("ip");
    if let Some(netns) = netns {
        command.args(["-n", netns]);
    }
    command.args(args);
    cmd::run(command, IP_TIMEOUT)
        .map(drop)
        .with_context(|| format!("ip {}", args.join(" ")))
}

/// `ip -details link show dev NAME` in `netns`, if the device exists.
pub fn link_details(netns: Option<&str>, name: &str) -> Option<String> {
    let mut show = cmd::command("ip");
    if let Some(netns) = netns {
        show.args(["-n", netns]);
    }
    show.args(["-details", "-oneline", "link", "show", "dev", name]);
    cmd::run(show, IP_TIMEOUT).ok()
}

pub fn link_exists(netns: Option<&str>, name: &str) -> bool {
    link_details(netns, name).is_some()
}

fn is_veth(netns: Option<&str>, name: &str) -> bool {
    link_details(netns, name).is_some_and(|details| details.contains(" veth "))
}
