//! One shared copy of each distinct string a replica holds.
//!
//! The rows docker-ovn monitors repeat themselves: every `external_ids`
//! has the same keys, most values (owner, host, network id) are the same
//! in every row, and one endpoint's id appears in four columns of two
//! tables. Sharing one `Arc<str>` per distinct string stores each once.

use std::collections::HashSet;
use std::sync::Arc;

/// The interner sweeps for the first time at this many strings.
const FIRST_SWEEP: usize = 1024;

/// The set of shared strings, swept of those no row holds any more.
#[derive(Debug)]
pub(crate) struct Interner {
    strings: HashSet<Arc<str>>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            strings: HashSet::new(),
            sweep_at: FIRST_SWEEP,
        }
    }
}

impl Interner {
    /// Points `s` at the shared copy of its text, making it the shared
    /// copy if there is none yet.
    pub(crate) fn share(&mut self, s: &mut Arc<str>) {
        match self.strings.get(s.as_ref()) {
            Some(shared) => *s = Arc::clone(shared),
            None => {
                self.strings.insert(Arc::clone(s));
            }
        }
    }

    /// Forgets the strings only the interner still holds, once the set has
    /// doubled since the last sweep: amortised, a sweep costs O(1) per
    /// string shared.
    pub(crate) fn sweep(&mut self) {
        if self.strings.len() >= self.sweep_at {
            self.sweep_now();
        }
    }

    /// Sweeps at once (after the rows were replaced wholesale).
    pub(crate) fn sweep_now(&mut self) {
        self.strings.retain(|s| Arc::strong_count(s) > 1);
        self.strings.shrink_to_fit();
        self.sweep_at = (2 * self.strings.len()).max(FIRST_SWEEP);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.strings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_share_one_allocation() {
        let mut interner = Interner::default();
        let mut a: Arc<str> = Arc::from("docker-ovn");
        let mut b: Arc<str> = Arc::from("docker-ovn");
        interner.share(&mut a);
        interner.share(&mut b);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(interner.len(), 1);
    }

    #[test]
    fn sweeping_forgets_strings_no_one_holds() {
        let mut interner = Interner::default();
        let mut kept: Arc<str> = Arc::from("kept");
        interner.share(&mut kept);
        for i in 0..FIRST_SWEEP {
            interner.share(&mut Arc::from(format!("gone{i}").as_str()));
        }
        interner.sweep();
        assert_eq!(interner.len(), 1);
        let mut again: Arc<str> = Arc::from("kept");
        interner.share(&mut again);
        assert!(Arc::ptr_eq(&kept, &again));
    }
}
