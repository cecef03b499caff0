//! The `-d ovn` trace: `ovn-trace` of the packet on its logical switch,
//! in the Southbound database this host's ovn-controller reads
//! (`external_ids:ovn-remote`), and the stage where it ends.

use std::process::Command;
use std::time::Duration;

use anyhow::Context;

use super::{Packet, Verdict, run_tracer};
use crate::cli::serve::DatabaseArgs;
use crate::host::local_switch::LocalSwitch;
use crate::names::{gateway_logical_port, localnet_logical_port};
use crate::ovn::northbound::Northbound;

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn trace(db: &DatabaseArgs, packet: &Packet<'_>) -> anyhow::Result<(Verdict, String)> {
    let ovs = LocalSwitch::connect(&db.ovs_db, &db.bridge, TIMEOUT).await?;
    let sb = ovs
        .external_id("ovn-remote")
        .context("external_ids:ovn-remote is not set: no Southbound database to trace in")?;
    let nb_db = db
        .nb_target_if_any(&ovs)
        .context("no Northbound database (--nb-db or external_ids:ovn-nb)")?;
    let nb = Northbound::connect(&nb_db, TIMEOUT).await?;
    let switch = nb
        .switch_of(&packet.from.network_id)
        .with_context(|| format!("network {} has no logical switch", packet.from.network_name))?;
    let mut command = Command::new("ovn-trace");
    command
        .arg(format!("--db={sb}"))
        .arg(&switch.name)
        .arg(microflow(packet));
    let raw = run_tracer(command, "ovn-common")?;
    Ok((verdict(&raw, packet, &switch.name, switch.icc), raw))
}

/// The packet as `ovn-trace` reads it.
fn microflow(packet: &Packet<'_>) -> String {
    format!(
        "inport == \"{}\" && eth.src == {} && eth.dst == {} && ip4.src == {} && ip4.dst == {} \
         && ip.ttl == 64 && icmp4.type == 8",
        packet.from.endpoint, packet.from.mac, packet.to_mac, packet.source_ip, packet.to_ip
    )
}

/// Where the trace ended, in words.
pub fn verdict(raw: &str, packet: &Packet<'_>, switch: &str, icc: bool) -> Verdict {
    if let Some(port) = output_port(raw) {
        let words = if Some(port) == packet.to_endpoint {
            "delivered: the logical switch outputs it to the destination's port".to_string()
        } else if port == gateway_logical_port(switch) {
            "leaves the network by this host's gateway (its localport); the host routes it on"
                .to_string()
        } else if port == localnet_logical_port(switch) {
            "leaves by the localnet port onto the physical network".to_string()
        } else {
            format!("output to logical port {port}, not the destination's")
        };
        let delivered = packet.to_endpoint.is_none_or(|to| to == port);
        return Verdict { delivered, words };
    }
    let words = match drop_stage(raw) {
        Some(stage) if stage.contains("port_sec") => format!(
            "dropped by the spoof guard (stage {stage}): the port's security admits only its \
             own MAC and addresses as source"
        ),
        Some(stage) if stage.contains("acl") && !icc => format!(
            "dropped by an ACL (stage {stage}): the network has icc=false, its containers do \
             not reach each other"
        ),
        Some(stage) if stage.contains("acl") => format!("dropped by an ACL (stage {stage})"),
        Some(stage) => format!("dropped in stage {stage}"),
        None => "not output anywhere (no logical flow took it on)".to_string(),
    };
    Verdict {
        delivered: false,
        words,
    }
}

/// The port of the trace's last `output to "PORT"`.
fn output_port(raw: &str) -> Option<&str> {
    let at = raw.rfind("output to \"")? + "output to \"".len();
    raw[at..].split('"').next()
}

/// The stage whose flow said `drop;`: the last ` N. stage (file:line)`
/// line before it.
fn drop_stage(raw: &str) -> Option<&str> {
    let mut stage = None;
    for line in raw.lines() {
        let trimmed = line.trim();
        if let Some((number, rest)) = trimmed.split_once(". ")
            && number.chars().all(|c| c.is_ascii_digit())
            && !number.is_empty()
        {
            stage = rest.split_whitespace().next();
        } else if trimmed == "drop;" {
            return stage;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::trace::containers::Attachment;

    fn attachment() -> Attachment {
        Attachment {
            network_name: "blue".into(),
            network_id: "n".into(),
            driver: "ovn".into(),
            endpoint: "a0ab".into(),
            mac: "0a:5a:0a:52:00:02".into(),
            ipv4: "10.82.0.2".parse().unwrap(),
            gateway: None,
        }
    }

    #[test]
    fn the_last_output_or_the_dropping_stage_is_the_verdict() {
        let from = attachment();
        let packet = Packet {
            from: &from,
            source_ip: from.ipv4,
            to_mac: "0a:5a:0a:52:00:03".into(),
            to_ip: "10.82.0.3".parse().unwrap(),
            to_endpoint: Some("ed4e"),
        };
        let delivered = "    output;\n    /* output to \"ed4e\", type \"\" */;\n";
        assert!(verdict(delivered, &packet, "blue", true).delivered);
        let spoofed = " 0. ls_in_check_port_sec (northd.c:8432): 1, priority 50\n    next;\n \
                       1. ls_in_apply_port_sec (northd.c:8435): reg0[15] == 1\n    drop;\n";
        let words = verdict(spoofed, &packet, "blue", true).words;
        assert!(
            words.contains("spoof guard") && words.contains("ls_in_apply_port_sec"),
            "{words}"
        );
        let acl = " 9. ls_in_acl_eval (northd.c:1): ip4, priority 1001\n    drop;\n";
        let words = verdict(acl, &packet, "blue", false).words;
        assert!(words.contains("icc=false"), "{words}");
        let gateway = "/* output to \"docker-ovn-gateway-blue\", type \"localport\" */";
        let to_address = Packet {
            to_endpoint: None,
            ..packet
        };
        let verdict = verdict(gateway, &to_address, "blue", true);
        assert!(
            verdict.delivered && verdict.words.contains("gateway"),
            "{verdict:?}"
        );
    }
}
