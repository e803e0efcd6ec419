//! Choice, Wait and Fail.

use crate::execution::{Command, Execution, Phase, ThreadId};
use crate::failure::Failure;
use crate::io::{state_failure, Eval};
use passo_asl::model::*;
use passo_asl::timestamp;
use passo_expr::ExprError;
use serde_json::{Map, Value};

use super::{display_value, no_choice_matched};

impl Execution {
    pub(super) fn choice(&mut self, tid: ThreadId, state: &State, c: &Choice, eff: Value) {
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
            (None, None) => return self.thread_failed(tid, no_choice_matched(state)),
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

    pub(super) fn wait(&mut self, tid: ThreadId, state: &State, w: &Wait, eff: Value) {
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

    pub(super) fn wait_until(
        &self,
        tid: ThreadId,
        w: &Wait,
        eff: &Value,
        now: i64,
    ) -> Result<i64, ExprError> {
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

    pub(super) fn wait_done(&mut self, tid: ThreadId, state: &State, eff: Value) {
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

    pub(super) fn fail(&mut self, tid: ThreadId, state: &State, f: &Fail, raw: &Value) {
        match fail_fields(&self.at(tid), f, raw) {
            Ok((error, cause)) => {
                let failure = Failure {
                    error: error.unwrap_or_default(),
                    cause,
                    from_task: false,
                };
                self.thread_failed(tid, failure)
            }
            Err(e) => {
                let fl = state_failure(&state.name, self.threads[tid].entered_event, e);
                self.thread_failed(tid, fl)
            }
        }
    }
}

/// A JSONPath Fail state's Error and Cause (each static, a path into `raw` or an intrinsic).
pub(crate) fn fail_fields(
    ev: &impl Eval,
    f: &Fail,
    raw: &Value,
) -> Result<(Option<String>, Option<String>), ExprError> {
    let field = |d: &Option<Dynamic<String>>, name: &str| -> Result<Option<String>, ExprError> {
        match d {
            None => Ok(None),
            Some(Dynamic::Static(s)) => Ok(Some(s.clone())),
            Some(Dynamic::Path(p)) => match ev.read_path(p, raw)? {
                Some(Value::String(s)) => Ok(Some(s)),
                Some(v) => Ok(Some(v.to_string())),
                None => Err(ExprError::runtime(format!(
                    "The JSONPath '{}' specified for the field '{name}' could not be found in the input '{}'",
                    p.text,
                    serde_json::to_string(raw).unwrap_or_default()
                ))),
            },
            Some(Dynamic::Intrinsic(c)) => {
                let v = ev.with_scope(raw, |s| passo_expr::intrinsics::eval(c, s))?;
                Ok(Some(match v {
                    Value::String(s) => s,
                    v => v.to_string(),
                }))
            }
            Some(Dynamic::Jsonata(_)) => Err(ExprError::runtime("JSONata is not supported yet")),
        }
    };
    Ok((field(&f.error, "ErrorPath")?, field(&f.cause, "CausePath")?))
}

/// A Timestamp may lie at most 2^31-1 seconds ahead (AWS accepts 24,855 days, not 24,856).
fn check_far(at_ms: i64, now: i64) -> Result<i64, ExprError> {
    if at_ms - now > i32::MAX as i64 * 1000 {
        return Err(ExprError::runtime("Wait state delay is too long."));
    }
    Ok(at_ms)
}
