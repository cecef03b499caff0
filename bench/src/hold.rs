//! A population held still for profiling: endpoints joined through the
//! driver's plugin API, kept until stdin closes, then removed. While it
//! holds, the driver can be measured from outside (`heaptrack`, `perf`,
//! `/proc/<pid>/smaps`) or restarted to compare its memory after a fresh
//! start with its memory after growing.

use test_support::{Lab, PluginClient};

use crate::measure::say;
use crate::memory;
use crate::plugin::Driver;
use crate::prefill::Prefill;

/// Joins `endpoints` on `driver` (`ovs` or `ovn`), says the driver's RSS,
/// waits for stdin to close.
pub fn fill_and_hold(lab: &Lab, driver: &str, endpoints: usize) -> anyhow::Result<()> {
    let socket = crate::probe::socket_of(lab, driver)?;
    let filler = Driver::with_network("prefill", PluginClient::new(socket), 244)?;
    let prefill = Prefill::new(&filler);
    let filled = prefill.grow_to(endpoints);
    if let Err(error) = &filled {
        say(format!("filling stopped short: {error}"));
    }
    say(format!(
        "{} endpoints joined, driver RSS {} KiB (the highest over {:?}); holding until stdin closes",
        prefill.len(),
        memory::driver_peak_rss_kib(lab, memory::PEAK_WINDOW)?,
        memory::PEAK_WINDOW
    ));
    // Held however far filling got: that population is still worth a look.
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink())?;
    say("removing the held endpoints".into());
    let cleared = prefill.clear();
    let deleted = filler.delete_network();
    filled.and(cleared).and(deleted)
}
