//! The whole run, in order: memory idle, `docker run`, then for each
//! population of joined endpoints the plugin-level measurements of both
//! drivers, ovn-controller's install time and the first ping; memory at
//! the largest population; then `-d ovs` at each population of its own
//! endpoints (the `-d ovn` ones removed first: each backend is measured
//! against its own population); and the teardown of everything it made.

use std::collections::HashMap;
use std::time::Duration;

use test_support::{Lab, PluginClient};

use crate::cpu::{Processes, Settle};
use crate::install_time::HandBinder;
use crate::join_log::{JoinLog, JoinTimes};
use crate::lifecycle::{self, Load, Run};
use crate::plugin::Driver;
use crate::prefill::Prefill;
use crate::python_driver::PythonDriver;
use crate::round_trip::{self, RoundTripTimes};
use crate::stats::Samples;
use crate::traffic::Peer;
use crate::{docker_run, kernel, memory};

/// How long the daemons' idle CPU is watched at a time.
pub const IDLE_WINDOW: Duration = Duration::from_secs(3);
/// A level is measured once no process uses this much of a core over
/// [`IDLE_WINDOW`] (the fill's backlog is done), or after [`SETTLE_CAP`].
pub const SETTLED_PERCENT: f64 = 20.0;
pub const SETTLE_CAP: Duration = Duration::from_secs(120);
/// The pause between spaced lifecycles: the daemons have finished with
/// the last one (at 0 endpoints) before the next starts, as between the
/// containers dockerd starts one at a time.
pub const SPACING: Duration = Duration::from_millis(250);

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Joined endpoints present, one measurement round each.
    pub levels: Vec<usize>,
    pub concurrent_clients: usize,
    /// Lifecycles per round: ours serial, ours concurrent, ours serial
    /// with [`SPACING`] between them; Python's alike.
    pub ours: (usize, usize, usize),
    pub python: (usize, usize, usize),
    /// Time allowed per lifecycle run (the Python driver slows down
    /// with thousands of endpoints: it then gets fewer samples).
    pub budget: Duration,
    pub install_samples: usize,
    pub ping_samples: usize,
    pub docker_runs: usize,
}

/// One round, at one population.
pub struct Level {
    pub endpoints: usize,
    /// docker-ovn serial and concurrent, then Python serial and concurrent.
    pub runs: Vec<(&'static str, Run)>,
    /// What our driver logged about each Join of the round.
    pub joins: HashMap<String, JoinTimes>,
    pub install: Samples,
    /// The same, bound back to back as serial lifecycles run.
    pub install_back_to_back: Samples,
    /// Hand-bound ports a second with 16 binding at once, no driver.
    pub install_rate: Option<f64>,
    /// The four OVSDB transactions of a hand-made lifecycle, summed.
    pub transactions: Samples,
    /// Hand-bound ports not installed in time, left out of `install`.
    pub install_timeouts: usize,
    /// Per driver: first ping after Join's start and after its reply.
    pub first_ping: Vec<(&'static str, Samples, Samples)>,
    /// How long the level waited for the daemons to finish joining its
    /// population, whether they did, and what they used while idle.
    pub settle: Settle,
}

/// Everything the table shows.
pub struct Results {
    pub levels: Vec<Level>,
    /// `docker run --rm` on `ovn`, on an internal `ovn` network, on
    /// `bridge` and on `ovs`.
    pub docker: [Samples; 4],
    /// The kernel's time to create and to delete one veth pair.
    pub veth: kernel::VethTimes,
    /// A plugin call's round trip with no work behind it.
    pub round_trips: RoundTripTimes,
    pub rss_idle_kib: u64,
    /// At the largest population joined.
    pub rss_full_kib: u64,
    /// `-d ovs` at each population of its own endpoints: its runs only.
    pub ovs_levels: Vec<Level>,
    /// With the largest `-d ovs` population joined.
    pub rss_ovs_full_kib: u64,
    /// A population the lab could not be filled to, and why.
    pub unreached: Option<Unreached>,
}

/// A population the lab could not be filled to.
pub struct Unreached {
    pub endpoints: usize,
    /// How many were joined when filling gave up.
    pub reached: usize,
    pub error: String,
}

/// The networks and the connections a run uses.
struct Subjects {
    ours: Driver,
    python: Driver,
    filler: Driver,
    /// `-d ovs`, measured and filled on networks of their own.
    ovs: Driver,
    ovs_filler: Driver,
    binder: HandBinder,
    processes: Processes,
}

pub fn run(lab: &Lab, plan: &Plan) -> anyhow::Result<Results> {
    let runtime = tokio::runtime::Runtime::new()?;
    let rss_idle_kib = memory::driver_rss_kib(lab)?;
    say(format!(
        "docker run --rm, {} runs on each network",
        plan.docker_runs
    ));
    let docker = docker_run::measure(plan.docker_runs)?;
    let veth = kernel::veth_times()?;
    let ours = PluginClient::new(lab.plugin_socket());
    let round_trips = round_trip::measure(&ours)?;
    let ovs = PluginClient::new(lab.var("OVS_PLUGIN_SOCKET"));
    let python = PythonDriver::start(&lab.var("OVS_RUNDIR"))?;
    say(format!("Python driver on {}", python.address));
    let processes = Processes::of_lab(lab)?.with("Python driver", python.pid());
    let subjects = Subjects {
        ours: Driver::with_network("docker-ovn", ours.clone(), 240)?,
        python: Driver::with_network("python", python.client(), 241)?,
        filler: Driver::with_network("prefill", ours, 244)?,
        ovs: Driver::with_network("docker-ovs", ovs.clone(), 242)?,
        ovs_filler: Driver::with_network("prefill-ovs", ovs, 246)?,
        binder: runtime.block_on(HandBinder::connect(
            &lab.ovs_db(),
            &lab.nb_db(),
            &lab.var("BRIDGE"),
        ))?,
        processes,
    };
    let prefill = Prefill::new(&subjects.filler);
    let measured = rounds(lab, plan, &runtime, &subjects, &prefill);
    say("removing the -d ovn endpoints".into());
    let cleared = prefill.clear();
    let ovs_prefill = Prefill::new(&subjects.ovs_filler);
    let ovs_measured = cleared.and_then(|()| ovs_rounds(lab, plan, &subjects, &ovs_prefill));
    say("removing the endpoints and networks".into());
    let ovs_cleared = ovs_prefill.clear();
    let drivers = [
        &subjects.ours,
        &subjects.python,
        &subjects.filler,
        &subjects.ovs,
        &subjects.ovs_filler,
    ];
    let removed = drivers
        .iter()
        .try_for_each(|driver| driver.delete_network());
    let closed = runtime.block_on(subjects.binder.close());
    let (levels, rss_full_kib, unreached) = measured?;
    let (ovs_levels, rss_ovs_full_kib) = ovs_measured?;
    ovs_cleared.and(removed).and(closed)?;
    Ok(Results {
        levels,
        unreached,
        docker,
        veth,
        round_trips,
        rss_idle_kib,
        rss_full_kib,
        ovs_levels,
        rss_ovs_full_kib,
    })
}

/// `-d ovs` at each level of its own joined endpoints: its lifecycles
/// (readiness included: its Join returns once its flows are in) and
/// first pings; the driver's RSS at the largest.
fn ovs_rounds(
    lab: &Lab,
    plan: &Plan,
    subjects: &Subjects,
    prefill: &Prefill,
) -> anyhow::Result<(Vec<Level>, u64)> {
    let mut levels = Vec::new();
    let mut rss = 0;
    for &endpoints in &plan.levels {
        say(format!("-d ovs: joining endpoints up to {endpoints}"));
        prefill.grow_to(endpoints)?;
        rss = memory::driver_peak_rss_kib(lab, memory::PEAK_WINDOW)?;
        let settle = subjects
            .processes
            .settle(IDLE_WINDOW, SETTLED_PERCENT, SETTLE_CAP)?;
        let none = || Samples::new(Vec::new());
        let mut level = Level {
            endpoints,
            runs: Vec::new(),
            joins: HashMap::new(),
            install: none(),
            install_back_to_back: none(),
            install_rate: None,
            transactions: none(),
            install_timeouts: 0,
            first_ping: Vec::new(),
            settle,
        };
        measure_driver(
            plan,
            &subjects.ovs,
            plan.ours,
            &subjects.processes,
            &mut level,
        )?;
        levels.push(level);
    }
    Ok((levels, rss))
}

/// Every level; the driver's RSS at the largest.
fn rounds(
    lab: &Lab,
    plan: &Plan,
    runtime: &tokio::runtime::Runtime,
    subjects: &Subjects,
    prefill: &Prefill,
) -> anyhow::Result<(Vec<Level>, u64, Option<Unreached>)> {
    let mut levels = Vec::new();
    let mut rss_full_kib = 0;
    let mut unreached = None;
    for &endpoints in &plan.levels {
        say(format!("joining endpoints up to {endpoints}"));
        let mut endpoints = endpoints;
        if let Err(error) = prefill.grow_to(endpoints) {
            // Measured at the population reached, and said so.
            let reached = prefill.len();
            say(format!(
                "{endpoints} endpoints not reached ({reached} joined): {error}"
            ));
            unreached = Some(Unreached {
                endpoints,
                reached,
                error: error.to_string(),
            });
            endpoints = reached;
        }
        rss_full_kib = memory::driver_peak_rss_kib(lab, memory::PEAK_WINDOW)?;
        let settle = subjects
            .processes
            .settle(IDLE_WINDOW, SETTLED_PERCENT, SETTLE_CAP)?;
        let log = JoinLog::from_now(std::path::Path::new(&lab.var("DRIVER_LOG")))?;
        say(format!(
            "{endpoints} endpoints: ovn-controller's install time"
        ));
        let hand_bound = runtime.block_on(subjects.binder.measure(plan.install_samples))?;
        let mut level = Level {
            endpoints,
            runs: Vec::new(),
            joins: HashMap::new(),
            install: hand_bound.install,
            install_back_to_back: hand_bound.back_to_back,
            install_rate: hand_bound.concurrent_rate,
            transactions: hand_bound.transactions,
            install_timeouts: hand_bound.timed_out,
            first_ping: Vec::new(),
            settle,
        };
        for (driver, counts) in [(&subjects.ours, plan.ours), (&subjects.python, plan.python)] {
            measure_driver(plan, driver, counts, &subjects.processes, &mut level)?;
        }
        level.joins = log.joins()?;
        levels.push(level);
    }
    Ok((levels, rss_full_kib, unreached))
}

/// One driver's lifecycles, serial and concurrent, and its first pings.
fn measure_driver(
    plan: &Plan,
    driver: &Driver,
    (serial, concurrent, spaced): (usize, usize, usize),
    processes: &Processes,
    level: &mut Level,
) -> anyhow::Result<()> {
    say(format!(
        "{} endpoints: {} lifecycles",
        level.endpoints, driver.name
    ));
    // What the last measurement left the daemons to do is not this one's.
    processes.settle(IDLE_WINDOW, SETTLED_PERCENT, SETTLE_CAP)?;
    // A warm-up, not counted. A saturated lab can fail it (the Python
    // driver's ovs-vsctl times out at 5000 endpoints); the runs count
    // their own failures, so it ends nothing.
    if let Err(error) = lifecycle::one(driver) {
        say(format!(
            "{}: warm-up lifecycle failed: {error:#}",
            driver.name
        ));
    }
    let loads = [
        (1, serial, Duration::ZERO),
        (plan.concurrent_clients, concurrent, Duration::ZERO),
        (1, spaced, SPACING),
    ];
    for (clients, count, pause) in loads {
        let load = Load {
            clients,
            count,
            budget: plan.budget,
            pause,
        };
        let before = processes.snapshot()?;
        let mut run = lifecycle::run(driver, load)?;
        run.cpu = processes.since(&before)?;
        level.runs.push((driver.name, run));
    }
    // With thousands of endpoints ovn-controller can be too far behind
    // for a Join to be installed in time: the table then shows no figure
    // rather than the run ending.
    match first_pings(plan, driver) {
        Ok((after_start, after_reply)) => {
            level
                .first_ping
                .push((driver.name, after_start, after_reply))
        }
        Err(error) => say(format!(
            "{}: first ping not measured: {error:#}",
            driver.name
        )),
    }
    Ok(())
}

fn first_pings(plan: &Plan, driver: &Driver) -> anyhow::Result<(Samples, Samples)> {
    let peer = Peer::new(driver)?;
    let pings = peer.measure(plan.ping_samples);
    peer.remove()?;
    pings
}

/// Progress on stderr; the table goes to stdout and the file.
pub fn say(message: String) {
    eprintln!("bench: {message}");
}
