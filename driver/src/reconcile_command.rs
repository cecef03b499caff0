//! `docker-ovn reconcile [--dry-run]`: one reconciliation pass from the
//! command line, the same the daemon runs at start and every
//! `--reconcile-interval`. Safe beside a running daemon: it plans as the
//! daemon does while serving, never touching a Join in flight.

use std::time::Duration;

use crate::overlay::OverlayConfig;
use crate::serve::{DatabaseArgs, connect};

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

    /// As `serve --reclaim-grace`: endpoints never joined are deleted once
    /// older than this many seconds.
    #[arg(long, env = "DOCKER_OVN_RECLAIM_GRACE", default_value_t = 600)]
    pub reclaim_grace: u64,
}

const TIMEOUT: Duration = Duration::from_secs(5);

pub async fn reconcile(args: ReconcileArgs) -> anyhow::Result<()> {
    let config = OverlayConfig {
        ready_timeout: Duration::from_secs(args.ready_timeout),
        // Unused: reconciliation creates no veth, it only re-adds ports.
        underlay_mtu: 1500,
        unjoined_grace: Duration::from_secs(args.reclaim_grace),
    };
    let (overlay, _) = connect(&args.db, TIMEOUT, config).await?;
    let result = overlay.reconcile(args.dry_run).await;
    let actions = result?;
    let verb = if args.dry_run { "would do" } else { "did" };
    if actions.is_empty() {
        println!(
            "host {}: ports, veths and logical ports agree; nothing to do",
            overlay.host()
        );
    }
    for action in &actions {
        println!("{verb}: {action}");
    }
    Ok(())
}
