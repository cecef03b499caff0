//! A network namespace standing in for a container on a host without
//! dockerd (the lab's demo, the tests' sandboxes), wired the way libnetwork wires a sandbox after `Join`: the
//! driver's interface moved in from the host's namespace, renamed, given
//! the endpoint's MAC and address, brought up, the default route set.

use std::time::Duration;

use super::cmd::{self, Output};
use super::underlay::{delete_netns, ensure_netns, ip, netns_path};

/// The interface's name inside: Join's `DstPrefix` plus the index 0.
pub const INTERFACE: &str = "eth0";
const PING_TIMEOUT: Duration = Duration::from_secs(30);

/// What libnetwork puts into the sandbox for one endpoint.
pub struct Attachment<'a> {
    /// The namespace the driver made the interface in (`None`: this one).
    pub host_netns: Option<&'a str>,
    /// Join's `SrcName`.
    pub src_name: &'a str,
    /// The endpoint's address, CIDR.
    pub address: &'a str,
    /// CreateEndpoint's MAC, if the driver chose one.
    pub mac: Option<&'a str>,
    /// Join's gateway, if any.
    pub gateway: Option<&'a str>,
}

/// `/var/run/netns/<name>`: the `SandboxKey` of a Join.
pub fn key(name: &str) -> String {
    netns_path(name)
}

/// Creates the (empty) sandbox.
pub fn create(name: &str) -> anyhow::Result<()> {
    ensure_netns(name)?;
    ip(Some(name), &["link", "set", "dev", "lo", "up"])
}

/// Moves the interface in and configures it.
pub fn attach(name: &str, attachment: &Attachment) -> anyhow::Result<()> {
    let src = attachment.src_name;
    ip(
        attachment.host_netns,
        &["link", "set", "dev", src, "netns", name],
    )?;
    let ns = Some(name);
    ip(ns, &["link", "set", "dev", src, "name", INTERFACE])?;
    if let Some(mac) = attachment.mac {
        ip(ns, &["link", "set", "dev", INTERFACE, "address", mac])?;
    }
    ip(ns, &["addr", "add", attachment.address, "dev", INTERFACE])?;
    ip(ns, &["link", "set", "dev", INTERFACE, "up"])?;
    if let Some(gateway) = attachment.gateway {
        ip(ns, &["route", "replace", "default", "via", gateway])?;
    }
    Ok(())
}

/// The sandbox's IPv4 address (CIDR) on its interface, if it has one.
pub fn address(name: &str) -> Option<String> {
    let mut show = cmd::command("ip");
    show.args([
        "-n", name, "-4", "-oneline", "addr", "show", "dev", INTERFACE,
    ]);
    let listing = cmd::run(show, PING_TIMEOUT).ok()?;
    inet_address(&listing)
}

/// The address after `inet` in `ip -oneline addr show` output.
fn inet_address(listing: &str) -> Option<String> {
    let mut words = listing.split_whitespace();
    words.find(|word| *word == "inet")?;
    words.next().map(String::from)
}

/// `ping -c COUNT -W 2 TARGET` inside the sandbox (iputils, this machine's).
pub fn ping(name: &str, target: &str, count: u32) -> anyhow::Result<Output> {
    let mut ping = cmd::command("ip");
    ping.args(["netns", "exec", name, "ping", "-c", &count.to_string()]);
    ping.args(["-W", "2", target]);
    cmd::capture(ping, PING_TIMEOUT)
}

/// Deletes the sandbox and the interface in it, if it exists.
pub fn remove(name: &str) -> anyhow::Result<()> {
    delete_netns(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_follows_inet() {
        let listing = "7: eth0    inet 10.89.0.3/24 brd 10.89.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n";
        assert_eq!(inet_address(listing).as_deref(), Some("10.89.0.3/24"));
        assert_eq!(inet_address(""), None);
    }
}
