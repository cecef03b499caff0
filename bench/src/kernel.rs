//! A cost that is neither driver's: the kernel's deletion of a veth pair
//! (it waits for RCU grace periods under the RTNL lock, which every link
//! change shares).

use std::time::{Duration, Instant};

use crate::ids::PREFIX;
use crate::sweep::run_ok;

/// Pairs created with `ip -batch`, then deleted one at a time with `ip -batch` (one
/// process start spread over all of them), and again deleted as one link
/// group, as docker-ovn's reaper deletes retired pairs.
const PAIRS: usize = 20;

/// The benchmark's own link group ("be0c"), never the driver's.
const GROUP: &str = "1650798691";

/// The kernel's time per veth pair: created, deleted one by one and
/// deleted as a group.
#[derive(Debug, Clone, Copy)]
pub struct VethTimes {
    pub create: Duration,
    pub one_by_one: Duration,
    pub as_group: Duration,
}

pub fn veth_times() -> anyhow::Result<VethTimes> {
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
    let start = Instant::now();
    batch(&add)?;
    let create = start.elapsed() / PAIRS as u32;
    let start = Instant::now();
    batch(&del)?;
    let one_by_one = start.elapsed() / PAIRS as u32;
    batch(&add)?;
    batch(&group)?;
    let start = Instant::now();
    run_ok("ip", &["link", "del", "group", GROUP])?;
    let as_group = start.elapsed() / PAIRS as u32;
    Ok(VethTimes {
        create,
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
