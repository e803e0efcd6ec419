//! Hybrid runs: where each Task goes, chosen per state or per resource. A route sends the
//! Tasks it matches to a mocked answer, to Passo's own services and functions (`local`), to
//! AWS itself (`aws`) or to an endpoint (a URL: LocalStack, moto, another team's stack),
//! whatever `[aws]` and the environment say for everything else, so a workflow can run
//! locally, call one real service, and mock the rest.
//!
//! ```toml
//! [[routes]]
//! state = "Charge card"                       # a Task state's name, and/or
//! resource = "arn:aws:states:::dynamodb:*"    # its Resource (`*` matches any text), and/or
//! function = "billing-*"                      # the function a Lambda Task calls
//! to = "http://127.0.0.1:5000"                # "mock", "local", "aws" or a URL
//!
//! [[routes]]
//! state = "Look up customer"
//! to = "mock"
//! result = { tier = "gold" }                  # or error = "Lookup.Failed", cause = "..."
//! ```
//!
//! The first route that matches wins; a test case's `routes` (in `passo test`) come before
//! the project's. Routes to `local`, `aws` or a URL apply to the AWS services (`aws-sdk:*`,
//! the optimized integrations, `.sync` jobs) and to functions (`local`: only the project's
//! functions; `aws` or a URL: Lambda's Invoke API there, signed with the credential chain,
//! so another team's real function can be called). S3 Tasks follow `[buckets]`, and
//! HTTP Tasks and nested executions go where they name; any Task can be mocked.

use crate::TaskResult;
use serde_json::Value;
use std::sync::Arc;

/// Where a route sends its Tasks.
#[derive(Debug, Clone, PartialEq)]
pub enum To {
    /// This answer, without calling anything.
    Mock(TaskResult),
    /// Passo's own services and the project's functions only.
    Local,
    /// AWS itself (the standard credential chain), even where Passo has a local service.
    Aws,
    /// An AWS-compatible endpoint (for functions: Lambda's Invoke API there).
    Endpoint(String),
}

impl To {
    /// The AWS settings a route to `local`, `aws` or a URL puts in force (None for a mock).
    pub fn endpoint(&self) -> Option<crate::aws::settings::EndpointSetting> {
        use crate::aws::settings::EndpointSetting;
        match self {
            To::Mock(_) => None,
            To::Local => Some(EndpointSetting::Local),
            To::Aws => Some(EndpointSetting::Aws),
            To::Endpoint(u) => Some(EndpointSetting::Url(u.clone())),
        }
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    state: Option<String>,
    resource: Option<String>,
    function: Option<String>,
    pub to: To,
}

/// Routes in the order they are tried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routes(Vec<Route>);

tokio::task_local! {
    /// The routes of the test case being run (`passo test`), tried before the project's.
    static CASE: Arc<Routes>;
}

/// Runs `f` with a test case's routes in force.
pub async fn scoped<F: std::future::Future>(routes: Arc<Routes>, f: F) -> F::Output {
    CASE.scope(routes, f).await
}

/// `*` matches any run of characters, everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The function a Lambda Task calls: a bare function ARN's name, or `FunctionName` (a name
/// or an ARN) of `lambda:invoke`.
fn function_of(resource: &str, input: &Value) -> Option<String> {
    if let Some((name, _)) = crate::lambda::bare_function(resource) {
        return Some(name);
    }
    if crate::lambda::is_invoke(resource) {
        let f = input.get("FunctionName")?.as_str()?;
        // arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        return Some(match f.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "lambda", _, _, "function", name, ..] => name.to_string(),
            _ => f.split(':').next().unwrap_or(f).to_string(),
        });
    }
    None
}

impl Route {
    fn matches(&self, state: &str, resource: &str, input: &Value) -> bool {
        self.state.as_deref().is_none_or(|s| s == state)
            && self.resource.as_deref().is_none_or(|r| glob(r, resource))
            && self
                .function
                .as_deref()
                .is_none_or(|f| function_of(resource, input).is_some_and(|name| glob(f, &name)))
    }

    /// A route as passo.toml's `[[routes]]` or a test case's `routes:` writes it (`at` names
    /// it in errors).
    pub fn parse(v: &Value, at: &str) -> Result<Route, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("{at} must be a table of state/resource/function and to"))?;
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "state" | "resource" | "function" | "to" | "result" | "error" | "cause"
            ) {
                return Err(format!(
                    "{at}: unknown key '{k}' (state, resource, function, to, result, error, cause)"
                ));
            }
        }
        let text = |k: &str| -> Result<Option<String>, String> {
            match obj.get(k) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(format!("{at}.{k} must be a non-empty string")),
            }
        };
        let (state, resource, function) = (text("state")?, text("resource")?, text("function")?);
        if state.is_none() && resource.is_none() && function.is_none() {
            return Err(format!(
                "{at} needs a state, a resource or a function to match"
            ));
        }
        let to = text("to")?.ok_or_else(|| format!("{at}.to is required"))?;
        let mockish = ["result", "error", "cause"]
            .iter()
            .any(|k| obj.contains_key(*k));
        let to = match to.as_str() {
            "mock" => {
                let error = text("error")?;
                match (obj.get("result"), error) {
                    (Some(_), Some(_)) => {
                        return Err(format!("{at}: a mock has a result or an error, not both"))
                    }
                    (Some(r), None) => To::Mock(Ok(r.clone())),
                    (None, Some(e)) => To::Mock(Err((e, text("cause")?))),
                    (None, None) => {
                        return Err(format!("{at}: to = \"mock\" needs a result or an error"))
                    }
                }
            }
            _ if mockish => {
                return Err(format!(
                    "{at}: result, error and cause go with to = \"mock\""
                ))
            }
            "local" => To::Local,
            "aws" => To::Aws,
            url if url.starts_with("http://") || url.starts_with("https://") => {
                To::Endpoint(url.trim_end_matches('/').to_string())
            }
            other => {
                return Err(format!(
                "{at}.to must be \"mock\", \"local\", \"aws\" or an http(s):// URL, not '{other}'"
            ))
            }
        };
        Ok(Route {
            state,
            resource,
            function,
            to,
        })
    }
}

impl Routes {
    pub fn new(routes: Vec<Route>) -> Routes {
        Routes(routes)
    }

    /// A list of routes (`at` names it in errors: `routes`, `cases[2].routes`).
    pub fn parse(v: &Value, at: &str) -> Result<Routes, String> {
        let items = v
            .as_array()
            .ok_or_else(|| format!("{at} must be a list of routes"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, r)| Route::parse(r, &format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Routes)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, state: &str, resource: &str, input: &Value) -> Option<&Route> {
        self.0.iter().find(|r| r.matches(state, resource, input))
    }
}

/// Where a Task goes: the test case's routes first, then the project's (None: nowhere
/// special, the usual settings).
pub fn choose(project: &Routes, state: &str, resource: &str, input: &Value) -> Option<To> {
    let case = CASE
        .try_with(|c| c.find(state, resource, input).map(|r| r.to.clone()))
        .ok()
        .flatten();
    case.or_else(|| project.find(state, resource, input).map(|r| r.to.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob(
            "arn:aws:states:::dynamodb:*",
            "arn:aws:states:::dynamodb:putItem"
        ));
        assert!(!glob(
            "arn:aws:states:::dynamodb:*",
            "arn:aws:states:::sqs:sendMessage"
        ));
        assert!(glob(
            "*:sqs:*",
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
        ));
        assert!(glob("billing-*-v2", "billing-charge-v2"));
        assert!(!glob("billing-*-v2", "billing-v2"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
        assert!(!glob("a*b", "aé") && glob("a*é", "aé"));
    }

    #[test]
    fn the_first_matching_route_wins_and_case_routes_come_first() {
        let project = Routes::parse(
            &json!([
                {"state": "Save", "to": "http://127.0.0.1:5000/"},
                {"resource": "arn:aws:states:::dynamodb:*", "to": "aws"},
                {"function": "billing-*", "to": "local"},
                {"state": "Look", "to": "mock", "result": {"tier": "gold"}},
            ]),
            "routes",
        )
        .unwrap();
        let put = "arn:aws:states:::dynamodb:putItem";
        assert_eq!(
            choose(&project, "Save", put, &json!({})),
            Some(To::Endpoint("http://127.0.0.1:5000".into()))
        );
        assert_eq!(choose(&project, "Other", put, &json!({})), Some(To::Aws));
        let invoke = "arn:aws:states:::lambda:invoke";
        let f = json!({"FunctionName": "arn:aws:lambda:us-east-1:1:function:billing-charge:live"});
        assert_eq!(choose(&project, "Charge", invoke, &f), Some(To::Local));
        let bare = "arn:aws:lambda:us-east-1:1:function:billing-refund";
        assert_eq!(
            choose(&project, "Refund", bare, &json!({})),
            Some(To::Local)
        );
        assert_eq!(
            choose(
                &project,
                "Look",
                "arn:aws:states:::sqs:sendMessage",
                &json!({})
            ),
            Some(To::Mock(Ok(json!({"tier": "gold"}))))
        );
        assert_eq!(choose(&project, "Nope", invoke, &json!({})), None);
        let case = Arc::new(
            Routes::parse(
                &json!([{"state": "Save", "to": "mock", "error": "Busy", "cause": "try later"}]),
                "cases[0].routes",
            )
            .unwrap(),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let chosen = rt.block_on(scoped(case, async {
            choose(&project, "Save", put, &json!({}))
        }));
        assert_eq!(
            chosen,
            Some(To::Mock(Err(("Busy".into(), Some("try later".into())))))
        );
    }

    #[test]
    fn bad_routes_say_what_is_wrong_and_where() {
        let e = |v: Value| Routes::parse(&v, "routes").unwrap_err();
        assert_eq!(
            e(json!([{"to": "aws"}])),
            "routes[0] needs a state, a resource or a function to match"
        );
        assert_eq!(
            e(json!([{"state": "A", "to": "mock"}])),
            "routes[0]: to = \"mock\" needs a result or an error"
        );
        assert_eq!(
            e(json!([{"state": "A", "to": "aws", "result": 1}])),
            "routes[0]: result, error and cause go with to = \"mock\""
        );
        assert!(e(json!([{"state": "A", "to": "ftp://x"}])).contains("must be \"mock\""));
        assert!(e(json!([{"state": "A", "to": "local", "stat": 1}])).contains("unknown key 'stat'"));
    }
}
