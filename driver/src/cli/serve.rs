//! `docker-ovn serve`: connects to the databases and serves the plugin
//! socket until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use plugin_api::{PluginRouter, PluginServer};

use crate::cli::logging::LogFormat;
use crate::docker::ipam::Ipam;
use crate::docker::plugin::Driver;
use crate::host::links::Links;
use crate::host::local_switch::LocalSwitch;
use crate::host::veth_reaper::VethReaper;
use crate::ovn::address_pools::AddressPools;
use crate::ovn::backend::{OvnBackend, OvnConfig};
use crate::ovn::northbound::Northbound;

/// Where the databases and the plugin socket are: shared by `serve` and
/// `status`, each flag also read from an environment variable.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// The local Open_vSwitch database.
    #[arg(
        long,
        env = "DOCKER_OVN_OVS_DB",
        default_value = "unix:/var/run/openvswitch/db.sock"
    )]
    pub ovs_db: String,

    /// The OVN Northbound database [default: external_ids:ovn-nb of the
    /// local Open_vSwitch row].
    #[arg(long, env = "DOCKER_OVN_NB_DB")]
    pub nb_db: Option<String>,

    /// The integration bridge ovn-controller manages.
    #[arg(long, env = "DOCKER_OVN_BRIDGE", default_value = "br-int")]
    pub bridge: String,

    /// The plugin socket dockerd finds the driver by (mode 0600).
    #[arg(long, env = "DOCKER_OVN_SOCKET", default_value = plugin_api::DEFAULT_SOCKET_PATH)]
    pub socket: PathBuf,
}

impl DatabaseArgs {
    /// `--nb-db`, or else the `ovn-nb` the Open_vSwitch row names.
    pub fn nb_target(&self, ovs: &LocalSwitch) -> anyhow::Result<String> {
        match &self.nb_db {
            Some(nb) => Ok(nb.clone()),
            None => ovs.external_id("ovn-nb").context(
                "no --nb-db given and external_ids:ovn-nb is not set in the Open_vSwitch table",
            ),
        }
    }
}

/// Flags of `docker-ovn serve`; each also reads an environment variable.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    /// How the logs on stderr look: `text` (colour only on a terminal) or
    /// `json`, one object a line, for log collectors.
    #[arg(long, env = "DOCKER_OVN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long Join waits for ovn-controller to install a port, in seconds.
    #[arg(long, env = "DOCKER_OVN_READY_TIMEOUT", default_value_t = 20)]
    pub ready_timeout: u64,

    /// Deadline of each database request, in seconds.
    #[arg(long, env = "DOCKER_OVN_OVSDB_TIMEOUT", default_value_t = 10)]
    pub ovsdb_timeout: u64,

    /// MTU of the network that carries the tunnels; containers get this
    /// minus the Geneve overhead unless a network sets its own.
    #[arg(long, env = "DOCKER_OVN_UNDERLAY_MTU", default_value_t = 1500,
          value_parser = clap::value_parser!(u32).range(1280..=9216))]
    pub underlay_mtu: u32,

    /// IPAM addresses this host allocated that no endpoint, gateway or aux
    /// address uses, and endpoints Docker created but never joined, are
    /// freed once older than this many seconds (replies dockerd never got,
    /// releases and deletes it never sent).
    #[arg(long, env = "DOCKER_OVN_RECLAIM_GRACE", default_value_t = 600)]
    pub reclaim_grace: u64,

    /// How often, in seconds, to reconcile this host's ports, veths and
    /// logical ports (also once at start, before serving).
    #[arg(long, env = "DOCKER_OVN_RECONCILE_INTERVAL", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub reconcile_interval: u64,

    /// Give no network a gateway on this host: no internal port, address
    /// or iptables rules; Docker then adds `docker_gwbridge` for outside
    /// access, as with no gateway before.
    #[arg(long, env = "DOCKER_OVN_NO_GATEWAY")]
    pub no_gateway: bool,

    /// How often, in seconds, to look for such addresses (also at start).
    #[arg(long, env = "DOCKER_OVN_RECLAIM_INTERVAL", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub reclaim_interval: u64,
}

/// Runs the daemon.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = OvnConfig {
        ready_timeout: Duration::from_secs(args.ready_timeout),
        underlay_mtu: args.underlay_mtu,
        unjoined_grace: Duration::from_secs(args.reclaim_grace),
        gateway: !args.no_gateway,
    };
    let timeout = Duration::from_secs(args.ovsdb_timeout);
    let (backend, nb) = connect(&args.db, timeout, config).await?;
    // Before serving: what a killed predecessor left, Docker will not
    // tell about; first the pairs it left half made, which only now, with
    // no Join of this daemon under way, can be told from a Join's.
    if let Err(error) = backend.delete_unfinished_veths().await {
        tracing::warn!(%error, "veth pairs a killed daemon left half made are still there");
    }
    reconcile_once(&backend).await;
    let pools = AddressPools::new(
        nb.client().clone(),
        nb.replica().clone(),
        backend.host().to_string(),
    );
    tokio::spawn(reclaim_forever(
        pools.clone(),
        nb,
        Duration::from_secs(args.reclaim_grace),
        Duration::from_secs(args.reclaim_interval),
    ));
    tokio::spawn(reconcile_forever(
        backend.clone(),
        Duration::from_secs(args.reconcile_interval),
    ));
    let router = PluginRouter::new()
        .network_driver(Arc::new(Driver::new(backend)))
        .ipam_driver(Arc::new(Ipam::new(pools)))
        .build();
    let server = PluginServer::new(&args.db.socket).bind()?;
    tracing::info!(socket = %args.db.socket.display(), "serving the Docker plugin API");
    server.serve(router, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Replicates both databases and opens netlink: the OVN backend, and
/// the Northbound handle the IPAM side shares.
pub async fn connect(
    db: &DatabaseArgs,
    timeout: Duration,
    config: OvnConfig,
) -> anyhow::Result<(Arc<OvnBackend>, Northbound)> {
    let links = Links::connect()?;
    let ovs = LocalSwitch::connect(&db.ovs_db, &db.bridge, timeout)
        .await
        .with_context(|| {
            format!(
                "cannot replicate the Open_vSwitch database at {}",
                db.ovs_db
            )
        })?;
    let host = ovs.system_id()?;
    let nb_db = db.nb_target(&ovs)?;
    let nb = Northbound::connect(&nb_db, timeout)
        .await
        .with_context(|| format!("cannot replicate the OVN Northbound database at {nb_db}"))?;
    tracing::info!(ovs_db = %db.ovs_db, %nb_db, %host, bridge = %db.bridge, "databases replicated");
    let reaper = VethReaper::start(ovs.clone())?;
    let backend = OvnBackend::new(ovs, nb.clone(), links, reaper, host, config);
    Ok((Arc::new(backend), nb))
}

async fn reconcile_once(backend: &OvnBackend) {
    let started = std::time::Instant::now();
    match backend.reconcile(false).await {
        Ok(actions) => tracing::info!(
            actions = actions.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "reconciled"
        ),
        Err(error) => tracing::warn!(%error, "reconciliation incomplete; will retry"),
    }
    // Start-up's replication and each pass are the daemon's biggest
    // passing allocations: what they freed goes back now.
    crate::cli::heap::give_back_free_memory();
}

/// Reconciles this host's endpoints now and then: sandboxes that died
/// without Leave, ports lost by ovs-vswitchd, endpoints never joined.
async fn reconcile_forever(backend: Arc<OvnBackend>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    // The first tick is immediate, and start-up has just reconciled.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        reconcile_once(&backend).await;
    }
}

/// Reconciles the IPAM pools with what the endpoints use, now and then.
async fn reclaim_forever(pools: AddressPools, nb: Northbound, grace: Duration, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        if let Err(error) = pools.reclaim(&nb.addresses_in_use(), grace).await {
            tracing::warn!(%error, "could not reclaim unused addresses; will retry");
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon can still be killed.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
