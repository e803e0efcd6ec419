//! The task invocations the server has sent out and not yet heard back from, so that the
//! sweeper can tell a task that is out from one that was lost.

use passo_engine::TaskId;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct InFlight {
    out: Arc<Mutex<HashSet<(String, TaskId)>>>,
}

/// One invocation out; it is taken off the set when this is dropped (its answer delivered,
/// or its delivery given up), whatever the path.
pub(crate) struct Held {
    out: Arc<Mutex<HashSet<(String, TaskId)>>>,
    key: (String, TaskId),
}

impl InFlight {
    pub fn hold(&self, arn: &str, task: TaskId) -> Held {
        let key = (arn.to_string(), task);
        self.out.lock().unwrap().insert(key.clone());
        Held {
            out: self.out.clone(),
            key,
        }
    }

    pub fn contains(&self, arn: &str, task: TaskId) -> bool {
        self.out.lock().unwrap().contains(&(arn.to_string(), task))
    }

    pub fn len(&self) -> usize {
        self.out.lock().unwrap().len()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.out.lock().unwrap().remove(&self.key);
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
}
