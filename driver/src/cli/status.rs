//! `docker-ovn status`: the databases, the plugin sockets, the networks
//! and this host's endpoints with their readiness, of `-d ovn` and (in
//! [`crate::cli::status_ovs`]) `-d ovs`, read from OVSDB and the switch
//! (where all the driver's state lives).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::cli::serve::{DatabaseArgs, host_name};
use crate::cli::status_ovs::print_ovs;
use crate::host::firewall::{Firewall, Rule};
use crate::host::gateway::{GatewayKind, HostGateways};
use crate::host::links::Links;
use crate::host::local_switch::{LocalSwitch, OwnedPort, iface_id};
use crate::host::published_ports::PublishedPorts;
use crate::ovn::northbound::{Northbound, SwitchInfo};

/// Flags of `docker-ovn status` (the same databases as `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

const TIMEOUT: Duration = Duration::from_secs(3);

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let args = args.db;
    let ovs = LocalSwitch::connect(&args.ovs_db, &args.bridge, TIMEOUT)
        .await
        .with_context(|| format!("Open_vSwitch database {}: unreachable", args.ovs_db))?;
    let nb_db = args.nb_target_if_any(&ovs);
    let host = host_name(&ovs, nb_db.is_some())?;
    println!(
        "Open_vSwitch   {}  connected (host {host}, bridge {})",
        args.ovs_db, args.bridge
    );
    println!(
        "plugin socket  {}  {}",
        args.socket.display(),
        plugin_answer(&args.socket)
    );
    match nb_db {
        Some(nb_db) => {
            let nb = Northbound::connect(&nb_db, TIMEOUT)
                .await
                .with_context(|| format!("OVN_Northbound database {nb_db}: unreachable"))?;
            println!("OVN_Northbound {nb_db}  connected");
            print_networks(&nb);
            print_gateways(&nb, &ovs, &host).await?;
            print_endpoints(&nb, &ovs, &host);
        }
        None => println!(
            "OVN_Northbound not configured: -d ovn refuses its calls \
             (set external_ids:ovn-nb or --nb-db)"
        ),
    }
    print_ovs(&args, &ovs, &host).await;
    print_published(&host).await?;
    Ok(())
}

/// Every published port on this host, of both drivers: `docker ps`
/// cannot show a remote driver's (Docker type-asserts Go types a JSON
/// reply never produces), so here is where they are seen.
async fn print_published(host: &str) -> anyhow::Result<()> {
    let firewall = Firewall::new(host);
    let mut rows = Vec::new();
    for kind in [GatewayKind::Ovn, GatewayKind::Ovs] {
        let published = PublishedPorts::new(firewall.clone(), host, kind.name());
        let ports = published.list().await?;
        rows.extend(
            ports
                .into_iter()
                .map(|(endpoint, port)| (kind.name(), endpoint, port)),
        );
    }
    println!("\nPUBLISHED PORTS ON {host} ({})", rows.len());
    println!(
        "{:<7} {:<13} {:<22} {:<5} CONTAINER",
        "DRIVER", "ENDPOINT", "HOST", "PROTO"
    );
    for (driver, endpoint, port) in rows {
        let host_ip = port.host_ip.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
        println!(
            "{driver:<7} {:<13} {:<22} {:<5} {}",
            short(&endpoint),
            format!("{host_ip}:{}", port.host_port),
            port.transport.name(),
            port.container,
        );
    }
    Ok(())
}

/// This host's gateway of each switch it has a Docker network on: the
/// port, whether its device holds the address, and whether the iptables
/// rules are complete.
async fn print_gateways(nb: &Northbound, ovs: &LocalSwitch, host: &str) -> anyhow::Result<()> {
    let links = Links::connect()?;
    let gateways = HostGateways::new(
        ovs.clone(),
        links.clone(),
        host.to_string(),
        GatewayKind::Ovn,
        TIMEOUT,
    );
    let (rules, _) = gateways.firewall().list().await?;
    let ports = gateways.ports();
    let switches: Vec<SwitchInfo> = nb
        .switches()
        .into_iter()
        .filter(|s| s.docker_networks.iter().any(|(_, h)| h == host))
        .collect();
    println!("\nGATEWAYS ON {host}");
    println!(
        "{:<24} {:<16} {:<18} {:<8} {:<8} RULES",
        "LOGICAL SWITCH", "INTERFACE", "ADDRESS", "PORT", "ON-DEVICE"
    );
    for switch in switches {
        // The MTU does not matter for what is shown.
        let Some(gateway) = crate::ovn::gateway::of_switch(&switch, 0) else {
            continue;
        };
        let port = ports
            .iter()
            .any(|(s, i)| *s == switch.name && *i == gateway.interface);
        let address = match links.state(&gateway.interface).await? {
            Some(link) => {
                let present = links.ipv4_addresses(&gateway.interface, link.index).await?;
                if present.contains(&gateway.address) {
                    "present"
                } else {
                    "missing"
                }
            }
            None => "no-device",
        };
        let ours: Vec<&Rule> = rules.iter().filter(|r| r.switch == switch.name).collect();
        let rules = if gateway.rules(host).complete(&ours) {
            "complete"
        } else {
            "missing"
        };
        println!(
            "{:<24} {:<16} {:<18} {:<8} {:<8} {rules}",
            switch.name,
            gateway.interface,
            gateway.address.to_string(),
            port,
            address,
        );
    }
    Ok(())
}

/// Asks the plugin for `Plugin.Activate` the way dockerd would.
pub fn plugin_answer(socket: &Path) -> String {
    let attempt = || -> std::io::Result<String> {
        let mut stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.write_all(
            b"POST /Plugin.Activate HTTP/1.0\r\nHost: plugin\r\nContent-Length: 0\r\n\r\n",
        )?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply)
    };
    match attempt() {
        Ok(reply) if reply.starts_with("HTTP/1.") && reply.contains("NetworkDriver") => {
            "answering".into()
        }
        Ok(reply) => format!(
            "answering oddly: {:?}",
            reply.lines().next().unwrap_or_default()
        ),
        Err(error) => format!("not answering ({error})"),
    }
}

fn print_networks(nb: &Northbound) {
    let switches = nb.switches();
    println!("\nNETWORKS ({})", switches.len());
    println!(
        "{:<24} {:<18} {:<22} {:<6} {:<5} {:<20} DOCKER NETWORKS (host)",
        "LOGICAL SWITCH", "SUBNET", "SUBNET6", "MTU", "PORTS", "ON"
    );
    for switch in switches {
        let docker: Vec<String> = switch
            .docker_networks
            .iter()
            .map(|(network, host)| format!("{}@{host}", short(network)))
            .collect();
        println!(
            "{:<24} {:<18} {:<22} {:<6} {:<5} {:<20} {}",
            switch.name,
            switch.subnet4.as_deref().unwrap_or("-"),
            switch.subnet6.as_deref().unwrap_or("-"),
            switch.mtu.map_or("auto".to_string(), |m| m.to_string()),
            switch.ports.len(),
            switch
                .provider
                .as_ref()
                .map_or("overlay".to_string(), |p| p.describe()),
            docker.join(" "),
        );
    }
}

fn print_endpoints(nb: &Northbound, ovs: &LocalSwitch, host: &str) {
    let ports = nb.ports_of_host(host);
    let local = ovs.owned_ports();
    println!("\nENDPOINTS ON {host} ({})", ports.len());
    println!(
        "{:<13} {:<13} {:<16} {:<8} {:<14} ADDRESSES",
        "ENDPOINT", "NETWORK", "INTERFACE", "LSP-UP", "OVN-INSTALLED"
    );
    for port in ports {
        let bound: Option<&OwnedPort> = local
            .iter()
            .find(|p| iface_id(p) == Some(port.endpoint.as_str()));
        println!(
            "{:<13} {:<13} {:<16} {:<8} {:<14} {}",
            short(&port.endpoint),
            short(&port.network),
            bound.map_or("(not joined)", |p| p.name.as_str()),
            port.up,
            bound.is_some_and(|p| p.installed),
            port.addresses,
        );
    }
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
