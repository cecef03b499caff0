//! What the run ran on, for the table's heading.

use crate::sweep::run_ok;

/// CPU, memory, kernel and the versions of the daemons measured against.
pub fn describe() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let first_line = |program: &str| {
        run_ok(program, &["--version"])
            .map(|out| out.lines().next().unwrap_or_default().to_string())
            .unwrap_or_else(|e| e.to_string())
    };
    let kernel = run_ok("uname", &["-r"]).unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {memory_gib:.0} GiB; Linux {}; {}; {}; {}",
        kernel.trim(),
        first_line("ovs-vswitchd"),
        first_line("ovn-controller"),
        first_line("/usr/bin/docker"),
    )
}
