//! ISO-8601 timestamps as AWS accepts them in Wait and the Timestamp comparisons:
//! `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`. A space instead of `T`, or a missing zone, is refused.

use chrono::{DateTime, FixedOffset};

/// Parses an AWS timestamp; `None` when AWS would refuse it.
pub fn parse(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn accepts_and_refuses_like_aws() {
        assert!(super::parse("2016-03-14T01:59:00Z").is_some());
        assert!(super::parse("2016-03-14T01:59:00.123+02:00").is_some());
        for bad in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
        ] {
            assert!(super::parse(bad).is_none(), "{bad}");
        }
    }
}
