//! Endpoint lifecycles (CreateEndpoint, Join, Leave, DeleteEndpoint), each
//! call timed as dockerd would see it, from one client or several at once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::parallel::on_threads;
use crate::plugin::Driver;
use crate::stats::Samples;

/// The calls of one lifecycle, in order.
pub const CALLS: [&str; 4] = ["CreateEndpoint", "Join", "Leave", "DeleteEndpoint"];

/// One timed lifecycle.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub endpoint: String,
    /// Latency of each of [`CALLS`].
    pub calls: [Duration; 4],
}

impl Lifecycle {
    pub fn total(&self) -> Duration {
        self.calls.iter().sum()
    }
}

/// How much to measure: up to `count` lifecycles, started before `budget`
/// runs out (each client completes at least one).
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub clients: usize,
    pub count: usize,
    pub budget: Duration,
    /// A client's pause after each lifecycle: zero for back to back.
    pub pause: Duration,
}

impl Load {
    /// As the tables name it: "1", "16", or "1, 250 ms apart".
    pub fn describe(&self) -> String {
        if self.pause.is_zero() {
            self.clients.to_string()
        } else {
            format!("{}, {} ms apart", self.clients, self.pause.as_millis())
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Run {
    pub load: Load,
    pub lifecycles: Vec<Lifecycle>,
    /// Lifecycles that failed part way (a Join whose readiness wait timed
    /// out, ...): counted, not timed; the sweep removes what they left.
    pub failures: Vec<String>,
    pub wall: Duration,
    /// CPU time each watched process used over the run ([`crate::cpu`]).
    pub cpu: crate::cpu::Usage,
}

impl Run {
    /// Completed lifecycles per second of wall time.
    pub fn throughput(&self) -> f64 {
        self.lifecycles.len() as f64 / self.wall.as_secs_f64()
    }

    /// Latencies of call `index` of [`CALLS`].
    pub fn call(&self, index: usize) -> Samples {
        Samples::new(self.lifecycles.iter().map(|l| l.calls[index]).collect())
    }

    pub fn totals(&self) -> Samples {
        Samples::new(self.lifecycles.iter().map(Lifecycle::total).collect())
    }
}

/// Runs `load` against `driver`.
pub fn run(driver: &Driver, load: Load) -> anyhow::Result<Run> {
    let started = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(load.count));
    let failures = Mutex::new(Vec::new());
    let deadline = Instant::now() + load.budget;
    let begin = Instant::now();
    on_threads(load.clients, || {
        client(driver, load, deadline, &started, (&done, &failures))
    })?;
    let wall = begin.elapsed();
    let lifecycles = done.into_inner().unwrap_or_else(|e| e.into_inner());
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Run {
        load,
        lifecycles,
        failures,
        wall,
        cpu: Vec::new(),
    })
}

/// One client: lifecycles one after another until the count or the
/// budget is used up.
fn client(
    driver: &Driver,
    load: Load,
    deadline: Instant,
    started: &AtomicUsize,
    (done, failures): (&Mutex<Vec<Lifecycle>>, &Mutex<Vec<String>>),
) -> anyhow::Result<()> {
    let mut first = true;
    while started.fetch_add(1, Ordering::Relaxed) < load.count
        && (first || Instant::now() < deadline)
    {
        if !first {
            std::thread::sleep(load.pause);
        }
        first = false;
        match one(driver) {
            Ok(lifecycle) => done
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(lifecycle),
            Err(error) => {
                crate::measure::say(format!("a lifecycle failed: {error:#}"));
                failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(error.to_string());
            }
        }
    }
    Ok(())
}

/// One lifecycle, timed call by call. An endpoint a failed call leaves
/// behind is the sweep's to remove.
pub fn one(driver: &Driver) -> anyhow::Result<Lifecycle> {
    let (endpoint, create) = timed(|| driver.create_endpoint())?;
    let (_, join) = timed(|| driver.join(&endpoint))?;
    let (_, leave) = timed(|| driver.leave(&endpoint))?;
    let (_, delete) = timed(|| driver.delete_endpoint(&endpoint))?;
    Ok(Lifecycle {
        endpoint: endpoint.id,
        calls: [create, join, leave, delete],
    })
}

/// Runs `call` and measures it.
pub fn timed<T>(call: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, Duration)> {
    let clock = Instant::now();
    let value = call()?;
    Ok((value, clock.elapsed()))
}
