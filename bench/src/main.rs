//! `docker-ovn-bench`: docker-ovn side by side with the Python
//! `ovn-docker-overlay-driver` on the running lab, writing the table of
//! `docs/benchmarks.md`. `scripts/bench.sh` runs it (as root, lab up).
//!
//! Modules, in the order a run uses them:
//! - [`measure`]: the run: what is measured in which order, and teardown.
//! - [`memory`]: the driver's RSS from `/proc`.
//! - [`kernel`]: veth deletion in the kernel.
//! - [`round_trip`]: a plugin call with no work behind it, awake and woken.
//! - [`cpu`]: CPU time of the daemons and drivers, idle and per run.
//! - [`docker_run`]: `docker run --rm` on `ovn` against `bridge`.
//! - [`python_driver`]: the comparison driver, patched at run time, by pid.
//! - [`plugin`]: a driver driven over its plugin API, on its own network.
//! - [`ids`]: the benchmark's ids and addresses, all with one prefix.
//! - [`prefill`]: the endpoints already joined (0, 1000, 5000).
//! - [`parallel`]: several clients at once.
//! - [`install_time`]: ovn-controller's install time of a hand-bound port.
//! - [`lifecycle`]: timed CreateEndpoint, Join, Leave, DeleteEndpoint.
//! - [`join_log`]: our driver's own time and readiness wait, from its log.
//! - [`traffic`]: time until a new endpoint answers a ping.
//! - [`stats`]: percentiles of the samples.
//! - [`targets`]: the targets as ratios.
//! - [`machine`]: what the run ran on.
//! - [`report`]: the Markdown, and its place in `docs/benchmarks.md`.
//! - [`sweep`]: removes what the benchmark made, even after a failed run.
//! - [`hold`]: a population held still for profiling (`--fill-and-hold`).
//! - [`probe`]: one driver's serial lifecycle call by call (`--probe`).

mod cpu;
mod docker_run;
mod hold;
mod ids;
mod install_time;
mod join_log;
mod kernel;
mod lifecycle;
mod machine;
mod measure;
mod memory;
mod parallel;
mod plugin;
mod prefill;
mod probe;
mod python_driver;
mod report;
mod round_trip;
mod stats;
mod sweep;
mod targets;
mod traffic;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use test_support::Lab;

/// Benchmarks docker-ovn against the Python OVN driver on the lab
/// (`DOCKER_OVN_LAB_DIR`, default /var/run/docker-ovn-lab). As root.
#[derive(Debug, Parser)]
struct Options {
    /// A Markdown file to write the table into, between its bench markers.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only remove what an earlier run left behind.
    #[arg(long)]
    sweep: bool,
    /// A short trial run: 0 and 100 endpoints, few samples.
    #[arg(long)]
    quick: bool,
    /// Joined endpoints present for each round (default 0,1000,5000).
    #[arg(long, value_delimiter = ',')]
    levels: Option<Vec<usize>>,
    /// `docker run --rm` runs on each network.
    #[arg(long, default_value_t = 50)]
    docker_runs: usize,
    /// Only join this many endpoints and hold them until stdin closes
    /// (for profiling the driver at that population), then remove them.
    #[arg(long, value_name = "ENDPOINTS")]
    fill_and_hold: Option<usize>,
    /// The driver `--fill-and-hold` fills: ovs or ovn.
    #[arg(long, value_name = "DRIVER", default_value = "ovn")]
    fill_driver: String,
    /// Only time serial lifecycles of one driver (ovs or ovn), call by
    /// call, and print their medians: a quick look, no table.
    #[arg(long, value_name = "DRIVER")]
    probe: Option<String>,
    /// Lifecycles timed by `--probe`.
    #[arg(long, default_value_t = 200)]
    probe_count: usize,
    /// Internal: the bare echo server a run measures round trips with.
    #[arg(long, value_name = "SOCKET", hide = true)]
    echo_server: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    if let Some(socket) = &options.echo_server {
        return round_trip::serve_echo(socket);
    }
    let lab = Lab::require();
    // Whatever an interrupted run left would skew this one.
    sweep::sweep(&lab)?;
    if options.sweep {
        return Ok(());
    }
    if let Some(endpoints) = options.fill_and_hold {
        let held = hold::fill_and_hold(&lab, &options.fill_driver, endpoints);
        sweep::sweep(&lab)?;
        return held;
    }
    if let Some(driver) = &options.probe {
        let probed = probe::probe(&lab, driver, options.probe_count);
        sweep::sweep(&lab)?;
        return probed;
    }
    let plan = plan(&options);
    let machine = machine::describe();
    let results = measure::run(&lab, &plan);
    sweep::sweep(&lab)?;
    let section = report::markdown(&results?, &plan, &machine);
    println!("{section}");
    if let Some(path) = &options.out {
        report::write_into(path, &section)?;
        measure::say(format!("table written to {}", path.display()));
    }
    Ok(())
}

/// Sized to finish in about 40 to 50 minutes on two cores.
fn plan(options: &Options) -> measure::Plan {
    let full = !options.quick;
    measure::Plan {
        levels: options.levels.clone().unwrap_or(if full {
            vec![0, 1000, 5000]
        } else {
            vec![0, 100]
        }),
        concurrent_clients: 16,
        ours: if full { (200, 400, 100) } else { (20, 32, 10) },
        python: if full { (60, 160, 40) } else { (10, 32, 5) },
        budget: Duration::from_secs(if full { 40 } else { 10 }),
        install_samples: if full { 20 } else { 5 },
        ping_samples: if full { 5 } else { 2 },
        docker_runs: if full { options.docker_runs } else { 5 },
    }
}
