//! The demo of a lab with several hosts (`lab up --hosts N --demo`): one
//! network across every host, and pings between them over Geneve.
//!
//! On host1, dockerd: the network `ovn-demo-shared` (`-o
//! ovn.network=ovn-demo-shared --ipam-driver ovn`, the same as the
//! Vagrant hosts' [`super::shared_demo`]) and the container `ovn-demo-h1`.
//! On every other host, which has no dockerd, the lab makes dockerd's
//! plugin calls itself ([`super::remote_endpoint`]) and puts the endpoint
//! into a sandbox namespace `dovn-demo-hK`. Then host1's container pings
//! every sandbox and every sandbox pings it back. With `--nested`, the
//! VM's driver ([`super::nested_vm`]) is one more such host: its sandbox
//! `dovn-demo-vm1` is a nested container, a child of the VM's port. And
//! a container on a provider network pings the physical network's router
//! ([`super::provider_demo`]). Repeating it reuses what is there; `lab
//! down` removes it all.

use std::time::Duration;

use anyhow::{Context, bail};

use super::cmd::{self, Output, say};
use super::docker::docker;
use super::env::{HostEnv, LabEnv};
use super::remote_endpoint::{self, SharedNetwork};
use super::sandbox;
use super::shared_demo::{self, NETWORK, SUBNET};
use super::{demo, nested_vm, provider_demo};

/// host1's demo container (its name starts with `ovn-demo`, so the
/// single-host demo's removal covers it too).
const CONTAINER: &str = "ovn-demo-h1";
const PINGS: u32 = 3;
/// How long a new port may take to be reachable from another chassis.
const REACHABLE_WITHIN: Duration = Duration::from_secs(30);
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// One ping shown to the user.
pub(super) struct Ping {
    from: String,
    to: String,
    /// The `N packets transmitted, ...` line.
    summary: String,
    pub(super) ok: bool,
}

/// Sets up what is missing of the demo, then pings both ways between
/// host1's container and every other host's sandbox.
pub fn run(env: &LabEnv) -> anyhow::Result<()> {
    let others = other_hosts(env);
    if others.is_empty() {
        bail!("the cross-host demo needs a lab with at least two hosts");
    }
    shared_demo::ensure_network()?;
    say(format!(
        "cross-host demo: host1: network {NETWORK} ({SUBNET}, switch {NETWORK})"
    ));
    demo::ensure_container(CONTAINER, NETWORK)?;
    let local = demo::address_of(CONTAINER, NETWORK)?;
    say(format!(
        "cross-host demo: host1: container {CONTAINER} at {local}"
    ));
    let mut remotes = Vec::new();
    for host in &others {
        remotes.push((host, ensure_remote(host)?));
    }
    let mut pings = vec![provider_demo::run()?];
    for (host, address) in &remotes {
        pings.push(container_pings(host, address)?);
        pings.push(sandbox_pings(host, &local)?);
    }
    print_summary(&pings);
    if pings.iter().any(|ping| !ping.ok) {
        bail!(
            "cross-host demo: a ping failed (the demo stays up for a look; `lab down` removes it)"
        );
    }
    explain(env, &remotes, &local);
    Ok(())
}

/// The hosts without dockerd: hosts 2..N, and the nested VM if it runs.
fn other_hosts(env: &LabEnv) -> Vec<HostEnv> {
    let vm = nested_vm::vm_of(env).filter(|vm| vm.driver.pidfile.exists());
    let hosts = env.hosts.iter().filter(|h| h.netns.is_some()).cloned();
    hosts.chain(vm).collect()
}

/// `dovn-demo-hK` for host K, `dovn-demo-vm1` for the VM.
fn sandbox_name(host: &HostEnv) -> String {
    match host.name.strip_prefix("host") {
        Some(index) => format!("dovn-demo-h{index}"),
        None => format!("dovn-demo-{}", host.name),
    }
}

/// Host K's endpoint in its sandbox, made unless complete; its address.
fn ensure_remote(host: &HostEnv) -> anyhow::Result<String> {
    let name = sandbox_name(host);
    let recorded = remote_endpoint::record(host).filter(|record| record.joined);
    let present = sandbox::address(&name);
    if let (Some(record), Some(present)) = (recorded, present)
        && record.address.as_ref() == Some(&present)
    {
        say(format!(
            "cross-host demo: {}: sandbox {name} at {present}",
            host.name
        ));
        return Ok(bare(&present));
    }
    // Leftovers of an interrupted run go first; what cannot be given back
    // shows up again below.
    if let Err(error) = remote_endpoint::detach(host, &name) {
        say(format!(
            "cross-host demo: {}: cleaning up: {error:#}",
            host.name
        ));
    }
    let network = SharedNetwork {
        switch: NETWORK,
        subnet: SUBNET,
    };
    let address = remote_endpoint::attach(host, &network, &name)
        .with_context(|| format!("cross-host demo on {}", host.name))?;
    say(format!(
        "cross-host demo: {}: plugin calls as dockerd makes them, sandbox {name} at {address}",
        host.name
    ));
    Ok(bare(&address))
}

fn bare(cidr: &str) -> String {
    cidr.split('/').next().unwrap_or(cidr).to_string()
}

/// `docker exec ovn-demo-h1 ping` host K's sandbox, once it answers at all.
fn container_pings(host: &HostEnv, target: &str) -> anyhow::Result<Ping> {
    let to = format!("{} on {} ({target})", sandbox_name(host), host.name);
    docker_pings(CONTAINER, to, target)
}

/// `docker exec CONTAINER ping TARGET` (`to` names the target), once it
/// answers at all: a new port needs a moment until the other host has
/// its binding, or its MAC is found.
pub(super) fn docker_pings(container: &str, to: String, target: &str) -> anyhow::Result<Ping> {
    let ping = |count: u32| {
        let count = count.to_string();
        let args = ["exec", container, "ping", "-c", &count, "-W", "2", target];
        cmd::capture(docker(&args), DOCKER_TIMEOUT)
    };
    let what = format!("{container} on host1 reaches {to}");
    let _ = cmd::wait_until(&what, REACHABLE_WITHIN, || Ok(ping(1)?.status.success()));
    Ok(show(format!("{container} on host1"), to, &ping(PINGS)?))
}

/// `ip netns exec dovn-demo-hK ping` host1's container.
fn sandbox_pings(host: &HostEnv, target: &str) -> anyhow::Result<Ping> {
    let name = sandbox_name(host);
    let from = format!("{name} on {}", host.name);
    let to = format!("{CONTAINER} on host1 ({target})");
    Ok(show(from, to, &sandbox::ping(&name, target, PINGS)?))
}

/// Prints a ping's output under a heading; its outcome.
pub(super) fn show(from: String, to: String, output: &Output) -> Ping {
    println!();
    println!("== {from} pings {to}");
    print!("{}", output.stdout);
    if !output.status.success() {
        print!("{}", output.stderr);
    }
    let summary = output
        .stdout
        .lines()
        .find(|line| line.contains("packets transmitted"))
        .unwrap_or("no ping statistics")
        .trim()
        .to_string();
    Ping {
        from,
        to,
        summary,
        ok: output.status.success(),
    }
}

pub(super) fn print_summary(pings: &[Ping]) {
    println!();
    println!("Cross-host pings:");
    for ping in pings {
        let verdict = if ping.ok { "ok    " } else { "FAILED" };
        println!("  {verdict} {} -> {}: {}", ping.from, ping.to, ping.summary);
    }
}

/// What the user just watched, and where to look closer.
fn explain(env: &LabEnv, remotes: &[(&HostEnv, String)], local: &str) {
    let chassis: Vec<String> = env
        .hosts
        .iter()
        .map(|host| format!("{} ({})", host.system_id, host.encap_ip))
        .collect();
    println!();
    println!("What just happened:");
    println!("  - Every host is an OVN chassis with its own OVS and docker-ovn driver:");
    println!("    {}.", chassis.join(", "));
    println!("    host1 used dockerd; on the others the lab made dockerd's plugin calls");
    println!("    (RequestPool, RequestAddress, CreateNetwork, CreateEndpoint, Join).");
    println!("  - Each host's network maps onto ONE logical switch, {NETWORK} (-o ovn.network),");
    println!("    so its ports on all hosts are one Ethernet segment.");
    println!(
        "  - The addresses ({local} on host1, {}) come from",
        addresses(remotes)
    );
    println!("    one {SUBNET} pool of the ovn IPAM driver, kept in the Northbound");
    println!("    database: no two hosts can be given the same address.");
    println!("  - Between hosts the frames travel in Geneve tunnels over the underlay");
    println!("    (namespace dovn-underlay); ovn-controller of the receiving chassis");
    println!("    delivers them to the port.");
    if remotes.iter().any(|(host, _)| host.name == nested_vm::VM) {
        println!(
            "  - {0} is a VM on host1 whose NIC is logical port {0}: its sandbox is a",
            nested_vm::VM
        );
        println!(
            "    nested container, a child port of {} on a VLAN ovn-northd picked.",
            nested_vm::VM
        );
    }
    println!(
        "  - {} is on the physical network itself (-o ovn.physnet=physnet1):",
        provider_demo::NETWORK
    );
    println!(
        "    no tunnel, no NAT; {} is its router, an outside host.",
        provider_demo::ROUTER
    );
    explain_next(env, remotes);
}

fn addresses(remotes: &[(&HostEnv, String)]) -> String {
    let list: Vec<String> = remotes
        .iter()
        .map(|(host, address)| format!("{address} on {}", host.name))
        .collect();
    list.join(", ")
}

fn explain_next(env: &LabEnv, remotes: &[(&HostEnv, String)]) {
    println!("Look closer:");
    if let Some(host1) = env.first_host() {
        println!("  ovn-nbctl --db={} show {NETWORK}", host1.nb_remote);
        println!("  ovn-nbctl --db={} list Address_Set", host1.nb_remote);
        println!("  ovn-sbctl --db={} show", host1.sb_remote);
    }
    println!("  docker exec -it {CONTAINER} sh");
    if let Some((host, address)) = remotes.first() {
        println!("  ip netns exec {} ping {address}", sandbox_name(host));
    }
    println!("  docker-ovn-lab down          # removes the demo with the lab");
}

/// Gives back every other host's demo endpoint over the plugin API
/// (warnings only: the lab goes anyway) and deletes the sandboxes.
pub fn remove(env: &LabEnv) -> anyhow::Result<()> {
    for host in &other_hosts(env) {
        let name = sandbox_name(host);
        let had = remote_endpoint::record(host).is_some();
        if let Err(error) = remote_endpoint::detach(host, &name) {
            say(format!("cross-host demo: {}: {error:#}", host.name));
        }
        sandbox::remove(&name)?;
        if had {
            say(format!("cross-host demo: {}: removed", host.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{Layout, lab_env_with};
    use std::path::Path;

    #[test]
    fn sandboxes_are_named_after_their_host() {
        let env = lab_env_with(Path::new("/tmp/lab"), Layout::Local { hosts: 3 });
        assert_eq!(sandbox_name(&env.hosts[1]), "dovn-demo-h2");
        assert_eq!(sandbox_name(&env.hosts[2]), "dovn-demo-h3");
    }
}
