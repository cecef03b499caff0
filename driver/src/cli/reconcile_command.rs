//! `docker-ovn reconcile [--dry-run]`: one reconciliation pass from the
//! command line, the same the daemon runs at start and every
//! `--reconcile-interval`. Safe beside a running daemon: it plans as the
//! daemon does while serving, never touching a Join in flight.

use std::time::Duration;

use crate::cli::serve::{DatabaseArgs, connect};
use crate::ovn::backend::OvnConfig;

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
}

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn reconcile(args: ReconcileArgs) -> anyhow::Result<()> {
    let config = OvnConfig {
        ready_timeout: Duration::from_secs(args.ready_timeout),
        underlay_mtu: args.underlay_mtu,
        unjoined_grace: Duration::from_secs(args.reclaim_grace),
        gateway: !args.no_gateway,
    };
    let (backend, _) = connect(&args.db, TIMEOUT, config).await?;
    let result = backend.reconcile(args.dry_run).await;
    let actions = result?;
    let verb = if args.dry_run { "would do" } else { "did" };
    if actions.is_empty() {
        println!(
            "host {}: ports, veths and logical ports agree; nothing to do",
            backend.host()
        );
    }
    for action in &actions {
        println!("{verb}: {action}");
    }
    Ok(())
}
