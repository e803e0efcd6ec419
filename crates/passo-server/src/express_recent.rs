//! The most recent Express executions, kept in memory so the console can list and show them:
//! the store keeps none (AWS shows Express executions only through their logs).
//!
//! Bounded twice: at most [`CAPACITY`] executions (the oldest leaves when a new one starts),
//! and a history of at most [`MAX_EVENTS`] events each, kept only for the newest
//! [`WITH_HISTORY`] (older entries keep their summary). Nothing here survives a restart.

use passo_engine::{ExecutionInfo, HistoryEvent, Outcome};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub const CAPACITY: usize = 1000;
pub const WITH_HISTORY: usize = 100;
pub const MAX_EVENTS: usize = 2000;

/// One Express execution, running or ended.
#[derive(Debug, Clone)]
pub struct Entry {
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    /// `RUNNING` until it ends, then the outcome's status.
    pub status: &'static str,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
    /// Events left out: past [`MAX_EVENTS`], or dropped with an old entry's history.
    pub history_dropped: usize,
}

/// A handle on one entry, held by the execution while it runs.
#[derive(Clone)]
pub struct Recorder(Arc<Mutex<Entry>>);

impl Recorder {
    pub fn events(&self, evs: &[HistoryEvent]) {
        let mut e = self.0.lock().unwrap();
        let room = MAX_EVENTS.saturating_sub(e.history.len());
        let take = room.min(evs.len());
        e.history.extend_from_slice(&evs[..take]);
        e.history_dropped += evs.len() - take;
    }

    pub fn finish(&self, o: &Outcome, now_ms: i64) {
        let mut e = self.0.lock().unwrap();
        e.status = o.status.as_str();
        e.stop_ms = Some(now_ms);
        e.output = o.output.as_ref().map(passo_engine::history::text);
        e.error = o.error.clone();
        e.cause = o.cause.clone();
    }
}

#[derive(Default)]
pub struct Recent {
    entries: Mutex<VecDeque<Arc<Mutex<Entry>>>>,
}

impl Recent {
    /// Records an execution that starts now.
    pub fn begin(&self, info: &ExecutionInfo, input: &Value) -> Recorder {
        let entry = Arc::new(Mutex::new(Entry {
            arn: info.execution_arn.clone(),
            machine_arn: info.state_machine_arn.clone(),
            name: info.execution_name.clone(),
            status: "RUNNING",
            start_ms: info.start_time_ms,
            stop_ms: None,
            input: passo_engine::history::text(input),
            output: None,
            error: None,
            cause: None,
            history: Vec::new(),
            history_dropped: 0,
        }));
        let mut q = self.entries.lock().unwrap();
        q.push_front(entry.clone());
        q.truncate(CAPACITY);
        if let Some(old) = q.get(WITH_HISTORY) {
            let mut o = old.lock().unwrap();
            if !o.history.is_empty() {
                o.history_dropped += o.history.len();
                o.history = Vec::new();
            }
        }
        Recorder(entry)
    }

    /// Copies of the entries, newest first.
    pub fn list(&self) -> Vec<Entry> {
        let q = self.entries.lock().unwrap();
        q.iter()
            .map(|e| {
                let e = e.lock().unwrap();
                Entry {
                    history: Vec::new(),
                    ..e.clone()
                }
            })
            .collect()
    }

    /// One entry with its history.
    pub fn get(&self, arn: &str) -> Option<Entry> {
        let q = self.entries.lock().unwrap();
        q.iter()
            .find(|e| e.lock().unwrap().arn == arn)
            .map(|e| e.lock().unwrap().clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(i: usize) -> ExecutionInfo {
        let mut info = ExecutionInfo::local(&format!("e{i}"), i as i64, 1);
        info.execution_arn = format!("arn:e{i}");
        info
    }

    #[test]
    fn keeps_the_newest_and_drops_old_histories() {
        let r = Recent::default();
        for i in 0..CAPACITY + 5 {
            let rec = r.begin(&info(i), &json!({"i": i}));
            rec.events(&[HistoryEvent {
                id: 1,
                previous_event_id: 0,
                timestamp_ms: 0,
                kind: "ExecutionStarted",
                details: passo_engine::history::Details::None,
            }]);
        }
        let all = r.list();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].arn, format!("arn:e{}", CAPACITY + 4), "newest first");
        assert!(r.get("arn:e0").is_none(), "the oldest left");
        let newest = r.get(&all[0].arn).unwrap();
        assert_eq!(newest.history.len(), 1);
        let old = r.get(&all[WITH_HISTORY + 1].arn).unwrap();
        assert!(old.history.is_empty());
        assert_eq!(old.history_dropped, 1);
    }

    #[test]
    fn a_long_history_is_capped() {
        let r = Recent::default();
        let rec = r.begin(&info(1), &json!(null));
        let ev = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp_ms: 0,
            kind: "PassStateEntered",
            details: passo_engine::history::Details::None,
        };
        rec.events(&vec![ev; MAX_EVENTS + 10]);
        let e = r.get("arn:e1").unwrap();
        assert_eq!(e.history.len(), MAX_EVENTS);
        assert_eq!(e.history_dropped, 10);
    }
}
