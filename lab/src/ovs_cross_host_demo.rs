//! The demo of a lab of several hosts without OVN (`lab up --hosts N
//! --no-ovn --demo`): `-d ovs` networks across every host, with no OVN
//! and no store: each host's Open_vSwitch row lists the others
//! (`docker-ovn-peers`, with their CIDRs).
//!
//! - VXLAN: `ovs-demo-vxlan` (`-o ovs.network=ovs-demo-vxlan --subnet
//!   10.102.0.0/16 --ip-range 10.102.1.0/24`); each host's addresses are
//!   its own slice of the shared subnet (host K: 10.102.K.0/24).
//! - Direct routing: `ovs-demo-routed` (`-o ovs.mode=routed --subnet
//!   10.230.1.192/26`): host K's part is the same place in its CIDR,
//!   10.230.K.192/26.
//! - VLAN: `ovs-demo-vlan` (`-o ovs.mode=vlan -o ovs.vlan=300 -o
//!   ovs.uplink=dovn-trkK --subnet 10.253.0.0/24`) on each host's trunk
//!   to the lab's physical switch, where the outside host `dovn-vlan300`
//!   (10.253.0.254) is on VLAN 300; host1's containers from
//!   10.253.0.16/28, host K's sandbox at 10.253.0.(16 K + 10).
//!
//! On host1, dockerd: each network and a container on it. On every other
//! host the lab makes dockerd's plugin calls on the host's `ovs.sock` and
//! puts the endpoint into a sandbox at `.10` of its part. Then pings both
//! ways. Names start with `ovs-demo`, so the single-host demo's removal
//! covers host1; `lab down` deletes the sandboxes.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};

use super::cmd::{self, say};
use super::cross_host_demo::{Ping, docker_pings, print_summary, show};
use super::demo;
use super::docker::docker;
use super::env::{HostEnv, LabEnv};
use super::plugin_client::PluginClient;
use super::remote_endpoint::stable_id;
use super::sandbox::{self, Attachment};

const PINGS: u32 = 3;
const DOCKER_TIMEOUT: Duration = Duration::from_secs(60);

/// One network of the demo, in one mode.
struct DemoNetwork {
    mode: &'static str,
    network: &'static str,
    container: &'static str,
    sandbox_prefix: &'static str,
}

const VXLAN: DemoNetwork = DemoNetwork {
    mode: "vxlan",
    network: "ovs-demo-vxlan",
    container: "ovs-demo-h1",
    sandbox_prefix: "dovn-ovsdemo-h",
};

const ROUTED: DemoNetwork = DemoNetwork {
    mode: "routed",
    network: "ovs-demo-routed",
    container: "ovs-demo-routed-h1",
    sandbox_prefix: "dovn-rtdemo-h",
};

const VLAN: DemoNetwork = DemoNetwork {
    mode: "vlan",
    network: "ovs-demo-vlan",
    container: "ovs-demo-vlan-h1",
    sandbox_prefix: "dovn-vldemo-h",
};

/// The demo's outside host on VLAN 300 (see `vlan_switch`).
const VLAN_OUTSIDE: &str = "10.253.0.254";

/// The demo's networks, in the order they are shown.
const NETWORKS: [&DemoNetwork; 3] = [&VXLAN, &ROUTED, &VLAN];

impl DemoNetwork {
    /// `-o` options as dockerd passes them to the driver.
    fn options(&self, index: usize) -> Value {
        match self.mode {
            "vxlan" => json!({"ovs.network": self.network}),
            "vlan" => json!({"ovs.mode": "vlan", "ovs.vlan": "300",
                             "ovs.uplink": format!("dovn-trk{index}")}),
            _ => json!({"ovs.mode": "routed"}),
        }
    }

    /// Host `index`'s pool and gateway (with prefix), as its IPAM gives them.
    fn pool(&self, index: usize) -> (String, String) {
        match self.mode {
            "vxlan" => ("10.102.0.0/16".into(), "10.102.0.1/16".into()),
            "vlan" => ("10.253.0.0/24".into(), "10.253.0.1/24".into()),
            _ => (
                format!("10.230.{index}.192/26"),
                format!("10.230.{index}.193/26"),
            ),
        }
    }

    /// The address of host `index`'s sandbox, with prefix.
    fn address(&self, index: usize) -> String {
        match self.mode {
            "vxlan" => format!("10.102.{index}.10/16"),
            "vlan" => format!("10.253.0.{}/24", 16 * index + 10),
            _ => format!("10.230.{index}.202/26"),
        }
    }

    /// `docker network create` on host1.
    fn docker_args(&self) -> Vec<String> {
        let option = match self.mode {
            "vxlan" => format!("ovs.network={}", self.network),
            "vlan" => "ovs.mode=vlan".into(),
            _ => "ovs.mode=routed".into(),
        };
        let mut args: Vec<String> = ["network", "create", "-d", "ovs", "-o", &option]
            .map(String::from)
            .to_vec();
        match self.mode {
            "vlan" => args.extend(
                [
                    "-o",
                    "ovs.vlan=300",
                    "-o",
                    "ovs.uplink=dovn-trk1",
                    "--subnet",
                    "10.253.0.0/24",
                    "--ip-range",
                    "10.253.0.16/28",
                    "--gateway",
                    "10.253.0.1",
                ]
                .map(String::from),
            ),
            "vxlan" => args.extend(
                ["--subnet", "10.102.0.0/16", "--ip-range", "10.102.1.0/24"].map(String::from),
            ),
            _ => args.extend(["--subnet".into(), self.pool(1).0]),
        }
        args.push(self.network.into());
        args
    }

    fn sandbox_name(&self, host: &HostEnv) -> String {
        format!("{}{}", self.sandbox_prefix, index_of(host))
    }
}

fn index_of(host: &HostEnv) -> usize {
    host.name
        .strip_prefix("host")
        .and_then(|i| i.parse().ok())
        .unwrap_or(1)
}

/// Sets up what is missing, then pings both ways between host1's
/// container and every other host's sandbox, on each network.
pub fn run(env: &LabEnv) -> anyhow::Result<()> {
    let mut pings = Vec::new();
    for net in NETWORKS {
        pings.extend(pings_of(env, net)?);
    }
    let local = demo::address_of(VLAN.container, VLAN.network)?;
    let to = format!("the outside host on VLAN 300 ({VLAN_OUTSIDE})");
    pings.push(docker_pings(VLAN.container, to, VLAN_OUTSIDE)?);
    let output = sandbox::ping("dovn-vlan300", &local, PINGS)?;
    let to = format!("{} on host1 ({local})", VLAN.container);
    pings.push(show("the outside host on VLAN 300".into(), to, &output));
    print_summary(&pings);
    if pings.iter().any(|ping| !ping.ok) {
        anyhow::bail!("-d ovs demo: a ping failed (the demo stays up for a look)");
    }
    explain(env);
    Ok(())
}

fn pings_of(env: &LabEnv, net: &DemoNetwork) -> anyhow::Result<Vec<Ping>> {
    let mode = net.mode;
    ensure_docker_side(net)?;
    let local = demo::address_of(net.container, net.network)?;
    say(format!("{mode} demo: host1: {} at {local}", net.container));
    let mut pings = Vec::new();
    for host in env.hosts.iter().filter(|h| h.netns.is_some()) {
        let address = ensure_remote(host, net)?;
        let sandbox = net.sandbox_name(host);
        say(format!(
            "{mode} demo: {}: sandbox {sandbox} at {address}",
            host.name
        ));
        let to = format!("{sandbox} on {} ({address})", host.name);
        pings.push(docker_pings(net.container, to, &address)?);
        let output = sandbox::ping(&sandbox, &local, PINGS)?;
        let to = format!("{} on host1 ({local})", net.container);
        pings.push(show(format!("{sandbox} on {}", host.name), to, &output));
    }
    Ok(pings)
}

fn ensure_docker_side(net: &DemoNetwork) -> anyhow::Result<()> {
    let exists = cmd::succeeds(docker(&["network", "inspect", net.network]), DOCKER_TIMEOUT);
    if !exists {
        let args = net.docker_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd::run(docker(&args), DOCKER_TIMEOUT)
            .with_context(|| format!("{} demo: docker network create", net.mode))?;
    }
    demo::ensure_container(net.container, net.network)
}

/// Host K's endpoint in its sandbox (kept if it is there); its address.
fn ensure_remote(host: &HostEnv, net: &DemoNetwork) -> anyhow::Result<String> {
    let name = net.sandbox_name(host);
    let cidr = net.address(index_of(host));
    let address = cidr.split('/').next().unwrap_or_default().to_string();
    if sandbox::address(&name).is_some_and(|a| a == cidr) {
        return Ok(address);
    }
    sandbox::remove(&name)?;
    let client = PluginClient::new(&host.driver.ovs_socket);
    let network = stable_id(host, &format!("{}-network", net.network));
    let endpoint = stable_id(host, &format!("{}-endpoint", net.network));
    let (pool, gateway) = net.pool(index_of(host));
    let _: Value = client.call(
        "NetworkDriver.CreateNetwork",
        &json!({"NetworkID": network,
                "Options": {"com.docker.network.generic": net.options(index_of(host))},
                "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": pool, "Gateway": gateway}],
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
        gateway: joined["Gateway"].as_str().filter(|g| !g.is_empty()),
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
    println!(
        "  - -o ovs.network={} names the network alike on every host: its VNI,",
        VXLAN.network
    );
    println!("    derived from the name, is the same on all of them (docker-ovn status).");
    println!("  - Each host hands out addresses from its own slice (host K: 10.102.K.0/24);");
    println!("    ARP for an address not on the host goes to every peer, the answer's MAC");
    println!("    is learned (table learned_macs) and later frames go to that peer alone.");
    println!(
        "  - {} is routed: each host's part is the same place in its own CIDR",
        ROUTED.network
    );
    println!("    (host K: 10.230.K.192/26), and each host routes the peers' CIDRs via the");
    println!("    peers (ip route show proto 211): plain IP on the wire, the full MTU.");
    println!(
        "  - {} is VLAN 300 on each host's trunk to the lab's physical switch",
        VLAN.network
    );
    println!("    (dovn-trkK, a port of br-docker): the outside host on VLAN 300 reaches");
    println!("    the containers' own addresses and MACs, with no NAT and no tunnel.");
    println!("Look closer:");
    if let Some(host1) = env.first_host() {
        println!(
            "  ovs-ofctl -O OpenFlow13 --names dump-flows unix:{} table=learned_macs",
            host1.ovs_rundir.join("br-docker.mgmt").display()
        );
    }
    println!("  ip netns exec dovn-underlay tcpdump -nn -v -i br-underlay udp port 4789");
    println!("  ip netns exec dovn-underlay tcpdump -nn -i br-underlay net 10.230.0.0/16");
    println!("  ip netns exec dovn-underlay tcpdump -nn -e -i dovn-trk2-s vlan 300");
    println!("  docker-ovn status");
}

/// Deletes the other hosts' demo sandboxes (their ports go with the hosts).
pub fn remove(env: &LabEnv) -> anyhow::Result<()> {
    for host in env.hosts.iter().filter(|h| h.netns.is_some()) {
        for net in NETWORKS {
            sandbox::remove(&net.sandbox_name(host))?;
        }
    }
    Ok(())
}
