//! The demo of a lab of several hosts without OVN (`lab up --hosts N
//! --no-ovn --demo`): one `-d ovs` VXLAN network across every host, with
//! no OVN and no store: each host's Open_vSwitch row lists the others
//! (`docker-ovn-peers`), and each host's addresses are its own slice of
//! the shared subnet (host K: 10.102.K.0/24).
//!
//! On host1, dockerd: the network `ovs-demo-vxlan` (`-o
//! ovs.network=ovs-demo-vxlan --subnet 10.102.0.0/16 --ip-range
//! 10.102.1.0/24`) and the container `ovs-demo-h1`. On every other host
//! the lab makes dockerd's plugin calls on the host's `ovs.sock` and puts
//! the endpoint into a sandbox `dovn-ovsdemo-hK` at 10.102.K.10. Then
//! pings both ways. Names start with `ovs-demo`, so the single-host
//! demo's removal covers host1; `lab down` deletes the sandboxes.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::cmd::{self, say};
use super::cross_host_demo::{docker_pings, print_summary, show};
use super::demo;
use super::docker::docker;
use super::env::{HostEnv, LabEnv};
use super::plugin_client::PluginClient;
use super::remote_endpoint::stable_id;
use super::sandbox::{self, Attachment};

const NETWORK: &str = "ovs-demo-vxlan";
const CONTAINER: &str = "ovs-demo-h1";
const PINGS: u32 = 3;
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// Host `index`'s slice of the shared subnet.
fn slice(index: usize) -> String {
    format!("10.102.{index}.0/24")
}

fn index_of(host: &HostEnv) -> usize {
    host.name
        .strip_prefix("host")
        .and_then(|i| i.parse().ok())
        .unwrap_or(1)
}

fn sandbox_name(host: &HostEnv) -> String {
    format!("dovn-ovsdemo-h{}", index_of(host))
}

/// Sets up what is missing, then pings both ways between host1's
/// container and every other host's sandbox.
pub fn run(env: &LabEnv) -> anyhow::Result<()> {
    ensure_docker_side()?;
    let local = demo::address_of(CONTAINER, NETWORK)?;
    say(format!("vxlan demo: host1: {CONTAINER} at {local}"));
    let mut pings = Vec::new();
    for host in env.hosts.iter().filter(|h| h.netns.is_some()) {
        let address = ensure_remote(host)?;
        say(format!(
            "vxlan demo: {}: sandbox {} at {address}",
            host.name,
            sandbox_name(host)
        ));
        let to = format!("{} on {} ({address})", sandbox_name(host), host.name);
        pings.push(docker_pings(CONTAINER, to, &address)?);
        let from = format!("{} on {}", sandbox_name(host), host.name);
        let output = sandbox::ping(&sandbox_name(host), &local, PINGS)?;
        pings.push(show(
            from,
            format!("{CONTAINER} on host1 ({local})"),
            &output,
        ));
    }
    print_summary(&pings);
    if pings.iter().any(|ping| !ping.ok) {
        anyhow::bail!("vxlan demo: a ping failed (the demo stays up for a look)");
    }
    explain(env);
    Ok(())
}

fn ensure_docker_side() -> anyhow::Result<()> {
    let exists = cmd::succeeds(docker(&["network", "inspect", NETWORK]), DOCKER_TIMEOUT);
    if !exists {
        let option = format!("ovs.network={NETWORK}");
        let args = [
            "network",
            "create",
            "-d",
            "ovs",
            "-o",
            &option,
            "--subnet",
            "10.102.0.0/16",
            "--ip-range",
            &slice(1),
            NETWORK,
        ];
        cmd::run(docker(&args), DOCKER_TIMEOUT).context("vxlan demo: docker network create")?;
    }
    demo::ensure_container(CONTAINER, NETWORK)
}

/// Host K's endpoint in its sandbox (kept if it is there); its address.
fn ensure_remote(host: &HostEnv) -> anyhow::Result<String> {
    let name = sandbox_name(host);
    let address = format!("10.102.{}.10", index_of(host));
    if sandbox::address(&name).is_some_and(|a| a.starts_with(&format!("{address}/"))) {
        return Ok(address);
    }
    sandbox::remove(&name)?;
    let client = PluginClient::new(&host.driver.ovs_socket);
    let network = stable_id(host, "ovs-demo-network");
    let endpoint = stable_id(host, "ovs-demo-endpoint");
    let cidr = format!("{address}/16");
    let _: Value = client.call(
        "NetworkDriver.CreateNetwork",
        &json!({"NetworkID": network,
                "Options": {"com.docker.network.generic": {"ovs.network": NETWORK}},
                "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.102.0.0/16",
                              "Gateway": "10.102.0.1/16"}],
                "IPv6Data": []}),
    )?;
    let ids = json!({"NetworkID": network, "EndpointID": endpoint});
    // What an interrupted run left of the endpoint goes first.
    let _ = client.call::<Value>("NetworkDriver.Leave", &ids);
    let _ = client.call::<Value>("NetworkDriver.DeleteEndpoint", &ids);
    let _: Value = client.call(
        "NetworkDriver.CreateEndpoint",
        &json!({"NetworkID": network, "EndpointID": endpoint,
                "Interface": {"Address": cidr, "AddressIPv6": "", "MacAddress": ""},
                "Options": {}}),
    )?;
    sandbox::create(&name)?;
    let joined: Value = client.call(
        "NetworkDriver.Join",
        &json!({"NetworkID": network, "EndpointID": endpoint,
                "SandboxKey": sandbox::key(&name), "Options": {}}),
    )?;
    let src = joined["InterfaceName"]["SrcName"]
        .as_str()
        .context("Join named no interface")?;
    let attachment = Attachment {
        host_netns: host.netns.as_deref(),
        src_name: src,
        address: &cidr,
        mac: None,
        gateway: None,
    };
    sandbox::attach(&name, &attachment)?;
    Ok(address)
}

fn explain(env: &LabEnv) {
    println!();
    println!("What just happened:");
    println!("  - No OVN: each host's docker-ovn is the OpenFlow controller of its own");
    println!("    br-docker, with one VXLAN port; each host's Open_vSwitch row lists the");
    println!("    others as peers (external_ids:docker-ovn-peers).");
    println!("  - -o ovs.network={NETWORK} names the network alike on every host: its VNI,");
    println!("    derived from the name, is the same on all of them (docker-ovn status).");
    println!("  - Each host hands out addresses from its own slice (host K: 10.102.K.0/24);");
    println!("    ARP for an address not on the host goes to every peer, the answer's MAC");
    println!("    is learned (table learned_macs) and later frames go to that peer alone.");
    println!("Look closer:");
    if let Some(host1) = env.first_host() {
        println!(
            "  ovs-ofctl -O OpenFlow13 --names dump-flows unix:{} table=learned_macs",
            host1.ovs_rundir.join("br-docker.mgmt").display()
        );
    }
    println!("  ip netns exec dovn-underlay tcpdump -nn -v -i br-underlay udp port 4789");
    println!("  docker-ovn status");
}

/// Deletes the other hosts' demo sandboxes (their ports go with the hosts).
pub fn remove(env: &LabEnv) -> anyhow::Result<()> {
    for host in env.hosts.iter().filter(|h| h.netns.is_some()) {
        sandbox::remove(&sandbox_name(host))?;
    }
    Ok(())
}
