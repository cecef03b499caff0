//! Several clients at once, as dockerd serves several containers at once.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work` on `threads` threads at once; the first error (or panic)
/// is the result.
pub fn on_threads(
    threads: usize,
    work: impl Fn() -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(&work)).collect();
        workers.into_iter().try_for_each(|worker| {
            worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a client thread panicked")))
        })
    })
}

/// Runs `step(0..count)`, each index once, on `threads` threads; a thread
/// stops at its first error.
pub fn for_each_index(
    threads: usize,
    count: usize,
    step: impl Fn(usize) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    let next = AtomicUsize::new(0);
    on_threads(threads, || {
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= count {
                return Ok(());
            }
            step(index)?;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_index_runs_once() {
        let seen = Mutex::new(Vec::new());
        for_each_index(4, 100, |i| {
            seen.lock().expect("lock").push(i);
            Ok(())
        })
        .expect("ran");
        let mut seen = seen.into_inner().expect("lock");
        seen.sort();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_is_returned() {
        let result = for_each_index(2, 10, |i| {
            anyhow::ensure!(i != 5, "five");
            Ok(())
        });
        assert!(result.is_err());
    }
}
