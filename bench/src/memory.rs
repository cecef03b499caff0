//! The driver's resident memory, from `/proc/<pid>/status`; the lab
//! writes the driver's pid to `DRIVER_PID`.

use std::time::{Duration, Instant};

use anyhow::Context;
use test_support::Lab;

/// `VmRSS` of the lab's driver, in KiB.
pub fn driver_rss_kib(lab: &Lab) -> anyhow::Result<u64> {
    let pidfile = lab.var("DRIVER_PID");
    let pid =
        std::fs::read_to_string(&pidfile).with_context(|| format!("cannot read {pidfile}"))?;
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim()))
        .with_context(|| format!("the driver (pid {}) is not running", pid.trim()))?;
    vm_rss(&status).context("no VmRSS in the driver's /proc status")
}

/// How long [`driver_peak_rss_kib`] watches: one reconciliation period
/// of the daemon (30 s) and a margin, so that the periodic flow check,
/// the largest passing allocation, is inside the window.
pub const PEAK_WINDOW: Duration = Duration::from_secs(33);

/// The highest `VmRSS` of the lab's driver over `window`, read every
/// 200 ms: a single reading taken between two reconciliation passes
/// misses what each pass holds for a moment.
pub fn driver_peak_rss_kib(lab: &Lab, window: Duration) -> anyhow::Result<u64> {
    let until = Instant::now() + window;
    let mut peak = driver_rss_kib(lab)?;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        peak = peak.max(driver_rss_kib(lab)?);
    }
    Ok(peak)
}

fn vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_in_kib() {
        assert_eq!(
            vm_rss("Name:\tdocker-ovn\nVmRSS:\t   12345 kB\n"),
            Some(12345)
        );
        assert_eq!(vm_rss("Name:\tdocker-ovn\n"), None);
    }
}
