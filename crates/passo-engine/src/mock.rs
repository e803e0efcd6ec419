//! Mocked Task responses in AWS Step Functions Local's MockConfigFile format:
//!
//! ```json
//! {"StateMachines": {"M": {"TestCases": {"Happy": {"StateName": "ResponseName"}}}},
//!  "MockedResponses": {"ResponseName": {"0": {"Return": {...}}, "1-2": {"Throw": {"Error": "E", "Cause": "C"}}}}}
//! ```
//!
//! Each invocation of a mocked state (retries and Map iterations included) consumes the next
//! attempt number, as Step Functions Local does.

use crate::driver::{Invocation, TaskResult};
use serde_json::Value;
use std::collections::HashMap;

/// Why a mock file or test case could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MockError {
    #[error("the mock file is not valid: {0}")]
    Invalid(String),
    #[error("state machine '{0}' is not in the mock file (it has: {1})")]
    NoStateMachine(String, String),
    #[error("the mock file has several state machines ({0}); choose one with --name")]
    Ambiguous(String),
    #[error("test case '{0}' is not defined for state machine '{1}' (it has: {2})")]
    NoTestCase(String, String, String),
    #[error("mocked response '{0}' (for state '{1}') is not defined in MockedResponses")]
    NoResponse(String, String),
}

/// One attempt range and what it answers.
#[derive(Debug, Clone)]
struct Step {
    first: u64,
    last: u64,
    result: TaskResult,
}

/// The mocks of one test case: state name -> its responses, and how often each was invoked.
#[derive(Debug, Clone, Default)]
pub struct Mocks {
    states: HashMap<String, Vec<Step>>,
    calls: HashMap<String, u64>,
}

fn parse_steps(name: &str, v: &Value) -> Result<Vec<Step>, MockError> {
    let obj = v
        .as_object()
        .ok_or_else(|| MockError::Invalid(format!("MockedResponses.{name} must be an object")))?;
    let mut steps = Vec::new();
    for (key, resp) in obj {
        let (first, last) = match key.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u64>(), b.trim().parse::<u64>()),
            None => (key.trim().parse::<u64>(), key.trim().parse::<u64>()),
        };
        let (Ok(first), Ok(last)) = (first, last) else {
            return Err(MockError::Invalid(format!(
                "MockedResponses.{name}: '{key}' is not an attempt number or range like \"1-2\""
            )));
        };
        let result = if let Some(r) = resp.get("Return") {
            TaskResult::Success(r.clone())
        } else if let Some(t) = resp.get("Throw") {
            TaskResult::Failure {
                error: t
                    .get("Error")
                    .and_then(Value::as_str)
                    .unwrap_or("States.TaskFailed")
                    .to_string(),
                cause: t.get("Cause").and_then(Value::as_str).map(str::to_string),
            }
        } else {
            return Err(MockError::Invalid(format!(
                "MockedResponses.{name}.{key} needs \"Return\" or \"Throw\""
            )));
        };
        steps.push(Step {
            first,
            last,
            result,
        });
    }
    steps.sort_by_key(|s| s.first);
    Ok(steps)
}

impl Mocks {
    /// Picks a test case from a MockConfigFile. `machine` may be omitted when the file
    /// describes only one state machine.
    pub fn from_config(
        config: &Value,
        machine: Option<&str>,
        test_case: &str,
    ) -> Result<Mocks, MockError> {
        let machines = config
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| MockError::Invalid("\"StateMachines\" must be an object".into()))?;
        let names = || machines.keys().cloned().collect::<Vec<_>>().join(", ");
        let (mname, m) = match machine {
            Some(n) => (
                n,
                machines
                    .get(n)
                    .ok_or_else(|| MockError::NoStateMachine(n.into(), names()))?,
            ),
            None if machines.len() == 1 => {
                let (k, v) = machines.iter().next().expect("one entry");
                (k.as_str(), v)
            }
            None => return Err(MockError::Ambiguous(names())),
        };
        let cases = m
            .get("TestCases")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                MockError::Invalid(format!("StateMachines.{mname}.TestCases must be an object"))
            })?;
        let case = cases
            .get(test_case)
            .and_then(Value::as_object)
            .ok_or_else(|| {
                MockError::NoTestCase(
                    test_case.into(),
                    mname.into(),
                    cases.keys().cloned().collect::<Vec<_>>().join(", "),
                )
            })?;
        let responses = config.get("MockedResponses").and_then(Value::as_object);
        let mut mocks = Mocks::default();
        for (state, resp_name) in case {
            let resp_name = resp_name.as_str().ok_or_else(|| {
                MockError::Invalid(format!(
                    "TestCases.{test_case}.{state} must name a mocked response"
                ))
            })?;
            let resp = responses
                .and_then(|r| r.get(resp_name))
                .ok_or_else(|| MockError::NoResponse(resp_name.into(), state.clone()))?;
            mocks
                .states
                .insert(state.clone(), parse_steps(resp_name, resp)?);
        }
        Ok(mocks)
    }

    /// Whether this state is mocked.
    pub fn covers(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }

    /// Answers an invocation, or `None` when the state is not mocked.
    pub fn answer(&mut self, inv: &Invocation) -> Option<TaskResult> {
        let steps = self.states.get(&inv.state_name)?;
        let n = self.calls.entry(inv.state_name.clone()).or_insert(0);
        let attempt = *n;
        *n += 1;
        // Past the last range, the last response keeps answering (as SFN Local does).
        let step = steps
            .iter()
            .find(|s| attempt >= s.first && attempt <= s.last)
            .or_else(|| steps.iter().max_by_key(|s| s.last))?;
        Some(step.result.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attempts_consume_ranges() {
        let cfg = json!({
            "StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}},
            "MockedResponses": {"R": {"0": {"Throw": {"Error": "E", "Cause": "c"}}, "1-2": {"Return": {"ok": 1}}}}
        });
        let mut m = Mocks::from_config(&cfg, None, "T").unwrap();
        let inv = Invocation {
            state_name: "S".into(),
            resource: "r".into(),
            input: json!({}),
            attempt: 0,
            token: None,
            timeout_seconds: None,
            now_ms: 0,
        };
        assert!(matches!(m.answer(&inv), Some(TaskResult::Failure { .. })));
        assert!(matches!(m.answer(&inv), Some(TaskResult::Success(_))));
        assert!(matches!(m.answer(&inv), Some(TaskResult::Success(_))));
        let other = Invocation {
            state_name: "X".into(),
            ..inv
        };
        assert!(m.answer(&other).is_none());
        assert!(matches!(
            Mocks::from_config(&cfg, None, "Nope"),
            Err(MockError::NoTestCase(..))
        ));
    }
}
