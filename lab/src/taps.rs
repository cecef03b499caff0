//! The tap devices of the userspace datapath. ovs-vswitchd with
//! `datapath_type=netdev` makes a kernel tap for the datapath
//! (`ovs-netdev`) and for every bridge and internal port, and they outlive
//! it: the lab deletes the ones it made, or the next `up` inherits stale
//! devices and addresses.

use std::time::Duration;

use anyhow::Context;

use super::cmd::{self, say};
use super::env::HostEnv;
use super::host;

/// The prefix of the driver's gateway devices (docker-ovn's
/// `names::GATEWAY_INTERFACE_PREFIX`; the lab links no driver code, and
/// `driver/tests/e2e_docker.rs` checks that the two agree).
pub const GATEWAY_INTERFACE_PREFIX: &str = "dovngw";

/// The device the netdev datapath itself opens.
const DATAPATH_DEVICE: &str = "ovs-netdev";

/// The devices of `host`: its bridge, the datapath's own device, every
/// internal interface in its database (when the database answers), and
/// the driver's gateway devices in its namespace: a gateway port removed
/// from the database just before ovs-vswitchd stops (as when a network is
/// deleted at the end of a run) keeps its tap, which the database no
/// longer names.
pub fn of_host(host: &HostEnv) -> Vec<String> {
    let mut names = vec![host.bridge.clone(), DATAPATH_DEVICE.to_string()];
    names.extend(internal_interfaces(host));
    names.extend(gateway_devices(host.netns.as_deref()));
    names.sort();
    names.dedup();
    names
}

fn internal_interfaces(host: &HostEnv) -> Vec<String> {
    if !host.ovsdb.socket.exists() {
        return Vec::new();
    }
    let args = [
        "--data=bare",
        "--no-headings",
        "--columns=name",
        "find",
        "Interface",
        "type=internal",
    ];
    match host::vsctl(host, &args.map(String::from)) {
        Ok(output) => output
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        Err(error) => {
            say(format!(
                "{}: cannot list internal interfaces ({error:#}); deleting the known ones only",
                host.name
            ));
            Vec::new()
        }
    }
}

fn gateway_devices(netns: Option<&str>) -> Vec<String> {
    let mut list = cmd::command_in(netns, "ip");
    list.args(["-oneline", "link", "show"]);
    cmd::run(list, Duration::from_secs(10))
        .map(|output| gateway_names(&output))
        .unwrap_or_default()
}

/// The names in `ip -oneline link show` output that start with the
/// driver's gateway prefix.
fn gateway_names(links: &str) -> Vec<String> {
    links
        .lines()
        .filter_map(|line| line.split(':').nth(1))
        .map(|name| name.trim().split('@').next().unwrap_or_default())
        .filter(|name| name.starts_with(GATEWAY_INTERFACE_PREFIX))
        .map(String::from)
        .collect()
}

/// Deletes each named device that exists and is a tap (anything else of that
/// name is not the datapath's, so it is left alone).
pub fn remove(netns: Option<&str>, names: &[String]) -> anyhow::Result<()> {
    for name in names {
        let Some(details) = link_details(netns, name) else {
            continue;
        };
        if !is_tap(&details) {
            say(format!("device {name} is not a tap device; left alone"));
            continue;
        }
        let mut del = cmd::command_in(netns, "ip");
        del.args(["link", "del", "dev", name]);
        cmd::run(del, Duration::from_secs(10))
            .with_context(|| format!("deleting tap device {name}"))?;
        say(format!("deleted tap device {name}"));
    }
    Ok(())
}

/// `ip -details link show dev NAME`, if the device exists.
fn link_details(netns: Option<&str>, name: &str) -> Option<String> {
    let mut show = cmd::command_in(netns, "ip");
    show.args(["-details", "-oneline", "link", "show", "dev", name]);
    cmd::run(show, Duration::from_secs(10)).ok()
}

/// Whether `ip -details` output describes a tap device.
fn is_tap(details: &str) -> bool {
    details.contains(" tun type tap ") || details.ends_with(" tun type tap")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_devices_are_found_by_their_prefix() {
        let links = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n\
                     7: dovngw37c10bb51: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500\n\
                     9: ovnbe0c01@ovcbe0c01: <BROADCAST,MULTICAST> mtu 1442\n\
                     10: xdovngw1: <BROADCAST> mtu 1500\n";
        assert_eq!(gateway_names(links), vec!["dovngw37c10bb51".to_string()]);
    }

    #[test]
    fn taps_are_told_from_other_devices() {
        // As `ip -details -oneline` (iproute2 6.1) shows the userspace datapath's br-int.
        let tap = "6: br-int: <BROADCAST,MULTICAST,PROMISC> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\\    link/ether 4a:23:62:26:05:47 brd ff:ff:ff:ff:ff:ff promiscuity 1  allmulti 0 minmtu 68 maxmtu 65521 \\    tun type tap pi off vnet_hdr off persist on addrgenmode eui64 numtxqueues 1 numrxqueues 1";
        assert!(is_tap(tap));
        let veth = "7: veth0@veth1: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN \\    link/ether 1a:2b:3c:4d:5e:6f brd ff:ff:ff:ff:ff:ff promiscuity 0 \\    veth addrgenmode eui64";
        assert!(!is_tap(veth));
        let tun = "8: tun0: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 \\    tun type tun pi off vnet_hdr off persist on";
        assert!(!is_tap(tun));
    }
}
