//! What each state type does when a thread enters it, and how Retry, Catch, Parallel and Map
//! continue when their events come back.

use crate::execution::{Command, Execution, Fanout, Phase, ThreadId};
use crate::failure::Failure;
use crate::history::{payload, payload_details, text, Details};
use crate::io::state_failure;
use passo_asl::model::*;
use passo_asl::template::Template;
use passo_asl::timestamp;
use passo_expr::ExprError;
use serde_json::{json, Map, Value};

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

/// How a Task resource appears in history events.
struct ResourceInfo {
    lambda: bool,
    resource_type: String,
    resource: String,
}

fn resource_info(arn: &str) -> ResourceInfo {
    if arn.starts_with("arn:aws:lambda:") {
        return ResourceInfo {
            lambda: true,
            resource_type: "lambda".into(),
            resource: arn.into(),
        };
    }
    // arn:aws:states:::lambda:invoke(.waitForTaskToken) -> type "lambda", resource "invoke..."
    let rest = arn.splitn(6, ':').nth(5).unwrap_or(arn);
    let (ty, res) = rest.split_once(':').unwrap_or((rest, ""));
    ResourceInfo {
        lambda: false,
        resource_type: ty.into(),
        resource: res.into(),
    }
}

fn region_of(arn: &str) -> String {
    arn.split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1")
        .to_string()
}

impl Execution {
    /// Runs a thread until it waits, ends, or hands over to its children.
    pub(crate) fn run_thread(&mut self, tid: ThreadId) {
        let th = &self.threads[tid];
        if th.map_item.is_some() && th.entered_event == 0 && th.last_event == 0 && !th.silent {
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

    fn state_of(&self, tid: ThreadId) -> (std::sync::Arc<StateMachine>, StateId) {
        (self.machine.clone(), self.threads[tid].state)
    }

    /// Enters the thread's current state: the Entered event, then the state's work.
    fn enter(&mut self, tid: ThreadId) {
        let (machine, sid) = self.state_of(tid);
        let program = Execution::program(&machine, &self.threads[tid].path);
        let state = &program.states[sid];
        self.transitions += 1;
        // A Map iteration's first state is preceded by MapIterationStarted.
        let input = std::mem::take(&mut self.threads[tid].raw_input);
        let id = self.emit_on(
            tid,
            entered_kind(&state.kind),
            Details::StateEntered {
                name: state.name.clone(),
                input: text(&input),
            },
        );
        let th = &mut self.threads[tid];
        th.raw_input = input;
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
    }

    /// Turns an expression error into a failure of the current state.
    fn expr_failed(&mut self, tid: ThreadId, state: &State, e: ExprError) {
        let f = state_failure(&state.name, self.threads[tid].entered_event, e);
        self.state_failed(tid, state, f);
    }

    /// The state's work after its Entered event (also re-run by a Retry).
    fn body(&mut self, tid: ThreadId, state: &State) {
        if state.query_language == QueryLanguage::Jsonata {
            let e = ExprError::runtime("JSONata states are not supported yet");
            return self.expr_failed(tid, state, e);
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
                    (None, None) => Ok(eff),
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
                        self.exited(tid, state, text(&out), None);
                        self.thread_succeeded(tid, out);
                    }
                    Err(e) => self.expr_failed(tid, state, e),
                }
            }
            StateKind::Fail(f) => self.fail(tid, state, f, &eff),
            StateKind::Task(t) => {
                let params = match &state.parameters {
                    Some(tpl) => match self.template(tid, tpl, &eff) {
                        Ok(v) => v,
                        Err(e) => return self.expr_failed(tid, state, e),
                    },
                    None => eff,
                };
                self.invoke(tid, state, t, params);
            }
            StateKind::Parallel(p) => {
                let params = match &state.parameters {
                    Some(tpl) => match self.template(tid, tpl, &eff) {
                        Ok(v) => v,
                        Err(e) => return self.expr_failed(tid, state, e),
                    },
                    None => eff,
                };
                self.emit_on(tid, "ParallelStateStarted", None);
                let n = p.branches.len();
                let fan = Fanout {
                    is_map: false,
                    effective_input: params,
                    items: Vec::new(),
                    children: vec![None; n],
                    results: vec![None; n],
                    next: 0,
                    running: 0,
                    done: 0,
                    failures: 0,
                    max_concurrency: 0,
                    tolerated_count: None,
                    tolerated_percentage: None,
                    distributed: false,
                    last_trigger: 0,
                };
                self.threads[tid].phase = Phase::Children(Box::new(fan));
                self.launch(tid);
            }
            StateKind::Map(m) => self.map(tid, state, m, eff),
        }
    }

    /// Emits the Exited event (with assigned variables when there are any).
    fn exited(
        &mut self,
        tid: ThreadId,
        state: &State,
        output: String,
        assigned: Option<&Map<String, Value>>,
    ) {
        if self.threads[tid].silent {
            return;
        }
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
    fn assign(
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
        let transition = match &state.kind {
            StateKind::Pass(p) => p.transition,
            StateKind::Task(t) => t.transition,
            StateKind::Wait(w) => w.transition,
            StateKind::Parallel(p) => p.transition,
            StateKind::Map(m) => m.transition,
            _ => Transition::End,
        };
        self.leave(tid, state, out, assigned, transition);
    }

    /// Checks the payload limit, applies variables, emits Exited and moves on.
    fn leave(
        &mut self,
        tid: ThreadId,
        state: &State,
        out: Value,
        assigned: Option<Map<String, Value>>,
        transition: Transition,
    ) {
        let out_text = text(&out);
        if self.info.payload_limit > 0 && out_text.len() > self.info.payload_limit {
            let f = Failure::new(
                "States.DataLimitExceeded",
                format!("The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.", state.name),
            );
            return self.state_failed(tid, state, f);
        }
        if let Some(a) = &assigned {
            let vars = &mut self.threads[tid].vars;
            for (k, v) in a {
                vars.insert(k.clone(), v.clone());
            }
        }
        self.exited(tid, state, out_text, assigned.as_ref());
        match transition {
            Transition::Next(n) => {
                let th = &mut self.threads[tid];
                th.state = n;
                th.raw_input = out;
                th.phase = Phase::Enter;
            }
            Transition::End => self.thread_succeeded(tid, out),
        }
    }

    fn choice(&mut self, tid: ThreadId, state: &State, c: &Choice, eff: Value) {
        let mut chosen = None;
        for rule in &c.choices {
            let r = self.with_scope(tid, &eff, None, |s| {
                passo_expr::choice::eval(&rule.condition, s)
            });
            match r {
                Ok(true) => {
                    chosen = Some((rule.next, rule.assign.as_ref()));
                    break;
                }
                Ok(false) => {}
                Err(e) => return self.expr_failed(tid, state, e),
            }
        }
        let (next, rule_assign) = match (chosen, c.default) {
            (Some(x), _) => x,
            (None, Some(d)) => (d, None),
            (None, None) => {
                let f = Failure::new(
                    "States.NoChoiceMatched",
                    format!(
                        "No Choice Rules matched and no default specified for state '{}'",
                        state.name
                    ),
                );
                return self.thread_failed(tid, f);
            }
        };
        let mut assigned = match self.assign(tid, state.assign.as_ref(), &eff) {
            Ok(a) => a,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        match self.assign(tid, rule_assign, &eff) {
            Ok(Some(extra)) => assigned.get_or_insert_with(Map::new).extend(extra),
            Ok(None) => {}
            Err(e) => return self.expr_failed(tid, state, e),
        }
        match self.apply_output_path(tid, state.output_path.as_ref(), eff) {
            Ok(out) => self.leave(tid, state, out, assigned, Transition::Next(next)),
            Err(e) => self.expr_failed(tid, state, e),
        }
    }

    fn wait(&mut self, tid: ThreadId, state: &State, w: &Wait, eff: Value) {
        let now = self.now_ms;
        let fire_at = match self.wait_until(tid, w, &eff, now) {
            Ok(t) => t,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        if fire_at <= now {
            return self.wait_done(tid, state, eff);
        }
        let timer = self.handle();
        self.timers.insert(timer, tid);
        self.commands.push(Command::StartTimer {
            timer,
            fire_at_ms: fire_at,
        });
        self.threads[tid].phase = Phase::Wait {
            effective_input: eff,
        };
    }

    fn wait_until(&self, tid: ThreadId, w: &Wait, eff: &Value, now: i64) -> Result<i64, ExprError> {
        const MAX_SECONDS: i64 = 99_999_999;
        let seconds = |s: i64| -> Result<i64, ExprError> {
            if s > MAX_SECONDS {
                return Err(ExprError::runtime("Wait state delay is too long."));
            }
            Ok(now + s * 1000)
        };
        match &w.duration {
            WaitFor::Seconds(Dynamic::Static(s)) => seconds(*s as i64),
            WaitFor::Seconds(Dynamic::Path(p)) => {
                let v = self.read_path(tid, p, eff)?.ok_or_else(|| {
                    ExprError::runtime(format!(
                        "The SecondsPath parameter does not reference an input value: {}",
                        p.text
                    ))
                })?;
                match (v.as_i64(), v.as_f64()) {
                    (Some(n), _) if n < 0 => Err(ExprError::runtime(format!(
                        "The SecondsPath parameter references a negative value: {} == {n}",
                        p.text
                    ))),
                    (Some(n), _) => seconds(n),
                    _ => Err(ExprError::runtime(format!(
                        "The SecondsPath parameter cannot be parsed as a long value: {} == {}",
                        p.text,
                        display_value(&v)
                    ))),
                }
            }
            WaitFor::Timestamp(Dynamic::Static(s)) => {
                let t = timestamp::parse(s)
                    .ok_or_else(|| ExprError::runtime(format!("Invalid timestamp '{s}'")))?;
                check_far(t.timestamp_millis(), now)
            }
            WaitFor::Timestamp(Dynamic::Path(p)) => {
                let v = self.read_path(tid, p, eff)?.ok_or_else(|| {
                    ExprError::runtime(format!(
                        "The TimestampPath parameter does not reference an input value: {}",
                        p.text
                    ))
                })?;
                match v.as_str().and_then(timestamp::parse) {
                    Some(t) => check_far(t.timestamp_millis(), now),
                    None => Err(ExprError::runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                        p.text,
                        display_value(&v)
                    ))),
                }
            }
            _ => Err(ExprError::runtime(
                "JSONata Wait fields are not supported yet",
            )),
        }
    }

    fn wait_done(&mut self, tid: ThreadId, state: &State, eff: Value) {
        let StateKind::Wait(w) = &state.kind else {
            return;
        };
        let assigned = match self.assign(tid, state.assign.as_ref(), &eff) {
            Ok(a) => a,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        match self.apply_output_path(tid, state.output_path.as_ref(), eff) {
            Ok(out) => self.leave(tid, state, out, assigned, w.transition),
            Err(e) => self.expr_failed(tid, state, e),
        }
    }

    fn fail(&mut self, tid: ThreadId, state: &State, f: &Fail, raw: &Value) {
        let field = |this: &Self,
                     d: &Option<Dynamic<String>>,
                     name: &str|
         -> Result<Option<String>, ExprError> {
            match d {
                None => Ok(None),
                Some(Dynamic::Static(s)) => Ok(Some(s.clone())),
                Some(Dynamic::Path(p)) => match this.read_path(tid, p, raw)? {
                    Some(Value::String(s)) => Ok(Some(s)),
                    Some(v) => Ok(Some(v.to_string())),
                    None => Err(ExprError::runtime(format!(
                        "The JSONPath '{}' specified for the field '{name}' could not be found in the input '{}'",
                        p.text,
                        serde_json::to_string(raw).unwrap_or_default()
                    ))),
                },
                Some(Dynamic::Intrinsic(c)) => {
                    let v = this.with_scope(tid, raw, None, |s| passo_expr::intrinsics::eval(c, s))?;
                    Ok(Some(match v {
                        Value::String(s) => s,
                        v => v.to_string(),
                    }))
                }
                Some(Dynamic::Jsonata(_)) => Err(ExprError::runtime("JSONata is not supported yet")),
            }
        };
        let error = field(self, &f.error, "ErrorPath");
        let cause = error.and_then(|e| field(self, &f.cause, "CausePath").map(|c| (e, c)));
        match cause {
            Ok((error, cause)) => {
                let failure = Failure {
                    error: error.unwrap_or_default(),
                    cause,
                };
                let failure = if failure.error.is_empty() && f.error.is_none() {
                    Failure {
                        error: String::new(),
                        cause: failure.cause,
                    }
                } else {
                    failure
                };
                self.thread_failed(tid, failure)
            }
            Err(e) => {
                let fl = state_failure(&state.name, self.threads[tid].entered_event, e);
                self.thread_failed(tid, fl)
            }
        }
    }

    fn invoke(&mut self, tid: ThreadId, state: &State, t: &Task, params: Value) {
        let eff_timeout = match &t.timeout_seconds {
            Some(Dynamic::Static(s)) => Some(*s),
            Some(Dynamic::Path(p)) => {
                match self.read_path(tid, p, &self.threads[tid].raw_input.clone()) {
                    Ok(Some(v)) if v.as_u64().is_some() => v.as_u64(),
                    Ok(_) => {
                        let e = ExprError::runtime(format!("The TimeoutSecondsPath parameter does not reference a positive integer: {}", p.text));
                        return self.expr_failed(tid, state, e);
                    }
                    Err(e) => return self.expr_failed(tid, state, e),
                }
            }
            _ => None,
        };
        let heartbeat = match &t.heartbeat_seconds {
            Some(Dynamic::Static(s)) => Some(*s),
            Some(Dynamic::Path(p)) => {
                match self.read_path(tid, p, &self.threads[tid].raw_input.clone()) {
                    Ok(Some(v)) => v.as_u64(),
                    Ok(None) => None,
                    Err(e) => return self.expr_failed(tid, state, e),
                }
            }
            _ => None,
        };
        let info = resource_info(&t.resource);
        let task = self.handle();
        let mut d = Map::new();
        if info.lambda {
            d.insert("resource".into(), Value::String(info.resource.clone()));
            d.insert("input".into(), payload(&params));
            d.insert("inputDetails".into(), payload_details());
            if let Some(s) = eff_timeout {
                d.insert("timeoutInSeconds".into(), json!(s));
            }
            self.emit_on(
                tid,
                "LambdaFunctionScheduled",
                Some(("lambdaFunctionScheduledEventDetails", Value::Object(d))),
            );
            self.emit_on(tid, "LambdaFunctionStarted", None);
        } else {
            d.insert(
                "resourceType".into(),
                Value::String(info.resource_type.clone()),
            );
            d.insert("resource".into(), Value::String(info.resource.clone()));
            d.insert(
                "region".into(),
                Value::String(region_of(&self.info.state_machine_arn)),
            );
            d.insert("parameters".into(), payload(&params));
            if let Some(s) = eff_timeout {
                d.insert("timeoutInSeconds".into(), json!(s));
            }
            if let Some(s) = heartbeat {
                d.insert("heartbeatInSeconds".into(), json!(s));
            }
            self.emit_on(
                tid,
                "TaskScheduled",
                Some(("taskScheduledEventDetails", Value::Object(d))),
            );
            self.emit_on(
                tid,
                "TaskStarted",
                Some((
                    "taskStartedEventDetails",
                    json!({"resourceType": info.resource_type, "resource": info.resource}),
                )),
            );
        }
        let attempt = self.threads[tid].retry_counts.iter().sum();
        self.tasks.insert(task, tid);
        self.commands.push(Command::InvokeTask {
            task,
            state_name: state.name.clone(),
            resource: t.resource.clone(),
            input: params,
            attempt,
            timeout_seconds: eff_timeout,
            heartbeat_seconds: heartbeat,
        });
        self.threads[tid].phase = Phase::Task;
    }

    pub(crate) fn task_succeeded(&mut self, tid: ThreadId, output: Value) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let StateKind::Task(t) = &state.kind else {
            return;
        };
        let info = resource_info(&t.resource);
        if info.lambda {
            self.emit_on(
                tid,
                "LambdaFunctionSucceeded",
                Some((
                    "lambdaFunctionSucceededEventDetails",
                    json!({"output": payload(&output), "outputDetails": payload_details()}),
                )),
            );
        } else {
            self.emit_on(
                tid,
                "TaskSucceeded",
                Some((
                    "taskSucceededEventDetails",
                    json!({"resourceType": info.resource_type, "resource": info.resource, "output": payload(&output), "outputDetails": payload_details()}),
                )),
            );
        }
        self.threads[tid].phase = Phase::Done;
        self.complete(tid, state, output, true);
    }

    pub(crate) fn task_failed(&mut self, tid: ThreadId, failure: Failure) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let StateKind::Task(t) = &state.kind else {
            return;
        };
        let info = resource_info(&t.resource);
        let mut d = Map::new();
        if !info.lambda {
            d.insert("resourceType".into(), Value::String(info.resource_type));
            d.insert("resource".into(), Value::String(info.resource));
        }
        d.insert("error".into(), Value::String(failure.error.clone()));
        if let Some(c) = &failure.cause {
            d.insert("cause".into(), Value::String(c.clone()));
        }
        if info.lambda {
            self.emit_on(
                tid,
                "LambdaFunctionFailed",
                Some(("lambdaFunctionFailedEventDetails", Value::Object(d))),
            );
        } else {
            self.emit_on(
                tid,
                "TaskFailed",
                Some(("taskFailedEventDetails", Value::Object(d))),
            );
        }
        self.threads[tid].phase = Phase::Done;
        self.state_failed(tid, state, failure);
    }

    /// A state failed: Retry if a retrier matches and has attempts left, else Catch, else the
    /// thread fails.
    pub(crate) fn state_failed(&mut self, tid: ThreadId, state: &State, failure: Failure) {
        if self.retry(tid, state, &failure) {
            return;
        }
        self.catch_or_fail(tid, state, failure);
    }

    /// Schedules a retry if a retrier matches and has attempts left.
    fn retry(&mut self, tid: ThreadId, state: &State, failure: &Failure) -> bool {
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
    fn catch_or_fail(&mut self, tid: ThreadId, state: &State, failure: Failure) {
        let catch: &[Catcher] = match &state.kind {
            StateKind::Task(t) => &t.catch,
            StateKind::Parallel(p) => &p.catch,
            StateKind::Map(m) => &m.catch,
            _ => &[],
        };
        if let Some(c) = catch.iter().find(|c| failure.matches(&c.error_equals)) {
            let err = failure.output();
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
            Phase::Wait {
                effective_input, ..
            } => self.wait_done(tid, state, effective_input),
            Phase::Backoff => self.body(tid, state),
            other => self.threads[tid].phase = other,
        }
    }

    fn map(&mut self, tid: ThreadId, state: &State, m: &Map_, eff: Value) {
        let items = match self.read_path(tid, &m.items_path, &eff) {
            Ok(Some(Value::Array(a))) => a,
            Ok(Some(v)) => {
                let e = ExprError::runtime(format!(
                    "Invalid path '{}' : the value is not an array: {}",
                    m.items_path.text,
                    display_value(&v)
                ));
                return self.expr_failed(tid, state, e);
            }
            Ok(None) => {
                let e = ExprError::runtime(format!(
                    "Invalid path '{}' : No results for path: {}",
                    m.items_path.text,
                    m.items_path.normalized()
                ));
                return self.expr_failed(tid, state, e);
            }
            Err(e) => return self.expr_failed(tid, state, e),
        };
        let max_concurrency =
            match self.map_number(tid, &m.max_concurrency, &eff, "MaxConcurrencyPath", true) {
                Ok(n) => n,
                Err(e) => return self.expr_failed(tid, state, e),
            };
        self.emit_on(
            tid,
            "MapStateStarted",
            Details::MapStateStarted {
                length: items.len(),
            },
        );
        let tolerated_count = match &m.tolerated_failure_count {
            None => None,
            Some(d) => match self.map_tolerance(tid, d, &eff, "ToleratedFailureCount", true) {
                Ok(n) => Some(n),
                Err(e) => return self.expr_failed(tid, state, e),
            },
        };
        let tolerated_percentage = match &m.tolerated_failure_percentage {
            None => None,
            Some(d) => {
                match self.map_tolerance(tid, d, &eff, "ToleratedFailurePercentage", false) {
                    Ok(n) => Some(n),
                    Err(e) => return self.expr_failed(tid, state, e),
                }
            }
        };
        let distributed = m.mode == MapMode::Distributed;
        if distributed {
            let arn = self.map_run_arn(m);
            self.emit_on(
                tid,
                "MapRunStarted",
                Some(("mapRunStartedEventDetails", json!({ "mapRunArn": arn }))),
            );
        }
        let n = items.len();
        // Room for every iteration's thread and its (at least four) events up front.
        self.threads.reserve(n);
        self.events.reserve(4 * n);
        let fan = Fanout {
            is_map: true,
            effective_input: eff,
            items,
            children: vec![None; n],
            results: vec![None; n],
            next: 0,
            running: 0,
            done: 0,
            failures: 0,
            max_concurrency: max_concurrency as usize,
            tolerated_count,
            tolerated_percentage,
            distributed,
            last_trigger: 0,
        };
        self.threads[tid].phase = Phase::Children(Box::new(fan));
        if n == 0 {
            return self.fanout_finished(tid);
        }
        self.launch(tid);
    }

    fn map_number(
        &self,
        tid: ThreadId,
        d: &Dynamic<u64>,
        eff: &Value,
        field: &str,
        _int: bool,
    ) -> Result<u64, ExprError> {
        match d {
            Dynamic::Static(n) => Ok(*n),
            Dynamic::Path(p) => {
                let v = self.read_path(tid, p, eff)?.unwrap_or(Value::Null);
                let n = match &v {
                    Value::Number(n) => n.as_u64().or_else(|| {
                        n.as_f64()
                            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                            .map(|f| f as u64)
                    }),
                    Value::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                };
                n.ok_or_else(|| {
                    ExprError::runtime(format!(
                        "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                        display_value(&v),
                        p.text
                    ))
                })
            }
            _ => Err(ExprError::runtime(
                "JSONata Map fields are not supported yet",
            )),
        }
    }

    fn map_tolerance(
        &self,
        tid: ThreadId,
        d: &Dynamic<f64>,
        eff: &Value,
        field: &str,
        count: bool,
    ) -> Result<f64, ExprError> {
        let v = match d {
            Dynamic::Static(n) => *n,
            Dynamic::Path(p) => {
                let v = self.read_path(tid, p, eff)?.unwrap_or(Value::Null);
                let n = match &v {
                    Value::Number(n) if count => n.as_i64().map(|x| x as f64),
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) if count => s.trim().parse::<i64>().ok().map(|x| x as f64),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                n.ok_or_else(|| {
                    ExprError::runtime(format!(
                        "The {field}Path field refers to value \"{}\" which is not a valid {}: {}",
                        display_value(&v),
                        if count { "integer" } else { "float" },
                        p.text
                    ))
                })?
            }
            _ => {
                return Err(ExprError::runtime(
                    "JSONata Map fields are not supported yet",
                ))
            }
        };
        if count && v < 0.0 {
            return Err(ExprError::runtime(
                "ToleratedFailureCount cannot be negative.",
            ));
        }
        if !count && !(0.0..=100.0).contains(&v) {
            return Err(ExprError::runtime(
                "ToleratedFailurePercentage must be between 0 and 100.",
            ));
        }
        Ok(v)
    }

    /// Starts as many children as the concurrency limit allows.
    fn launch(&mut self, tid: ThreadId) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let mut to_start = Vec::new();
        {
            let Phase::Children(fan) = &mut self.threads[tid].phase else {
                return;
            };
            let total = fan.children.len();
            while fan.next < total
                && (fan.max_concurrency == 0 || fan.running < fan.max_concurrency)
            {
                to_start.push(fan.next);
                fan.next += 1;
                fan.running += 1;
            }
        }
        let mut path = self.threads[tid].path.clone();
        let mut started = Vec::new();
        for index in to_start {
            match &state.kind {
                StateKind::Parallel(p) => {
                    let Phase::Children(fan) = &self.threads[tid].phase else {
                        return;
                    };
                    let input = fan.effective_input.clone();
                    path.push((sid, index));
                    let last = self.threads[tid].last_event;
                    let child = self.spawn(
                        path.clone(),
                        Some((tid, index)),
                        p.branches[index].start_at,
                        input,
                        Map::new(),
                        true,
                        None,
                        last,
                    );
                    path.pop();
                    started.push((index, child));
                }
                StateKind::Map(m) => {
                    let Phase::Children(fan) = &self.threads[tid].phase else {
                        return;
                    };
                    let item = fan.items[index].clone();
                    let input = match &state.parameters {
                        Some(t) => {
                            // ItemSelector sees the Map's effective input as `$`, borrowed:
                            // cloning it per item would make a Map quadratic in its size.
                            let r = self.with_scope(
                                tid,
                                &fan.effective_input,
                                Some((index, &item)),
                                |s| passo_expr::template::eval(t, s),
                            );
                            match r {
                                Ok(v) => v,
                                Err(e) => {
                                    self.ready.retain(|r| !started.iter().any(|(_, c)| c == r));
                                    return self.expr_failed(tid, state, e);
                                }
                            }
                        }
                        None => item.clone(),
                    };
                    path.push((sid, 0));
                    let sees_outer = m.mode == MapMode::Inline;
                    let child = self.spawn(
                        path.clone(),
                        Some((tid, index)),
                        m.processor.start_at,
                        input,
                        Map::new(),
                        sees_outer,
                        Some((index, item)),
                        0,
                    );
                    self.threads[child].silent = !sees_outer || self.threads[tid].silent;
                    path.pop();
                    started.push((index, child));
                }
                _ => return,
            }
        }
        // Children run in index order: the ready list is a stack.
        let n = started.len();
        let len = self.ready.len();
        self.ready[len - n..].reverse();
        if let Phase::Children(fan) = &mut self.threads[tid].phase {
            for (index, child) in started {
                fan.children[index] = Some(child);
            }
        }
    }

    /// A child thread ended: record it, start more, or finish the Parallel or Map.
    pub(crate) fn child_done(
        &mut self,
        parent: ThreadId,
        index: usize,
        child: ThreadId,
        result: Result<Value, crate::failure::Failure>,
    ) {
        if !matches!(self.threads[parent].phase, Phase::Children(_)) {
            return;
        }
        let (machine, sid) = self.state_of(parent);
        let state = &Execution::program(&machine, &self.threads[parent].path).states[sid];
        let child_last = self.threads[child].last_event;
        let is_map = matches!(&self.threads[parent].phase, Phase::Children(f) if f.is_map);
        let distributed =
            matches!(&self.threads[parent].phase, Phase::Children(f) if f.distributed);
        let silent = self.threads[parent].silent;
        let map_name = state.name.clone();
        match result {
            Ok(out) => {
                if distributed || silent {
                    // Child executions report to their own histories.
                } else if is_map {
                    let id = self.emit(
                        child_last,
                        "MapIterationSucceeded",
                        Details::MapIteration {
                            key: "mapIterationSucceededEventDetails",
                            index,
                            name: map_name.clone(),
                        },
                    );
                    self.threads[parent].last_event = id;
                } else {
                    self.threads[parent].last_event = child_last;
                }
                let Phase::Children(fan) = &mut self.threads[parent].phase else {
                    return;
                };
                fan.results[index] = Some(out);
                fan.running -= 1;
                fan.done += 1;
                fan.last_trigger = child_last;
            }
            Err(failure) => {
                let tolerated = {
                    let Phase::Children(fan) = &mut self.threads[parent].phase else {
                        return;
                    };
                    fan.failures += 1;
                    let total = fan.children.len() as f64;
                    let count_ok = fan
                        .tolerated_count
                        .is_some_and(|c| fan.failures as f64 <= c);
                    let pct_ok = fan
                        .tolerated_percentage
                        .is_some_and(|p| fan.failures as f64 * 100.0 / total <= p);
                    fan.is_map && (count_ok || pct_ok)
                };
                if is_map && !distributed && !silent {
                    self.emit(
                        child_last,
                        "MapIterationFailed",
                        Details::MapIteration {
                            key: "mapIterationFailedEventDetails",
                            index,
                            name: map_name.clone(),
                        },
                    );
                }
                if tolerated {
                    let Phase::Children(fan) = &mut self.threads[parent].phase else {
                        return;
                    };
                    fan.results[index] = Some(failure.output());
                    fan.running -= 1;
                    fan.done += 1;
                    fan.last_trigger = child_last;
                } else {
                    let has_tolerance = matches!(&self.threads[parent].phase, Phase::Children(f) if f.tolerated_count.is_some() || f.tolerated_percentage.is_some());
                    let failure = if is_map && has_tolerance {
                        Failure::new("States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold for the Map state was exceeded")
                    } else {
                        failure
                    };
                    let Phase::Children(fan) =
                        std::mem::replace(&mut self.threads[parent].phase, Phase::Done)
                    else {
                        return;
                    };
                    for c in fan.children.iter().flatten() {
                        self.cancel_subtree(*c);
                    }
                    if distributed {
                        let mut d = Map::new();
                        d.insert("error".into(), Value::String(failure.error.clone()));
                        if let Some(c) = &failure.cause {
                            d.insert("cause".into(), Value::String(c.clone()));
                        }
                        self.emit_on(
                            parent,
                            "MapRunFailed",
                            Some(("mapRunFailedEventDetails", Value::Object(d))),
                        );
                    } else if !silent {
                        self.threads[parent].last_event = child_last;
                    }
                    // A retry starts the state over without a Failed event.
                    if self.retry(parent, state, &failure) {
                        return;
                    }
                    self.emit_on(
                        parent,
                        if is_map {
                            "MapStateFailed"
                        } else {
                            "ParallelStateFailed"
                        },
                        None,
                    );
                    self.catch_or_fail(parent, state, failure);
                    return self.wake(parent);
                }
            }
        }
        let all_done =
            matches!(&self.threads[parent].phase, Phase::Children(f) if f.done == f.children.len());
        if all_done {
            self.fanout_finished(parent);
        } else {
            self.launch_next(parent);
        }
    }

    /// Launches the next children after one finished; MapIterationStarted follows the
    /// finished child's last event.
    fn launch_next(&mut self, tid: ThreadId) {
        self.launch(tid);
    }

    fn fanout_finished(&mut self, tid: ThreadId) {
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        let Phase::Children(fan) = std::mem::replace(&mut self.threads[tid].phase, Phase::Done)
        else {
            return;
        };
        let results: Vec<Value> = fan
            .results
            .into_iter()
            .map(|r| r.unwrap_or(Value::Null))
            .collect();
        let kind = if fan.is_map {
            "MapStateSucceeded"
        } else {
            "ParallelStateSucceeded"
        };
        let prev = self.threads[tid].last_event;
        if !self.threads[tid].silent {
            if fan.distributed {
                // Most AWS recordings chain MapStateExited to MapRunSucceeded.
                let run = self.emit(prev, "MapRunSucceeded", None);
                self.emit(run, kind, None);
                self.threads[tid].last_event = run;
            } else {
                self.emit(prev, kind, None);
            }
        }
        self.complete(tid, state, Value::Array(results), true);
        self.wake(tid);
    }

    /// Called when a Map child first runs: emits MapIterationStarted.
    pub(crate) fn iteration_started(&mut self, child: ThreadId) {
        let Some((parent, index)) = self.threads[child].parent else {
            return;
        };
        let (machine, sid) = self.state_of(parent);
        let state = &Execution::program(&machine, &self.threads[parent].path).states[sid];
        let trigger = match &self.threads[parent].phase {
            Phase::Children(f) if f.last_trigger != 0 => f.last_trigger,
            _ => self.threads[parent].last_event,
        };
        let id = self.emit(
            trigger,
            "MapIterationStarted",
            Details::MapIteration {
                key: "mapIterationStartedEventDetails",
                index,
                name: state.name.clone(),
            },
        );
        self.threads[child].last_event = id;
    }
}

type Map_ = passo_asl::model::Map;

impl Execution {
    /// A Map Run's ARN: `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:UUID`.
    fn map_run_arn(&self, m: &Map_) -> String {
        let base = self
            .info
            .state_machine_arn
            .replacen(":stateMachine:", ":mapRun:", 1);
        let label = m
            .label
            .clone()
            .unwrap_or_else(|| passo_expr::random::uuid_v4(&self.rng)[..8].to_string());
        format!("{base}/{label}:{}", passo_expr::random::uuid_v4(&self.rng))
    }
}

/// How AWS shows a value inside a message: strings bare, everything else as JSON.
fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A Timestamp may lie at most 2^31-1 seconds ahead (AWS accepts 24,855 days, not 24,856).
fn check_far(at_ms: i64, now: i64) -> Result<i64, ExprError> {
    if at_ms - now > i32::MAX as i64 * 1000 {
        return Err(ExprError::runtime("Wait state delay is too long."));
    }
    Ok(at_ms)
}
