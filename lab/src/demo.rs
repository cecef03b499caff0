//! The demo: an `ovn` Docker network, two busybox containers on it, and a
//! ping from one to the other across OVN. Everything it makes is named
//! `ovn-demo*`, which is how `down` finds it again.

use std::time::Duration;

use anyhow::{Context, bail};

use super::cmd::{self, say};
use super::docker::{self, docker};
use super::image::IMAGE;

pub const PREFIX: &str = "ovn-demo";
const NETWORK: &str = "ovn-demo";
const SUBNET: &str = "10.90.0.0/24";
const CONTAINERS: [&str; 2] = ["ovn-demo-a", "ovn-demo-b"];
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// Creates what is missing of the demo, then pings a → b.
pub fn run() -> anyhow::Result<()> {
    ensure_network()?;
    for name in CONTAINERS {
        ensure_container(name, NETWORK)?;
    }
    let address = address_of(CONTAINERS[1], NETWORK)?;
    say(format!(
        "demo: {} pings {} ({address})",
        CONTAINERS[0], CONTAINERS[1]
    ));
    let ping = cmd::capture(
        docker(&["exec", CONTAINERS[0], "ping", "-c", "3", &address]),
        DOCKER_TIMEOUT,
    )?;
    print!("{}", ping.stdout);
    if !ping.status.success() {
        bail!(
            "demo: the ping failed ({}): {}",
            ping.status,
            ping.stderr.trim()
        );
    }
    print_next_steps(&address);
    Ok(())
}

fn ensure_network() -> anyhow::Result<()> {
    if cmd::succeeds(docker(&["network", "inspect", NETWORK]), DOCKER_TIMEOUT) {
        say(format!("demo: network {NETWORK} exists"));
        return Ok(());
    }
    let create = docker(&[
        "network", "create", "-d", "ovn", "--subnet", SUBNET, NETWORK,
    ]);
    cmd::run(create, DOCKER_TIMEOUT)
        .with_context(|| format!("creating the Docker network {NETWORK}"))?;
    say(format!(
        "demo: created network {NETWORK} (driver ovn, subnet {SUBNET})"
    ));
    Ok(())
}

/// Starts the busybox container `name` on `network`, unless it runs.
pub fn ensure_container(name: &str, network: &str) -> anyhow::Result<()> {
    let state = cmd::capture(
        docker(&["inspect", "--format", "{{.State.Running}}", name]),
        DOCKER_TIMEOUT,
    )?;
    match (state.status.success(), state.stdout.trim()) {
        (true, "true") => {
            say(format!("demo: container {name} running"));
            return Ok(());
        }
        // Exists but stopped: replace it rather than guess why it stopped.
        (true, _) => {
            cmd::run(docker(&["rm", "-f", name]), DOCKER_TIMEOUT)?;
        }
        (false, _) => {}
    }
    let run = docker(&[
        "run",
        "-d",
        "--name",
        name,
        "--network",
        network,
        IMAGE,
        "sleep",
        "3600",
    ]);
    cmd::run(run, DOCKER_TIMEOUT).with_context(|| format!("starting container {name}"))?;
    say(format!("demo: started container {name} on {network}"));
    Ok(())
}

/// The address of `container` on `network`.
pub fn address_of(container: &str, network: &str) -> anyhow::Result<String> {
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    let address = cmd::run(
        docker(&["inspect", "--format", &format, container]),
        DOCKER_TIMEOUT,
    )?;
    let address = address.trim().to_string();
    if address.is_empty() {
        bail!("{container} has no address on {network}");
    }
    Ok(address)
}

fn print_next_steps(address: &str) {
    println!();
    println!("The demo works. Try next:");
    println!(
        "  docker exec -it {} sh                      # a shell in the first container",
        CONTAINERS[0]
    );
    println!("  docker exec {} ping -c 1 {address}", CONTAINERS[0]);
    println!("  docker run --rm --network {NETWORK} {IMAGE} ip addr   # a third container");
    println!("  docker-ovn-lab down                                    # removes the demo too");
}

/// Removes the demo's containers and networks, if a dockerd answers.
pub fn remove() -> anyhow::Result<()> {
    if !docker::answers() {
        return Ok(());
    }
    let names = list(
        &["ps", "-a", "--format", "{{.Names}}", "--filter"],
        &format!("name={PREFIX}"),
    )?;
    for name in &names {
        cmd::run(docker(&["rm", "-f", name]), DOCKER_TIMEOUT)?;
        say(format!("demo: removed container {name}"));
    }
    let networks = list(
        &["network", "ls", "--format", "{{.Name}}", "--filter"],
        &format!("name={PREFIX}"),
    )?;
    for network in &networks {
        cmd::run(docker(&["network", "rm", network]), DOCKER_TIMEOUT)?;
        say(format!("demo: removed network {network}"));
    }
    Ok(())
}

/// The names a docker listing prints that belong to the demo (Docker's
/// `name=` filter matches substrings; only the prefix is ours).
fn list(args: &[&str], filter: &str) -> anyhow::Result<Vec<String>> {
    let mut listing = docker(args);
    listing.arg(filter);
    Ok(demo_names(&cmd::run(listing, DOCKER_TIMEOUT)?))
}

fn demo_names(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|name| name.starts_with(PREFIX))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_starting_with_the_prefix_are_the_demo_s() {
        let listing = "ovn-demo-a\nmy-ovn-demo\novn-demo\n\nother\n";
        assert_eq!(demo_names(listing), vec!["ovn-demo-a", "ovn-demo"]);
    }
}
