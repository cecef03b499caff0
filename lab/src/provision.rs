//! `docker-ovn-lab provision central|host`: one machine of a multi-machine
//! setup (the Vagrant VMs), brought up by the very steps `lab up` uses for
//! its local hosts ([`super::lifecycle::bring_up`]), under the same lab
//! directory, and taken down by the same `lab down`.
//!
//! - `central`: the NB and SB `ovsdb-server`s, also on `ptcp:6641/6642` at
//!   the given address, and `ovn-northd`.
//! - `host`: OVS on the userspace datapath, the machine's interface holding
//!   the encap address as the port of `br-phy` (the address moves onto
//!   `br-phy`, as in the local lab), `ovn-controller` pointed at
//!   `tcp:CENTRAL:6642`, `external_ids:ovn-nb=tcp:CENTRAL:6641`, dockerd
//!   and `docker-ovn serve`; `--demo` then runs the cross-host demo.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::driver;
use super::env::{DEFAULT_DIR, DIR_VARIABLE, Layout, PHY_BRIDGE, RemoteHost, lab_env_with};
use super::env_file::read_layout;
use super::lifecycle::{Parts, bring_up};
use super::{shared_demo, summary, uplink};

/// `docker-ovn-lab provision`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProvisionOptions {
    /// The lab's directory on this machine.
    #[arg(long, env = DIR_VARIABLE, default_value = DEFAULT_DIR, global = true)]
    pub dir: PathBuf,
    #[command(subcommand)]
    pub role: Role,
}

/// What this machine is.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Role {
    /// The OVN central: NB and SB databases (also on TCP) and ovn-northd.
    Central {
        /// The address to listen on (ports 6641 and 6642).
        #[arg(long)]
        listen_ip: Ipv4Addr,
    },
    /// A Docker host: OVS, ovn-controller, dockerd and docker-ovn.
    Host(HostOptions),
}

#[derive(Debug, Clone, clap::Args)]
pub struct HostOptions {
    /// The central's address.
    #[arg(long)]
    pub central_ip: Ipv4Addr,
    /// This machine's address toward the other hosts: the tunnel endpoint.
    #[arg(long)]
    pub encap_ip: Ipv4Addr,
    /// The chassis name [default: the machine's hostname].
    #[arg(long)]
    pub system_id: Option<String>,
    /// Then join the shared demo network, start a container and ping the
    /// other hosts' demo containers.
    #[arg(long, conflicts_with = "no_docker")]
    pub demo: bool,
    /// Neither start nor use Docker (OVS, OVN and the driver only).
    #[arg(long)]
    pub no_docker: bool,
}

/// Brings this machine up in its role; safe to repeat.
pub fn provision(options: &ProvisionOptions) -> anyhow::Result<()> {
    let layout = match &options.role {
        Role::Central { listen_ip } => Layout::Central {
            listen_ip: *listen_ip,
        },
        Role::Host(host) => Layout::Host(remote_host(&options.dir, host)?),
    };
    if let Some(running) = read_layout(&options.dir)?
        && running != layout
    {
        bail!(
            "{} already holds {running:?}; run `docker-ovn-lab down` first",
            options.dir.display()
        );
    }
    let env = lab_env_with(&options.dir, layout);
    let parts = Parts {
        docker: !matches!(&options.role, Role::Host(host) if host.no_docker),
        // A central runs no driver: it needs no driver binary.
        driver: match env.hosts.is_empty() {
            true => None,
            false => Some(driver::binary(None)?),
        },
        nested: false,
    };
    bring_up(&env, &parts)?;
    if let (Role::Host(host), Some(first)) = (&options.role, env.first_host())
        && host.demo
    {
        shared_demo::run(first)?;
    }
    summary::print(&env, &parts);
    Ok(())
}

/// The host's layout: which interface holds `--encap-ip` (and its prefix).
/// Provisioned again, the address is on `br-phy` already: the interface is
/// then the one the first run recorded.
fn remote_host(dir: &Path, options: &HostOptions) -> anyhow::Result<RemoteHost> {
    let system_id = match &options.system_id {
        Some(id) => id.clone(),
        None => machine_hostname()?,
    };
    let (device, encap) = uplink::device_with(options.encap_ip).with_context(|| {
        format!(
            "no interface has the address {} (`ip -4 addr`)",
            options.encap_ip
        )
    })?;
    let uplink = if device == PHY_BRIDGE {
        match read_layout(dir)? {
            Some(Layout::Host(recorded)) => recorded.uplink,
            _ => bail!(
                "{} is on {PHY_BRIDGE} but {} does not say which interface it came from",
                options.encap_ip,
                dir.display()
            ),
        }
    } else {
        device
    };
    Ok(RemoteHost {
        central_ip: options.central_ip,
        system_id,
        encap,
        uplink,
    })
}

fn machine_hostname() -> anyhow::Result<String> {
    let name =
        std::fs::read_to_string("/proc/sys/kernel/hostname").context("cannot read the hostname")?;
    let name = name.trim();
    if name.is_empty() {
        bail!("the machine has no hostname: give --system-id");
    }
    Ok(name.to_string())
}
