//! `passo events put`, `passo rules list` and `passo schedules list`: the event bus and the
//! schedules of a running `passo server`, from the command line (the aws CLI does the same
//! with `--endpoint-url`; these are shorter, and print tables).

use crate::client::{Client, EVENTS, PASSO};
use serde_json::{json, Value};
use std::process::ExitCode;

const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8083";

#[derive(clap::Args)]
pub struct EventsArgs {
    #[command(subcommand)]
    action: EventsAction,
    /// The server.
    #[arg(long, global = true, default_value = DEFAULT_ENDPOINT, value_name = "URL")]
    endpoint_url: String,
}

#[derive(clap::Subcommand)]
enum EventsAction {
    /// Put one event on a bus (PutEvents), or every entry of a file; prints each event's id.
    /// Exit 1 when an entry was refused.
    #[command(after_help = "Examples:\n  \
        passo events put --source shop.orders --detail-type 'Order Placed' --detail '{\"id\": 42}'\n  \
        passo events put --bus orders --source shop --detail-type Refund --detail-file refund.json\n  \
        passo events put --entries entries.json      # PutEvents' Entries: a JSON array")]
    Put {
        /// The bus (name or ARN).
        #[arg(long, default_value = "default")]
        bus: String,
        /// Who sent it (the event's `source`, what rules match on first).
        #[arg(long, required_unless_present = "entries")]
        source: Option<String>,
        /// What happened (the event's `detail-type`).
        #[arg(long, required_unless_present = "entries")]
        detail_type: Option<String>,
        /// The event's detail: a JSON object.
        #[arg(long, conflicts_with = "detail_file")]
        detail: Option<String>,
        /// The detail, read from a file.
        #[arg(long, value_name = "FILE")]
        detail_file: Option<std::path::PathBuf>,
        /// ARNs the event is about (repeatable).
        #[arg(long = "resource", value_name = "ARN")]
        resources: Vec<String>,
        /// PutEvents' Entries as a JSON array (`-`: standard input); replaces the flags above.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "detail_type", "detail", "detail_file"])]
        entries: Option<String>,
    },
}

#[derive(clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    action: RulesAction,
    #[arg(long, global = true, default_value = DEFAULT_ENDPOINT, value_name = "URL")]
    endpoint_url: String,
}

#[derive(clap::Subcommand)]
enum RulesAction {
    /// Every rule (of one bus, or of all) with its pattern or schedule and its targets.
    List {
        /// Only this bus's rules.
        #[arg(long)]
        bus: Option<String>,
        /// Print ListRules' and ListTargetsByRule's answers as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct SchedulesArgs {
    #[command(subcommand)]
    action: SchedulesAction,
    #[arg(long, global = true, default_value = DEFAULT_ENDPOINT, value_name = "URL")]
    endpoint_url: String,
}

#[derive(clap::Subcommand)]
enum SchedulesAction {
    /// Every schedule (rules with a ScheduleExpression and EventBridge Scheduler's
    /// schedules) with when it last fired and when it fires next.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn fail(e: String) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(1)
}

pub fn events_main(a: EventsArgs) -> ExitCode {
    let EventsAction::Put {
        bus,
        source,
        detail_type,
        detail,
        detail_file,
        resources,
        entries,
    } = a.action;
    let entries = match entries {
        Some(file) => match read_entries(&file) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => {
            let detail = match (detail, detail_file) {
                (Some(d), _) => d,
                (None, Some(f)) => match std::fs::read_to_string(&f) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: {}: {e}", f.display());
                        return ExitCode::from(2);
                    }
                },
                (None, None) => "{}".to_string(),
            };
            if !serde_json::from_str::<Value>(&detail).is_ok_and(|v| v.is_object()) {
                eprintln!("error: --detail must be a JSON object");
                return ExitCode::from(2);
            }
            vec![json!({
                "EventBusName": bus,
                "Source": source,
                "DetailType": detail_type,
                "Detail": detail,
                "Resources": resources,
            })]
        }
    };
    let client = match Client::new(&a.endpoint_url) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let mut refused = 0;
    // PutEvents takes at most 10 entries a call.
    for chunk in entries.chunks(10) {
        let out = match client.json(EVENTS, "PutEvents", &json!({"Entries": chunk})) {
            Ok(v) => v,
            Err(e) => return fail(e),
        };
        for r in out["Entries"].as_array().into_iter().flatten() {
            match r["EventId"].as_str() {
                Some(id) => outln!("{id}"),
                None => {
                    refused += 1;
                    eprintln!(
                        "refused: {}: {}",
                        r["ErrorCode"].as_str().unwrap_or("Error"),
                        r["ErrorMessage"].as_str().unwrap_or_default()
                    );
                }
            }
        }
    }
    if refused > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn read_entries(file: &str) -> Result<Vec<Value>, String> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(a)) if !a.is_empty() => Ok(a),
        Ok(Value::Object(o)) if o.contains_key("Entries") => match &o["Entries"] {
            Value::Array(a) if !a.is_empty() => Ok(a.clone()),
            _ => Err(format!("{file}: Entries must be a non-empty array")),
        },
        Ok(_) => Err(format!(
            "{file}: expected a JSON array of entries (or {{\"Entries\": [...]}})"
        )),
        Err(e) => Err(format!("{file}: {e}")),
    }
}

/// Every page of a listing: `key`'s items, following NextToken.
fn all_pages(c: &Client, action: &str, req: Value, key: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut req = req;
    loop {
        let page = c.json(EVENTS, action, &req)?;
        out.extend(page[key].as_array().cloned().unwrap_or_default());
        match page["NextToken"].as_str() {
            Some(t) => req["NextToken"] = t.into(),
            None => return Ok(out),
        }
    }
}

pub fn rules_main(a: RulesArgs) -> ExitCode {
    let RulesAction::List { bus, json } = a.action;
    let client = match Client::new(&a.endpoint_url) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let buses: Vec<String> = match bus {
        Some(b) => vec![b],
        None => match all_pages(&client, "ListEventBuses", json!({}), "EventBuses") {
            Ok(b) => b
                .iter()
                .filter_map(|b| b["Name"].as_str().map(String::from))
                .collect(),
            Err(e) => return fail(e),
        },
    };
    let mut rows = Vec::new();
    for bus in buses {
        let rules = match all_pages(&client, "ListRules", json!({"EventBusName": bus}), "Rules") {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        for mut rule in rules {
            let req = json!({"Rule": rule["Name"], "EventBusName": bus});
            match all_pages(&client, "ListTargetsByRule", req, "Targets") {
                Ok(t) => rule["Targets"] = Value::Array(t),
                Err(e) => return fail(e),
            }
            rule["EventBusName"] = bus.clone().into();
            rows.push(rule);
        }
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"Rules": rows})).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let trigger = r["ScheduleExpression"]
                .as_str()
                .map(String::from)
                .or_else(|| r["EventPattern"].as_str().map(compact))
                .unwrap_or_default();
            let targets: Vec<&str> = r["Targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["Arn"].as_str())
                .collect();
            vec![
                text(&r["EventBusName"]),
                text(&r["Name"]),
                text(&r["State"]),
                trigger,
                targets.join(", "),
            ]
        })
        .collect();
    print_table(
        &["BUS", "RULE", "STATE", "PATTERN / SCHEDULE", "TARGETS"],
        &table,
    );
    ExitCode::SUCCESS
}

pub fn schedules_main(a: SchedulesArgs) -> ExitCode {
    let SchedulesAction::List { json } = a.action;
    let out = match Client::new(&a.endpoint_url)
        .and_then(|c| c.json(PASSO, "ListSchedules", &json!({})))
    {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let table: Vec<Vec<String>> = out["schedules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let targets: Vec<&str> = s["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut expr = text(&s["expression"]);
            if s["timezone"] != "UTC" {
                expr = format!("{expr} {}", text(&s["timezone"]));
            }
            vec![
                format!(
                    "{} {}/{}",
                    text(&s["kind"]),
                    text(&s["group"]),
                    text(&s["name"])
                ),
                expr,
                text(&s["state"]),
                or_dash(&s["lastFired"]),
                or_dash(&s["nextFire"]),
                targets.join(", "),
            ]
        })
        .collect();
    print_table(
        &[
            "SCHEDULE",
            "EXPRESSION",
            "STATE",
            "LAST FIRED",
            "NEXT",
            "TARGET",
        ],
        &table,
    );
    ExitCode::SUCCESS
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn or_dash(v: &Value) -> String {
    v.as_str().unwrap_or("-").to_string()
}

/// An event pattern on one line.
fn compact(pattern: &str) -> String {
    serde_json::from_str::<Value>(pattern).map_or_else(|_| pattern.to_string(), |v| v.to_string())
}

fn print_table(head: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        outln!("(none)");
        return;
    }
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i < last {
                s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s
    };
    outln!("{}", line(head.to_vec()));
    for r in rows {
        outln!("{}", line(r.iter().map(String::as_str).collect()));
    }
}
