//! Timestamps on the wire: each protocol and location has a default form (epoch seconds in
//! JSON bodies, ISO 8601 in XML, query strings and URIs, an HTTP date in headers) that a
//! member's `timestampFormat` can override. A Task gives a timestamp as epoch seconds (a
//! number) or as text (ISO 8601, or an HTTP date); text that is neither goes as written.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    EpochSeconds,
    Iso8601,
    /// RFC 7231's HTTP date (`Tue, 29 Apr 2014 18:30:38 GMT`), botocore's `rfc822`.
    HttpDate,
}

impl Format {
    /// The shape's own `timestampFormat`, if it has one.
    pub fn of(shape: &Value) -> Option<Format> {
        match shape["timestampFormat"].as_str()? {
            "unixTimestamp" => Some(Format::EpochSeconds),
            "iso8601" => Some(Format::Iso8601),
            "rfc822" => Some(Format::HttpDate),
            _ => None,
        }
    }
}

/// The instant a Task's value names.
pub fn parse(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => {
            let secs = n.as_f64()?;
            let whole = secs.floor();
            let nanos = ((secs - whole) * 1e9).round() as u32;
            Utc.timestamp_opt(whole as i64, nanos.min(999_999_999))
                .single()
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_rfc2822(s))
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| s.parse::<f64>().ok().and_then(|f| parse(&Value::from(f)))),
        _ => None,
    }
}

/// `v` as text in `format`; None when `v` names no instant.
pub fn format(v: &Value, format: Format) -> Option<String> {
    let t = parse(v)?;
    Some(match format {
        Format::EpochSeconds => epoch(t).to_string(),
        Format::Iso8601 => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        Format::HttpDate => t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
    })
}

/// Epoch seconds as JSON: whole seconds as an integer, else a fraction.
pub fn epoch_value(v: &Value) -> Option<Value> {
    parse(v).map(epoch)
}

fn epoch(t: DateTime<Utc>) -> Value {
    let millis = t.timestamp_millis();
    if millis % 1000 == 0 {
        Value::from(millis / 1000)
    } else {
        Value::from(millis as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instants_convert_between_the_wire_forms() {
        let iso = json!("2014-04-29T18:30:38Z");
        assert_eq!(format(&iso, Format::EpochSeconds).unwrap(), "1398796238");
        assert_eq!(
            format(&json!(1398796238), Format::HttpDate).unwrap(),
            "Tue, 29 Apr 2014 18:30:38 GMT"
        );
        assert_eq!(
            format(&json!(1398796238.5), Format::Iso8601).unwrap(),
            "2014-04-29T18:30:38.500Z"
        );
        assert_eq!(
            format(&json!("Tue, 29 Apr 2014 18:30:38 GMT"), Format::Iso8601).unwrap(),
            "2014-04-29T18:30:38Z"
        );
        assert_eq!(epoch_value(&iso), Some(json!(1398796238)));
        assert_eq!(format(&json!("soon"), Format::Iso8601), None);
        assert_eq!(format(&json!(true), Format::Iso8601), None);
    }
}
