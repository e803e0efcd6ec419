//! What the conformance tests share: the snapshot's normalisation of actual values, and the
//! comparison of a run with a recorded case (outcome and history).
#![allow(dead_code)]

use passo_engine::driver::Run;
use passo_engine::ExecutionInfo;
use regex::Regex;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/asl");
    p.exists().then_some(p)
}

/// The execution's names, as the case recorded them.
pub fn info_for(case: &Value) -> ExecutionInfo {
    let env = &case["environment"];
    let account = env["account_id"].as_str().unwrap_or("000000000000");
    let region = env["region"].as_str().unwrap_or("us-east-1");
    let sm = env["state_machine_name"].as_str().unwrap_or("sm");
    let ex = env["execution_name"].as_str().unwrap_or("ex");
    ExecutionInfo {
        execution_arn: format!("arn:aws:states:{region}:{account}:execution:{sm}:{ex}"),
        execution_name: ex.to_string(),
        state_machine_arn: format!("arn:aws:states:{region}:{account}:stateMachine:{sm}"),
        state_machine_name: sm.to_string(),
        role_arn: env["role_arn"].as_str().unwrap_or_default().to_string(),
        start_time_ms: 1_700_000_000_000,
        seed: 42,
        payload_limit: 262_144,
        max_history_events: 25_000,
        max_duration_seconds: None,
        token_secret: Arc::from(&b"conformance"[..]),
    }
}

/// The case's input (null: AWS's `{}`).
pub fn input_of(case: &Value) -> Value {
    if case["input"].is_null() {
        Value::Object(Map::new())
    } else {
        case["input"].clone()
    }
}

/// Numbers compare by value; objects by their members regardless of order.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            if is_headers(x) && is_headers(y) {
                // HTTP header names are case-insensitive, and AWS's own answers spell them
                // both ways (DynamoDB's `x-amzn-RequestId` and `x-amzn-requestid`).
                same_members(&lower_keys(x), &lower_keys(y))
            } else if x.contains_key("ExecutionArn") && x.contains_key("SdkHttpMetadata") {
                same_members(&without_length(x), &without_length(y))
            } else {
                same_members(x, y)
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        // An HTTP Date header is the wall-clock time of the recorded call. Recordings made
        // before their `$..Date` rule was in force show it raw: any two HTTP dates match.
        (Value::String(x), Value::String(y)) if is_http_date(x) && is_http_date(y) => true,
        // A payload kept as JSON text on one side (or with other spacing) compares by value.
        // sqs_api's resource-name transformer cannot be reproduced (it ran before the
        // other replacements): such fields compare loosely, as the corpus README says.
        (Value::String(_), Value::String(y)) if y.contains("<resource:") => true,
        (Value::String(x), Value::String(y)) if x != y => {
            match (
                serde_json::from_str::<Value>(x),
                serde_json::from_str::<Value>(y),
            ) {
                (Ok(p), Ok(q)) if !p.is_string() || !q.is_string() => same(&p, &q),
                _ => false,
            }
        }
        (Value::String(x), other) | (other, Value::String(x)) if !other.is_string() => {
            serde_json::from_str::<Value>(x).is_ok_and(|p| same(&p, other))
        }
        _ => a == b,
    }
}

/// Whether an object is a map of HTTP headers (an SDK's `HttpHeaders`).
fn is_headers(m: &Map<String, Value>) -> bool {
    m.keys().any(|k| k.eq_ignore_ascii_case("content-type"))
}

/// Header names lower-cased, and with them a value the snapshot replaced by its header's
/// name (`"x-amzn-RequestId": "x-amzn-RequestId"`).
fn lower_keys(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) if s.eq_ignore_ascii_case(k) => {
                    Value::String(s.to_ascii_lowercase())
                }
                other => other.clone(),
            };
            (k.to_ascii_lowercase(), v)
        })
        .collect()
}

/// An RFC 7231 date as HTTP headers carry it: "Tue, 14 Nov 2023 22:13:20 GMT".
fn is_http_date(s: &str) -> bool {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$",
        )
        .unwrap()
    })
    .is_match(s)
}

/// Every string value (not key) in `v`, also inside JSON text.
fn string_values(v: &Value, out: &mut std::collections::HashSet<String>) {
    match v {
        Value::String(s) => {
            if s.starts_with('{') || s.starts_with('[') {
                if let Ok(p) = serde_json::from_str::<Value>(s) {
                    string_values(&p, out);
                }
            }
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| string_values(x, out)),
        Value::Object(m) => m.values().for_each(|x| string_values(x, out)),
        _ => {}
    }
}

/// Objects with the same members (values compared by `same`).
fn same_members(x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    // DescribeExecution gained the Redrive* fields after the 2023 recordings: an older
    // expectation without them does not ask for them.
    let newer =
        |k: &str| k.starts_with("Redrive") && x.contains_key("ExecutionArn") && !y.contains_key(k);
    // Likewise the context object's Execution gained RedriveCount with redrive (Nov 2023):
    // the 2023 recordings of `$$.Execution` do not show it.
    let context_execution = x.contains_key("RoleArn") && x.contains_key("StartTime");
    let newer =
        |k: &str| newer(k) || (k == "RedriveCount" && context_execution && !y.contains_key(k));
    let x: Vec<(&String, &Value)> = x.iter().filter(|(k, _)| !newer(k)).collect();
    x.len() == y.len() && x.iter().all(|(k, v)| y.get(*k).is_some_and(|w| same(v, w)))
}

/// A StartExecution response without its Content-Length, which counts AWS's startDate digits
/// (a Java double with microseconds) that no replay reproduces.
fn without_length(o: &Map<String, Value>) -> Map<String, Value> {
    let mut o = o.clone();
    for h in ["AllHttpHeaders", "HttpHeaders"] {
        if let Some(Value::Object(m)) = o.get_mut("SdkHttpMetadata").and_then(|s| s.get_mut(h)) {
            m.remove("Content-Length");
        }
    }
    o
}

pub struct Normalizer {
    /// Values replaced wherever they occur, with their label: UUIDs seen under an `...id`
    /// key, and the values of reference keys (see `collect_ids`).
    pub known: std::cell::RefCell<Vec<(String, String)>>,
    /// The ids of the run's Map Runs, replaced wherever they occur.
    pub map_run_ids: std::cell::RefCell<Vec<String>>,
    /// Keys whose values are replaced by reference (`$..TaskToken` with reference: true,
    /// `key_value` entries): key -> label.
    ref_keys: Vec<(String, String)>,
    /// In-place replacements from `$..key` and `$..parent.key` paths: (parent, key,
    /// replacement).
    keys: Vec<(Option<String>, String, String)>,
    literal: Vec<(String, String)>,
    regexes: Vec<(Regex, String)>,
    iso: Regex,
    uuid: Regex,
    cause_json: Regex,
    /// The definition's Map `Label`s: a Map Run's ARN names its label where it would
    /// otherwise have a generated part, and the recorder left it as it was.
    labels: Vec<String>,
}

/// Every `Label` string in a definition.
fn labels_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("Label", Value::String(l)) => out.push(l.clone()),
                    _ => labels_of(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| labels_of(x, out)),
        _ => {}
    }
}

impl Normalizer {
    pub fn new(case: &Value) -> Normalizer {
        let mut literal = Vec::new();
        let mut regexes = Vec::new();
        let mut keys = Vec::new();
        let mut ref_keys = Vec::new();
        for n in case["normalize"].as_array().into_iter().flatten() {
            let replacement = n["replacement"].as_str().unwrap_or_default();
            if n["type"] == "jsonpath" && n["reference"] == true {
                let path = n["path"].as_str().unwrap_or_default();
                if let Some(key) = path.strip_prefix("$..").filter(|k| !k.contains(['.', '['])) {
                    ref_keys.push((key.to_string(), replacement.to_string()));
                }
                // `$..output.ExecutionArn`: the key under one named parent; the key alone is
                // matched (no other parent holds a key of that spelling in these cases).
                if let Some((_, key)) = path
                    .strip_prefix("$..")
                    .and_then(|k| k.split_once('.'))
                    .filter(|(p, k)| !p.contains(['.', '[']) && !k.contains(['.', '[']))
                {
                    ref_keys.push((key.to_string(), replacement.to_string()));
                }
            }
            if n["type"] == "key_value" {
                let key = n["key"].as_str().unwrap_or_default();
                ref_keys.push((key.to_string(), kebab(replacement)));
            }
            // LocalStack's `sqs_api()` transformers include `key_value("SequenceNumber")`
            // (a reference: `<sequence-number:N>`); the case lists the builtin, not its parts.
            if n["type"] == "builtin" && n["name"] == "sqs_api" {
                ref_keys.push(("SequenceNumber".into(), "sequence-number".into()));
            }
            if n["type"] == "jsonpath" && n["reference"] == false {
                let path = n["path"].as_str().unwrap_or_default();
                let last = path.rsplit("..").next().unwrap_or_default();
                let (parent, key) = match last.split_once('.') {
                    Some((p, k)) => (Some(p.to_string()), k),
                    None => (None, last),
                };
                if !key.contains(['.', '[', '$']) && path.starts_with("$..") {
                    keys.push((
                        parent,
                        key.to_string(),
                        n["replacement"].as_str().unwrap_or_default().to_string(),
                    ));
                }
            }
            if n["type"] == "regex" {
                let pat = n["pattern"].as_str().unwrap_or_default().to_string();
                let rep = n["replacement"].as_str().unwrap_or_default().to_string();
                if pat.chars().any(|c| "[]()*+?\\^$|{}".contains(c)) {
                    if let Ok(r) = Regex::new(&pat) {
                        regexes.push((r, rep));
                    }
                } else {
                    literal.push((pat, rep));
                }
            }
        }
        // The rules were read from the recording tests' current code; a snapshot recorded
        // before a rule was added does not show its replacement: such a rule was not in
        // effect then.
        let mut shown = std::collections::HashSet::new();
        string_values(&case["expected"], &mut shown);
        string_values(&case["expected_history"], &mut shown);
        keys.retain(|(_, _, r)| shown.contains(r.as_str()));
        Normalizer {
            known: Default::default(),
            map_run_ids: Default::default(),
            ref_keys,
            keys,
            literal,
            regexes,
            iso: Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
                .unwrap(),
            uuid: Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
                .unwrap(),
            cause_json: Regex::new(r"'(\{.*\})'").unwrap(),
            labels: {
                let mut l = Vec::new();
                labels_of(&case["definition"], &mut l);
                l
            },
        }
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        // Map Run ids were replaced by the recorder with these placeholders.
        if let Some(i) = out.find(":mapRun:") {
            if let Some(slash) = out[i..].find('/') {
                let rest = &out[i + slash + 1..];
                let part0 = rest.split(':').next().unwrap_or_default();
                let part0 = if self.labels.iter().any(|l| l == part0) {
                    part0.to_string()
                } else {
                    "<MapRunArnPart0_0idx>".to_string()
                };
                out = format!("{}/{part0}:<MapRunArnPart1_0idx>", &out[..i + slash]);
            }
        }
        for id in self.map_run_ids.borrow().iter() {
            out = out.replace(id.as_str(), "<MapRunArnPart1_0idx>");
        }
        for (p, r) in &self.literal {
            out = out.replace(p.as_str(), r);
        }
        out
    }

    /// The case's regex rules. LocalStack's RegexTransformer ran on the serialised snapshot,
    /// before the UUID replacements: its patterns see a string JSON-escaped (`\"` for `"`)
    /// and its UUIDs still raw.
    fn regex_rules(&self, s: String) -> String {
        if self.regexes.is_empty() {
            return s;
        }
        let escaped = serde_json::to_string(&s).unwrap();
        let inner = &escaped[1..escaped.len() - 1];
        let mut out = inner.to_string();
        for (p, r) in &self.regexes {
            out = p.replace_all(&out, r.as_str()).into_owned();
        }
        if out == inner {
            return s;
        }
        serde_json::from_str(&format!("\"{out}\"")).unwrap_or(s)
    }

    /// Registers the UUIDs held by keys ending in "id" (in JSON text too), as the snapshot's
    /// `uuid_in_id_keys` collected them before replacing them everywhere.
    pub fn collect_ids(&self, v: &Value, key: &str) {
        match v {
            Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
                if let Ok(p) = serde_json::from_str::<Value>(s) {
                    self.collect_ids(&p, key);
                }
            }
            Value::String(s) => {
                // The case's own reference rules (LocalStack's jsonpath transformers) come
                // before the generic UUID-in-id-keys rule in the snapshot's list.
                let label = self
                    .ref_keys
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, l)| l.clone())
                    .or_else(|| {
                        (key.to_ascii_lowercase().ends_with("id") && self.uuid.is_match(s))
                            .then(|| "uuid".to_string())
                    });
                if let Some(label) = label {
                    let mut k = self.known.borrow_mut();
                    if !k.iter().any(|(v, _)| v == s) {
                        k.push((s.clone(), label));
                    }
                }
            }
            Value::Object(m) => m.iter().for_each(|(k, x)| self.collect_ids(x, k)),
            Value::Array(a) => a.iter().for_each(|x| self.collect_ids(x, key)),
            _ => {}
        }
    }

    /// Applies the snapshot's transformations to an actual value.
    pub fn value(
        &self,
        v: &Value,
        key: &str,
        uuids: &mut Vec<String>,
        inputs: &mut Vec<String>,
    ) -> Value {
        match v {
            Value::String(s) => {
                let mut s = s.clone();
                if key == "cause" {
                    if let Some(c) = self.cause_json.captures(&s) {
                        let j = c[1].to_string();
                        let n = position(inputs, &j);
                        s = s.replace(&format!("'{j}'"), &format!("'<json-input:{n}>'"));
                    }
                }
                if self.iso.is_match(&s) {
                    return Value::String("date".into());
                }
                let mut s = self.regex_rules(s);
                // The snapshot replaced every occurrence of a collected value, also inside
                // text (a Lambda error's cause carries its requestId; a message its token).
                for (known, label) in self.known.borrow().iter() {
                    if s.contains(known.as_str()) {
                        let n = label_position(uuids, label, known);
                        s = s.replace(known.as_str(), &format!("<{label}:{n}>"));
                    }
                }
                Value::String(self.text(&s))
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let rule = self.keys.iter().find(|(parent, rk, _)| {
                            rk == k && parent.as_deref().is_none_or(|p| p == key)
                        });
                        if let Some((_, _, r)) = rule {
                            return (k.clone(), Value::String(r.clone()));
                        }

                        if k.to_ascii_lowercase().contains("timestamp")
                            && !x.is_object()
                            && !x.is_array()
                        {
                            return (k.clone(), Value::String("timestamp".into()));
                        }
                        (k.clone(), self.value(x, k, uuids, inputs))
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.value(x, key, uuids, inputs))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// LocalStack's label for a key_value replacement: "MD5OfMessageBody" -> "m-d5-of-message-body".
fn kebab(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The number of `value` among the values of its label, in order of first sight.
fn label_position(list: &mut Vec<String>, label: &str, value: &str) -> usize {
    let key = format!("{label}\u{0}{value}");
    position(list, &key);
    let prefix = format!("{label}\u{0}");
    let at = list.iter().position(|x| *x == key).unwrap_or(0);
    list[..=at]
        .iter()
        .filter(|x| x.starts_with(&prefix))
        .count()
}

fn position(list: &mut Vec<String>, s: &str) -> usize {
    match list.iter().position(|x| x == s) {
        Some(i) => i + 1,
        None => {
            list.push(s.to_string());
            list.len()
        }
    }
}

/// As the snapshot tool did: every string that starts with `{` is parsed as JSON.
pub fn parse_braced(v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with('{') => serde_json::from_str::<Value>(s)
            .map(|x| parse_braced(&x))
            .unwrap_or_else(|_| v.clone()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), parse_braced(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(parse_braced).collect()),
        other => other.clone(),
    }
}

/// A value's JSON text with object keys in order, so that equal values sort alike.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The events between ParallelStateStarted and the Parallel's end, as a sorted multiset.
pub fn sort_parallel(events: &mut Vec<Value>) {
    let mut i = 0;
    while i < events.len() {
        if events[i]["type"] == "ParallelStateStarted" {
            // The recording's normaliser drops the Parallel's own end event (Succeeded or
            // Failed): the recorded ids skip it.
            let ends = |e: &Value| {
                e["type"] == "ParallelStateSucceeded" || e["type"] == "ParallelStateFailed"
            };
            if let Some(j) = (i + 1..events.len())
                .find(|&j| ends(&events[j]) || events[j]["type"] == "ParallelStateExited")
            {
                let end = if ends(&events[j]) { j + 1 } else { j };
                let mut region: Vec<Value> = events[i + 1..end]
                    .iter()
                    .filter(|e| !ends(e))
                    .map(|e| {
                        let mut e = e.clone();
                        e["id"] = Value::from(0);
                        e["previousEventId"] = Value::from(0);
                        e
                    })
                    .collect();
                region.sort_by_cached_key(canonical);
                events.splice(i + 1..end, region);
            }
        }
        i += 1;
    }
}

/// AWS changed which event a Distributed Map's MapStateExited follows: recordings before
/// 2024-11 point at its MapRunSucceeded, later ones at its MapRunStarted. Both sides are
/// brought to the later form so that either recording compares.
fn map_exit_after_run_start(events: &mut [Value]) {
    let prev_of = |events: &[Value], id: &Value, ty: &str| {
        events
            .iter()
            .find(|e| e["id"] == *id && e["type"] == ty)
            .map(|e| e["previousEventId"].clone())
    };
    for i in 0..events.len() {
        if events[i]["type"] != "MapStateExited" {
            continue;
        }
        let Some(started) = prev_of(events, &events[i]["previousEventId"], "MapRunSucceeded")
        else {
            continue;
        };
        if events
            .iter()
            .any(|e| e["id"] == started && e["type"] == "MapRunStarted")
        {
            events[i]["previousEventId"] = started;
        }
    }
}

/// `v` with its `<label:N>` placeholders numbered per label in the order `seen` met them.
fn renumber(v: &Value, seen: &mut HashMap<String, HashMap<String, usize>>) -> Value {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"<([A-Za-z][A-Za-z0-9_\-]*):(\d+)>").unwrap());
    match v {
        Value::String(s) => Value::String(
            re.replace_all(s, |c: &regex::Captures| {
                let numbers = seen.entry(c[1].to_string()).or_default();
                let next = numbers.len() + 1;
                let n = *numbers.entry(c[2].to_string()).or_insert(next);
                format!("<{}:{n}>", &c[1])
            })
            .into_owned(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| renumber(x, seen)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), renumber(x, seen)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Compares a run with the case's expected outcome and (when recorded) history: (outcome
/// matches, history matches, why not).
pub fn compare(case: &Value, run: &Run, verbose: bool) -> (bool, Option<bool>, String) {
    // A snapshot numbers each label's values in the order it meets them, and one snapshot
    // can hold several executions (or other calls' responses) whose numbers run on. The
    // numbering only says which values are the same: renumber the expectation as the actual
    // side is numbered, history first, then the outcome.
    let mut seen = HashMap::new();
    let exp_history = case["expected_history"]
        .as_array()
        .map(|h| h.iter().map(|e| renumber(e, &mut seen)).collect::<Vec<_>>());
    let expected = &renumber(&case["expected"], &mut seen);
    let norm = Normalizer::new(case);
    for e in &run.history {
        norm.collect_ids(&e.to_json(), "");
    }
    if let Some(o) = &run.outcome.output {
        norm.collect_ids(o, "output");
    }
    // A Map Run's id shows up outside its ARN too (a ResultWriter's keys): the recorder
    // replaced it wherever it occurred.
    for e in &run.history {
        let j = e.to_json();
        if let Some(arn) = j["mapRunStartedEventDetails"]["mapRunArn"].as_str() {
            let id = arn.rsplit(':').next().unwrap_or_default().to_string();
            norm.map_run_ids.borrow_mut().push(id);
        }
    }
    // The history first: the snapshot numbered UUIDs in the order it met them there.
    let mut uuids = Vec::new();
    let mut inputs = Vec::new();
    let history: Vec<Value> = run
        .history
        .iter()
        .map(|e| {
            let mut j = e.to_json();
            j.as_object_mut().unwrap().remove("timestamp");
            norm.value(&parse_braced(&j), "", &mut uuids, &mut inputs)
        })
        .collect();
    let mut inputs = Vec::new();
    let o = &run.outcome;
    let mut why = String::new();
    let mut outcome_ok = o.status.as_str() == expected["status"];
    if !outcome_ok {
        why = format!(
            "status {} != {} ({:?} {:?})",
            o.status.as_str(),
            expected["status"],
            o.error,
            o.cause
        );
    } else if expected["status"] == "SUCCEEDED" {
        // The recorded output is the ExecutionSucceeded event's: normalised where it sat, so
        // that `$..executionSucceededEventDetails.output` rules apply to it.
        let out = o.output.clone().unwrap_or(Value::Null);
        let actual = norm.value(
            &json!({ "executionSucceededEventDetails": { "output": out } }),
            "",
            &mut uuids,
            &mut inputs,
        )["executionSucceededEventDetails"]["output"]
            .clone();
        if !same(&actual, &expected["output"]) {
            outcome_ok = false;
            why = format!("output {} != {}", actual, expected["output"]);
        }
    } else if expected["status"] == "FAILED" {
        let err = o.error.clone().map(Value::String).unwrap_or(Value::Null);
        let cause = o.cause.clone().map(Value::String).unwrap_or(Value::Null);
        let cause = parse_braced(&json!({ "cause": cause }))["cause"].clone();
        let cause = norm.value(&cause, "cause", &mut uuids, &mut inputs);
        let exp_cause = expected.get("cause").cloned().unwrap_or(Value::Null);
        let exp_err = expected.get("error").cloned().unwrap_or(Value::Null);
        if err != exp_err || !same(&cause, &exp_cause) {
            outcome_ok = false;
            why = format!("error/cause {err} {cause} != {exp_err} {exp_cause}");
        }
    }
    let history_ok = exp_history.as_ref().map(|exp| {
        let mut actual = history.clone();
        let mut exp = exp.clone();
        let sort = case["normalize"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["name"] == "parallel_events_sort");
        map_exit_after_run_start(&mut actual);
        map_exit_after_run_start(&mut exp);
        if sort {
            sort_parallel(&mut actual);
            sort_parallel(&mut exp);
        }
        if actual.len() != exp.len() {
            if why.is_empty() {
                why = format!(
                    "history has {} events, expected {}",
                    actual.len(),
                    exp.len()
                );
            }
            if verbose {
                for (i, e) in actual.iter().enumerate() {
                    println!("  actual[{i}] {e}");
                }
                for (i, e) in exp.iter().enumerate() {
                    println!("  expect[{i}] {e}");
                }
            }
            return false;
        }
        for (a, e) in actual.iter().zip(&exp) {
            if !same(a, e) {
                if why.is_empty() {
                    why = format!("event differs:\n    actual   {a}\n    expected {e}");
                }
                return false;
            }
        }
        true
    });
    if verbose {
        println!("{} {}", case["id"], why);
    }
    (outcome_ok, history_ok, why)
}
