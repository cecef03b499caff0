//! A host's uplink: the interface toward the other hosts (a veth to the
//! local lab's underlay, or a machine's own NIC) becomes a port of the OVS
//! bridge `br-phy`, and the tunnel endpoint address moves onto `br-phy`.
//! The userspace datapath only terminates and originates tunnels for an
//! address held by an OVS internal port (verified here; see DESIGN.md §9):
//! OVS itself routes, ARPs and encapsulates through that bridge.
//!
//! `lab up` and `lab provision host` both go through here.

use anyhow::Context;
use ipnet::Ipv4Net;

use super::cmd::say;
use super::env::HostEnv;
use super::underlay::ip;
use super::{host, offload};

/// Makes the host's uplink a port of its `br-phy` and puts the tunnel
/// endpoint address there. Safe to repeat.
pub fn attach(host: &HostEnv) -> anyhow::Result<()> {
    let Some(uplink) = &host.uplink else {
        return Ok(());
    };
    let (bridge, device) = (uplink.bridge.as_str(), uplink.device.as_str());
    let mut args = host::netdev_bridge(bridge);
    args.extend(["--", "--may-exist", "add-port", bridge, device].map(String::from));
    host::vsctl(host, &args)
        .with_context(|| format!("{}: adding {device} to {bridge}", host.name))?;
    let netns = host.netns.as_deref();
    let cidr = uplink.address.to_string();
    if uplink.underlay_peer.is_none() {
        // The machine's own NIC: its address now belongs to br-phy, and the
        // machine's TCP (to the central) crosses ovs-vswitchd.
        if has_address(netns, device, &uplink.address) {
            ip(netns, &["addr", "del", &cidr, "dev", device])?;
        }
        offload::receive_complete_checksums(device);
    }
    ip(netns, &["link", "set", device, "up"])?;
    ip(netns, &["addr", "replace", &cidr, "dev", bridge])?;
    ip(netns, &["link", "set", bridge, "up"])?;
    say(format!(
        "{}: {device} on {bridge}, tunnel endpoint {cidr} on {bridge}",
        host.name
    ));
    Ok(())
}

/// Gives a machine's own NIC its address back (after `br-phy` is gone); a
/// lab veth is deleted with its namespace or by [`super::underlay`].
pub fn release(host: &HostEnv) -> anyhow::Result<()> {
    let Some(uplink) = &host.uplink else {
        return Ok(());
    };
    if uplink.underlay_peer.is_some() {
        return Ok(());
    }
    let netns = host.netns.as_deref();
    let cidr = uplink.address.to_string();
    ip(netns, &["addr", "replace", &cidr, "dev", &uplink.device])?;
    say(format!("{}: {cidr} back on {}", host.name, uplink.device));
    Ok(())
}

/// Whether `device` holds `address` (with its prefix).
fn has_address(netns: Option<&str>, device: &str, address: &Ipv4Net) -> bool {
    addresses(netns)
        .into_iter()
        .any(|(dev, net)| dev == device && net == *address)
}

/// Every (device, IPv4 address/prefix) of `ip -o -4 addr show`.
pub fn addresses(netns: Option<&str>) -> Vec<(String, Ipv4Net)> {
    let mut show = super::cmd::command("ip");
    if let Some(netns) = netns {
        show.args(["-n", netns]);
    }
    show.args(["-o", "-4", "addr", "show"]);
    super::cmd::run(show, std::time::Duration::from_secs(10))
        .map(|listing| parse_addresses(&listing))
        .unwrap_or_default()
}

/// Parses `ip -o -4 addr show` lines: `3: eth1    inet 192.168.56.11/24 brd ...`.
fn parse_addresses(listing: &str) -> Vec<(String, Ipv4Net)> {
    listing
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace().skip(1);
            let device = words.next()?;
            let cidr = words.skip_while(|w| *w != "inet").nth(1)?;
            Some((device.to_string(), cidr.parse().ok()?))
        })
        .collect()
}

/// The device holding `ip` and the address with its prefix, if any does.
pub fn device_with(ip: std::net::Ipv4Addr) -> Option<(String, Ipv4Net)> {
    addresses(None)
        .into_iter()
        .find(|(_, net)| net.addr() == ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_ip_output() {
        let listing = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n\
                       3: eth1    inet 192.168.56.11/24 brd 192.168.56.255 scope global eth1\\       valid_lft forever\n\
                       9: br-phy    inet 172.31.250.11/24 scope global br-phy\\   valid_lft forever\n";
        let parsed = parse_addresses(listing);
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].0, "eth1");
        assert_eq!(parsed[1].1.to_string(), "192.168.56.11/24");
        assert_eq!(parsed[2].0, "br-phy");
        assert!(parse_addresses("garbage\n").is_empty());
    }
}
