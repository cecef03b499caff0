//! The `-d ovs` part of `docker-ovn status`: the bridge, its OpenFlow
//! connection and the driver's flows on it, this host's tunnel address
//! and peers, the networks recorded on the bridge (with the addresses
//! this host's endpoints use: its slice of a shared subnet) and this
//! host's endpoints with their ofport and flow count.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::cli::serve::DatabaseArgs;
use crate::cli::status::{plugin_answer, short};
use crate::host::links::Links;
use crate::host::local_switch::LocalSwitch;
use crate::host::routes::{PeerRoute, ROUTE_PROTOCOL};
use crate::ovs::bridge_flows::BridgeFlows;
use crate::ovs::cookie::{Owner, round_of};
use crate::ovs::endpoint_port::endpoint_ports;
use crate::ovs::network_mode::NetworkMode;
use crate::ovs::network_record::network_records;
use crate::ovs::peers::{Peer, PeerSettings};
use crate::ovs::tunnel::VXLAN_PORT;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Prints the `-d ovs` side of this host.
pub async fn print_ovs(args: &DatabaseArgs, ovs: &LocalSwitch, host: &str) {
    let bridge = ovs.with_bridge(&args.ovs_bridge);
    println!(
        "\n-d ovs bridge  {}  {}",
        args.ovs_bridge,
        if bridge.bridge_exists() {
            "present"
        } else {
            "missing (the daemon makes it at start, unless --no-ovs)"
        }
    );
    println!(
        "plugin socket  {}  {}",
        args.ovs_socket.display(),
        plugin_answer(&args.ovs_socket)
    );
    if !bridge.bridge_exists() {
        return;
    }
    let target = args.openflow_target();
    let per_port = match flow_counts(&target).await {
        Ok(FlowCounts {
            per_port,
            total,
            rounds,
            learned,
        }) => {
            println!(
                "OpenFlow       {target}  connected, {total} driver flows, rounds {rounds:?}, \
                 {learned} MACs learned from peers"
            );
            per_port
        }
        Err(error) => {
            println!("OpenFlow       {target}  not connected: {error}");
            BTreeMap::new()
        }
    };
    print_peers(&bridge, &args.peers);
    print_routes().await;
    print_networks(&bridge, host);
    print_endpoints(&bridge, host, &per_port);
}

/// This host's tunnel address and peers, as the daemon reads them.
fn print_peers(bridge: &LocalSwitch, extra: &[Peer]) {
    let settings = PeerSettings::read(bridge, extra);
    let shown = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let vxlan = bridge
        .owned_port(VXLAN_PORT)
        .map(|p| {
            format!(
                "{VXLAN_PORT} ofport {}",
                shown(p.ofport.map(|o| o.to_string()))
            )
        })
        .unwrap_or_else(|| "none (no peer and no VXLAN network)".into());
    println!(
        "tunnel         {}  VXLAN port {vxlan}",
        shown(settings.tunnel_ip.map(|a| a.to_string()))
    );
    println!(
        "host CIDR      {}  (routed networks lie in it)",
        shown(settings.host_cidr.map(|c| c.to_string()))
    );
    let peers: Vec<String> = settings.peers.iter().map(Peer::to_string).collect();
    println!(
        "peers          {}",
        shown(Some(peers.join(" ")).filter(|p| !p.is_empty()))
    );
    for problem in &settings.problems {
        println!("               left out: {problem}");
    }
}

/// The driver's routes to peers (direct routing), as the kernel has them.
async fn print_routes() {
    let routes = match Links::connect() {
        Ok(links) => links.peer_routes().await,
        Err(error) => Err(error),
    };
    match routes {
        Ok(routes) if routes.is_empty() => {
            println!("routes         none (no routed network, or no peer with a CIDR)")
        }
        Ok(routes) => {
            let shown: Vec<String> = routes.iter().map(PeerRoute::to_string).collect();
            println!(
                "routes         {} (proto {ROUTE_PROTOCOL})",
                shown.join(", ")
            );
        }
        Err(error) => println!("routes         cannot be listed: {error}"),
    }
}

/// The driver's flows on the bridge, counted.
struct FlowCounts {
    /// Per endpoint ofport (the driver's flows, not the learned ones).
    per_port: BTreeMap<u32, usize>,
    total: usize,
    /// The rounds present (learned flows have none of their own).
    rounds: Vec<u16>,
    /// Flows the switch learned from peers: one per MAC.
    learned: usize,
}

async fn flow_counts(target: &str) -> anyhow::Result<FlowCounts> {
    let present = BridgeFlows::connect(target, TIMEOUT)
        .await?
        .present()
        .await?;
    let mut per_port = BTreeMap::new();
    let mut rounds = Vec::new();
    let mut learned = 0;
    for flow in &present {
        match Owner::of_cookie(flow.cookie) {
            Some(owner) if owner.is_learned() => learned += 1,
            Some(owner) => {
                *per_port.entry(owner.endpoint).or_insert(0) += 1;
                rounds.push(round_of(flow.cookie));
            }
            None => {}
        }
    }
    rounds.sort_unstable();
    rounds.dedup();
    Ok(FlowCounts {
        per_port,
        total: present.len(),
        rounds,
        learned,
    })
}

fn print_networks(bridge: &LocalSwitch, host: &str) {
    let records = network_records(bridge);
    let endpoints = endpoint_ports(bridge, host);
    println!("\n-d ovs NETWORKS ({})", records.len());
    println!(
        "{:<13} {:<5} {:<14} {:<18} {:<22} {:<15} {:<5} {:<8} THIS HOST'S ADDRESSES",
        "NETWORK", "INDEX", "MODE", "SUBNET", "SUBNET6", "GATEWAY", "MTU", "INTERNAL"
    );
    let shown = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for record in records {
        let mode = match record.mode {
            NetworkMode::Vxlan { vni } => format!("vxlan {vni}"),
            NetworkMode::Routed => "routed".into(),
            NetworkMode::Vlan { vid } => {
                format!("vlan {vid} {}", record.uplink.as_deref().unwrap_or("-"))
            }
            NetworkMode::Local => "local".into(),
        };
        let mut used: Vec<Ipv4Addr> = endpoints
            .iter()
            .filter(|e| e.network == record.network)
            .filter_map(|e| e.ipv4)
            .collect();
        used.sort_unstable();
        let slice = match (used.first(), used.last()) {
            (Some(first), Some(last)) => format!("{first}-{last} ({})", used.len()),
            _ => "-".into(),
        };
        println!(
            "{:<13} {:<5} {:<14} {:<18} {:<22} {:<15} {:<5} {:<8} {slice}",
            short(record.network.as_str()),
            record.index,
            mode,
            shown(record.subnet4.map(|n| n.to_string())),
            shown(record.subnet6.map(|n| n.to_string())),
            shown(record.gateway4.map(|a| a.to_string())),
            record.mtu,
            record.internal,
        );
    }
}

fn print_endpoints(bridge: &LocalSwitch, host: &str, flows: &BTreeMap<u32, usize>) {
    let endpoints = endpoint_ports(bridge, host);
    println!("\n-d ovs ENDPOINTS ON {host} ({})", endpoints.len());
    println!(
        "{:<13} {:<13} {:<16} {:<6} {:<5} {:<18} ADDRESSES",
        "ENDPOINT", "NETWORK", "INTERFACE", "OFPORT", "FLOWS", "MAC"
    );
    for endpoint in endpoints {
        let addresses: Vec<String> = [
            endpoint.ipv4.map(|a| a.to_string()),
            endpoint.ipv6.map(|a| a.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let ofport = endpoint.ofport.map_or("-".to_string(), |p| p.to_string());
        let count = endpoint.ofport.and_then(|p| flows.get(&p)).copied();
        println!(
            "{:<13} {:<13} {:<16} {:<6} {:<5} {:<18} {}",
            short(endpoint.endpoint.as_str()),
            short(endpoint.network.as_str()),
            endpoint.interface,
            ofport,
            count.unwrap_or(0),
            endpoint.mac.to_string(),
            addresses.join(" "),
        );
    }
}
