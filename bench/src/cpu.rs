//! CPU time of the processes a lifecycle keeps busy: the lab's daemons,
//! docker-ovn, the Python driver (with the `ovs-vsctl` and `ovn-nbctl` it
//! runs) and the benchmark's own clients. Read from `/proc/<pid>/stat`,
//! idle and over each lifecycle run: on two cores, 2000 ms of CPU a second
//! shared by these is what bounds the lifecycles a second.

use std::time::{Duration, Instant};

use test_support::Lab;

/// Clock ticks a second (`USER_HZ` on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// The processes watched, by name and pid.
#[derive(Debug, Clone)]
pub struct Processes {
    list: Vec<(&'static str, String)>,
}

/// CPU ticks of each of [`Processes`], at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot(Vec<u64>);

/// CPU time of each process over an interval.
pub type Usage = Vec<(&'static str, Duration)>;

/// What waiting for the processes to go quiet came to.
#[derive(Debug, Clone)]
pub struct Settle {
    /// Percent of a core each used in the last window.
    pub shares: Vec<(&'static str, f64)>,
    pub waited: Duration,
    /// Whether all were under the limit (else the cap ran out).
    pub settled: bool,
}

impl Processes {
    /// The lab's daemons of host1 and of the central node, docker-ovn, and
    /// this benchmark itself.
    pub fn of_lab(lab: &Lab) -> anyhow::Result<Processes> {
        let host = lab.dir.join("host1");
        let central = lab.dir.join("central");
        let pidfiles = [
            ("ovs-vswitchd", host.join("ovs/ovs-vswitchd.pid")),
            ("ovsdb-server (OVS)", host.join("ovs/ovsdb-server.pid")),
            ("ovn-controller", host.join("ovn/ovn-controller.pid")),
            ("ovn-northd", central.join("ovn-northd.pid")),
            ("ovsdb-server (NB)", central.join("ovnnb_db.pid")),
            ("ovsdb-server (SB)", central.join("ovnsb_db.pid")),
            ("docker-ovn", lab.var("DRIVER_PID").into()),
        ];
        let mut list = Vec::new();
        for (name, pidfile) in pidfiles {
            let pid = std::fs::read_to_string(&pidfile)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", pidfile.display()))?;
            list.push((name, pid.trim().to_string()));
        }
        list.push(("benchmark clients", std::process::id().to_string()));
        Ok(Processes { list })
    }

    /// Also watches `pid` as `name`.
    pub fn with(mut self, name: &'static str, pid: u32) -> Processes {
        self.list.push((name, pid.to_string()));
        self
    }

    pub fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let ticks = self
            .list
            .iter()
            .map(|(_, pid)| cpu_ticks(pid))
            .collect::<anyhow::Result<_>>()?;
        Ok(Snapshot(ticks))
    }

    /// CPU time of each process since `before`.
    pub fn since(&self, before: &Snapshot) -> anyhow::Result<Usage> {
        let now = self.snapshot()?;
        Ok(self
            .list
            .iter()
            .zip(now.0.iter().zip(&before.0))
            .map(|((name, _), (now, before))| (*name, ticks(now.saturating_sub(*before))))
            .collect())
    }

    /// Percent of one core each process used over `window`, doing nothing
    /// the benchmark asked for.
    pub fn idle_shares(&self, window: Duration) -> anyhow::Result<Vec<(&'static str, f64)>> {
        let before = self.snapshot()?;
        std::thread::sleep(window);
        Ok(self
            .since(&before)?
            .into_iter()
            .map(|(name, used)| (name, 100.0 * used.as_secs_f64() / window.as_secs_f64()))
            .collect())
    }

    /// Waits, in windows of `window`, until every process uses less than
    /// `busy_percent` of a core, for at most `cap`: a population is
    /// measured once the daemons have finished joining it.
    pub fn settle(
        &self,
        window: Duration,
        busy_percent: f64,
        cap: Duration,
    ) -> anyhow::Result<Settle> {
        let started = Instant::now();
        loop {
            let shares = self.idle_shares(window)?;
            let settled = shares.iter().all(|(_, share)| *share < busy_percent);
            if settled || started.elapsed() >= cap {
                return Ok(Settle {
                    shares,
                    waited: started.elapsed(),
                    settled,
                });
            }
        }
    }
}

fn ticks(count: u64) -> Duration {
    Duration::from_millis(count * 1000 / TICKS_PER_SECOND)
}

/// utime + stime of `pid` and of its children it has waited for, in
/// clock ticks.
fn cpu_ticks(pid: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_ticks(&stat).ok_or_else(|| anyhow::anyhow!("cannot parse /proc/{pid}/stat"))
}

fn parse_ticks(stat: &str) -> Option<u64> {
    // Fields after the command name, which may hold spaces: state is the
    // first; utime, stime, cutime and cstime the 12th to 15th.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    (fields.len() == 4).then(|| fields.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_include_waited_for_children() {
        let stat = "4242 (python3 x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    120 30 400 50 20 0 3 0 100 0 0";
        assert_eq!(parse_ticks(stat), Some(120 + 30 + 400 + 50));
    }

    #[test]
    fn a_short_stat_is_refused() {
        assert_eq!(parse_ticks("4242 (x) S 1 2 3"), None);
    }

    #[test]
    fn own_process_is_readable() {
        let processes = Processes {
            list: vec![("self", std::process::id().to_string())],
        };
        let before = processes.snapshot().expect("snapshot");
        let used = processes.since(&before).expect("since");
        assert_eq!(used.len(), 1);
        assert_eq!(used[0].0, "self");
    }
}
