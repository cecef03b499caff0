//! A lab directory none of whose daemons runs: left by a machine that has
//! restarted since `lab up`, or copied with the rest of a file system. Its
//! `lab.env` must not pin the next `lab up` to the old layout.

use std::path::Path;

use super::driver::recorded_program;
use super::process::{cmdline_matches, is_alive, read_pidfile};

/// Whether `dir` has pidfiles and none of them names a live process of the
/// program it was written for (a pid reused by another program counts as
/// dead).
pub fn is_stale(dir: &Path) -> bool {
    let mut pidfiles = Vec::new();
    collect_pidfiles(dir, &mut pidfiles);
    !pidfiles.iter().any(|path| names_live_daemon(path))
}

fn collect_pidfiles(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            collect_pidfiles(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "pid") {
            found.push(path);
        }
    }
}

fn names_live_daemon(pidfile: &Path) -> bool {
    let Some(pid) = read_pidfile(pidfile) else {
        return false;
    };
    // The driver's binary may have another name (`--driver-binary`): its
    // start wrote it beside the pidfile.
    let program = match pidfile.file_stem().and_then(|stem| stem.to_str()) {
        Some("driver") => recorded_program(pidfile),
        Some(stem) => stem.to_string(),
        None => return false,
    };
    is_alive(pid)
        && std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| cmdline_matches(&cmdline, &program, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_whose_pids_are_gone_or_reused_is_stale() {
        let dir = std::env::temp_dir().join(format!("dovn-stale-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("host1/ovs")).unwrap();
        assert!(is_stale(&dir), "no pidfile at all");
        // This test's own pid, but written as ovsdb-server's: reused, dead.
        let own = std::process::id().to_string();
        std::fs::write(dir.join("host1/ovs/ovsdb-server.pid"), &own).unwrap();
        assert!(is_stale(&dir));
        let program = std::env::current_exe().unwrap();
        let stem = program.file_name().unwrap().to_str().unwrap();
        std::fs::write(dir.join(format!("host1/{stem}.pid")), &own).unwrap();
        assert!(!is_stale(&dir), "a live process of the named program");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
