//! Endpoints already present: created and joined through our driver's
//! plugin API, 16 at a time, on a network of their own. They are ports on
//! the same integration bridge and in the same Northbound database both
//! drivers use, so both are measured against the same population.
//!
//! Each endpoint's container end is moved into one namespace of the
//! benchmark's, as libnetwork moves it into the container's: a pair whose
//! both ends stay in the driver's namespace is a Join that never finished,
//! and the driver's reconciliation removes it after a minute.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use test_support::Sandbox;

use crate::parallel::for_each_index;
use crate::plugin::{Driver, Endpoint};
use crate::sweep::run_ok;
use crate::traffic::NETNS_PREFIX;

const CLIENTS: usize = 16;
/// Joins tried per endpoint before the population counts as unreachable.
pub const JOIN_ATTEMPTS: u32 = 3;
/// How long one filling step may take. ovn-controller on the userspace
/// datapath joins some 6 ports a second beyond 3000 on two cores, so
/// 1000 to 5000 takes some 15 minutes (and did not fit in 900 s twice).
const BUDGET: Duration = Duration::from_secs(1800);

/// The joined endpoints, and the driver that made them.
pub struct Prefill<'a> {
    driver: &'a Driver,
    endpoints: Mutex<Vec<Endpoint>>,
    /// Where the container ends go (removed when dropped).
    sandboxes: Sandbox,
}

impl<'a> Prefill<'a> {
    pub fn new(driver: &'a Driver) -> Prefill<'a> {
        Prefill {
            driver,
            endpoints: Mutex::new(Vec::new()),
            sandboxes: Sandbox::new(&format!("{NETNS_PREFIX}prefill")),
        }
    }

    pub fn len(&self) -> usize {
        self.endpoints().len()
    }

    /// Adds endpoints until there are `count`.
    pub fn grow_to(&self, count: usize) -> anyhow::Result<()> {
        let missing = count.saturating_sub(self.len());
        let deadline = Instant::now() + BUDGET;
        for_each_index(CLIENTS, missing, |_| {
            if Instant::now() > deadline {
                anyhow::bail!("gave up after {} s of filling", BUDGET.as_secs());
            }
            let endpoint = self.driver.create_endpoint()?;
            // Recorded first, so that a failed Join is still cleaned up.
            self.endpoints().push(endpoint.clone());
            self.join(&endpoint)
        })
    }

    /// Joins `endpoint`, again if ovn-controller fell so far behind that
    /// the readiness wait ran out: filling is not what is measured.
    fn join(&self, endpoint: &Endpoint) -> anyhow::Result<()> {
        let mut attempt = 1;
        loop {
            match self.driver.join(endpoint) {
                Ok(container_end) => return self.move_to_sandbox(&container_end),
                Err(error) if attempt < JOIN_ATTEMPTS => {
                    crate::measure::say(format!("prefill: Join failed, again: {error}"));
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn move_to_sandbox(&self, container_end: &str) -> anyhow::Result<()> {
        let netns = self.sandboxes.name.as_str();
        run_ok("ip", &["link", "set", "dev", container_end, "netns", netns])?;
        Ok(())
    }

    /// Leaves and deletes every endpoint.
    pub fn clear(&self) -> anyhow::Result<()> {
        let all = std::mem::take(&mut *self.endpoints());
        for_each_index(CLIENTS, all.len(), |index| {
            self.driver.leave(&all[index])?;
            self.driver.delete_endpoint(&all[index])
        })
    }

    fn endpoints(&self) -> std::sync::MutexGuard<'_, Vec<Endpoint>> {
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner())
    }
}
