//! The cross-host demo of provisioned machines (`lab provision host
//! --demo`, as the Vagrant hosts run it): each Docker host maps its Docker
//! network `ovn-demo-shared` onto the logical switch of that name, runs the
//! container `ovn-demo-shared` at `10.89.0.<last byte of its encap
//! address>`, and pings the demo containers of the hosts that joined
//! before it, across Geneve. Its names start with `ovn-demo`, so `lab down`
//! removes it with the single-host demo.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, bail};

use super::cmd::{self, say};
use super::docker::docker;
use super::env::HostEnv;
use super::image::IMAGE;

pub const NETWORK: &str = "ovn-demo-shared";
pub const SUBNET: &str = "10.89.0.0/24";
/// The IPAM driver of the shared network: docker-ovn's own, which keeps
/// the hosts' allocations apart in the Northbound database (and which the
/// driver requires for `-o ovn.network`). Each container still asks for
/// its address (`--ip`), so the demo's addresses are predictable.
pub const IPAM_DRIVER: Option<&str> = Some("ovn");
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// Joins the demo and pings every other host's demo container.
pub fn run(host: &HostEnv) -> anyhow::Result<()> {
    let address = container_address(&host.encap_ip)?;
    ensure_network()?;
    ensure_container(address)?;
    let peers = peer_addresses(host, address)?;
    if peers.is_empty() {
        say("shared demo: no other host has joined yet (provision another host with --demo)");
    }
    for peer in &peers {
        say(format!(
            "shared demo: {NETWORK} pings {peer} on another host"
        ));
        let ping = cmd::capture(
            docker(&[
                "exec",
                NETWORK,
                "ping",
                "-c",
                "3",
                "-W",
                "2",
                &peer.to_string(),
            ]),
            DOCKER_TIMEOUT,
        )?;
        print!("{}", ping.stdout);
        if !ping.status.success() {
            bail!("shared demo: the ping to {peer} failed ({})", ping.status);
        }
    }
    println!("The shared demo works. Try: docker exec -it {NETWORK} sh");
    Ok(())
}

/// `10.89.0.<last byte of the encap address>`: distinct per host without
/// any coordination (the hosts' encap addresses already are).
fn container_address(encap_ip: &str) -> anyhow::Result<Ipv4Addr> {
    let encap: Ipv4Addr = encap_ip
        .parse()
        .with_context(|| format!("encap address {encap_ip:?}"))?;
    let last = encap.octets()[3];
    if matches!(last, 0 | 1 | 255) {
        bail!("shared demo: encap address {encap} gives no usable host address in {SUBNET}");
    }
    Ok(Ipv4Addr::new(10, 89, 0, last))
}

/// Creates the shared network on this host's dockerd, unless it exists.
pub fn ensure_network() -> anyhow::Result<()> {
    if cmd::succeeds(docker(&["network", "inspect", NETWORK]), DOCKER_TIMEOUT) {
        return Ok(());
    }
    let option = format!("ovn.network={NETWORK}");
    let mut args = vec!["network", "create", "-d", "ovn", "-o", &option];
    if let Some(ipam) = IPAM_DRIVER {
        args.extend(["--ipam-driver", ipam]);
    }
    args.extend(["--subnet", SUBNET, NETWORK]);
    cmd::run(docker(&args), DOCKER_TIMEOUT).context("creating the shared demo network")?;
    say(format!(
        "shared demo: network {NETWORK} (switch {NETWORK}, {SUBNET})"
    ));
    Ok(())
}

fn ensure_container(address: Ipv4Addr) -> anyhow::Result<()> {
    let running = cmd::capture(
        docker(&["inspect", "--format", "{{.State.Running}}", NETWORK]),
        DOCKER_TIMEOUT,
    )?;
    if running.status.success() && running.stdout.trim() == "true" {
        return Ok(());
    }
    let _ = cmd::capture(docker(&["rm", "-f", NETWORK]), DOCKER_TIMEOUT);
    let ip = address.to_string();
    let run = docker(&[
        "run",
        "-d",
        "--name",
        NETWORK,
        "--network",
        NETWORK,
        "--ip",
        &ip,
        IMAGE,
        "sleep",
        "1000000",
    ]);
    cmd::run(run, DOCKER_TIMEOUT).context("starting the shared demo container")?;
    say(format!("shared demo: container {NETWORK} at {ip}"));
    Ok(())
}

/// The IPv4 addresses of the switch's other ports, from the Northbound.
fn peer_addresses(host: &HostEnv, own: Ipv4Addr) -> anyhow::Result<Vec<Ipv4Addr>> {
    let ports = nbctl(host, &["lsp-list", NETWORK])?;
    let mut peers = Vec::new();
    for port in ports.lines().filter_map(port_name) {
        let addresses = nbctl(host, &["lsp-get-addresses", port])?;
        peers.extend(
            addresses
                .split_whitespace()
                .filter_map(|word| word.parse::<Ipv4Addr>().ok())
                .filter(|ip| *ip != own),
        );
    }
    Ok(peers)
}

/// The name in an `lsp-list` line: `UUID (NAME)`.
fn port_name(line: &str) -> Option<&str> {
    line.trim().split_once(" (")?.1.strip_suffix(')')
}

/// `ovn-nbctl` against `host`'s Northbound database: its output.
pub(crate) fn nbctl(host: &HostEnv, args: &[&str]) -> anyhow::Result<String> {
    let mut nbctl = cmd::command("ovn-nbctl");
    nbctl
        .arg(format!("--db={}", host.nb_remote))
        .arg("--timeout=10")
        .args(args);
    cmd::run(nbctl, Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_encap_address() {
        assert_eq!(
            container_address("192.168.56.11").expect("usable"),
            Ipv4Addr::new(10, 89, 0, 11)
        );
        assert!(container_address("192.168.56.255").is_err());
        assert!(container_address("not-an-ip").is_err());
    }

    #[test]
    fn port_names_come_from_lsp_list_lines() {
        let line = "3c1e4a4e-4bd0-4b5b-8fd5-1b7d0c2f1a3e (4d3c2b1a0011aabb)";
        assert_eq!(port_name(line), Some("4d3c2b1a0011aabb"));
        assert_eq!(port_name("garbage"), None);
    }
}
