//! The daemon's heap, kept near what it holds.
//!
//! glibc's malloc keeps memory a program has freed for reuse, in one arena
//! per thread that contended for a lock (up to eight per core). The
//! driver's largest allocations are passing ones: a monitor reply of every
//! row when it (re)connects to a database with thousands of endpoints,
//! and the tables a reconciliation pass reads. Without care, each arena
//! keeps its own high-water mark and the resident size of a long-running
//! daemon drifts towards the sum of those peaks. Two arenas are plenty
//! for a daemon whose work is waiting on sockets, and after each
//! reconciliation pass (the start-up one included) the free memory goes
//! back to the kernel.

/// At most two malloc arenas; call before any thread starts.
pub fn limit_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a malloc tunable; called before threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns the heap's free pages to the kernel (a few ms; it walks the
/// free lists once).
pub fn give_back_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim takes the arenas' locks itself and frees nothing in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
