//! PutEvents: entries checked as EventBridge checks them (each failing alone, with its
//! ErrorCode and ErrorMessage), turned into events, matched, and their deliveries committed
//! before the answer. TestEventPattern lives here too: it matches one given event.

use super::delivery::Received;
use super::error::EventsError;
use super::names;
use crate::runtime::{now_ms, Runtime};
use passo_store::{DeliveryRow, Write};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Most entries in one PutEvents request.
const MAX_ENTRIES: usize = 10;
/// Most bytes all entries of a request may hold, counted as AWS counts them.
const MAX_BYTES: usize = 256 * 1024;

/// Event times as events carry them (`2015-11-11T21:29:54Z`).
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// An entry's size as AWS's "Calculating PutEvents event entry size" counts it: the UTF-8
/// bytes of Source, DetailType, Detail and each Resource, plus 14 for a Time.
fn entry_size(e: &Value) -> usize {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map_or(0, str::len);
    let resources: usize = e.get("Resources").and_then(Value::as_array).map_or(0, |r| {
        r.iter().filter_map(Value::as_str).map(str::len).sum()
    });
    let time = if e.get("Time").is_some_and(|t| !t.is_null()) {
        14
    } else {
        0
    };
    s("Source") + s("DetailType") + s("Detail") + resources + time
}

/// The time an entry gives (epoch seconds, as the JSON protocols send timestamps, or ISO
/// 8601 text), else now.
fn entry_time(e: &Value, now: i64) -> i64 {
    match e.get("Time") {
        Some(Value::Number(n)) => n.as_f64().map_or(now, |s| (s * 1000.0) as i64),
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .unwrap_or(now),
        _ => now,
    }
}

fn refused(code: &str, message: &str) -> Value {
    json!({"ErrorCode": code, "ErrorMessage": message})
}

/// One entry as an event on its bus, or its per-entry error.
fn event_of(rt: &Runtime, e: &Value, now: i64) -> Result<(String, Value), Value> {
    let text = |k: &str| e.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let required = |k: &str| {
        refused(
            "InvalidArgument",
            &format!("Parameter {k} is not valid. Reason: {k} is a required argument."),
        )
    };
    let source = text("Source").ok_or_else(|| required("Source"))?;
    let detail_type = text("DetailType").ok_or_else(|| required("DetailType"))?;
    let detail = text("Detail").ok_or_else(|| required("Detail"))?;
    if source.starts_with("aws.") {
        return Err(refused(
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        ));
    }
    let detail: Map<String, Value> = serde_json::from_str(detail)
        .map_err(|_| refused("MalformedDetail", "Detail is malformed."))?;
    let bus = names::bus_of(&rt.cfg.realm, text("EventBusName"))
        .map_err(|err| refused(err.code(), &err.to_string()))?;
    if rt.bus.bus(&bus).is_none() {
        return Err(refused(
            "ResourceNotFoundException",
            &format!("Event bus {bus} does not exist."),
        ));
    }
    let resources: Vec<Value> =
        match e.get("Resources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(r)) if r.iter().all(Value::is_string) => r.clone(),
            Some(_) => return Err(refused(
                "InvalidArgument",
                "Parameter Resources is not valid. Reason: Resources must be a list of strings.",
            )),
        };
    let event = json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": source,
        "account": rt.cfg.realm.account,
        "time": iso(entry_time(e, now)),
        "region": rt.cfg.realm.region,
        "resources": resources,
        "detail": detail,
    });
    Ok((bus, event))
}

/// PutEvents: the answer with an EventId or an error per entry, in order.
pub async fn put_events(rt: &Arc<Runtime>, req: &Value) -> Result<Value, EventsError> {
    let entries = match req.get("Entries") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(EventsError::Validation("Entries must be a list".into())),
        None => return Err(EventsError::missing("entries")),
    };
    if entries.is_empty() {
        return Err(EventsError::constraint(
            "[]",
            "entries",
            "Member must have length greater than or equal to 1",
        ));
    }
    if entries.len() > MAX_ENTRIES {
        return Err(EventsError::constraint(
            "[PutEventsRequestEntry]",
            "entries",
            "Member must have length less than or equal to 10",
        ));
    }
    if entries.iter().map(entry_size).sum::<usize>() > MAX_BYTES {
        return Err(EventsError::Validation(
            "Total size of the entries in the request is over the limit.".into(),
        ));
    }
    let now = now_ms();
    let received = Received::at(rt, now);
    let mut answers = Vec::with_capacity(entries.len());
    let mut deliveries: Vec<DeliveryRow> = Vec::new();
    let mut failed = 0;
    for e in entries {
        match event_of(rt, e, now) {
            Ok((bus, event)) => {
                deliveries.extend(rt.bus.deliveries(&bus, &event, received));
                answers.push(json!({"EventId": event["id"]}));
            }
            Err(refusal) => {
                failed += 1;
                answers.push(refusal);
            }
        }
    }
    if !deliveries.is_empty() {
        // Committed before the answer: an accepted event reaches its targets even if the
        // server stops right after answering.
        let writes = deliveries
            .iter()
            .cloned()
            .map(Write::InsertDelivery)
            .collect();
        rt.db.write(writes).await?;
        rt.dispatch(deliveries);
    }
    Ok(json!({"FailedEntryCount": failed, "Entries": answers}))
}

/// The fields TestEventPattern's event must have.
const EVENT_FIELDS: [&str; 7] = [
    "id",
    "account",
    "source",
    "time",
    "region",
    "resources",
    "detail-type",
];

/// TestEventPattern: whether the event matches the pattern.
pub fn test_event_pattern(req: &Value) -> Result<Value, EventsError> {
    let pattern = req
        .get("EventPattern")
        .and_then(Value::as_str)
        .ok_or_else(|| EventsError::missing("eventPattern"))?;
    let event = req
        .get("Event")
        .and_then(Value::as_str)
        .ok_or_else(|| EventsError::missing("event"))?;
    let pattern = passo_events::Pattern::parse(pattern)
        .map_err(|e| EventsError::InvalidEventPattern(e.to_string()))?;
    let event: Value = serde_json::from_str(event)
        .map_err(|_| EventsError::Validation("Parameter Event is not valid.".into()))?;
    if let Some(missing) = EVENT_FIELDS.iter().find(|f| event.get(**f).is_none()) {
        return Err(EventsError::Validation(format!(
            "Parameter Event is not valid. Reason: Provided Event is missing required field {missing}."
        )));
    }
    Ok(json!({"Result": pattern.matches(&event)}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_counted_as_aws_counts_them() {
        let e = json!({"Source": "a", "DetailType": "bb", "Detail": "{}", "Resources": ["xyz"],
                       "Time": 1.0});
        assert_eq!(entry_size(&e), 1 + 2 + 2 + 3 + 14);
    }

    #[test]
    fn times_are_epoch_seconds_or_iso_text() {
        assert_eq!(
            entry_time(&json!({"Time": 1_447_277_394.5}), 0),
            1_447_277_394_500
        );
        assert_eq!(
            entry_time(&json!({"Time": "2015-11-11T21:29:54Z"}), 0),
            1_447_277_394_000
        );
        assert_eq!(entry_time(&json!({}), 7), 7);
        assert_eq!(iso(1_447_277_394_500), "2015-11-11T21:29:54Z");
    }

    #[test]
    fn test_event_pattern_wants_a_whole_event() {
        let event = json!({"id": "1", "account": "1", "source": "com.shop", "time": "t",
                           "region": "r", "resources": [], "detail-type": "d",
                           "detail": {"n": 5}})
        .to_string();
        let yes = test_event_pattern(
            &json!({"EventPattern": r#"{"detail": {"n": [{"numeric": [">", 3]}]}}"#, "Event": event}),
        );
        assert_eq!(yes.unwrap(), json!({"Result": true}));
        let bad =
            test_event_pattern(&json!({"EventPattern": r#"{"source": "x"}"#, "Event": event}));
        assert_eq!(bad.unwrap_err().code(), "InvalidEventPatternException");
        let partial = test_event_pattern(
            &json!({"EventPattern": r#"{"source": ["x"]}"#, "Event": r#"{"source": "x"}"#}),
        );
        assert_eq!(partial.unwrap_err().code(), "ValidationException");
    }
}
