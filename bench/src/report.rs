//! The table `docs/benchmarks.md` shows, in Markdown, and its place in
//! that file: between two marker lines, so that the text written around
//! it by hand (what bounds a missed target) stays.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use crate::join_log::JoinTimes;
use crate::lifecycle::{CALLS, Run};
use crate::measure::{IDLE_WINDOW, Level, Plan, Results, SETTLE_CAP, SETTLED_PERCENT, SPACING};
use crate::round_trip::{RoundTripTimes, RoundTrips, SLEEP};
use crate::stats::{Samples, ms};
use crate::targets::{Bound, own_times, ready_waits, run_of, spaced_run_of, targets};

const BEGIN: &str = "<!-- bench:begin (written by scripts/bench.sh) -->";
const END: &str = "<!-- bench:end -->";

/// The whole generated section.
pub fn markdown(results: &Results, plan: &Plan, machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Machine: {machine}.\n");
    targets_table(&mut out, results, plan);
    lifecycle_table(&mut out, results);
    join_table(&mut out, results);
    idle_table(&mut out, results);
    cpu_table(&mut out, results);
    let _ = writeln!(
        out,
        "The kernel's time per veth pair, 20 pairs with one `ip -batch`: {} ms to create; \
         {} ms to delete one by one, {} ms to delete as one link group (one request, as \
         docker-ovn's reaper deletes retired pairs).\n",
        ms(results.veth.create),
        ms(results.veth.one_by_one),
        ms(results.veth.as_group)
    );
    round_trip_line(&mut out, &results.round_trips);
    let [ovn, internal, bridge, ovs] = &results.docker;
    let _ = writeln!(
        out,
        "### `docker run --rm` ({} runs each, interleaved)\n",
        ovn.len()
    );
    let _ = writeln!(out, "| network | median ms | p90 ms |\n|---|---|---|");
    let networks = [
        ("`ovn` (docker-ovn)", ovn),
        ("`ovn --internal` (no `docker_gwbridge`)", internal),
        ("`bridge` (built in)", bridge),
        ("`ovs` (docker-ovn's native backend)", ovs),
    ];
    for (name, samples) in networks {
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            ms(samples.median()),
            ms(samples.percentile(90.0))
        );
    }
    let largest = match &results.unreached {
        Some(unreached) => unreached.reached,
        None => *plan.levels.iter().max().unwrap_or(&0),
    };
    let _ = writeln!(
        out,
        "\n### Memory of `docker-ovn serve`\n\nVmRSS idle: {:.1} MiB; with {largest} endpoints joined: {:.1} MiB (with endpoints joined: the highest reading, every 200 ms over {} s, one reconciliation period of the daemon and its flow check).",
        results.rss_idle_kib as f64 / 1024.0,
        results.rss_full_kib as f64 / 1024.0,
        crate::memory::PEAK_WINDOW.as_secs()
    );
    if let Some(level) = results.ovs_levels.last() {
        let _ = writeln!(
            out,
            "With {} `-d ovs` endpoints joined (and the `-d ovn` ones removed): {:.1} MiB.",
            level.endpoints,
            results.rss_ovs_full_kib as f64 / 1024.0
        );
    }
    if let Some(unreached) = &results.unreached {
        let _ = writeln!(
            out,
            "\n**{} endpoints were not reached**: filling stopped at {} joined, after {} tries of one Join: {}",
            unreached.endpoints,
            unreached.reached,
            crate::prefill::JOIN_ATTEMPTS,
            unreached.error
        );
    }
    out
}

fn targets_table(out: &mut String, results: &Results, plan: &Plan) {
    let _ = writeln!(
        out,
        "### Targets\n\n| target | measured | ratio | limit | met |\n|---|---|---|---|---|"
    );
    for target in targets(results, plan.concurrent_clients) {
        let limit = match target.bound {
            Bound::AtLeast(x) => format!("≥ {x}"),
            Bound::AtMost(x) => format!("≤ {x}"),
        };
        let ratio = target.ratio.map_or("-".into(), |r| format!("{r:.2}"));
        let met = match target.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {ratio} | {limit} | {met} |",
            target.what, target.measured
        );
    }
    out.push('\n');
}

fn lifecycle_table(out: &mut String, results: &Results) {
    let _ = writeln!(
        out,
        "### Endpoint lifecycle over the plugin API (ms, p50 / p99)\n\n\
         | endpoints present | driver | clients | lifecycles (failed) | {} | lifecycle | lifecycles/s |\n\
         |---|---|---|---|---|---|---|---|---|---|",
        CALLS.join(" | ")
    );
    for level in results.levels.iter().chain(&results.ovs_levels) {
        for (driver, run) in &level.runs {
            let calls: Vec<String> = (0..CALLS.len()).map(|i| p50_p99(&run.call(i))).collect();
            let _ = writeln!(
                out,
                "| {} | {driver} | {} | {} ({}) | {} | {} | {:.1} |",
                level.endpoints,
                run.load.describe(),
                run.lifecycles.len(),
                run.failures.len(),
                calls.join(" | "),
                p50_p99(&run.totals()),
                run.throughput()
            );
        }
    }
    out.push('\n');
}

fn join_table(out: &mut String, results: &Results) {
    let _ = writeln!(
        out,
        "### docker-ovn's own time and the readiness wait (ms, p50 / p99; serial runs)\n\n\
         | endpoints present | own time per lifecycle: back to back | {spacing} ms apart | \
         Python's lifecycle, {spacing} ms apart | its four OVSDB transactions, hand-made | \
         Join, whole | Join, readiness wait | \
         ovn-controller install, hand-bound ports: one at a time | back to back | \
         first ping after Join start: docker-ovn | Python |\n\
         |---|---|---|---|---|---|---|---|---|---|---|",
        spacing = SPACING.as_millis()
    );
    for level in &results.levels {
        if let Some(row) = join_row(level) {
            let _ = writeln!(out, "{row}");
        }
    }
    out.push('\n');
    for level in &results.levels {
        if let Some(parts) = join_parts(level) {
            let _ = writeln!(out, "{parts}");
        }
    }
    out.push('\n');
}

/// Join's own time in the serial run and the two parts of it that are the
/// kernel's and ovsdb-server's, as the driver logged them (p50).
fn join_parts(level: &Level) -> Option<String> {
    let run = run_of(level, "docker-ovn", 1)?;
    let joins: Vec<_> = run
        .lifecycles
        .iter()
        .filter_map(|l| level.joins.get(&l.endpoint))
        .collect();
    if joins.is_empty() {
        return None;
    }
    let median = |part: &dyn Fn(&JoinTimes) -> Option<Duration>| {
        ms(Samples::new(joins.iter().filter_map(|j| part(j)).collect()).median())
    };
    Some(format!(
        "- {} endpoints: Join's own time {} ms (p50), of which creating the veth pair {} ms \
         and the transaction adding the OVS port {} ms.",
        level.endpoints,
        median(&|j| Some(j.duration.saturating_sub(j.ready_wait))),
        median(&|j| j.veth),
        median(&|j| j.port),
    ))
}

/// One level's row of [`join_table`], if our serial run is there.
fn join_row(level: &Level) -> Option<String> {
    let run = run_of(level, "docker-ovn", 1)?;
    let ping = |driver: &str| {
        level
            .first_ping
            .iter()
            .find(|(name, _, _)| *name == driver)
            .map_or("-".into(), |(_, start, _)| p50_p99(start))
    };
    let spaced_own = spaced_run_of(level, "docker-ovn")
        .map_or("-".into(), |spaced| p50_p99(&own_times(level, spaced)));
    let spaced_python =
        spaced_run_of(level, "python").map_or("-".into(), |spaced| p50_p99(&spaced.totals()));
    Some(format!(
        "| {} | {} | {spaced_own} | {spaced_python} | {} | {} | {} | {} | {} | {} | {} |",
        level.endpoints,
        p50_p99(&own_times(level, run)),
        p50_p99(&level.transactions),
        p50_p99(&run.call(1)),
        p50_p99(&ready_waits(level, run)),
        install_cell(level),
        p50_p99(&level.install_back_to_back),
        ping("docker-ovn"),
        ping("python"),
    ))
}

fn idle_table(out: &mut String, results: &Results) {
    let Some(first) = results.levels.first() else {
        return;
    };
    let names: Vec<&str> = first.settle.shares.iter().map(|(name, _)| *name).collect();
    let _ = writeln!(
        out,
        "### CPU of the lab's daemons while idle (% of one core)\n\n\
         Before measuring, each level and each driver waits (up to {cap} s) until no process uses \
         {busy}% of a core over {window} s; the shares are those of the last {window} s.\n\n\
         | endpoints present | settled | {} |\n|---|---{}|",
        names.join(" | "),
        "|---".repeat(names.len()),
        cap = SETTLE_CAP.as_secs(),
        busy = SETTLED_PERCENT,
        window = IDLE_WINDOW.as_secs(),
    );
    for level in &results.levels {
        let shares: Vec<String> = level
            .settle
            .shares
            .iter()
            .map(|(_, s)| format!("{s:.0}"))
            .collect();
        let waited = level.settle.waited.as_secs();
        let settled = if level.settle.settled {
            format!("after {waited} s")
        } else {
            format!("**no**, measured after {waited} s")
        };
        let _ = writeln!(
            out,
            "| {} | {settled} | {} |",
            level.endpoints,
            shares.join(" | ")
        );
    }
    out.push('\n');
}

/// CPU time per completed lifecycle of each process, for every back-to-back
/// run: what the two cores were busy with.
fn cpu_table(out: &mut String, results: &Results) {
    let Some(names) = results
        .levels
        .iter()
        .flat_map(|level| &level.runs)
        .map(|(_, run)| run.cpu.iter().map(|(name, _)| *name).collect::<Vec<_>>())
        .next()
    else {
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        out,
        "### CPU time per lifecycle, by process (ms of CPU per completed lifecycle)\n\n\
         | endpoints present | driver | clients | {} | all | lifecycles/s if the {cores} cores did only this |\n|---|---|---{}|---|---|",
        names.join(" | "),
        "|---".repeat(names.len())
    );
    for level in &results.levels {
        // Spaced runs' CPU would include what the daemons do while idle.
        for (driver, run) in level
            .runs
            .iter()
            .filter(|(_, run)| run.load.pause.is_zero())
        {
            let _ = writeln!(
                out,
                "| {} | {driver} | {} | {} |",
                level.endpoints,
                run.load.describe(),
                cpu_cells(run, cores)
            );
        }
    }
    let rates: Vec<String> = results
        .levels
        .iter()
        .map(|level| match level.install_rate {
            Some(rate) => format!("{rate:.1}/s with {} endpoints", level.endpoints),
            None => format!("not measured with {} endpoints", level.endpoints),
        })
        .collect();
    let _ = writeln!(
        out,
        "\nPorts bound, installed and removed by hand with {} clients at once and no \
         driver (ovn-controller's own rate, the ceiling of concurrent lifecycles \
         that wait for readiness): {}.\n",
        crate::install_time::CONCURRENT_CLIENTS,
        rates.join("; ")
    );
}

/// A run's CPU per completed lifecycle, by process, their sum and the
/// rate `cores` would allow; dashes when no lifecycle completed (the CPU
/// then belongs to no lifecycle).
fn cpu_cells(run: &Run, cores: usize) -> String {
    let completed = run.lifecycles.len();
    if completed == 0 {
        return vec!["-"; run.cpu.len() + 2].join(" | ");
    }
    let per: Vec<f64> = run
        .cpu
        .iter()
        .map(|(_, used)| used.as_secs_f64() * 1000.0 / completed as f64)
        .collect();
    let all: f64 = per.iter().sum();
    let mut cells: Vec<String> = per.iter().map(|ms| format!("{ms:.1}")).collect();
    cells.push(format!("{all:.1}"));
    cells.push(format!(
        "{:.0}",
        cores as f64 * 1000.0 / all.max(f64::MIN_POSITIVE)
    ));
    cells.join(" | ")
}

/// The install time, and how many hand-bound ports (of both kinds) were
/// not installed within 30 s (left out of the figures).
fn install_cell(level: &Level) -> String {
    match level.install_timeouts {
        0 => p50_p99(&level.install),
        n => format!(
            "{} ({n} of {} not installed in 30 s)",
            p50_p99(&level.install),
            n + level.install.len() + level.install_back_to_back.len()
        ),
    }
}

/// "p50 / p99", or "-" when nothing was measured.
fn p50_p99(samples: &Samples) -> String {
    if samples.len() == 0 {
        return "-".into();
    }
    format!(
        "{} / {}",
        ms(samples.median()),
        ms(samples.percentile(99.0))
    )
}

/// Puts `section` between the markers of `path` (appending markers and
/// section when the file has none).
pub fn write_into(path: &Path, section: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let updated = replace_section(&text, section);
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}

fn replace_section(text: &str, section: &str) -> String {
    let block = format!("{BEGIN}\n{}\n{END}", section.trim_end());
    match (text.find(BEGIN), text.find(END)) {
        (Some(begin), Some(end)) if begin < end => {
            format!("{}{block}{}", &text[..begin], &text[end + END.len()..])
        }
        _ => format!("{}\n\n{block}\n", text.trim_end()),
    }
}

/// The round trips of a call with no work behind it ([`crate::round_trip`]).
fn round_trip_line(out: &mut String, times: &RoundTripTimes) {
    let p50 = |trips: &RoundTrips| {
        format!(
            "{} µs back to back, {} µs after {} ms asleep",
            trips.back_to_back.median().as_micros(),
            trips.after_sleep.median().as_micros(),
            SLEEP.as_millis()
        )
    };
    let _ = writeln!(
        out,
        "One plugin call's round trip over a unix socket with no work behind it (p50, the \
         benchmark's client): to a bare echo server in a process of its own, {}; to \
         docker-ovn's `Plugin.Activate`, {}.\n",
        p50(&times.echo),
        p50(&times.activate)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_between_the_markers_is_replaced() {
        let text = format!("intro\n{BEGIN}\nold\n{END}\noutro\n");
        let updated = replace_section(&text, "new\n");
        assert_eq!(updated, format!("intro\n{BEGIN}\nnew\n{END}\noutro\n"));
    }

    fn run_with(lifecycles: usize, cpu_ms: u64) -> Run {
        Run {
            load: crate::lifecycle::Load {
                clients: 1,
                count: lifecycles,
                budget: Duration::from_secs(40),
                pause: Duration::ZERO,
            },
            lifecycles: (0..lifecycles)
                .map(|i| crate::lifecycle::Lifecycle {
                    endpoint: i.to_string(),
                    calls: [Duration::from_millis(1); 4],
                })
                .collect(),
            failures: Vec::new(),
            wall: Duration::from_secs(1),
            cpu: vec![("a", Duration::from_millis(cpu_ms)), ("b", Duration::ZERO)],
        }
    }

    #[test]
    fn cpu_is_shared_out_over_completed_lifecycles() {
        assert_eq!(cpu_cells(&run_with(4, 40), 2), "10.0 | 0.0 | 10.0 | 200");
    }

    #[test]
    fn a_run_with_nothing_completed_has_no_cpu_per_lifecycle() {
        assert_eq!(cpu_cells(&run_with(0, 40), 2), "- | - | - | -");
    }

    #[test]
    fn a_file_without_markers_gets_them_appended() {
        let updated = replace_section("# Benchmarks\n", "table");
        assert_eq!(updated, format!("# Benchmarks\n\n{BEGIN}\ntable\n{END}\n"));
    }
}
