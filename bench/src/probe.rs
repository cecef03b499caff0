//! A quick look at one driver's serial lifecycle, call by call, with no
//! comparison and no table (`--probe ovs|ovn`): what a change to the
//! driver's hot path is tried against before a full run.

use test_support::{Lab, PluginClient};

use crate::lifecycle::{self, CALLS, Load};
use crate::measure::say;
use crate::plugin::Driver;
use crate::stats::ms;

/// The plugin socket of the lab's `driver` (`ovs` or `ovn`).
pub fn socket_of(lab: &Lab, driver: &str) -> anyhow::Result<std::path::PathBuf> {
    match driver {
        "ovs" => Ok(lab.var("OVS_PLUGIN_SOCKET").into()),
        "ovn" => Ok(lab.plugin_socket()),
        other => anyhow::bail!("a driver is ovs or ovn, not {other:?}"),
    }
}

/// Runs `count` serial lifecycles on a network of its own on `driver`
/// (`ovs` or `ovn`) and prints each call's median and 90th percentile.
pub fn probe(lab: &Lab, driver: &str, count: usize) -> anyhow::Result<()> {
    let subject = Driver::with_network("probe", PluginClient::new(socket_of(lab, driver)?), 247)?;
    // A warm-up, not counted.
    let measured = lifecycle::one(&subject).and_then(|_| {
        let load = Load {
            clients: 1,
            count,
            budget: std::time::Duration::from_secs(60),
            pause: std::time::Duration::ZERO,
        };
        lifecycle::run(&subject, load)
    });
    let deleted = subject.delete_network();
    let run = measured?;
    for (index, call) in CALLS.iter().enumerate() {
        let samples = run.call(index);
        say(format!(
            "{call:>14}: median {} ms, p90 {} ms",
            ms(samples.median()),
            ms(samples.percentile(90.0))
        ));
    }
    let totals = run.totals();
    say(format!(
        "{:>14}: median {} ms, p90 {} ms over {} lifecycles ({} failed)",
        "lifecycle",
        ms(totals.median()),
        ms(totals.percentile(90.0)),
        totals.len(),
        run.failures.len()
    ));
    deleted
}
