//! `docker-ovn`: the daemon and its status, reconcile, flows and trace commands. The lab
//! is another program, `docker-ovn-lab` (the `lab/` crate).

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use docker_ovn::cli::{flows_command, logging, manual, reconcile_command, serve, status, trace};

#[derive(Parser)]
#[command(
    name = "docker-ovn",
    version,
    about = "Docker network driver for Open vSwitch and OVN"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the driver: serve the Docker plugin socket.
    Serve(serve::ServeArgs),
    /// Show the databases, networks and this host's endpoints.
    Status(status::StatusArgs),
    /// Make this host's OVS ports, veths and logical ports agree again
    /// (the daemon does this at start and periodically); `--dry-run` prints.
    Reconcile(reconcile_command::ReconcileArgs),
    /// Print the driver's flows on the `-d ovs` bridge, table by table.
    Flows(flows_command::FlowsArgs),
    /// The path of a packet from container SRC to container DST (or an
    /// address), in words, with ovn-trace's or ofproto/trace's output.
    Trace(trace::TraceArgs),
    /// Write the manual pages (DIR/man1) and shell completions
    /// (DIR/completions), as the .deb ships them.
    #[command(hide = true)]
    Manual { dir: PathBuf },
}

/// jemalloc, not glibc's malloc: reconciliation and the flow check make
/// the daemon's largest allocations, passing ones, every 30 s. glibc
/// kept the pages they had used (fragmentation that `malloc_trim` could
/// not return), so the daemon's size followed its history; jemalloc with
/// one arena and freed pages returned at once (`dirty_decay_ms:0`) stays
/// near what it holds, at no cost measured per lifecycle
/// (docs/benchmarks.md, "Figures behind design decisions").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (its `malloc_conf`); `_RJEM_MALLOC_CONF` in the
/// environment overrides them.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf =
    MallocConf(c"narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0".as_ptr());

/// A C string pointer jemalloc reads at start.
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: it points to a static, immutable, NUL-terminated string.
unsafe impl Sync for MallocConf {}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            logging::init(args.log_format);
            runtime()?.block_on(serve::serve(args))
        }
        Command::Status(args) => runtime()?.block_on(status::status(args)),
        Command::Reconcile(args) => runtime()?.block_on(reconcile_command::reconcile(args)),
        Command::Flows(args) => runtime()?.block_on(flows_command::flows(args)),
        Command::Trace(args) => runtime()?.block_on(trace::trace(args)),
        Command::Manual { dir } => {
            let written = manual::write(Cli::command(), &dir)?;
            for path in written.pages.iter().chain(&written.completions) {
                println!("{}", path.display());
            }
            Ok(())
        }
    }
}

/// One thread: every call waits on sockets (ovsdb-server, netlink, the
/// HTTP client) and computes little, so a multi-threaded runtime mostly
/// adds hand-offs between its threads, each a futex wake-up: each
/// lifecycle took less of the driver's own time on one thread
/// (docs/benchmarks.md, "Figures behind design decisions"). Blocking work
/// goes to tokio's blocking pool (the link scan) or to child processes
/// (iptables).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
