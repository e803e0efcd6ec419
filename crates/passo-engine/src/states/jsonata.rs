//! States in JSONata mode: `Arguments` instead of InputPath/Parameters, `Output` instead of
//! ResultSelector/ResultPath/OutputPath, `$states.input`, `$states.result`,
//! `$states.errorOutput` and `$states.context`, and `Condition` in Choice rules.

use crate::execution::{Command, Execution, Phase, ThreadId};
use crate::failure::Failure;
use crate::io::{state_failure, Eval, StatesExtra};

use super::no_choice_matched;
use passo_asl::jtemplate::JTemplate;
use passo_asl::model::*;
use passo_asl::timestamp;
use passo_expr::ExprError;
use serde_json::{Map, Value};

pub(crate) fn type_error(what: &str, expr: &str, got: &Option<Value>) -> ExprError {
    let got = got
        .as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "nothing (undefined)".into());
    ExprError {
        location: None,
        error: "States.QueryEvaluationError",
        message: format!(
            "The JSONata expression '{expr}' must evaluate to {what}, but it returned {got}."
        ),
    }
}

impl Execution {
    /// A JSONata state's work after its Entered event.
    pub(super) fn jsonata_body(&mut self, tid: ThreadId, state: &State) {
        match &state.kind {
            StateKind::Pass(p) => return self.jsonata_finish_in_place(tid, state, p.transition),
            StateKind::Succeed => return self.jsonata_finish_in_place(tid, state, Transition::End),
            _ => {}
        }
        let input = self.threads[tid].raw_input.clone();
        match &state.kind {
            StateKind::Pass(_) | StateKind::Succeed => unreachable!("finished above"),
            StateKind::Fail(f) => self.jsonata_fail(tid, state, f, &input),
            StateKind::Choice(c) => self.jsonata_choice(tid, state, c, &input),
            StateKind::Wait(w) => {
                let now = self.now_ms;
                let at = match self.jsonata_wait_until(tid, w, &input, now) {
                    Ok(at) => at,
                    Err(e) => return self.expr_failed(tid, state, e),
                };
                if at <= now {
                    return self.jsonata_finish(tid, state, &input, None, w.transition);
                }
                let timer = self.handle();
                self.timers.insert(timer, tid);
                self.commands.push(Command::StartTimer {
                    timer,
                    fire_at_ms: at,
                });
                self.threads[tid].phase = Phase::Wait {
                    effective_input: input,
                };
            }
            StateKind::Task(_) | StateKind::Parallel(_) => {
                if let StateKind::Task(t) = &state.kind {
                    self.prepare_task(tid, t);
                }
                let args = match state.jsonata.as_ref().and_then(|f| f.arguments.as_ref()) {
                    Some(tpl) => {
                        match self.jtemplate(tid, tpl, &input, StatesExtra::None, "Arguments") {
                            Ok(v) => v,
                            Err(e) => return self.expr_failed(tid, state, e),
                        }
                    }
                    None => input.clone(),
                };
                match &state.kind {
                    StateKind::Task(t) => {
                        let role = match self.task_role(tid, t, &input) {
                            Ok(r) => r,
                            Err(e) => return self.expr_failed(tid, state, e),
                        };
                        self.invoke(tid, state, t, args, role)
                    }
                    StateKind::Parallel(p) => self.start_parallel(tid, p, args),
                    _ => unreachable!("matched above"),
                }
            }
            StateKind::Map(m) => self.map(tid, state, m, input),
        }
    }

    /// `Assign` and `Output` (default: the result, or the input when there is none), then
    /// the Exited event and the transition.
    pub(super) fn jsonata_finish(
        &mut self,
        tid: ThreadId,
        state: &State,
        input: &Value,
        result: Option<&Value>,
        transition: Transition,
    ) {
        let extra = result.map_or(StatesExtra::None, StatesExtra::Result);
        let fields = state.jsonata.as_ref();
        // Copied only when there is no Output to make the state's output.
        let default = result.unwrap_or(input);
        let (out, assigned) = match self.assign_and_output(
            tid,
            fields.and_then(|f| f.assign.as_ref()),
            fields.and_then(|f| f.output.as_ref()),
            input,
            extra,
            default,
        ) {
            Ok(x) => x,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        self.leave(tid, state, out, assigned, transition);
    }

    /// A Pass or Succeed: `Assign` and `Output` over the state's input, read where it lies
    /// (no copy); it stays the thread's raw input, as a redrive or a failure wants it.
    fn jsonata_finish_in_place(&mut self, tid: ThreadId, state: &State, transition: Transition) {
        let input = std::mem::take(&mut self.threads[tid].raw_input);
        let fields = state.jsonata.as_ref();
        // `Output: "{% $states.input %}"` alone passes the input on as it is: moved, not
        // copied. (It fits the payload limit: it passed it as the previous output.)
        let passes_input = fields.is_some_and(|f| {
            f.assign.is_none()
                && f.output
                    .as_ref()
                    .is_some_and(passo_expr::jsonata::is_states_input)
        });
        // Without Output the output is the input too. Either way the Exited event writes the
        // Entered event's text.
        let no_output = fields.is_none_or(|f| f.output.is_none());
        let passes_input = passes_input && passo_expr::jsonata::is_as_jsonata(&input);
        if passes_input || no_output {
            let th = &mut self.threads[tid];
            th.output_text = th.entered_text.clone();
        }
        if passes_input {
            return self.leave(tid, state, input, None, transition);
        }
        let r = self.assign_and_output(
            tid,
            fields.and_then(|f| f.assign.as_ref()),
            fields.and_then(|f| f.output.as_ref()),
            &input,
            StatesExtra::None,
            &input,
        );
        self.threads[tid].raw_input = input;
        match r {
            Ok((out, assigned)) => self.leave(tid, state, out, assigned, transition),
            Err(e) => self.expr_failed(tid, state, e),
        }
    }

    /// `Assign` (all from the state's entry values) then `Output` (`default` when absent).
    fn assign_and_output(
        &self,
        tid: ThreadId,
        assign: Option<&JTemplate>,
        output: Option<&JTemplate>,
        input: &Value,
        extra: StatesExtra<'_>,
        default: &Value,
    ) -> Result<(Value, Option<Map<String, Value>>), ExprError> {
        let assigned = match assign {
            Some(t) => match self.jtemplate(tid, t, input, extra, "Assign")? {
                Value::Object(m) => Some(m),
                _ => Some(Map::new()),
            },
            None => None,
        };
        let out = match output {
            Some(t) => self.jtemplate(tid, t, input, extra, "Output")?,
            None => default.clone(),
        };
        Ok((out, assigned))
    }

    fn jsonata_fail(&mut self, tid: ThreadId, state: &State, f: &Fail, input: &Value) {
        match jsonata_fail_fields(&self.at(tid), f, input) {
            Ok((error, cause)) => self.thread_failed(
                tid,
                Failure {
                    error: error.unwrap_or_default(),
                    cause,
                    from_task: false,
                },
            ),
            Err(e) => {
                let fl = state_failure(&state.name, self.threads[tid].entered_event, e);
                self.thread_failed(tid, fl)
            }
        }
    }

    fn jsonata_choice(&mut self, tid: ThreadId, state: &State, c: &Choice, input: &Value) {
        let mut chosen: Option<&ChoiceRule> = None;
        for rule in &c.choices {
            let Condition::Jsonata(j) = &rule.condition else {
                continue;
            };
            match self.jexpr(tid, j, input, StatesExtra::None, "Condition") {
                Ok(Some(Value::Bool(true))) => {
                    chosen = Some(rule);
                    break;
                }
                Ok(Some(Value::Bool(false))) => {}
                Ok(other) => {
                    return self.expr_failed(tid, state, type_error("a boolean", j.text(), &other))
                }
                Err(e) => return self.expr_failed(tid, state, e),
            }
        }
        let next = match (chosen, c.default) {
            (Some(r), _) => r.next,
            (None, Some(d)) => d,
            (None, None) => return self.thread_failed(tid, no_choice_matched(state)),
        };
        // A matching rule's Assign and Output take the place of the state's.
        let rule_fields = chosen.and_then(|r| r.jsonata.as_ref());
        let fields = state.jsonata.as_ref();
        let assign = rule_fields
            .and_then(|f| f.assign.as_ref())
            .or(fields.and_then(|f| f.assign.as_ref()));
        let output = rule_fields
            .and_then(|f| f.output.as_ref())
            .or(fields.and_then(|f| f.output.as_ref()));
        let (out, assigned) =
            match self.assign_and_output(tid, assign, output, input, StatesExtra::None, input) {
                Ok(x) => x,
                Err(e) => return self.expr_failed(tid, state, e),
            };
        self.leave(tid, state, out, assigned, Transition::Next(next));
    }

    fn jsonata_wait_until(
        &self,
        tid: ThreadId,
        w: &Wait,
        input: &Value,
        now: i64,
    ) -> Result<i64, ExprError> {
        match &w.duration {
            WaitFor::Seconds(Dynamic::Static(s)) => Ok(now + *s as i64 * 1000),
            WaitFor::Seconds(Dynamic::Jsonata(j)) => {
                match self.jexpr(tid, j, input, StatesExtra::None, "Seconds")? {
                    Some(v) if v.as_i64().is_some_and(|n| (0..=99_999_999).contains(&n)) => {
                        Ok(now + v.as_i64().unwrap_or(0) * 1000)
                    }
                    other => Err(type_error(
                        "an integer between 0 and 99999999",
                        j.text(),
                        &other,
                    )),
                }
            }
            WaitFor::Timestamp(Dynamic::Static(s)) => timestamp::parse(s)
                .map(|t| t.timestamp_millis())
                .ok_or_else(|| ExprError::runtime(format!("Invalid timestamp '{s}'"))),
            WaitFor::Timestamp(Dynamic::Jsonata(j)) => {
                match self.jexpr(tid, j, input, StatesExtra::None, "Timestamp")? {
                    Some(Value::String(s)) if timestamp::parse(&s).is_some() => {
                        Ok(timestamp::parse(&s)
                            .map(|t| t.timestamp_millis())
                            .unwrap_or(now))
                    }
                    Some(Value::String(s)) => Err(ExprError::query(
                        "Timestamp",
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {s}"),
                    )),
                    other => Err(type_error("an ISO-8601 timestamp string", j.text(), &other)),
                }
            }
            _ => Err(ExprError::runtime(
                "JSONPath fields are not allowed in a JSONata state",
            )),
        }
    }

    /// A Catch of a JSONata state: `Output` (default: the error output) and `Assign`, with
    /// `$states.errorOutput`.
    pub(super) fn jsonata_catch(&mut self, tid: ThreadId, state: &State, c: &Catcher, err: Value) {
        let input = self.threads[tid].raw_input.clone();
        let extra = StatesExtra::ErrorOutput(&err);
        let fields = c.jsonata.as_ref();
        let (out, assigned) = match self.assign_and_output(
            tid,
            fields.and_then(|f| f.assign.as_ref()),
            fields.and_then(|f| f.output.as_ref()),
            &input,
            extra,
            &err,
        ) {
            Ok(x) => x,
            Err(e) => {
                let f = state_failure(&state.name, self.threads[tid].entered_event, e);
                return self.thread_failed(tid, f);
            }
        };
        self.leave(tid, state, out, assigned, Transition::Next(c.next));
    }
}

/// A JSONata Fail state's Error and Cause, each a string or an expression giving one.
pub(crate) fn jsonata_fail_fields(
    ev: &impl Eval,
    f: &Fail,
    input: &Value,
) -> Result<(Option<String>, Option<String>), ExprError> {
    let field = |d: &Option<Dynamic<String>>, name: &str| -> Result<Option<String>, ExprError> {
        match d {
            None => Ok(None),
            Some(Dynamic::Static(s)) => Ok(Some(s.clone())),
            Some(Dynamic::Jsonata(j)) => match ev.jexpr(j, input, StatesExtra::None, name)? {
                Some(Value::String(s)) => Ok(Some(s)),
                other => Err(type_error("a string", j.text(), &other)),
            },
            Some(_) => Err(ExprError::runtime(
                "JSONPath fields are not allowed in a JSONata state",
            )),
        }
    };
    Ok((field(&f.error, "Error")?, field(&f.cause, "Cause")?))
}
