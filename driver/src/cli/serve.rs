//! `docker-ovn serve`: connects to the databases and serves both plugin
//! sockets (`-d ovn` and `-d ovs`) until SIGTERM or SIGINT.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use plugin_api::PluginRouter;

use crate::backend::Unconfigured;
use crate::cli::logging::LogFormat;
use crate::cli::nested::NestedArgs;
use crate::cli::serve_loops::{reclaim_forever, reconcile_forever, reconcile_once};
use crate::cli::serve_metrics::{MetricsArgs, start as start_metrics};
use crate::cli::serve_ovs::start_ovs;
use crate::cli::serve_sockets::{PluginSockets, bind_and_serve};
use crate::docker::ipam::Ipam;
use crate::docker::network_spec::OVN_OPTIONS;
use crate::docker::plugin::Driver;
use crate::host::links::Links;
use crate::host::local_switch::LocalSwitch;
use crate::host::veth_reaper::VethReaper;
use crate::ovn::address_pools::AddressPools;
use crate::ovn::backend::{OvnBackend, OvnConfig};
use crate::ovn::northbound::Northbound;
use crate::ovs::backend::OvsBackend;
use crate::ovs::peers::Peer;

/// Where dockerd finds the `-d ovs` driver.
pub const DEFAULT_OVS_SOCKET_PATH: &str = "/run/docker/plugins/ovs.sock";

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

    /// The plugin socket dockerd finds the `-d ovn` driver by (mode 0600).
    #[arg(long, env = "DOCKER_OVN_SOCKET", default_value = plugin_api::DEFAULT_SOCKET_PATH)]
    pub socket: PathBuf,

    /// The plugin socket of the `-d ovs` driver (mode 0600).
    #[arg(long, env = "DOCKER_OVN_OVS_SOCKET", default_value = DEFAULT_OVS_SOCKET_PATH)]
    pub ovs_socket: PathBuf,

    /// The `-d ovs` backend's own bridge (made if missing).
    #[arg(long, env = "DOCKER_OVN_OVS_BRIDGE", default_value = "br-docker")]
    pub ovs_bridge: String,

    /// ovs-vswitchd's run directory, where `<bridge>.mgmt` (the bridge's
    /// OpenFlow socket) is [default: the directory of a `unix:` --ovs-db,
    /// else /var/run/openvswitch].
    #[arg(long, env = "DOCKER_OVN_OVS_RUNDIR")]
    pub ovs_rundir: Option<PathBuf>,

    /// Another host of `-d ovs` networks, `IP[=CIDR]` (repeatable), beside
    /// those `external_ids:docker-ovn-peers` lists.
    #[arg(long = "peer", value_name = "IP[=CIDR]")]
    pub peers: Vec<Peer>,
}

/// Why `-d ovn` refuses its calls on a host without a Northbound database.
const NO_NORTHBOUND: &str = "-d ovn needs an OVN Northbound database and this host names none: \
    set it with `ovs-vsctl set open_vswitch . external_ids:ovn-nb=tcp:CENTRAL:6641` \
    (or `docker-ovn serve --nb-db`) and restart docker-ovn; -d ovs works without OVN";

impl DatabaseArgs {
    /// `--nb-db`, or else the `ovn-nb` the Open_vSwitch row names.
    pub fn nb_target(&self, ovs: &LocalSwitch) -> anyhow::Result<String> {
        self.nb_target_if_any(ovs).context(
            "no --nb-db given and external_ids:ovn-nb is not set in the Open_vSwitch table",
        )
    }

    /// `--nb-db`, or else the `ovn-nb` the Open_vSwitch row names, if any
    /// (an empty one names none: a lab.env of a lab without OVN says so).
    pub fn nb_target_if_any(&self, ovs: &LocalSwitch) -> Option<String> {
        let given = self.nb_db.clone().filter(|nb| !nb.is_empty());
        given
            .or_else(|| ovs.external_id("ovn-nb"))
            .filter(|nb| !nb.is_empty())
    }

    /// The `-d ovs` bridge's OpenFlow socket.
    pub fn openflow_target(&self) -> String {
        let rundir = self.ovs_rundir_or_default();
        format!(
            "unix:{}",
            rundir.join(format!("{}.mgmt", self.ovs_bridge)).display()
        )
    }

    /// ovs-vswitchd's run directory: `--ovs-rundir`, else the database
    /// socket's directory, else Debian's.
    pub fn ovs_rundir_or_default(&self) -> PathBuf {
        self.ovs_rundir.clone().unwrap_or_else(|| {
            self.ovs_db
                .strip_prefix("unix:")
                .and_then(|path| std::path::Path::new(path).parent())
                .map_or_else(|| "/var/run/openvswitch".into(), |dir| dir.to_path_buf())
        })
    }
}

/// This host's name in the driver's marks: the Open_vSwitch row's
/// `system-id` (ovn-controller's chassis), else, on a host without OVN,
/// the kernel's host name.
pub fn host_name(ovs: &LocalSwitch, need_system_id: bool) -> anyhow::Result<String> {
    if let Ok(id) = ovs.system_id() {
        return Ok(id);
    }
    if need_system_id {
        return Ok(ovs.system_id()?);
    }
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .context("no external_ids:system-id and no host name")?;
    Ok(name.trim().to_string())
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

    /// The datapath type of the `-d ovs` bridge when the driver makes it
    /// [default: `system` where the openvswitch kernel module is loaded,
    /// else `netdev`, the userspace datapath].
    #[arg(long, env = "DOCKER_OVN_DATAPATH_TYPE")]
    pub datapath_type: Option<String>,

    /// Serve `-d ovn` only: no `-d ovs` socket, bridge or flows.
    #[arg(long, env = "DOCKER_OVN_NO_OVS", conflicts_with = "no_ovn")]
    pub no_ovs: bool,

    /// Serve `-d ovs` only: no `-d ovn` socket and no Northbound
    /// database (the `-d ovs` managed plugin).
    #[arg(long, env = "DOCKER_OVN_NO_OVN")]
    pub no_ovn: bool,

    /// Where the host's `/proc/sys` is (a managed plugin's own is
    /// read-only, so it mounts the host's elsewhere).
    #[arg(long, env = "DOCKER_OVN_PROC_SYS", default_value = crate::host::sysctl::DEFAULT_PROC_SYS)]
    pub proc_sys: PathBuf,

    #[command(flatten)]
    pub nested: NestedArgs,

    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// The longest pause between two attempts to connect at start.
const MAX_CONNECT_PAUSE: Duration = Duration::from_secs(10);

/// The backends a daemon serves.
#[derive(Clone)]
pub struct Backends {
    /// `None` on a host without a Northbound database.
    pub ovn: Option<(Arc<OvnBackend>, Northbound)>,
    /// `None` with `--no-ovs`.
    pub ovs: Option<Arc<OvsBackend>>,
    /// The veth reaper both share.
    pub reaper: VethReaper<LocalSwitch>,
    /// The local Open_vSwitch database both share.
    pub local: LocalSwitch,
}

/// Runs the daemon: binds the sockets, then connects (retrying until it
/// can), then serves every call until SIGTERM or SIGINT.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    crate::host::sysctl::set_root(args.proc_sys.clone());
    let (sockets, serving) = bind_and_serve(&args)?;
    let mut serving = tokio::spawn(serving);
    tokio::select! {
        started = start(&args, &sockets) => started?,
        served = &mut serving => {
            tracing::info!("stopped before the backends were ready");
            return served?;
        }
    }
    serving.await??;
    tracing::info!("stopped");
    Ok(())
}

/// Connects the backends, puts right what a predecessor left, and makes
/// each socket's driver ready.
async fn start(args: &ServeArgs, sockets: &PluginSockets) -> anyhow::Result<()> {
    let backends = connect_until_done(args, sockets).await;
    // Before any call reaches a backend: what a killed predecessor left,
    // Docker will not tell about; first the pairs it left half made,
    // which only now, with no Join of this daemon under way, can be told
    // from a Join's. (See crate::host::links::UNFINISHED_GROUP.)
    if let Err(error) = backends.reaper.delete_unfinished().await {
        tracing::warn!(%error, "veth pairs a killed daemon left half made are still there");
    }
    // Before the first pass, so that its actions count.
    let metrics = start_metrics(&args.metrics, &backends).await?;
    reconcile_once(&backends).await;
    let interval = Duration::from_secs(args.reconcile_interval);
    tokio::spawn(reconcile_forever(backends.clone(), interval));
    let observed = |router: PluginRouter| match &metrics {
        Some(metrics) => router.observer(metrics.clone()),
        None => router,
    };
    if let Some(socket) = &sockets.ovn {
        socket
            .startup
            .ready(ovn_router(args, backends.ovn, observed));
    }
    if let (Some(socket), Some(ovs)) = (&sockets.ovs, backends.ovs) {
        ovs.resync_on_reconnect();
        ovs.follow_peers();
        let router = observed(PluginRouter::new())
            .network_driver(Arc::new(Driver::new(ovs)))
            .build();
        socket.startup.ready(router);
    }
    tracing::info!("ready");
    Ok(())
}

/// [`connect_all`] until it succeeds, the reason it did not on every
/// socket meanwhile: the sockets stay up, so dockerd keeps the plugin.
async fn connect_until_done(args: &ServeArgs, sockets: &PluginSockets) -> Backends {
    let mut pause = Duration::from_secs(1);
    loop {
        match connect_all(args).await {
            Ok(backends) => return backends,
            Err(error) => {
                let reason = format!("{error:#}");
                tracing::warn!(error = %reason, retry_in_s = pause.as_secs(), "cannot start; will retry");
                sockets.waiting_for(&reason);
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_CONNECT_PAUSE);
    }
}

/// The `-d ovn` router: the OVN backend and its IPAM, or a stand-in that
/// says how to configure OVN.
fn ovn_router(
    args: &ServeArgs,
    ovn: Option<(Arc<OvnBackend>, Northbound)>,
    observed: impl Fn(PluginRouter) -> PluginRouter,
) -> plugin_api::Router {
    let Some((backend, nb)) = ovn else {
        let unconfigured = Unconfigured {
            options: OVN_OPTIONS,
            reason: NO_NORTHBOUND.to_string(),
        };
        return observed(PluginRouter::new())
            .network_driver(Arc::new(Driver::new(Arc::new(unconfigured))))
            .build();
    };
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
    let ipam = Ipam::new(pools, backend.links().clone());
    observed(PluginRouter::new())
        .network_driver(Arc::new(Driver::new(backend)))
        .ipam_driver(Arc::new(ipam))
        .build()
}

/// Connects every backend the flags ask for.
pub async fn connect_all(args: &ServeArgs) -> anyhow::Result<Backends> {
    let timeout = Duration::from_secs(args.ovsdb_timeout);
    let (ovs, links) = connect_local(&args.nested.database(&args.db), timeout).await?;
    let nested_parent = args.nested.parent(&ovs)?;
    let ovn_config = OvnConfig {
        ready_timeout: Duration::from_secs(args.ready_timeout),
        underlay_mtu: args.underlay_mtu,
        unjoined_grace: Duration::from_secs(args.reclaim_grace),
        gateway: !args.no_gateway,
        nested_parent,
    };
    let nb_target = match args.no_ovn {
        true => None,
        false => args.db.nb_target_if_any(&ovs),
    };
    let host = host_name(&ovs, nb_target.is_some())?;
    let reaper = VethReaper::start(ovs.clone())?;
    let ovn = match nb_target {
        Some(nb_db) => {
            let nb = connect_northbound(&nb_db, timeout).await?;
            tracing::info!(%nb_db, %host, bridge = %ovs.bridge(),
                nested_parent = ?ovn_config.nested_parent, "-d ovn: Northbound replicated");
            let backend = OvnBackend::new(
                ovs.clone(),
                nb.clone(),
                links.clone(),
                reaper.clone(),
                host.clone(),
                ovn_config,
            );
            Some((Arc::new(backend), nb))
        }
        None if args.no_ovn => None,
        None => {
            tracing::warn!("{NO_NORTHBOUND}");
            None
        }
    };
    let local = ovs.clone();
    let ovs = match args.no_ovs {
        true => None,
        false => Some(start_ovs(args, &ovs, links, reaper.clone(), host).await?),
    };
    Ok(Backends {
        ovn,
        ovs,
        reaper,
        local,
    })
}

/// The local Open_vSwitch database, replicated, and netlink.
pub async fn connect_local(
    db: &DatabaseArgs,
    timeout: Duration,
) -> anyhow::Result<(LocalSwitch, Links)> {
    let links = Links::connect()?;
    let ovs = LocalSwitch::connect(&db.ovs_db, &db.bridge, timeout)
        .await
        .with_context(|| {
            format!(
                "cannot replicate the Open_vSwitch database at {}",
                db.ovs_db
            )
        })?;
    Ok((ovs, links))
}

pub async fn connect_northbound(nb_db: &str, timeout: Duration) -> anyhow::Result<Northbound> {
    Northbound::connect(nb_db, timeout)
        .await
        .with_context(|| format!("cannot replicate the OVN Northbound database at {nb_db}"))
}
