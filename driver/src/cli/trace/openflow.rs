//! The `-d ovs` trace: `ofproto/trace` of the packet on the driver's
//! bridge, and the table of its pipeline where it ends.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use super::{Packet, Verdict, run_tracer};
use crate::cli::serve::DatabaseArgs;
use crate::external_ids::{ENDPOINT, GATEWAY_OF};
use crate::host::local_switch::{LocalSwitch, id_of};
use crate::names::DockerId;
use crate::names::host_interface;
use crate::ovs::pipeline::{ISOLATION_PRIORITY, Table};

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn trace(db: &DatabaseArgs, packet: &Packet<'_>) -> anyhow::Result<(Verdict, String)> {
    let ovs = LocalSwitch::connect(&db.ovs_db, &db.ovs_bridge, TIMEOUT).await?;
    let endpoint = DockerId::parse("endpoint", &packet.from.endpoint)?;
    let interface = host_interface(&endpoint);
    let in_port = ovs
        .owned_port(&interface)
        .and_then(|p| p.ofport)
        .with_context(|| format!("{interface} has no OpenFlow port on {}", db.ovs_bridge))?;
    let flow = format!(
        "in_port={in_port},icmp,dl_src={},dl_dst={},nw_src={},nw_dst={},nw_ttl=64,icmp_type=8",
        packet.from.mac, packet.to_mac, packet.source_ip, packet.to_ip
    );
    let control = db.ovs_rundir_or_default().join("ovs-vswitchd.ctl");
    let mut command = Command::new("ovs-appctl");
    command
        .arg("-t")
        .arg(&control)
        .args(["ofproto/trace", &db.ovs_bridge, &flow]);
    let raw = run_tracer(command, "openvswitch-common")?;
    let port_of = |ofport: u32| -> Option<String> {
        let port = ovs
            .owned_ports()
            .into_iter()
            .find(|p| p.ofport == Some(ofport))?;
        let endpoint = id_of(&port, ENDPOINT).map(|e| format!("endpoint {e}"));
        let gateway = id_of(&port, GATEWAY_OF).map(|_| "gateway".to_string());
        endpoint.or(gateway).or(Some(port.name))
    };
    Ok((verdict(&raw, packet, port_of), raw))
}

/// Where the trace ended, in words; `port_of` names what is behind an
/// OpenFlow port (`endpoint ID`, `gateway`, a port name).
pub fn verdict(raw: &str, packet: &Packet<'_>, port_of: impl Fn(u32) -> Option<String>) -> Verdict {
    let dropped = raw.lines().any(|l| l.trim() == "Datapath actions: drop");
    if !dropped {
        let out = last_output(raw)
            .and_then(&port_of)
            .unwrap_or_else(|| "a port".into());
        let delivered = match packet.to_endpoint {
            Some(to) => out == format!("endpoint {to}"),
            None => true,
        };
        let words = match out.as_str() {
            "gateway" => "leaves the network by this host's gateway; the host routes it on".into(),
            _ if delivered && packet.to_endpoint.is_some() => {
                "delivered: the bridge outputs it to the destination's port".into()
            }
            other => format!("output to {other}"),
        };
        return Verdict { delivered, words };
    }
    let words = match last_table(raw) {
        Some((Table::SpoofGuard, _)) => "dropped by the spoof guard (table spoof_guard): only \
            the endpoint's own MAC and addresses pass as source"
            .to_string(),
        Some((Table::Forwarding, ISOLATION_PRIORITY)) => "dropped in table l2_forwarding by the \
            network's isolation: it has icc=false, its containers do not reach each other"
            .to_string(),
        Some((table, priority)) => {
            format!(
                "dropped in table {} (a flow of priority {priority})",
                table.name()
            )
        }
        None => "dropped before the driver's pipeline".to_string(),
    };
    Verdict {
        delivered: false,
        words,
    }
}

/// The OpenFlow port of the last output: `output:N`, or for an output
/// to a register, the `-> output port is N` the trace adds.
fn last_output(raw: &str) -> Option<u32> {
    raw.lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("output:")
                .or_else(|| l.strip_prefix("-> output port is "))
        })
        .filter_map(|n| n.trim().parse().ok())
        .next_back()
}

/// The table and priority of the last flow the trace went through
/// (` 20. reg0=0x1, priority 150, cookie ...`).
fn last_table(raw: &str) -> Option<(Table, u16)> {
    raw.lines()
        .filter_map(|line| {
            let (number, rest) = line.trim().split_once(". ")?;
            let table = Table::of_number(number.parse().ok()?)?;
            let priority = rest
                .split(", ")
                .find_map(|p| p.strip_prefix("priority "))
                .and_then(|p| p.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            Some((table, priority))
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::trace::containers::Attachment;

    #[test]
    fn the_output_port_or_the_dropping_table_is_the_verdict() {
        let from = Attachment {
            network_name: "blue".into(),
            network_id: "n".into(),
            driver: "ovs".into(),
            endpoint: "a0ab".into(),
            mac: "0a:5a:0a:51:00:02".into(),
            ipv4: "10.81.0.2".parse().unwrap(),
            gateway: None,
        };
        let packet = Packet {
            from: &from,
            source_ip: from.ipv4,
            to_mac: "0a:5a:0a:51:00:03".into(),
            to_ip: "10.81.0.3".parse().unwrap(),
            to_endpoint: Some("ed4e"),
        };
        let port_of = |n: u32| (n == 4).then(|| "endpoint ed4e".to_string());
        let delivered = "40. priority 100\n    output:NXM_NX_REG1[]\n     -> output port is 4\n\
                         Datapath actions: 13\n";
        assert!(verdict(delivered, &packet, port_of).delivered);
        let spoofed = " 0. in_port=3, priority 100, cookie 0xd0\n10. priority 0, cookie 0xd0\n    \
                       drop\nDatapath actions: drop\n";
        let words = verdict(spoofed, &packet, port_of).words;
        assert!(words.contains("spoof guard"), "{words}");
        let isolated =
            "30. reg0=0x1,reg2=0, priority 150, cookie 0xd0\n    drop\nDatapath actions: drop\n";
        let words = verdict(isolated, &packet, port_of).words;
        assert!(words.contains("icc=false"), "{words}");
    }
}
