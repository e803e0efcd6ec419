//! The task invocations the server has sent out and not yet heard back from, so that the
//! sweeper can tell a task that is out from one that was lost; and each one's stop signal,
//! fired when its state no longer waits for it (the execution stopped, timed out or failed,
//! or a sibling branch failed), so that a job being followed is stopped.

use passo_engine::TaskId;
use passo_tasks::CancellationToken;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Each hold's number and stop signal, by execution and task.
type Out = Arc<Mutex<HashMap<(String, TaskId), (u64, CancellationToken)>>>;

/// Numbers the holds, so that dropping an old one never removes a newer one of the same task.
static HOLDS: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
pub(crate) struct InFlight {
    out: Out,
}

/// One invocation out; it is taken off the set when this is dropped (its answer delivered,
/// or its delivery given up), whatever the path.
pub(crate) struct Held {
    out: Out,
    key: (String, TaskId),
    n: u64,
    stop: CancellationToken,
}

impl InFlight {
    pub fn hold(&self, arn: &str, task: TaskId) -> Held {
        let key = (arn.to_string(), task);
        let stop = CancellationToken::new();
        let n = HOLDS.fetch_add(1, Ordering::Relaxed);
        self.out
            .lock()
            .unwrap()
            .insert(key.clone(), (n, stop.clone()));
        Held {
            out: self.out.clone(),
            key,
            n,
            stop,
        }
    }

    pub fn contains(&self, arn: &str, task: TaskId) -> bool {
        self.out
            .lock()
            .unwrap()
            .contains_key(&(arn.to_string(), task))
    }

    /// Fires the invocation's stop signal, if it is out.
    pub fn cancel(&self, arn: &str, task: TaskId) {
        if let Some((_, t)) = self.out.lock().unwrap().get(&(arn.to_string(), task)) {
            t.cancel();
        }
    }

    pub fn len(&self) -> usize {
        self.out.lock().unwrap().len()
    }
}

impl Held {
    /// The invocation's stop signal.
    pub fn stop(&self) -> CancellationToken {
        self.stop.clone()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut out = self.out.lock().unwrap();
        // A later hold of the same task (sent again) keeps its own entry.
        if out.get(&self.key).is_some_and(|(n, _)| *n == self.n) {
            out.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_invocation_is_out_until_dropped() {
        let f = InFlight::default();
        let h = f.hold("e", 3);
        assert!(f.contains("e", 3) && !f.contains("e", 4) && !f.contains("x", 3));
        drop(h);
        assert!(!f.contains("e", 3));
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn cancelling_fires_the_held_invocations_signal_only() {
        let f = InFlight::default();
        let (a, b) = (f.hold("e", 1), f.hold("e", 2));
        f.cancel("e", 1);
        f.cancel("e", 9);
        assert!(a.stop().is_cancelled());
        assert!(!b.stop().is_cancelled());
    }

    #[test]
    fn an_old_hold_dropped_leaves_a_newer_one_of_the_same_task() {
        let f = InFlight::default();
        let old = f.hold("e", 1);
        let new = f.hold("e", 1);
        drop(old);
        assert!(f.contains("e", 1));
        drop(new);
        assert!(!f.contains("e", 1));
    }
}
