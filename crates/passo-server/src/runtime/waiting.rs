//! What waits for someone outside: every open Task of every running execution that a task
//! token answers (a `.waitForTaskToken` callback, an activity task), for the console's
//! approvals inbox.
//!
//! Nothing new is stored: the interpreter knows each execution's open tasks, and a token is
//! a function of the execution's seed and the task id, so it is minted again here (under
//! the newest key; any key of the ring opens it). An execution in memory is read under its
//! lock when that is free; otherwise it is rebuilt from the store (as read-only as a replay
//! is: the copy is dropped).

use super::Runtime;
use crate::error::ApiError;
use passo_engine::{token, TaskPhase};
use serde_json::Value;

/// An open task that a task token answers.
#[derive(Debug, Clone)]
pub struct WaitingTask {
    pub execution_arn: String,
    pub state_name: String,
    pub resource: String,
    pub phase: TaskPhase,
    pub token: String,
    /// When the task was scheduled (its state's entry when the history does not say).
    pub since_ms: i64,
    /// What the task sent (its resolved Parameters), as the history records it.
    pub payload: Value,
}

impl WaitingTask {
    /// A `.waitForTaskToken` task (the rest are activity tasks).
    pub fn is_callback(&self) -> bool {
        self.resource.ends_with(".waitForTaskToken")
    }
}

impl Runtime {
    /// The open tasks answered by a token, over at most `max_executions` running executions
    /// (oldest first).
    pub fn waiting_tasks(&self, max_executions: usize) -> Result<Vec<WaitingTask>, ApiError> {
        let mut out = Vec::new();
        // Every running one: one waiting on a token has no task out (its invocation was
        // answered; `pending_tasks` does not count it).
        for (arn, _) in self.db.running()?.into_iter().take(max_executions) {
            let open = match self.owners.try_lock(&arn) {
                Some((_, g)) if g.active.is_some() => g
                    .active
                    .as_ref()
                    .map(|a| (a.ex.open_task_states(), a.ex.info().seed)),
                _ => self
                    .load(&arn, false)?
                    .map(|a| (a.ex.open_task_states(), a.ex.info().seed)),
            };
            let Some((open, seed)) = open else { continue };
            let answerable: Vec<_> = open
                .into_iter()
                .filter(|t| is_token_task(&t.resource, t.phase))
                .collect();
            if answerable.is_empty() {
                continue;
            }
            let history = self.history(&arn)?;
            for t in answerable {
                let tok = token::mint(&self.cfg.token_keys.newest(), &arn, seed, t.task);
                let (since_ms, payload) = scheduled(&history, &t.state_name, &tok, &arn, self)
                    .unwrap_or((t.entered_ms, Value::Null));
                out.push(WaitingTask {
                    execution_arn: arn.clone(),
                    state_name: t.state_name,
                    resource: t.resource,
                    phase: t.phase,
                    token: tok,
                    since_ms,
                    payload,
                });
            }
        }
        out.sort_by_key(|w| w.since_ms);
        Ok(out)
    }
}

/// Tasks a token answers: callbacks once their integration took them, activity tasks.
fn is_token_task(resource: &str, phase: TaskPhase) -> bool {
    if resource.ends_with(".waitForTaskToken") {
        return phase == TaskPhase::Submitted;
    }
    resource.contains(":activity:")
}

/// The time and parameters of the scheduling event of the task whose token is `tok`: the
/// latest one whose parameters carry a token for the same task (for activities, whose
/// token is not in their input, the latest ActivityScheduled of the state).
fn scheduled(
    history: &[Value],
    state: &str,
    tok: &str,
    arn: &str,
    rt: &Runtime,
) -> Option<(i64, Value)> {
    let want = rt.cfg.token_keys.open(tok).ok()?;
    let mut owner: std::collections::HashMap<u64, String> = Default::default();
    let mut found = None;
    for ev in history {
        let id = ev["id"].as_u64().unwrap_or(0);
        let prev = ev["previousEventId"].as_u64().unwrap_or(0);
        let kind = ev["type"].as_str().unwrap_or("");
        let name = match ev["stateEnteredEventDetails"]["name"].as_str() {
            Some(n) if kind.ends_with("StateEntered") => n.to_string(),
            _ => owner.get(&prev).cloned().unwrap_or_default(),
        };
        let ms = (ev["timestamp"].as_f64().unwrap_or(0.0) * 1000.0) as i64;
        match kind {
            "TaskScheduled" => {
                let text = ev["taskScheduledEventDetails"]["parameters"]
                    .as_str()
                    .unwrap_or("");
                if carries_token(text, &want, arn, rt) {
                    found = Some((ms, parse(text)));
                }
            }
            "ActivityScheduled" if name == state => {
                let text = ev["activityScheduledEventDetails"]["input"]
                    .as_str()
                    .unwrap_or("");
                found = Some((ms, parse(text)));
            }
            _ => {}
        }
        owner.insert(id, name);
    }
    found
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Whether some string in the parameters is a token of the same task.
fn carries_token(text: &str, want: &token::TokenClaims, arn: &str, rt: &Runtime) -> bool {
    fn walk(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
        match v {
            Value::String(s) => f(s),
            Value::Array(a) => a.iter().any(|x| walk(x, f)),
            Value::Object(o) => o.values().any(|x| walk(x, f)),
            _ => false,
        }
    }
    let v = parse(text);
    walk(&v, &mut |s| {
        s.len() > 40
            && rt
                .cfg
                .token_keys
                .open(s)
                .is_ok_and(|c| c.task == want.task && c.execution_arn == arn)
    })
}
