//! `docker-ovn trace SRC DST`: the path an ICMP echo takes from container
//! SRC to container DST (names or ids) or to an address, in plain words,
//! with the tracer's own output below: `ovn-trace` on the Southbound
//! logical flows for a `-d ovn` network, `ofproto/trace` on the bridge
//! for `-d ovs`. It says where and why a packet is dropped: no shared
//! network, the spoof guard (port security), an ACL (`icc=false`).
//!
//! - [`containers`]: what Docker knows of a container's endpoints.
//! - [`logical`]: the `-d ovn` trace; [`openflow`]: the `-d ovs` one.

pub mod containers;
pub mod logical;
pub mod openflow;

use std::net::Ipv4Addr;

use anyhow::{Context, bail};

use crate::cli::serve::DatabaseArgs;
use containers::{Attachment, Container};

/// Flags of `docker-ovn trace`.
#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    /// The container the packet leaves (name or id).
    pub src: String,
    /// The container it is for (name or id), or an IPv4 address.
    pub dst: String,
    /// Trace a packet with this source address instead of SRC's own (to
    /// see the spoof guard at work).
    #[arg(long, value_name = "IP")]
    pub source_ip: Option<Ipv4Addr>,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// Where a traced packet ended, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub delivered: bool,
    pub words: String,
}

/// The packet a trace follows: one ICMP echo request.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    pub from: &'a Attachment,
    pub source_ip: Ipv4Addr,
    pub to_mac: String,
    pub to_ip: Ipv4Addr,
    /// The destination container's endpoint on that network, if any.
    pub to_endpoint: Option<&'a str>,
}

pub async fn trace(args: TraceArgs) -> anyhow::Result<()> {
    let src = Container::inspect(&args.src)?;
    let address = args.dst.parse::<Ipv4Addr>().ok();
    let dst = match address {
        Some(_) => None,
        None => Some(Container::inspect(&args.dst)?),
    };
    let (from, to_ip, to_endpoint, to_mac) = match (&dst, address) {
        (Some(dst), _) => {
            let Some((from, to)) = src.shared_network(dst) else {
                println!("{}", apart(&src, dst));
                bail!("no path: {} and {} share no network", src.name, dst.name);
            };
            let to_mac = Some(to.mac.clone());
            (from, to.ipv4, Some(to.endpoint.as_str()), to_mac)
        }
        (None, address) => {
            let from = src.attachments.first().context("no network")?;
            (from, address.context("no destination")?, None, None)
        }
    };
    let packet = Packet {
        from,
        source_ip: args.source_ip.unwrap_or(from.ipv4),
        to_mac: to_mac.unwrap_or_else(|| from.gateway_mac()),
        to_ip,
        to_endpoint,
    };
    let (verdict, raw) = match from.driver.as_str() {
        "ovs" => openflow::trace(&args.db, &packet).await?,
        _ => logical::trace(&args.db, &packet).await?,
    };
    println!(
        "{} ({} on {}) -> {}: {}",
        src.name, packet.source_ip, from.network_name, args.dst, verdict.words
    );
    println!("\n{raw}");
    if !verdict.delivered {
        bail!("the packet is dropped");
    }
    Ok(())
}

/// Runs a tracer (`ovn-trace`, `ovs-appctl`), from Debian's `package`:
/// its output, or its complaint as the error.
fn run_tracer(mut command: std::process::Command, package: &str) -> anyhow::Result<String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .with_context(|| format!("cannot run {program} (Debian package {package})"))?;
    if !output.status.success() {
        bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Why two containers on no common network never reach each other.
fn apart(src: &Container, dst: &Container) -> String {
    let names = |c: &Container| {
        let names: Vec<&str> = c
            .attachments
            .iter()
            .map(|a| a.network_name.as_str())
            .collect();
        names.join(", ")
    };
    format!(
        "{} -> {}: dropped: they share no network ({} is on {}; {} on {}). Docker networks \
         are apart: each is its own logical switch or VLAN, and this host's firewall \
         keeps one network's gateway from forwarding to another's.",
        src.name,
        dst.name,
        src.name,
        names(src),
        dst.name,
        names(dst)
    )
}
