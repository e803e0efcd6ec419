//! The latest function calls, for the console: a bounded ring (the newest `CAPACITY`), kept
//! in memory only. A call's payload and result are not kept (they are in the histories).

use std::collections::VecDeque;
use std::sync::Mutex;

/// How many calls are kept, over all functions.
pub const CAPACITY: usize = 500;

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The function answered an error (its `errorType`).
    Failed {
        error: String,
    },
    /// The call did not reach the function (no such function, the process did not start).
    Unreachable {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub function: String,
    pub started_ms: i64,
    pub duration_ms: u64,
    pub outcome: Outcome,
}

#[derive(Default)]
pub struct RecentCalls(Mutex<VecDeque<CallRecord>>);

impl RecentCalls {
    pub fn push(&self, record: CallRecord) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == CAPACITY {
            q.pop_front();
        }
        q.push_back(record);
    }

    /// The kept calls of `function` (of every function when None), newest first.
    pub fn of(&self, function: Option<&str>) -> Vec<CallRecord> {
        let q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .rev()
            .filter(|r| function.is_none_or(|f| r.function == f))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(function: &str, at: i64) -> CallRecord {
        CallRecord {
            function: function.into(),
            started_ms: at,
            duration_ms: 1,
            outcome: Outcome::Succeeded,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_calls_newest_first() {
        let r = RecentCalls::default();
        for i in 0..(CAPACITY as i64 + 10) {
            r.push(record(if i % 2 == 0 { "even" } else { "odd" }, i));
        }
        let all = r.of(None);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].started_ms, CAPACITY as i64 + 9);
        assert_eq!(all.last().unwrap().started_ms, 10);
        assert!(r.of(Some("even")).iter().all(|c| c.function == "even"));
        assert_eq!(r.of(Some("even")).len(), CAPACITY / 2);
    }
}
