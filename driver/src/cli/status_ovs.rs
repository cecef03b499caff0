//! The `-d ovs` part of `docker-ovn status`: the bridge, its OpenFlow
//! connection and the driver's flows on it, the networks recorded on the
//! bridge and this host's endpoints with their ofport and flow count.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cli::serve::DatabaseArgs;
use crate::cli::status::{plugin_answer, short};
use crate::host::local_switch::LocalSwitch;
use crate::ovs::bridge_flows::BridgeFlows;
use crate::ovs::cookie::{Owner, round_of};
use crate::ovs::endpoint_port::endpoint_ports;
use crate::ovs::network_record::network_records;

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
        Ok((per_port, total, rounds)) => {
            println!("OpenFlow       {target}  connected, {total} driver flows, rounds {rounds:?}");
            per_port
        }
        Err(error) => {
            println!("OpenFlow       {target}  not connected: {error}");
            BTreeMap::new()
        }
    };
    print_networks(&bridge);
    print_endpoints(&bridge, host, &per_port);
}

/// Driver flows per endpoint ofport, in all, and the rounds present.
async fn flow_counts(target: &str) -> anyhow::Result<(BTreeMap<u32, usize>, usize, Vec<u16>)> {
    let present = BridgeFlows::connect(target, TIMEOUT)
        .await?
        .present()
        .await?;
    let mut per_port = BTreeMap::new();
    let mut rounds = Vec::new();
    for flow in &present {
        if let Some(owner) = Owner::of_cookie(flow.cookie) {
            *per_port.entry(owner.endpoint).or_insert(0) += 1;
        }
        rounds.push(round_of(flow.cookie));
    }
    rounds.sort_unstable();
    rounds.dedup();
    Ok((per_port, present.len(), rounds))
}

fn print_networks(bridge: &LocalSwitch) {
    let records = network_records(bridge);
    println!("\n-d ovs NETWORKS ({})", records.len());
    println!(
        "{:<13} {:<5} {:<18} {:<22} {:<15} {:<5} INTERNAL",
        "NETWORK", "INDEX", "SUBNET", "SUBNET6", "GATEWAY", "MTU"
    );
    let shown = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for record in records {
        println!(
            "{:<13} {:<5} {:<18} {:<22} {:<15} {:<5} {}",
            short(record.network.as_str()),
            record.index,
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
