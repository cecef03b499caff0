//! The demo: an `ovn` Docker network and an `ovs` one (only the latter on
//! a lab without OVN), two busybox containers on each, and a ping from one
//! to the other. Everything it makes is named `ovn-demo*` or `ovs-demo*`,
//! which is how `down` finds it again.

use std::time::Duration;

use anyhow::{Context, bail};

use super::cmd::{self, say};
use super::docker::{self, docker};
use super::image::IMAGE;

/// The first letters of every name the demos make.
pub const PREFIXES: [&str; 2] = ["ovn-demo", "ovs-demo"];
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// One demo network: its driver, name, subnet and two containers.
struct DemoNetwork {
    driver: &'static str,
    network: &'static str,
    subnet: &'static str,
    containers: [&'static str; 2],
}

/// Across OVN.
const OVN_DEMO: DemoNetwork = DemoNetwork {
    driver: "ovn",
    network: "ovn-demo",
    subnet: "10.90.0.0/24",
    containers: ["ovn-demo-a", "ovn-demo-b"],
};

/// On the driver's own bridge, its flows in place of OVN's.
const OVS_DEMO: DemoNetwork = DemoNetwork {
    driver: "ovs",
    network: "ovs-demo",
    subnet: "10.100.0.0/24",
    containers: ["ovs-demo-a", "ovs-demo-b"],
};

/// Creates what is missing of the demos (the `ovn` one only with `ovn`),
/// then pings a → b on each.
pub fn run(ovn: bool) -> anyhow::Result<()> {
    let demos: &[&DemoNetwork] = match ovn {
        true => &[&OVN_DEMO, &OVS_DEMO],
        false => &[&OVS_DEMO],
    };
    for demo in demos {
        run_one(demo)?;
    }
    print_next_steps(demos);
    Ok(())
}

fn run_one(demo: &DemoNetwork) -> anyhow::Result<()> {
    let [a, b] = demo.containers;
    ensure_network(demo)?;
    for name in demo.containers {
        ensure_container(name, demo.network)?;
    }
    let address = address_of(b, demo.network)?;
    say(format!(
        "demo: {a} pings {b} ({address}) on {} (-d {})",
        demo.network, demo.driver
    ));
    let ping = cmd::capture(
        docker(&["exec", a, "ping", "-c", "3", &address]),
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
    Ok(())
}

fn ensure_network(demo: &DemoNetwork) -> anyhow::Result<()> {
    let (network, driver, subnet) = (demo.network, demo.driver, demo.subnet);
    if cmd::succeeds(docker(&["network", "inspect", network]), DOCKER_TIMEOUT) {
        say(format!("demo: network {network} exists"));
        return Ok(());
    }
    let create = docker(&[
        "network", "create", "-d", driver, "--subnet", subnet, network,
    ]);
    cmd::run(create, DOCKER_TIMEOUT)
        .with_context(|| format!("creating the Docker network {network}"))?;
    say(format!(
        "demo: created network {network} (driver {driver}, subnet {subnet})"
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

fn print_next_steps(demos: &[&DemoNetwork]) {
    println!();
    println!("The demo works. Try next:");
    for demo in demos {
        let [a, _] = demo.containers;
        println!(
            "  docker exec -it {a} sh                      # a shell on {} (-d {})",
            demo.network, demo.driver
        );
        println!(
            "  docker run --rm --network {} {IMAGE} ip addr   # a third container",
            demo.network
        );
    }
    println!(
        "  docker-ovn status                                       # both drivers' networks and endpoints"
    );
    println!(
        "  docker-ovn flows                                        # the -d ovs bridge's flows, by table"
    );
    println!("  docker-ovn-lab down                                    # removes the demo too");
}

/// Removes the demo's containers and networks, if a dockerd answers.
pub fn remove() -> anyhow::Result<()> {
    if !docker::answers() {
        return Ok(());
    }
    for prefix in PREFIXES {
        let names = list(&["ps", "-a", "--format", "{{.Names}}", "--filter"], prefix)?;
        for name in &names {
            cmd::run(docker(&["rm", "-f", name]), DOCKER_TIMEOUT)?;
            say(format!("demo: removed container {name}"));
        }
        let networks = list(
            &["network", "ls", "--format", "{{.Name}}", "--filter"],
            prefix,
        )?;
        for network in &networks {
            cmd::run(docker(&["network", "rm", network]), DOCKER_TIMEOUT)?;
            say(format!("demo: removed network {network}"));
        }
    }
    Ok(())
}

/// The names a docker listing prints that start with `prefix` (Docker's
/// `name=` filter matches substrings; only the prefix is ours).
fn list(args: &[&str], prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut listing = docker(args);
    listing.arg(format!("name={prefix}"));
    Ok(demo_names(&cmd::run(listing, DOCKER_TIMEOUT)?, prefix))
}

fn demo_names(listing: &str, prefix: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|name| name.starts_with(prefix))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_starting_with_the_prefix_are_the_demo_s() {
        let listing = "ovn-demo-a\nmy-ovn-demo\novn-demo\n\nother\n";
        assert_eq!(
            demo_names(listing, "ovn-demo"),
            vec!["ovn-demo-a", "ovn-demo"]
        );
    }
}
