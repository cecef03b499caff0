//! Costs that are neither driver's: the kernel's deletion of a veth pair
//! (it waits for RCU grace periods under the RTNL lock, which every link
//! change shares) and the CPU the OVS and OVN daemons burn while idle.

use std::time::{Duration, Instant};

use test_support::Lab;

use crate::ids::PREFIX;
use crate::sweep::run_ok;

/// Pairs created, then deleted one at a time with `ip -batch` (one
/// process start spread over all of them), and again deleted as one link
/// group, as docker-ovn's reaper deletes retired pairs.
const PAIRS: usize = 20;

/// The benchmark's own link group ("be0c"), never the driver's.
const GROUP: &str = "1650798691";

/// The kernel's time per veth pair, deleted one by one and as a group.
#[derive(Debug, Clone, Copy)]
pub struct VethDeletion {
    pub one_by_one: Duration,
    pub as_group: Duration,
}

pub fn veth_delete_time() -> anyhow::Result<VethDeletion> {
    let names: Vec<String> = (0..PAIRS).map(|i| format!("{PREFIX}k{i:03}")).collect();
    let dels: String = names.iter().map(|n| format!("link del {n}\n")).collect();
    let groups: String = names
        .iter()
        .map(|n| format!("link set {n} group {GROUP}\n"))
        .collect();
    let dir = tempfile::tempdir()?;
    let (add, del, group) = (
        dir.path().join("add"),
        dir.path().join("del"),
        dir.path().join("group"),
    );
    std::fs::write(&add, adds(&names))?;
    std::fs::write(&del, dels)?;
    std::fs::write(&group, groups)?;
    let batch = |file: &std::path::Path| run_ok("ip", &["-batch", &file.display().to_string()]);
    batch(&add)?;
    let start = Instant::now();
    batch(&del)?;
    let one_by_one = start.elapsed() / PAIRS as u32;
    batch(&add)?;
    batch(&group)?;
    let start = Instant::now();
    run_ok("ip", &["link", "del", "group", GROUP])?;
    let as_group = start.elapsed() / PAIRS as u32;
    Ok(VethDeletion {
        one_by_one,
        as_group,
    })
}

fn adds(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("link add {n} type veth peer name {n}p\n"))
        .collect()
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
