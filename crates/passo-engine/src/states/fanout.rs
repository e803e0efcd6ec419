//! Parallel branches and Map iterations: starting children within the concurrency limit,
//! collecting their results, tolerated failures, and the events AWS writes for each.

use crate::execution::{Execution, Fanout, Phase, ThreadId};
use crate::failure::Failure;
use crate::history::Details;
use crate::io::{Eval, StatesExtra};
use passo_asl::model::*;
use passo_expr::ExprError;
use serde_json::{Map, Value};

use super::display_value;

type Map_ = passo_asl::model::Map;

impl Execution {
    pub(super) fn map(&mut self, tid: ThreadId, state: &State, m: &Map_, eff: Value) {
        let distributed = m.mode == MapMode::Distributed;
        // A Distributed Map with an ItemReader reads its items in the Map Run, not here.
        let items = if distributed && m.item_reader.is_some() {
            None
        } else {
            match self.map_items(tid, state, m, &eff) {
                Ok(items) => Some(items),
                Err(e) => return self.expr_failed(tid, state, e),
            }
        };
        let max_concurrency = match map_number(
            &self.at(tid),
            &m.max_concurrency,
            &eff,
            "MaxConcurrencyPath",
            true,
        ) {
            Ok(n) => n,
            Err(e) => return self.expr_failed(tid, state, e),
        };
        self.emit_on(
            tid,
            "MapStateStarted",
            Details::MapStateStarted {
                length: items.as_ref().map_or(0, Vec::len),
            },
        );
        let tolerated_count = match &m.tolerated_failure_count {
            None => None,
            Some(d) => match map_tolerance(&self.at(tid), d, &eff, "ToleratedFailureCount", true) {
                Ok(n) => Some(n),
                Err(e) => return self.expr_failed(tid, state, e),
            },
        };
        let tolerated_percentage = match &m.tolerated_failure_percentage {
            None => None,
            Some(d) => {
                match map_tolerance(&self.at(tid), d, &eff, "ToleratedFailurePercentage", false) {
                    Ok(n) => Some(n),
                    Err(e) => return self.expr_failed(tid, state, e),
                }
            }
        };
        if distributed {
            let limits = super::distributed::Limits {
                items,
                max_concurrency,
                tolerated_count,
                tolerated_percentage,
            };
            return self.start_map_run(tid, state, m, eff, limits);
        }
        let items = items.unwrap_or_default();
        let n = items.len();
        // Room for every iteration's thread and its (at least four) events up front, and the
        // Map's own Succeeded and Exited and what follows them in the same step (growing
        // the Vec then would copy all of them).
        self.threads.reserve(n);
        self.events.reserve(4 * n + 8);
        let fan = Fanout {
            max_concurrency: max_concurrency as usize,
            tolerated_count,
            tolerated_percentage,
            ..Fanout::new(true, eff, items, n)
        };
        self.threads[tid].phase = Phase::Children(Box::new(fan));
        if n == 0 {
            return self.fanout_finished(tid);
        }
        self.launch(tid);
    }

    /// The items of a Map from its input: ItemsPath, or JSONata Items; an array.
    fn map_items(
        &self,
        tid: ThreadId,
        state: &State,
        m: &Map_,
        eff: &Value,
    ) -> Result<Vec<Value>, ExprError> {
        if state.query_language == QueryLanguage::Jsonata {
            return jsonata_items(&self.at(tid), m, eff);
        }
        match self.read_path(tid, &m.items_path, eff)? {
            Some(Value::Array(a)) => Ok(a),
            Some(v) => Err(ExprError::runtime(format!(
                "Invalid path '{}' : the value is not an array: {}",
                m.items_path.text,
                display_value(&v)
            ))),
            None => Err(ExprError::runtime(format!(
                "Invalid path '{}' : No results for path: {}",
                m.items_path.text,
                m.items_path.normalized()
            ))),
        }
    }

    /// Starts as many children as the concurrency limit allows.
    pub(super) fn launch(&mut self, tid: ThreadId) {
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
                    // The item is needed no more once its iteration has its input.
                    let item = match &mut self.threads[tid].phase {
                        Phase::Children(fan) => std::mem::take(&mut fan.items[index]),
                        _ => return,
                    };
                    let Phase::Children(fan) = &self.threads[tid].phase else {
                        return;
                    };
                    let selector = if state.query_language == QueryLanguage::Jsonata {
                        m.item_selector.as_ref().map(|t| {
                            self.jtemplate(
                                tid,
                                t,
                                &fan.effective_input,
                                StatesExtra::MapItem(index, &item),
                                "ItemSelector",
                            )
                        })
                    } else {
                        None
                    };
                    let input = match (selector, &state.parameters) {
                        (Some(r), _) => match r {
                            Ok(v) => v,
                            Err(e) => {
                                self.ready.retain(|r| !started.iter().any(|(_, c)| c == r));
                                return self.expr_failed(tid, state, e);
                            }
                        },
                        (None, params) => match params {
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
                            None => item,
                        },
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
                        Some(index),
                        0,
                    );
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
        let map_name = state.name.clone();
        match result {
            Ok(out) => {
                if is_map {
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
                if is_map {
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
                    self.abort_children(&fan, &map_name, child, child_last);
                    for c in fan.children.iter().flatten() {
                        self.cancel_subtree(*c);
                    }
                    self.threads[parent].last_event = child_last;
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

    /// A Parallel or Map gives up on its children because `failed` failed. AWS records, in
    /// child order and all following the failing event: TaskStateAborted for the failed
    /// child's Task state (a failed Task stays entered until its parent lets go of it), and
    /// for every other child still running, MapIterationAborted (Map) and an Aborted event
    /// for each state it is in.
    fn abort_children(&mut self, fan: &Fanout, map_name: &str, failed: ThreadId, trigger: u64) {
        for (index, child) in fan.children.iter().enumerate() {
            let Some(c) = *child else { continue };
            if c == failed {
                if self.threads[c].failing_in_task {
                    self.emit(trigger, "TaskStateAborted", None);
                }
                continue;
            }
            self.abort_running(c, fan.is_map, index, map_name, trigger);
        }
    }

    /// Records the abort of child thread `tid` (index `index` of a Map named `map_name`, or a
    /// Parallel branch) if it is running, and of the states it is in.
    fn abort_running(
        &mut self,
        tid: ThreadId,
        is_map: bool,
        index: usize,
        map_name: &str,
        trigger: u64,
    ) {
        let th = &self.threads[tid];
        // A child that has not entered a state yet has nothing to abort, nor has a
        // finished one.
        if th.entered_event == 0 || matches!(th.phase, Phase::Done | Phase::Enter) {
            return;
        }
        if is_map {
            self.emit(
                trigger,
                "MapIterationAborted",
                Details::MapIteration {
                    key: "mapIterationAbortedEventDetails",
                    index,
                    name: map_name.into(),
                },
            );
        }
        let (machine, sid) = self.state_of(tid);
        let state = &Execution::program(&machine, &self.threads[tid].path).states[sid];
        if let Phase::Children(inner) = &self.threads[tid].phase {
            let (inner_is_map, children) = (inner.is_map, inner.children.clone());
            for (i, c) in children.iter().enumerate() {
                if let Some(c) = *c {
                    self.abort_running(c, inner_is_map, i, &state.name, trigger);
                }
            }
        }
        if matches!(self.threads[tid].phase, Phase::MapRun) {
            // The host stops the Map Run's children when it sees its task closed.
            self.emit(trigger, "MapRunAborted", None);
        }
        let aborted = match &state.kind {
            StateKind::Task(_) => "TaskStateAborted",
            StateKind::Wait(_) => "WaitStateAborted",
            StateKind::Parallel(_) => "ParallelStateAborted",
            StateKind::Map(_) => "MapStateAborted",
            _ => return,
        };
        self.emit(trigger, aborted, None);
    }

    /// Launches the next children after one finished; MapIterationStarted follows the
    /// finished child's last event.
    pub(super) fn launch_next(&mut self, tid: ThreadId) {
        self.launch(tid);
    }

    pub(super) fn fanout_finished(&mut self, tid: ThreadId) {
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
        self.emit(prev, kind, None);
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

impl Execution {
    /// A Map Run's ARN: `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:UUID`.
    pub(super) fn map_run_arn(&self, m: &Map_) -> String {
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

// The Map's number fields and JSONata Items, shared with TestState (which evaluates them
// without running the Map).

/// A whole non-negative number as the Map's `...Path` fields take it: an integer, a float
/// without a fraction (2.0), or a string holding an integer ("2").
pub(crate) fn whole_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

pub(crate) fn map_number(
    ev: &impl Eval,
    d: &Dynamic<u64>,
    eff: &Value,
    field: &str,
    _int: bool,
) -> Result<u64, ExprError> {
    match d {
        Dynamic::Static(n) => Ok(*n),
        Dynamic::Path(p) => {
            let v = ev.read_path(p, eff)?.unwrap_or(Value::Null);
            whole_number(&v).ok_or_else(|| {
                ExprError::runtime(format!(
                    "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                    display_value(&v),
                    p.text
                ))
            })
        }
        Dynamic::Jsonata(j) => {
            let name = field.trim_end_matches("Path");
            let n = jsonata_number(ev, j, eff, name)?;
            if n < 0.0 || n.fract() != 0.0 {
                return Err(ExprError::runtime(format!(
                    "{name} must be a non-negative integer."
                )));
            }
            Ok(n as u64)
        }
        Dynamic::Intrinsic(_) => Err(ExprError::runtime(format!(
            "{field} cannot be an intrinsic function"
        ))),
    }
}

pub(crate) fn map_tolerance(
    ev: &impl Eval,
    d: &Dynamic<f64>,
    eff: &Value,
    field: &str,
    count: bool,
) -> Result<f64, ExprError> {
    let v = match d {
        Dynamic::Static(n) => *n,
        Dynamic::Path(p) => {
            let v = ev.read_path(p, eff)?.unwrap_or(Value::Null);
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
        Dynamic::Jsonata(j) => jsonata_number(ev, j, eff, field)?,
        Dynamic::Intrinsic(_) => {
            return Err(ExprError::runtime(format!(
                "{field} cannot be an intrinsic function"
            )))
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

/// JSONata `Items` (default: the input), which must be an array.
pub(crate) fn jsonata_items(
    ev: &impl Eval,
    m: &Map_,
    input: &Value,
) -> Result<Vec<Value>, ExprError> {
    let type_name = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match &m.items {
        Some(t) => match ev.jtemplate(t, input, StatesExtra::None, "Items")? {
            Value::Array(a) => Ok(a),
            other => {
                let text = match t {
                    passo_asl::jtemplate::JTemplate::Expr(j) => j.text().to_string(),
                    _ => other.to_string(),
                };
                Err(ExprError::query(
                    "Items",
                    format!(
                        "The JSONata expression '{text}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {other}",
                        type_name(&other)
                    ),
                ))
            }
        },
        None => match input {
            Value::Array(a) => Ok(a.clone()),
            // AWS names no location for this one.
            other => Err(ExprError::query(
                "",
                format!("Map state input must be an array but was: {other}"),
            )),
        },
    }
}

/// A JSONata number field of a Map (MaxConcurrency, ToleratedFailure*).
fn jsonata_number(
    ev: &impl Eval,
    j: &passo_asl::jsonata::Jsonata,
    input: &Value,
    field: &str,
) -> Result<f64, ExprError> {
    match ev.jexpr(j, input, StatesExtra::None, field)? {
        Some(v) if v.is_number() => Ok(v.as_f64().unwrap_or(0.0)),
        other => Err(ExprError {
            location: None,
            error: "States.QueryEvaluationError",
            message: format!(
                "The JSONata expression '{}' specified for the field '{field}' must evaluate to a number, but it returned {}",
                j.text(),
                other.map(|v| v.to_string()).unwrap_or_else(|| "nothing (undefined)".into())
            ),
        }),
    }
}
