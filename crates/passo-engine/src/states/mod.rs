//! What each state type does when a thread enters it: the common path (Entered event,
//! InputPath, the state's work, ResultSelector, Assign, ResultPath, OutputPath, Exited event,
//! transition) is here; the state types live in the submodules.

mod distributed;
pub(crate) mod fanout;
pub(crate) mod flow;
pub(crate) mod jsonata;
mod recovery;
mod task;

use crate::execution::{Execution, Fanout, Phase, ThreadId};
use crate::failure::Failure;
use crate::history::{shared_text, text, Details, Text};
use crate::io::state_failure;
use passo_asl::model::*;
use passo_asl::template::Template;
use passo_expr::ExprError;
use serde_json::{Map, Value};

fn entered_kind(k: &StateKind) -> &'static str {
    match k {
        StateKind::Pass(_) => "PassStateEntered",
        StateKind::Task(_) => "TaskStateEntered",
        StateKind::Choice(_) => "ChoiceStateEntered",
        StateKind::Wait(_) => "WaitStateEntered",
        StateKind::Succeed => "SucceedStateEntered",
        StateKind::Fail(_) => "FailStateEntered",
        StateKind::Parallel(_) => "ParallelStateEntered",
        StateKind::Map(_) => "MapStateEntered",
    }
}

fn exited_kind(k: &StateKind) -> &'static str {
    match k {
        StateKind::Pass(_) => "PassStateExited",
        StateKind::Task(_) => "TaskStateExited",
        StateKind::Choice(_) => "ChoiceStateExited",
        StateKind::Wait(_) => "WaitStateExited",
        StateKind::Succeed => "SucceedStateExited",
        StateKind::Fail(_) => "FailStateExited",
        StateKind::Parallel(_) => "ParallelStateExited",
        StateKind::Map(_) => "MapStateExited",
    }
}

impl Execution {
    /// Runs a thread until it waits, ends, or hands over to its children.
    pub(crate) fn run_thread(&mut self, tid: ThreadId) {
        let th = &self.threads[tid];
        if th.map_item.is_some() && th.entered_event == 0 && th.last_event == 0 {
            self.iteration_started(tid);
        }
        loop {
            if !matches!(self.threads[tid].phase, Phase::Enter) || self.outcome.is_some() {
                return;
            }
            if self.next_event_id > self.info.max_history_events {
                return self.history_limit();
            }
            self.enter(tid);
        }
    }

    pub(super) fn state_of(&self, tid: ThreadId) -> (std::sync::Arc<StateMachine>, StateId) {
        (self.machine.clone(), self.threads[tid].state)
    }

    /// Enters the thread's current state: the Entered event, then the state's work.
    pub(super) fn enter(&mut self, tid: ThreadId) {
        let (machine, sid) = self.state_of(tid);
        let program = Execution::program(&machine, &self.threads[tid].path);
        let state = &program.states[sid];
        self.transitions += 1;
        // A Map iteration's first state is preceded by MapIterationStarted.
        let th = &mut self.threads[tid];
        th.entered_prev = th.last_event;
        th.output_text = None;
        let input_text = match th.handed_text.take() {
            Some(t) => t,
            None => shared_text(&th.raw_input),
        };
        th.entered_text = Some(input_text.clone());
        let id = self.emit_on(
            tid,
            entered_kind(&state.kind),
            Details::StateEntered {
                name: state.name.clone(),
                input: input_text,
            },
        );
        let th = &mut self.threads[tid];
        th.entered_event = id;
        th.entered_time_ms = self.now_ms;
        th.retry_counts.clear();
        let n = match &state.kind {
            StateKind::Task(t) => t.retry.len(),
            StateKind::Parallel(p) => p.retry.len(),
            StateKind::Map(m) => m.retry.len(),
            _ => 0,
        };
        th.retry_counts.resize(n, 0);
        th.phase = Phase::Done; // each body sets the next phase
        self.body(tid, state);
        let th = &mut self.threads[tid];
        th.entered_text = None;
        th.output_text = None;
    }

    /// Turns an expression error into a failure of the current state.
    pub(super) fn expr_failed(&mut self, tid: ThreadId, state: &State, e: ExprError) {
        let location = e.location.clone();
        let f = state_failure(&state.name, self.threads[tid].entered_event, e);
        // A JSONata evaluation that fails is recorded as EvaluationFailed, linked (as AWS
        // does) to the event before the state's Entered event, or for Wait to that event.
        if let Some(location) = location {
            let th = &self.threads[tid];
            let prev = match state.kind {
                StateKind::Wait(_) => th.entered_event,
                _ => th.entered_prev,
            };
            let mut d = Map::new();
            d.insert("error".into(), Value::String(f.error.clone()));
            if let Some(c) = &f.cause {
                d.insert("cause".into(), Value::String(c.clone()));
            }
            if !location.is_empty() {
                d.insert("location".into(), Value::String(location));
            }
            d.insert("state".into(), Value::String(state.name.to_string()));
            let id = self.emit(
                prev,
                "EvaluationFailed",
                Some(("evaluationFailedEventDetails", Value::Object(d))),
            );
            self.threads[tid].last_event = id;
            if matches!(state.kind, StateKind::Map(_)) {
                self.emit_on(tid, "MapStateFailed", None);
            }
        }
        self.state_failed(tid, state, f);
    }

    /// The state's work after its Entered event (also re-run by a Retry).
    pub(super) fn body(&mut self, tid: ThreadId, state: &State) {
        if state.query_language == QueryLanguage::Jsonata {
            return self.jsonata_body(tid, state);
        }
        // The raw input is needed later only by a non-`$` ResultPath and by the states that
        // can retry or catch; otherwise it moves into the effective input without a copy.
        let keeps_raw = !state.result_path.as_ref().is_some_and(|p| p.is_root())
            || matches!(
                state.kind,
                StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
            );
        let input_is_raw = matches!(state.kind, StateKind::Fail(_))
            || state.input_path.as_ref().is_some_and(|p| p.is_root());
        let eff = if input_is_raw && !keeps_raw {
            std::mem::take(&mut self.threads[tid].raw_input)
        } else if input_is_raw {
            self.threads[tid].raw_input.clone()
        } else {
            let raw = std::mem::take(&mut self.threads[tid].raw_input);
            let eff = self.apply_input_path(tid, state.input_path.as_ref(), &raw);
            self.threads[tid].raw_input = raw;
            match eff {
                Ok(v) => v,
                Err(e) => return self.expr_failed(tid, state, e),
            }
        };
        match &state.kind {
            StateKind::Pass(p) => {
                let result = match (&p.result, &state.parameters) {
                    (Some(r), _) => Ok(r.clone()),
                    (None, Some(t)) => self.template(tid, t, &eff),
                    (None, None) => {
                        // Its raw input, through `$` paths, is its output: the Exited event
                        // writes the Entered event's text.
                        let th = &mut self.threads[tid];
                        if input_is_raw
                            && state.result_path.as_ref().is_some_and(|p| p.is_root())
                            && state.output_path.as_ref().is_some_and(|p| p.is_root())
                        {
                            th.output_text = th.entered_text.clone();
                        }
                        Ok(eff)
                    }
                };
                match result {
                    Ok(r) => self.complete(tid, state, r, false),
                    Err(e) => self.expr_failed(tid, state, e),
                }
            }
            StateKind::Choice(c) => self.choice(tid, state, c, eff),
            StateKind::Wait(w) => self.wait(tid, state, w, eff),
            StateKind::Succeed => {
                match self.apply_output_path(tid, state.output_path.as_ref(), eff) {
                    Ok(out) => {
                        let out_text = shared_text(&out);
                        self.exited(tid, state, out_text.clone(), None);
                        self.threads[tid].handed_text = Some(out_text);
                        self.thread_succeeded(tid, out);
                    }
                    Err(e) => self.expr_failed(tid, state, e),
                }
            }
            StateKind::Fail(f) => self.fail(tid, state, f, &eff),
            StateKind::Task(t) => {
                self.prepare_task(tid, t);
                let params = match &state.parameters {
                    Some(tpl) => match self.template(tid, tpl, &eff) {
                        Ok(v) => v,
                        Err(e) => return self.expr_failed(tid, state, e),
                    },
                    None => eff.clone(),
                };
                let role = match self.task_role(tid, t, &eff) {
                    Ok(r) => r,
                    Err(e) => return self.expr_failed(tid, state, e),
                };
                self.invoke(tid, state, t, params, role);
            }
            StateKind::Parallel(p) => {
                let params = match &state.parameters {
                    Some(tpl) => match self.template(tid, tpl, &eff) {
                        Ok(v) => v,
                        Err(e) => return self.expr_failed(tid, state, e),
                    },
                    None => eff,
                };
                self.start_parallel(tid, p, params);
            }
            StateKind::Map(m) => self.map(tid, state, m, eff),
        }
    }

    /// ParallelStateStarted, then the branches, each with `input`.
    pub(super) fn start_parallel(&mut self, tid: ThreadId, p: &Parallel, input: Value) {
        self.emit_on(tid, "ParallelStateStarted", None);
        let fan = Fanout::new(false, input, Vec::new(), p.branches.len());
        self.threads[tid].phase = Phase::Children(Box::new(fan));
        self.launch(tid);
    }

    /// Emits the Exited event (with assigned variables when there are any).
    pub(super) fn exited(
        &mut self,
        tid: ThreadId,
        state: &State,
        output: Text,
        assigned: Option<&Map<String, Value>>,
    ) {
        let assigned = assigned
            .filter(|a| !a.is_empty())
            .map(|a| a.iter().map(|(k, v)| (k.clone(), text(v))).collect());
        let details = Details::StateExited {
            name: state.name.clone(),
            output,
            assigned,
        };
        self.emit_on(tid, exited_kind(&state.kind), details);
    }

    /// Evaluates an Assign template against `input` (all values from the state's entry).
    pub(super) fn assign(
        &self,
        tid: ThreadId,
        t: Option<&Template>,
        input: &Value,
    ) -> Result<Option<Map<String, Value>>, ExprError> {
        let Some(t) = t else { return Ok(None) };
        match self.template(tid, t, input)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Ok(Some(Map::new())),
        }
    }

    /// A state produced `result`: ResultSelector, Assign, ResultPath, OutputPath, the size
    /// limit, the Exited event and the transition.
    pub(crate) fn complete(&mut self, tid: ThreadId, state: &State, result: Value, select: bool) {
        if state.query_language == QueryLanguage::Jsonata {
            let input = self.threads[tid].raw_input.clone();
            return self.jsonata_finish(tid, state, &input, Some(&result), transition_of(state));
        }
        let result = match (&state.result_selector, select) {
            (Some(t), true) => match self.template(tid, t, &result) {
                Ok(v) => v,
                Err(e) => return self.expr_failed(tid, state, e),
            },
            _ => result,
        };
        let assigned = match self.assign(tid, state.assign.as_ref(), &result) {
            Ok(a) => a,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        let raw = std::mem::take(&mut self.threads[tid].raw_input);
        let out = Execution::apply_result_path(state.result_path.as_ref(), &raw, result);
        self.threads[tid].raw_input = raw;
        let out = match out.and_then(|o| self.apply_output_path(tid, state.output_path.as_ref(), o))
        {
            Ok(o) => o,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        self.leave(tid, state, out, assigned, transition_of(state));
    }

    /// Checks the payload limit, applies variables, emits Exited and moves on.
    pub(super) fn leave(
        &mut self,
        tid: ThreadId,
        state: &State,
        out: Value,
        assigned: Option<Map<String, Value>>,
        transition: Transition,
    ) {
        let out_text = match self.threads[tid].output_text.take() {
            Some(t) => t,
            None => shared_text(&out),
        };
        if self.info.payload_limit > 0 && out_text.len() > self.info.payload_limit {
            let f = Failure::new(
                "States.DataLimitExceeded",
                format!("The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.", state.name),
            );
            return self.state_failed(tid, state, f);
        }
        if let Some(a) = &assigned {
            if let Err(f) = self.check_variable_sizes(tid, a) {
                return self.state_failed(tid, state, f);
            }
            let vars = &mut self.threads[tid].vars;
            for (k, v) in a {
                vars.insert(k.clone(), v.clone());
            }
        }
        self.exited(tid, state, out_text.clone(), assigned.as_ref());
        let th = &mut self.threads[tid];
        th.handed_text = Some(out_text);
        match transition {
            Transition::Next(n) => {
                th.state = n;
                th.raw_input = out;
                th.phase = Phase::Enter;
            }
            Transition::End => self.thread_succeeded(tid, out),
        }
    }
}

impl Execution {
    /// AWS's variable limits: one variable and one Assign at most the payload limit (256 KiB),
    /// all variables of an execution at most 40 times that (10 MiB). Scaled with the
    /// configurable payload limit; 0 turns them off like the payload rule.
    fn check_variable_sizes(&self, tid: ThreadId, a: &Map<String, Value>) -> Result<(), Failure> {
        let limit = self.info.payload_limit;
        if limit == 0 {
            return Ok(());
        }
        let mut assign_total = 0;
        for (k, v) in a {
            let n = text(v).len();
            if n > limit {
                return Err(Failure::new(
                    "States.DataLimitExceeded",
                    format!("The variable '{k}' has a size exceeding the maximum number of bytes service limit ({limit})."),
                ));
            }
            assign_total += n;
        }
        if assign_total > limit {
            return Err(Failure::new(
                "States.DataLimitExceeded",
                format!("The variables assigned in one Assign field have a combined size exceeding the maximum number of bytes service limit ({limit})."),
            ));
        }
        let vars = &self.threads[tid].vars;
        let stored: usize = vars
            .iter()
            .filter(|(k, _)| !a.contains_key(*k))
            .map(|(_, v)| text(v).len())
            .sum();
        if stored + assign_total > limit * 40 {
            return Err(Failure::new(
                "States.DataLimitExceeded",
                format!("The variables of this execution have a combined size exceeding the maximum number of bytes service limit ({}).", limit * 40),
            ));
        }
        Ok(())
    }
}

/// Where a state goes when its work is done (End for the terminal and Choice states, whose
/// targets are chosen elsewhere).
fn transition_of(state: &State) -> Transition {
    match &state.kind {
        StateKind::Pass(p) => p.transition,
        StateKind::Task(t) => t.transition,
        StateKind::Wait(w) => w.transition,
        StateKind::Parallel(p) => p.transition,
        StateKind::Map(m) => m.transition,
        _ => Transition::End,
    }
}

/// A Choice state with no matching rule and no Default.
pub(crate) fn no_choice_matched(state: &State) -> Failure {
    Failure::new(
        "States.NoChoiceMatched",
        format!(
            "No Choice Rules matched and no default specified for state '{}'",
            state.name
        ),
    )
}

/// How AWS shows a value inside a message: strings bare, everything else as JSON.
fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}
