//! Costs that are neither driver's: the kernel's deletion of a veth pair
//! (it waits for RCU grace periods under the RTNL lock, which every link
//! change shares) and the CPU the OVS and OVN daemons burn while idle.

use std::time::{Duration, Instant};

use test_support::Lab;

use crate::ids::PREFIX;
use crate::sweep::run_ok;

/// Pairs created, then deleted one at a time, with `ip -batch` so that
/// one process start is spread over all of them.
const PAIRS: usize = 20;

/// How long deleting one veth pair takes the kernel.
pub fn veth_delete_time() -> anyhow::Result<Duration> {
    let names: Vec<String> = (0..PAIRS).map(|i| format!("{PREFIX}k{i:03}")).collect();
    let adds: String = names
        .iter()
        .map(|n| format!("link add {n} type veth peer name {n}p\n"))
        .collect();
    let dels: String = names.iter().map(|n| format!("link del {n}\n")).collect();
    let dir = tempfile::tempdir()?;
    let (add, del) = (dir.path().join("add"), dir.path().join("del"));
    std::fs::write(&add, adds)?;
    std::fs::write(&del, dels)?;
    run_ok("ip", &["-batch", &add.display().to_string()])?;
    let start = Instant::now();
    run_ok("ip", &["-batch", &del.display().to_string()])?;
    Ok(start.elapsed() / PAIRS as u32)
}

/// CPU share (percent of one core) of each lab daemon over `window`.
pub fn idle_cpu(lab: &Lab, window: Duration) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let dir = lab.dir.join("host1");
    let daemons = [
        ("ovs-vswitchd", dir.join("ovs/ovs-vswitchd.pid")),
        ("ovsdb-server (OVS)", dir.join("ovs/ovsdb-server.pid")),
        ("ovn-controller", dir.join("ovn/ovn-controller.pid")),
        ("docker-ovn", lab.var("DRIVER_PID").into()),
    ];
    let mut pids = Vec::new();
    for (name, pidfile) in daemons {
        let pid = std::fs::read_to_string(&pidfile)?.trim().to_string();
        pids.push((name, pid));
    }
    let before: Vec<u64> = pids
        .iter()
        .map(|(_, pid)| cpu_ticks(pid))
        .collect::<anyhow::Result<_>>()?;
    std::thread::sleep(window);
    let mut shares = Vec::new();
    for ((name, pid), before) in pids.iter().zip(before) {
        let ticks = cpu_ticks(pid)?.saturating_sub(before);
        // 100 ticks per second (USER_HZ on Linux).
        shares.push((*name, ticks as f64 / window.as_secs_f64()));
    }
    Ok(shares)
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which may hold spaces: state is the
    // first, utime the 12th and stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (field(11), field(12)) {
        (Some(utime), Some(stime)) => Ok(utime + stime),
        _ => anyhow::bail!("cannot parse /proc/{pid}/stat"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_of_this_process_are_read() {
        assert!(cpu_ticks(&std::process::id().to_string()).is_ok());
    }
}
