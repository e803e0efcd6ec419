//! Retry and Catch, written once for Task, Parallel and Map, and timers coming back.

use crate::execution::{Command, Execution, Phase, ThreadId};
use crate::failure::Failure;
use crate::io::state_failure;
use passo_asl::model::*;

impl Execution {
    /// A state failed: Retry if a retrier matches and has attempts left, else Catch, else the
    /// thread fails.
    pub(crate) fn state_failed(&mut self, tid: ThreadId, state: &State, failure: Failure) {
        if self.retry(tid, state, &failure) {
            return;
        }
        self.catch_or_fail(tid, state, failure);
    }

    /// Schedules a retry if a retrier matches and has attempts left.
    pub(super) fn retry(&mut self, tid: ThreadId, state: &State, failure: &Failure) -> bool {
        let retry: &[Retrier] = match &state.kind {
            StateKind::Task(t) => &t.retry,
            StateKind::Parallel(p) => &p.retry,
            StateKind::Map(m) => &m.retry,
            _ => &[],
        };
        if let Some((i, r)) = retry
            .iter()
            .enumerate()
            .find(|(_, r)| failure.matches(&r.error_equals))
        {
            let count = self.threads[tid].retry_counts.get(i).copied().unwrap_or(0);
            if count < r.max_attempts {
                let delay = crate::retry::delay_ms(r, count, &self.rng);
                self.threads[tid].retry_counts[i] = count + 1;
                let timer = self.handle();
                self.timers.insert(timer, tid);
                self.commands.push(Command::StartTimer {
                    timer,
                    fire_at_ms: self.now_ms + delay,
                });
                self.threads[tid].phase = Phase::Backoff;
                return true;
            }
        }
        false
    }

    /// Applies the first matching Catch, or fails the thread.
    pub(super) fn catch_or_fail(&mut self, tid: ThreadId, state: &State, failure: Failure) {
        let catch: &[Catcher] = match &state.kind {
            StateKind::Task(t) => &t.catch,
            StateKind::Parallel(p) => &p.catch,
            StateKind::Map(m) => &m.catch,
            _ => &[],
        };
        if let Some(c) = catch.iter().find(|c| failure.matches(&c.error_equals)) {
            let err = failure.output();
            if state.query_language == QueryLanguage::Jsonata {
                return self.jsonata_catch(tid, state, c, err);
            }
            let assigned = match self.assign(tid, c.assign.as_ref(), &err) {
                Ok(a) => a,
                Err(e) => {
                    let f = state_failure(&state.name, self.threads[tid].entered_event, e);
                    return self.thread_failed(tid, f);
                }
            };
            let raw = self.threads[tid].raw_input.clone();
            match Execution::apply_result_path(c.result_path.as_ref(), &raw, err) {
                Ok(out) => return self.leave(tid, state, out, assigned, Transition::Next(c.next)),
                Err(e) => {
                    let f = state_failure(&state.name, self.threads[tid].entered_event, e);
                    return self.thread_failed(tid, f);
                }
            }
        }
        self.thread_failed(tid, failure)
    }

    pub(crate) fn timer_fired(&mut self, tid: ThreadId) {
        let phase = std::mem::replace(&mut self.threads[tid].phase, Phase::Done);
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        match phase {
            Phase::Wait { effective_input } if state.query_language == QueryLanguage::Jsonata => {
                let transition = match &state.kind {
                    StateKind::Wait(w) => w.transition,
                    _ => Transition::End,
                };
                self.jsonata_finish(tid, state, &effective_input, None, transition)
            }
            Phase::Wait { effective_input } => self.wait_done(tid, state, effective_input),
            Phase::Backoff => self.body(tid, state),
            other => self.threads[tid].phase = other,
        }
    }
}
