//! The targets, each a ratio of two figures from the same run.

use crate::lifecycle::Run;
use crate::measure::{Level, Results};
use crate::stats::{Samples, ms};

/// Which side of its limit a ratio must be on.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

/// One target and how the run fared.
#[derive(Debug, Clone)]
pub struct Target {
    pub what: &'static str,
    /// The two figures the ratio is made of, in words.
    pub measured: String,
    /// `None` when the run did not measure it (a level left out).
    pub ratio: Option<f64>,
    pub bound: Bound,
}

impl Target {
    pub fn met(&self) -> Option<bool> {
        self.ratio.map(|ratio| match self.bound {
            Bound::AtLeast(limit) => ratio >= limit,
            Bound::AtMost(limit) => ratio <= limit,
        })
    }
}

/// Our driver's own time per lifecycle (everything but the readiness
/// wait it logged), for the lifecycles of `run`.
pub fn own_times(level: &Level, run: &Run) -> Samples {
    Samples::new(
        run.lifecycles
            .iter()
            .filter_map(|l| {
                Some(
                    l.total()
                        .saturating_sub(level.joins.get(&l.endpoint)?.ready_wait),
                )
            })
            .collect(),
    )
}

/// The readiness waits our driver logged for the Joins of `run`.
pub fn ready_waits(level: &Level, run: &Run) -> Samples {
    Samples::new(
        run.lifecycles
            .iter()
            .filter_map(|l| Some(level.joins.get(&l.endpoint)?.ready_wait))
            .collect(),
    )
}

/// The run of `driver` with `clients` clients at `level`.
/// The back-to-back run of `driver` with `clients`.
pub fn run_of<'a>(level: &'a Level, driver: &str, clients: usize) -> Option<&'a Run> {
    level
        .runs
        .iter()
        .find(|(name, run)| {
            *name == driver && run.load.clients == clients && run.load.pause.is_zero()
        })
        .map(|(_, run)| run)
}

/// The serial run of `driver` with pauses between its lifecycles.
pub fn spaced_run_of<'a>(level: &'a Level, driver: &str) -> Option<&'a Run> {
    level
        .runs
        .iter()
        .find(|(name, run)| *name == driver && !run.load.pause.is_zero())
        .map(|(_, run)| run)
}

pub fn targets(results: &Results, clients: usize) -> Vec<Target> {
    let level = |n: usize| results.levels.iter().find(|l| l.endpoints == n);
    let mut targets = vec![
        own_time_vs_python(level(0), 0),
        own_time_vs_python(level(1000), 1000),
    ];
    targets.push(ready_wait_vs_install(level(0)));
    targets.push(throughput(level(0), 1, 4.0));
    targets.push(throughput(level(0), clients, 10.0));
    let largest = level(5000).or_else(|| level(results.unreached.as_ref()?.reached));
    targets.push(flat_own_time(level(0), largest));
    let [ovn, _, bridge, _] = &results.docker;
    targets.push(Target {
        what: "`docker run --rm`: ovn within 1.25x of bridge (medians)",
        measured: format!(
            "ovn {} ms, bridge {} ms",
            ms(ovn.median()),
            ms(bridge.median())
        ),
        ratio: Some(ratio(
            ovn.median().as_secs_f64(),
            bridge.median().as_secs_f64(),
        )),
        bound: Bound::AtMost(1.25),
    });
    let mib = results.rss_full_kib as f64 / 1024.0;
    targets.push(Target {
        what: "RSS with the most endpoints under 30 MB (highest over a reconciliation period; ratio to 30 MB)",
        measured: format!("{mib:.1} MiB"),
        ratio: Some(mib * 1024.0 * 1024.0 / 30e6),
        bound: Bound::AtMost(1.0),
    });
    targets.extend(ovs_targets(results, clients));
    targets
}

/// The `-d ovs` targets: its whole lifecycle (its readiness is its own
/// work) against Python's, its Join at 5000 endpoints against `-d ovn`'s
/// and its own at 0, `docker run`, memory.
fn ovs_targets(results: &Results, clients: usize) -> Vec<Target> {
    let ovn_level = |n: usize| results.levels.iter().find(|l| l.endpoints == n);
    let ovs_level = |n: usize| results.ovs_levels.iter().find(|l| l.endpoints == n);
    let mut targets = vec![ovs_vs_python(ovn_level(0), ovs_level(0))];
    targets.push(ovs_throughput(ovn_level(0), ovs_level(0), clients));
    targets.push(ovs_join_vs_ovn(ovn_level(5000), ovs_level(5000)));
    targets.push(ovs_flat_join(ovs_level(0), ovs_level(5000)));
    let [_, _, bridge, ovs] = &results.docker;
    targets.push(Target {
        what: "`docker run --rm`: ovs within 1.10x of bridge (medians)",
        measured: format!(
            "ovs {} ms, bridge {} ms",
            ms(ovs.median()),
            ms(bridge.median())
        ),
        ratio: Some(ratio(
            ovs.median().as_secs_f64(),
            bridge.median().as_secs_f64(),
        )),
        bound: Bound::AtMost(1.10),
    });
    let mib = results.rss_ovs_full_kib as f64 / 1024.0;
    targets.push(Target {
        what: "-d ovs: RSS with 5000 endpoints under 30 MB (highest over a reconciliation period; ratio to 30 MB)",
        measured: format!("{mib:.1} MiB"),
        ratio: (!results.ovs_levels.is_empty()).then(|| mib * 1024.0 * 1024.0 / 30e6),
        bound: Bound::AtMost(1.0),
    });
    targets
}

/// The median of call `call` (an index of CALLS) in `driver`'s serial run.
fn call_median(level: Option<&Level>, driver: &str, call: usize) -> Option<f64> {
    let run = run_of(level?, driver, 1)?;
    Some(run.call(call).measured_median()?.as_secs_f64())
}

const JOIN: usize = 1;

fn ovs_vs_python(ovn_level: Option<&Level>, ovs_level: Option<&Level>) -> Target {
    let total = |level: Option<&Level>, driver: &str| {
        Some(
            run_of(level?, driver, 1)?
                .totals()
                .measured_median()?
                .as_secs_f64(),
        )
    };
    let figures = total(ovn_level, "python").zip(total(ovs_level, "docker-ovs"));
    let what = "-d ovs lifecycle, readiness included, ≥20x faster than Python, 0 endpoints \
                (p50, serial)";
    target(what, Bound::AtLeast(20.0), figures, |python, ovs| {
        format!("ovs {} ms, Python {} ms", secs(ovs), secs(python))
    })
}

fn ovs_throughput(ovn_level: Option<&Level>, ovs_level: Option<&Level>, clients: usize) -> Target {
    let rate = |level: Option<&Level>, driver: &str| {
        let run = run_of(level?, driver, clients)?;
        (!run.lifecycles.is_empty()).then(|| run.throughput())
    };
    let figures = rate(ovs_level, "docker-ovs").zip(rate(ovn_level, "python"));
    let what = "-d ovs lifecycles/s ≥10x Python with 16 clients, 0 endpoints";
    target(what, Bound::AtLeast(10.0), figures, |ovs, python| {
        format!("ovs {ovs:.1}/s, Python {python:.1}/s")
    })
}

fn ovs_join_vs_ovn(ovn_level: Option<&Level>, ovs_level: Option<&Level>) -> Target {
    let figures =
        call_median(ovn_level, "docker-ovn", JOIN).zip(call_median(ovs_level, "docker-ovs", JOIN));
    let what = "-d ovs Join ≥50x faster than -d ovn's, 5000 endpoints (p50, serial)";
    target(what, Bound::AtLeast(50.0), figures, |ovn, ovs| {
        format!("ovs {} ms, ovn {} ms", secs(ovs), secs(ovn))
    })
}

fn ovs_flat_join(empty: Option<&Level>, full: Option<&Level>) -> Target {
    let figures = call_median(full, "docker-ovs", JOIN).zip(call_median(empty, "docker-ovs", JOIN));
    let what = "-d ovs Join at 5000 endpoints ≤2x at 0 (p50, serial)";
    target(what, Bound::AtMost(2.0), figures, |full, empty| {
        format!("0: {} ms, 5000: {} ms", secs(empty), secs(full))
    })
}

fn own_time_vs_python(level: Option<&Level>, endpoints: usize) -> Target {
    let what = if endpoints == 0 {
        "own time per lifecycle ≥20x faster than Python, 0 endpoints (p50, serial)"
    } else {
        "own time per lifecycle ≥20x faster than Python, 1000 endpoints (p50, serial)"
    };
    let figures = level.and_then(|level| {
        let ours = own_times(level, run_of(level, "docker-ovn", 1)?).measured_median()?;
        let python = run_of(level, "python", 1)?.totals().measured_median()?;
        Some((python.as_secs_f64(), ours.as_secs_f64()))
    });
    target(what, Bound::AtLeast(20.0), figures, |python, ours| {
        format!("docker-ovn {} ms, Python {} ms", secs(ours), secs(python))
    })
}

fn ready_wait_vs_install(level: Option<&Level>) -> Target {
    let figures = level.and_then(|level| {
        let wait = ready_waits(level, run_of(level, "docker-ovn", 1)?).measured_median()?;
        let install = level.install_back_to_back.measured_median()?;
        Some((wait.as_secs_f64(), install.as_secs_f64()))
    });
    // Back to back, as the serial lifecycles run: see `install_time`.
    let what = "Join's readiness wait ≤1.5x ovn-controller's install time, 0 endpoints \
                (p50; hand-bound ports back to back, as the serial lifecycles)";
    target(what, Bound::AtMost(1.5), figures, |wait, install| {
        format!("wait {} ms, install {} ms", secs(wait), secs(install))
    })
}

fn throughput(level: Option<&Level>, clients: usize, limit: f64) -> Target {
    let what = if clients == 1 {
        "lifecycles/s, readiness included, ≥4x Python serially, 0 endpoints"
    } else {
        "lifecycles/s, readiness included, ≥10x Python with 16 clients, 0 endpoints"
    };
    // A run in which nothing completed measured no rate.
    let rate = |run: &Run| (!run.lifecycles.is_empty()).then(|| run.throughput());
    let figures = level.and_then(|level| {
        let ours = rate(run_of(level, "docker-ovn", clients)?)?;
        Some((ours, rate(run_of(level, "python", clients)?)?))
    });
    target(what, Bound::AtLeast(limit), figures, |ours, python| {
        format!("docker-ovn {ours:.1}/s, Python {python:.1}/s")
    })
}

fn flat_own_time(empty: Option<&Level>, full: Option<&Level>) -> Target {
    let own = |level: Option<&Level>| {
        let level = level?;
        let own = own_times(level, run_of(level, "docker-ovn", 1)?).measured_median()?;
        Some(own.as_secs_f64())
    };
    let figures = own(full).zip(own(empty));
    let what = "own time per lifecycle at 5000 endpoints ≤1.5x at 0 (p50, serial)";
    target(what, Bound::AtMost(1.5), figures, |full, empty| {
        format!("0: {} ms, 5000: {} ms", secs(empty), secs(full))
    })
}

/// A target whose ratio is `numerator / denominator`, two figures of the
/// run (absent when it did not measure them), described by `describe`.
fn target(
    what: &'static str,
    bound: Bound,
    figures: Option<(f64, f64)>,
    describe: impl Fn(f64, f64) -> String,
) -> Target {
    Target {
        what,
        measured: figures.map_or_else(String::new, |(n, d)| describe(n, d)),
        ratio: figures.map(|(n, d)| ratio(n, d)),
        bound,
    }
}

/// Seconds as the table's milliseconds.
fn secs(seconds: f64) -> String {
    ms(std::time::Duration::from_secs_f64(seconds))
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        f64::INFINITY
    }
}
