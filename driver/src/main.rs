//! `docker-ovn`: the daemon and its status, reconcile and flows commands. The lab
//! is another program, `docker-ovn-lab` (the `lab/` crate).

use clap::{Parser, Subcommand};

use docker_ovn::cli::{flows_command, heap, logging, reconcile_command, serve, status};

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            heap::limit_arenas();
            logging::init(args.log_format);
            runtime()?.block_on(serve::serve(args))
        }
        Command::Status(args) => runtime()?.block_on(status::status(args)),
        Command::Reconcile(args) => runtime()?.block_on(reconcile_command::reconcile(args)),
        Command::Flows(args) => runtime()?.block_on(flows_command::flows(args)),
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
