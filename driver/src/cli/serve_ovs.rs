//! `docker-ovn serve`'s `-d ovs` backend: its bridge made or put back,
//! its VXLAN port, and its flows in under a new round before serving.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::serve::ServeArgs;
use crate::host::links::Links;
use crate::host::local_switch::LocalSwitch;
use crate::host::veth_reaper::VethReaper;
use crate::ovs::backend::{OvsBackend, OvsConfig};
use crate::ovs::bridge::{default_datapath_type, ensure_bridge};

/// The `-d ovs` backend on its own bridge.
pub async fn start_ovs(
    args: &ServeArgs,
    ovs: &LocalSwitch,
    links: Links,
    reaper: VethReaper<LocalSwitch>,
    host: String,
) -> anyhow::Result<Arc<OvsBackend>> {
    let datapath_type = match &args.datapath_type {
        Some(given) => given.clone(),
        None => {
            let chosen = default_datapath_type();
            tracing::info!(datapath_type = chosen, "datapath type by the kernel module");
            chosen.to_string()
        }
    };
    let config = OvsConfig {
        openflow: args.db.openflow_target(),
        datapath_type,
        ready_timeout: Duration::from_secs(args.ready_timeout),
        mtu: args.underlay_mtu,
        gateway: !args.no_gateway,
        unjoined_grace: Duration::from_secs(args.reclaim_grace),
        peers: args.db.peers.clone(),
    };
    let openflow = config.openflow.clone();
    let bridge = ovs.with_bridge(&args.db.ovs_bridge);
    let started = async {
        ensure_bridge(&bridge, &config.datapath_type).await?;
        let backend = OvsBackend::attach(bridge, links, reaper, host, config).await?;
        backend.sync_tunnel().await?;
        backend.resync("start").await?;
        Ok::<_, crate::error::DriverError>(backend)
    };
    started.await.with_context(|| {
        format!(
            "-d ovs: cannot set up bridge {} (OpenFlow {openflow}); is ovs-vswitchd running? \
             (`--no-ovs` serves -d ovn alone)",
            args.db.ovs_bridge
        )
    })
}
