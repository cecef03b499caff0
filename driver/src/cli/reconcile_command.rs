//! `docker-ovn reconcile [--dry-run]`: one reconciliation pass from the
//! command line, the same the daemon runs at start and every
//! `--reconcile-interval`, for `-d ovn` (where a Northbound database is
//! configured) and `-d ovs` (where its bridge exists). Safe beside a
//! running daemon: it plans as the daemon does while serving, never
//! touching a Join in flight.

use std::time::Duration;

use std::sync::Arc;

use crate::cli::nested::NestedArgs;
use crate::cli::serve::{DatabaseArgs, connect_local, connect_northbound, host_name};
use crate::host::veth_reaper::VethReaper;
use crate::ovn::backend::{OvnBackend, OvnConfig};
use crate::ovs::backend::{OvsBackend, OvsConfig};
use crate::reconcile::Action;

/// Flags of `docker-ovn reconcile`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    /// Print what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// As `serve --ready-timeout`: a veth pair younger than this (plus a
    /// minute) may be a Join in flight.
    #[arg(long, env = "DOCKER_OVN_READY_TIMEOUT", default_value_t = 20)]
    pub ready_timeout: u64,

    /// As `serve --underlay-mtu`: the MTU of gateway ports of networks
    /// without one of their own.
    #[arg(long, env = "DOCKER_OVN_UNDERLAY_MTU", default_value_t = 1500,
          value_parser = clap::value_parser!(u32).range(1280..=9216))]
    pub underlay_mtu: u32,

    /// As `serve --no-gateway`: remove gateways rather than add them.
    #[arg(long, env = "DOCKER_OVN_NO_GATEWAY")]
    pub no_gateway: bool,

    /// As `serve --reclaim-grace`: endpoints never joined are deleted once
    /// older than this many seconds.
    #[arg(long, env = "DOCKER_OVN_RECLAIM_GRACE", default_value_t = 600)]
    pub reclaim_grace: u64,

    #[command(flatten)]
    pub nested: NestedArgs,
}

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn reconcile(args: ReconcileArgs) -> anyhow::Result<()> {
    let (ovs, links) = connect_local(&args.nested.database(&args.db), TIMEOUT).await?;
    let nested_parent = args.nested.parent(&ovs)?;
    let nb_target = args.db.nb_target_if_any(&ovs);
    let host = host_name(&ovs, nb_target.is_some())?;
    let reaper = VethReaper::start(ovs.clone())?;
    let verb = if args.dry_run { "would do" } else { "did" };
    if let Some(nb_db) = nb_target {
        let config = OvnConfig {
            ready_timeout: Duration::from_secs(args.ready_timeout),
            underlay_mtu: args.underlay_mtu,
            unjoined_grace: Duration::from_secs(args.reclaim_grace),
            gateway: !args.no_gateway,
            nested_parent,
        };
        let nb = connect_northbound(&nb_db, TIMEOUT).await?;
        let backend = OvnBackend::new(
            ovs.clone(),
            nb,
            links.clone(),
            reaper.clone(),
            host.clone(),
            config,
        );
        print_pass(
            "-d ovn",
            &host,
            verb,
            &backend.reconcile(args.dry_run).await?,
        );
    }
    let bridge = ovs.with_bridge(&args.db.ovs_bridge);
    if bridge.bridge_exists() {
        let config = OvsConfig {
            openflow: args.db.openflow_target(),
            datapath_type: String::new(),
            ready_timeout: Duration::from_secs(args.ready_timeout),
            mtu: args.underlay_mtu,
            gateway: !args.no_gateway,
            unjoined_grace: Duration::from_secs(args.reclaim_grace),
            peers: args.db.peers.clone(),
        };
        let backend: Arc<OvsBackend> =
            OvsBackend::attach(bridge, links, reaper.clone(), host.clone(), config).await?;
        print_pass(
            "-d ovs",
            &host,
            verb,
            &backend.reconcile(args.dry_run).await?,
        );
    }
    // Unplugged pairs and ports go in the reaper's batches: this process
    // ends here, so they go now.
    reaper.flush().await;
    Ok(())
}

fn print_pass(driver: &str, host: &str, verb: &str, actions: &[Action]) {
    if actions.is_empty() {
        println!("{driver} on host {host}: everything agrees; nothing to do");
    }
    for action in actions {
        println!("{driver} {verb}: {action}");
    }
}
