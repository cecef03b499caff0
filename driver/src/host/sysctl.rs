//! Where the kernel's settings (`/proc/sys`) are written. A managed
//! plugin's `/proc/sys` is mounted read-only, so the plugin mounts the
//! host's elsewhere and names it with `--proc-sys`; the driver runs in
//! the host's network namespace, so the `net` settings there are the
//! host's own.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The usual place.
pub const DEFAULT_PROC_SYS: &str = "/proc/sys";

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Sets where `/proc/sys` is for the rest of the process (once; a second
/// call changes nothing).
pub fn set_root(root: PathBuf) {
    let _ = ROOT.set(root);
}

/// The path of a setting, e.g. `net/ipv4/ip_forward`.
pub fn path(setting: &str) -> PathBuf {
    ROOT.get()
        .map_or_else(|| PathBuf::from(DEFAULT_PROC_SYS), Clone::clone)
        .join(setting)
}
