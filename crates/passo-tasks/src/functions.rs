//! Calling functions: a local command or an HTTP endpoint declared in the project file, or
//! any function of a Lambda-compatible Invoke API. What comes back is the raw reply; the
//! shapes Step Functions gives it (bare ARN or `lambda:invoke`) are in [`crate::lambda`].

use crate::project::{Function, Handler, Project};
use serde_json::Value;
use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

/// An error the function itself reported (`{"errorType": ..., "errorMessage": ...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
    /// The stack trace, when the function gave one.
    pub stack_trace: Option<Value>,
}

/// How a call went.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The function's response bytes (JSON).
    Ok(Vec<u8>),
    /// The function failed.
    Failed(FunctionError),
}

/// The call did not reach the function.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("Function not found: {0}")]
    NotFound(String),
    /// The transport failed (the process could not start, the endpoint did not answer).
    #[error("{0}")]
    Service(String),
}

/// Where a function was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The project file: changed by editing it.
    Project,
    /// Created through the API (kept in the server's database).
    Created,
}

/// A function ready to call, with its concurrency limit.
struct Callable {
    function: Arc<Function>,
    limit: Option<Arc<Semaphore>>,
}

/// The project's functions and those created through the API; cheap to clone (shared state
/// behind an Arc).
#[derive(Clone)]
pub struct Functions {
    project: Arc<Project>,
    /// The project's functions, ready to call (shared, so a call copies nothing).
    declared: Arc<HashMap<String, Callable>>,
    created: Arc<RwLock<HashMap<String, Callable>>>,
    http: reqwest::Client,
    /// The latest calls (the console shows them).
    recent: Arc<crate::recent_calls::RecentCalls>,
}

/// Why a function cannot be created or deleted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    #[error("Function already exists: {0}")]
    Exists(String),
    #[error("Function not found: {0}")]
    NotFound(String),
    #[error("Function {0} is declared in the project file; change it there")]
    InProject(String),
}

impl Functions {
    pub fn new(project: Project) -> Functions {
        let declared = project
            .functions
            .values()
            .map(|f| {
                let entry = Callable {
                    function: Arc::new(f.clone()),
                    limit: f.concurrency.map(|n| Arc::new(Semaphore::new(n))),
                };
                (f.name.clone(), entry)
            })
            .collect();
        Functions {
            project: Arc::new(project),
            declared: Arc::new(declared),
            created: Arc::default(),
            http: reqwest::Client::new(),
            recent: Arc::default(),
        }
    }

    /// The latest calls of `function` (of all when None), newest first.
    pub fn recent_calls(&self, function: Option<&str>) -> Vec<crate::recent_calls::CallRecord> {
        self.recent.of(function)
    }

    /// Adds a function made at run time; its name must be new.
    pub fn create(&self, f: Function) -> Result<(), RegistryError> {
        let mut created = self.created.write().unwrap_or_else(|e| e.into_inner());
        if self.project.functions.contains_key(&f.name) || created.contains_key(&f.name) {
            return Err(RegistryError::Exists(f.name));
        }
        let limit = f.concurrency.map(|n| Arc::new(Semaphore::new(n)));
        created.insert(
            f.name.clone(),
            Callable {
                function: Arc::new(f),
                limit,
            },
        );
        Ok(())
    }

    /// Makes the functions made at run time exactly `wanted` (read again from a database
    /// that other nodes write too): new names are added, missing ones removed, and those
    /// already here kept as they are (with their concurrency limits in use).
    pub fn sync_created(&self, wanted: Vec<Function>) {
        let mut created = self.created.write().unwrap_or_else(|e| e.into_inner());
        let names: std::collections::HashSet<&str> =
            wanted.iter().map(|f| f.name.as_str()).collect();
        created.retain(|name, _| names.contains(name.as_str()));
        for f in wanted {
            if self.project.functions.contains_key(&f.name) || created.contains_key(&f.name) {
                continue;
            }
            let limit = f.concurrency.map(|n| Arc::new(Semaphore::new(n)));
            let function = Arc::new(f);
            created.insert(function.name.clone(), Callable { function, limit });
        }
    }

    /// Removes a function made at run time.
    pub fn delete(&self, name: &str) -> Result<(), RegistryError> {
        if self.project.functions.contains_key(name) {
            return Err(RegistryError::InProject(name.into()));
        }
        let mut created = self.created.write().unwrap_or_else(|e| e.into_inner());
        created
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| RegistryError::NotFound(name.into()))
    }

    /// A function by name, and where it was declared.
    pub fn get(&self, name: &str) -> Option<(Function, Source)> {
        if let Some(f) = self.project.functions.get(name) {
            return Some((f.clone(), Source::Project));
        }
        let created = self.created.read().unwrap_or_else(|e| e.into_inner());
        created
            .get(name)
            .map(|c| ((*c.function).clone(), Source::Created))
    }

    /// Every function, by name.
    pub fn list(&self) -> Vec<(Function, Source)> {
        let mut out: Vec<(Function, Source)> = self
            .project
            .functions
            .values()
            .map(|f| (f.clone(), Source::Project))
            .collect();
        let created = self.created.read().unwrap_or_else(|e| e.into_inner());
        out.extend(
            created
                .values()
                .map(|c| ((*c.function).clone(), Source::Created)),
        );
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }

    /// The function to call by `name`, with its concurrency limit.
    fn resolve(&self, name: &str) -> Option<(Arc<Function>, Option<Arc<Semaphore>>)> {
        let entry = |c: &Callable| (c.function.clone(), c.limit.clone());
        if let Some(c) = self.declared.get(name) {
            return Some(entry(c));
        }
        let created = self.created.read().unwrap_or_else(|e| e.into_inner());
        created.get(name).map(entry)
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Calls function `name` with `payload` (empty: the function gets `{}`, as Lambda does).
    /// `task_deadline` is the Task's own TimeoutSeconds: the call never outlives it.
    pub async fn call(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        task_deadline: Option<Duration>,
    ) -> Result<Reply, CallError> {
        self.call_routed(name, qualifier, payload, task_deadline, None)
            .await
    }

    /// [`Functions::call`] where a route says: `local` calls only the functions declared
    /// here; `aws` or an endpoint calls Lambda's Invoke API there, signed (the route's AWS
    /// settings are in force). Every call is kept in the recent-calls ring.
    pub async fn call_routed(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        task_deadline: Option<Duration>,
        route: Option<&crate::routes::To>,
    ) -> Result<Reply, CallError> {
        use crate::recent_calls::{CallRecord, Outcome};
        let started_ms = chrono::Utc::now().timestamp_millis();
        let begun = std::time::Instant::now();
        let result = self
            .call_inner(name, qualifier, payload, task_deadline, route)
            .await;
        let outcome = match &result {
            Ok(Reply::Ok(_)) => Outcome::Succeeded,
            Ok(Reply::Failed(e)) => Outcome::Failed {
                error: e.error_type.clone(),
            },
            Err(e) => Outcome::Unreachable {
                message: e.to_string(),
            },
        };
        self.recent.push(CallRecord {
            function: name.to_string(),
            started_ms,
            duration_ms: u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX),
            outcome,
        });
        result
    }

    async fn call_inner(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        task_deadline: Option<Duration>,
        route: Option<&crate::routes::To>,
    ) -> Result<Reply, CallError> {
        use crate::routes::To;
        let payload: &[u8] = if payload.is_empty() { b"{}" } else { payload };
        // A route to AWS or to an endpoint: Lambda's Invoke API there, signed with the
        // credential chain (the route's settings are in force for this Task).
        if matches!(route, Some(To::Aws | To::Endpoint(_))) {
            return self
                .invoke_api(name, qualifier, payload, task_deadline)
                .await;
        }
        let declared = self.resolve(name);
        let forward = match route {
            Some(To::Local) => None,
            _ => self.project.lambda_endpoint.as_ref(),
        };
        let Some((f, limit)) = declared else {
            return match forward {
                Some(endpoint) => {
                    let mut url = format!("{endpoint}/2015-03-31/functions/{name}/invocations");
                    if let Some(q) = qualifier {
                        url.push_str(&format!("?Qualifier={q}"));
                    }
                    let limit = task_deadline.unwrap_or(Duration::from_secs(900));
                    self.post(&url, payload, limit).await
                }
                None => Err(CallError::NotFound(name.to_string())),
            };
        };
        // Per-function concurrency: callers over the limit wait for a turn.
        let _permit = match limit {
            Some(s) => Some(
                s.acquire_owned()
                    .await
                    .map_err(|e| CallError::Service(e.to_string()))?,
            ),
            None => None,
        };
        let mut limit = Duration::from_secs(f.timeout_seconds);
        if let Some(d) = task_deadline {
            limit = limit.min(d);
        }
        match &f.handler {
            Handler::Command { .. } => run_command(&f, payload, limit).await,
            Handler::Http { url } => self.post(url, payload, limit).await,
        }
    }

    /// Lambda's Invoke through the AWS layer (signed; where the settings in force send
    /// `lambda`): the function's answer, its error (X-Amz-Function-Error), or why not.
    async fn invoke_api(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: &[u8],
        deadline: Option<Duration>,
    ) -> Result<Reply, CallError> {
        let mut input = serde_json::json!({
            "FunctionName": name,
            "Payload": String::from_utf8_lossy(payload),
        });
        if let Some(q) = qualifier {
            input["Qualifier"] = q.into();
        }
        let limit = deadline.unwrap_or(Duration::from_secs(900));
        match crate::aws::call_raw(&self.http, None, "lambda", "invoke", &input, Some(limit)).await
        {
            Ok(v) => {
                let body = v["Payload"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec();
                Ok(match v["FunctionError"].as_str() {
                    Some(kind) => {
                        Reply::Failed(error_in(&body).unwrap_or_else(|| unhandled(kind, &body)))
                    }
                    None => Reply::Ok(body),
                })
            }
            Err(crate::aws::CallError::Service { raw, .. })
                if raw.code.as_deref() == Some("ResourceNotFoundException") =>
            {
                Err(CallError::NotFound(name.to_string()))
            }
            Err(crate::aws::CallError::Service { raw, .. }) => Err(CallError::Service(format!(
                "Lambda's Invoke of {name} answered {}: {}",
                raw.code.as_deref().unwrap_or("an error"),
                raw.message
            ))),
            Err(crate::aws::CallError::Unusable(why)) => Err(CallError::Service(why)),
        }
    }

    async fn post(&self, url: &str, payload: &[u8], limit: Duration) -> Result<Reply, CallError> {
        let sent = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(payload.to_vec())
            .timeout(limit)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Ok(Reply::Failed(timed_out(limit))),
            Err(e) => return Err(CallError::Service(format!("{url}: {e}"))),
        };
        let status = resp.status();
        let function_error = resp
            .headers()
            .get("x-amz-function-error")
            .and_then(|h| h.to_str().ok())
            .map(String::from);
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) if e.is_timeout() => return Ok(Reply::Failed(timed_out(limit))),
            Err(e) => return Err(CallError::Service(format!("{url}: {e}"))),
        };
        if status.as_u16() == 404 && function_error.is_none() {
            return Err(CallError::NotFound(url.to_string()));
        }
        match function_error {
            Some(kind) => Ok(Reply::Failed(
                error_in(&body).unwrap_or_else(|| unhandled(&kind, &body)),
            )),
            None if status.is_success() => Ok(Reply::Ok(body)),
            None => Ok(Reply::Failed(error_in(&body).unwrap_or_else(|| {
                unhandled(
                    "Unhandled",
                    format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).as_bytes(),
                )
            }))),
        }
    }
}

/// Runs a command function: payload on stdin, result on stdout; a non-zero exit is a
/// failure described by the `{"errorType", "errorMessage"}` object it printed (stdout first,
/// then stderr), and the process is killed at the time limit.
async fn run_command(f: &Function, payload: &[u8], limit: Duration) -> Result<Reply, CallError> {
    let Handler::Command { argv, env, cwd } = &f.handler else {
        unreachable!("only command functions come here")
    };
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(env)
        .env("AWS_LAMBDA_FUNCTION_NAME", &f.name)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        CallError::Service(format!(
            "function {}: cannot start {:?}: {e}",
            f.name, argv[0]
        ))
    })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = payload.to_vec();
    // Written concurrently with reading the output: a large payload cannot deadlock.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
        let _ = stdin.shutdown().await;
    });
    let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(CallError::Service(format!("function {}: {e}", f.name))),
        // Dropping the child kills it (kill_on_drop).
        Err(_) => return Ok(Reply::Failed(timed_out(limit))),
    };
    writer.abort();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.trim().is_empty() {
        tracing::debug!(function = %f.name, "stderr: {}", stderr.trim_end());
    }
    if out.status.success() {
        let body = trim(&out.stdout);
        return Ok(Reply::Ok(if body.is_empty() {
            b"null".to_vec()
        } else {
            body.to_vec()
        }));
    }
    if let Some(e) = error_in(&out.stdout).or_else(|| error_in(&out.stderr)) {
        return Ok(Reply::Failed(e));
    }
    let code = out
        .status
        .code()
        .map_or_else(|| "signal".to_string(), |c| format!("exit status {c}"));
    Ok(Reply::Failed(FunctionError {
        error_type: "Runtime.ExitError".into(),
        error_message: format!("Runtime exited with error: {code}"),
        stack_trace: None,
    }))
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// The error object in a function's output: the whole text, or its last line that is one.
fn error_in(bytes: &[u8]) -> Option<FunctionError> {
    let text = String::from_utf8_lossy(bytes);
    let whole = std::iter::once(text.trim());
    for candidate in whole.chain(text.lines().rev().map(str::trim)) {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(candidate) {
            if m.contains_key("errorType") || m.contains_key("errorMessage") {
                let s = |k: &str| m.get(k).and_then(Value::as_str).map(String::from);
                return Some(FunctionError {
                    error_type: s("errorType").unwrap_or_else(|| "Unhandled".into()),
                    error_message: s("errorMessage").unwrap_or_default(),
                    stack_trace: m.get("stackTrace").cloned(),
                });
            }
        }
    }
    None
}

fn unhandled(kind: &str, body: &[u8]) -> FunctionError {
    FunctionError {
        error_type: kind.to_string(),
        error_message: String::from_utf8_lossy(body).into_owned(),
        stack_trace: None,
    }
}

/// What Lambda reports when a function runs past its timeout.
fn timed_out(limit: Duration) -> FunctionError {
    FunctionError {
        error_type: "Sandbox.Timedout".into(),
        error_message: format!("Task timed out after {:.2} seconds", limit.as_secs_f64()),
        stack_trace: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn functions(toml: &str, dir: &Path) -> Functions {
        Functions::new(Project::parse(toml, dir).unwrap())
    }

    #[tokio::test]
    async fn a_command_gets_stdin_and_answers_on_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let f = functions(
            "[functions.echo]\ncommand = [\"sh\", \"-c\", \"cat; echo\"]\n[functions.empty]\ncommand = \"true\"\n",
            dir.path(),
        );
        let r = f.call("echo", None, br#"{"a":1}"#, None).await.unwrap();
        assert_eq!(r, Reply::Ok(br#"{"a":1}"#.to_vec()));
        // No payload: the function gets {} as from Lambda.
        assert_eq!(
            f.call("echo", None, b"", None).await.unwrap(),
            Reply::Ok(b"{}".to_vec())
        );
        assert_eq!(
            f.call("empty", None, b"1", None).await.unwrap(),
            Reply::Ok(b"null".to_vec())
        );
        assert!(matches!(
            f.call("nope", None, b"", None).await,
            Err(CallError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_failing_command_reports_its_error_object() {
        let dir = tempfile::tempdir().unwrap();
        let f = functions(
            r#"
            [functions.bad]
            command = ["sh", "-c", "echo 'log line'; echo '{\"errorType\":\"NameTaken\",\"errorMessage\":\"taken\"}' >&2; exit 3"]
            [functions.crash]
            command = ["sh", "-c", "exit 7"]
            "#,
            dir.path(),
        );
        let Reply::Failed(e) = f.call("bad", None, b"{}", None).await.unwrap() else {
            panic!("a non-zero exit is a failure")
        };
        assert_eq!(
            (e.error_type.as_str(), e.error_message.as_str()),
            ("NameTaken", "taken")
        );
        let Reply::Failed(e) = f.call("crash", None, b"{}", None).await.unwrap() else {
            panic!()
        };
        assert_eq!(e.error_type, "Runtime.ExitError");
        assert!(e.error_message.contains("exit status 7"));
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("finished");
        let f = functions(
            &format!(
                "[functions.slow]\ncommand = [\"sh\", \"-c\", \"sleep 3; touch {}\"]\ntimeout_seconds = 1\n",
                marker.display()
            ),
            dir.path(),
        );
        let t0 = std::time::Instant::now();
        let Reply::Failed(e) = f.call("slow", None, b"{}", None).await.unwrap() else {
            panic!()
        };
        assert_eq!(e.error_type, "Sandbox.Timedout");
        assert!(t0.elapsed() < Duration::from_millis(2500));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "the process was killed, not left running");
    }

    #[tokio::test]
    async fn concurrency_limits_calls_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let f = Arc::new(functions(
            &format!(
                "[functions.one]\ncommand = [\"sh\", \"-c\", \"echo start >> {0}; sleep 0.3; echo end >> {0}; echo 1\"]\nconcurrency = 1\n",
                log.display()
            ),
            dir.path(),
        ));
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let f = f.clone();
                tokio::spawn(async move { f.call("one", None, b"{}", None).await })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap().unwrap(), Reply::Ok(b"1".to_vec()));
        }
        let lines = std::fs::read_to_string(&log).unwrap();
        assert_eq!(lines, "start\nend\n".repeat(3), "calls never overlapped");
    }
}
