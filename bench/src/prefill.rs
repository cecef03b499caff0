//! Endpoints already present: created and joined through our driver's
//! plugin API, 16 at a time, on a network of their own. They are ports on
//! the same integration bridge and in the same Northbound database both
//! drivers use, so both are measured against the same population.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::parallel::for_each_index;
use crate::plugin::{Driver, Endpoint};

const CLIENTS: usize = 16;
/// Joins tried per endpoint before the population counts as unreachable.
pub const JOIN_ATTEMPTS: u32 = 3;
/// How long one filling step may take: the whole run must stay near
/// 25 minutes on two cores.
const BUDGET: Duration = Duration::from_secs(600);

/// The joined endpoints, and the driver that made them.
pub struct Prefill<'a> {
    driver: &'a Driver,
    endpoints: Mutex<Vec<Endpoint>>,
}

impl<'a> Prefill<'a> {
    pub fn new(driver: &'a Driver) -> Prefill<'a> {
        Prefill {
            driver,
            endpoints: Mutex::new(Vec::new()),
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
                Ok(_) => return Ok(()),
                Err(error) if attempt < JOIN_ATTEMPTS => {
                    crate::measure::say(format!("prefill: Join failed, again: {error}"));
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
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
