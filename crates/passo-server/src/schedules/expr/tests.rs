//! The next-due computation, hard: rates, AWS's cron rules, the end of months, `L`, `W`,
//! `#`, names, daylight-saving changes in a zone, and the catch-up after downtime.

use super::*;

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp_millis(t)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn rule(text: &str) -> Schedule {
    Schedule::parse(text, None, Dialect::Rule).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn zoned(text: &str, zone: &str) -> Schedule {
    Schedule::parse(text, Some(zone), Dialect::Scheduler).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The next `n` due times after `after` (cron and at only: no anchor).
fn next_n(s: &Schedule, after: &str, n: usize) -> Vec<String> {
    let mut t = ms(after);
    let mut out = Vec::new();
    for _ in 0..n {
        match s.next_after(t, 0, 1) {
            Some(d) => {
                out.push(iso(d));
                t = d;
            }
            None => break,
        }
    }
    out
}

#[test]
fn rates_take_a_positive_value_and_a_unit_in_the_right_number() {
    for ok in [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(12 hours)",
        "rate(1 day)",
        "rate( 7 days )",
    ] {
        assert!(Schedule::parse(ok, None, Dialect::Rule).is_ok(), "{ok}");
    }
    for bad in [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(-1 minutes)",
        "rate(1.5 hours)",
        "rate(1 week)",
        "rate(minutes)",
        "rate(5)",
        "rate(1 minute",
        "rate(99999999999999 days)",
        "rate()",
        "every(5 minutes)",
        "",
    ] {
        assert!(Schedule::parse(bad, None, Dialect::Rule).is_err(), "{bad}");
    }
}

#[test]
fn a_rule_rate_counts_from_its_creation_a_schedule_rate_fires_at_its_start() {
    let r = rule("rate(1 minute)");
    let created = ms("2026-12-02T10:00:30Z");
    assert_eq!(r.next_after(created, created, 1), Some(created + 60_000));
    assert_eq!(
        r.next_after(created + 59_999, created, 1),
        Some(created + 60_000)
    );
    assert_eq!(
        r.next_after(created + 60_000, created, 1),
        Some(created + 120_000)
    );
    // A Scheduler rate with no later start fires at once.
    assert_eq!(r.next_after(created - 1, created, 0), Some(created));
    // A start in the future: nothing before it.
    assert_eq!(r.next_after(created - 3_600_000, created, 0), Some(created));
}

#[test]
fn cron_wants_six_fields_and_one_day_field_as_question_mark() {
    for ok in [
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(1/10 * * * ? *)",
        "cron(0 0 L * ? *)",
        "cron(0 9 15W * ? *)",
        "cron(0 12 ? * 6L *)",
        "cron(0 12 ? * L *)",
        "cron(0 8 ? JAN,JUL MON 2026-2030)",
    ] {
        assert!(Schedule::parse(ok, None, Dialect::Rule).is_ok(), "{ok}");
    }
    for bad in [
        "cron(0 10 * * *)",
        "cron(0 10 * * ? * *)",
        "cron(0 10 * * * *)",
        "cron(0 10 ? * ? *)",
        "cron(0 10 1 * MON *)",
        "cron(0 9 ? * 3#1,6#3 *)",
        "cron(0 10 * * ? 2200)",
        "cron(0 10 * * ? 1969)",
        "cron(61 10 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 10 32 * ? *)",
        "cron(0 10 * 13 ? *)",
        "cron(0 10 ? * 8 *)",
        "cron(x 10 * * ? *)",
        "cron(0 10 * * ? *",
        "cron(0 10 * * ? $)",
    ] {
        assert!(Schedule::parse(bad, None, Dialect::Rule).is_err(), "{bad}");
    }
}

#[test]
fn at_is_the_schedulers_only() {
    assert_eq!(
        Schedule::parse("at(2026-12-24T18:00:00)", None, Dialect::Rule).unwrap_err(),
        ExprError::AtOnRule
    );
    for bad in [
        "at(2026-12-24)",
        "at(2026-13-01T00:00:00)",
        "at(2026-12-24 18:00:00)",
    ] {
        assert!(
            Schedule::parse(bad, None, Dialect::Scheduler).is_err(),
            "{bad}"
        );
    }
    assert_eq!(
        Schedule::parse("rate(1 day)", Some("Mars/Olympus"), Dialect::Scheduler).unwrap_err(),
        ExprError::Zone("Mars/Olympus".into())
    );
}

#[test]
fn a_daily_cron_fires_every_day_at_its_time_in_utc() {
    let s = rule("cron(0 10 * * ? *)");
    assert_eq!(
        next_n(&s, "2026-12-02T10:00:00Z", 3),
        [
            "2026-12-03T10:00:00Z",
            "2026-12-04T10:00:00Z",
            "2026-12-05T10:00:00Z"
        ]
    );
    assert_eq!(
        next_n(&s, "2026-12-02T09:59:59Z", 1),
        ["2026-12-02T10:00:00Z"]
    );
}

#[test]
fn minute_steps_start_where_aws_says() {
    // `1/10`: the 1st, 11th, 21st... minute of each hour.
    let s = rule("cron(1/10 * * * ? *)");
    assert_eq!(
        next_n(&s, "2026-12-02T10:00:00Z", 3),
        [
            "2026-12-02T10:01:00Z",
            "2026-12-02T10:11:00Z",
            "2026-12-02T10:21:00Z"
        ]
    );
    let s = rule("cron(0/5 8-17 ? * MON-FRI *)");
    // Friday 2026-12-04 17:55 UTC, then Monday 08:00.
    assert_eq!(
        next_n(&s, "2026-12-04T17:50:00Z", 2),
        ["2026-12-04T17:55:00Z", "2026-12-07T08:00:00Z"]
    );
}

#[test]
fn the_last_day_of_the_month_is_found_in_short_months_and_leap_years() {
    let s = rule("cron(0 0 L * ? *)");
    assert_eq!(
        next_n(&s, "2027-01-15T00:00:00Z", 3),
        [
            "2027-01-31T00:00:00Z",
            "2027-02-28T00:00:00Z",
            "2027-03-31T00:00:00Z"
        ]
    );
    assert_eq!(
        next_n(&s, "2028-02-01T00:00:00Z", 1),
        ["2028-02-29T00:00:00Z"]
    );
    // The 31st only in months that have one.
    let s = rule("cron(0 0 31 * ? *)");
    assert_eq!(
        next_n(&s, "2027-01-31T00:00:00Z", 2),
        ["2027-03-31T00:00:00Z", "2027-05-31T00:00:00Z"]
    );
}

#[test]
fn w_is_the_weekday_nearest_the_day() {
    let s = rule("cron(0 9 15W * ? *)");
    // 2026-08-15 is a Saturday: Friday the 14th; 2026-11-15 a Sunday: Monday the 16th.
    assert_eq!(
        next_n(&s, "2026-08-01T00:00:00Z", 1),
        ["2026-08-14T09:00:00Z"]
    );
    assert_eq!(
        next_n(&s, "2026-11-01T00:00:00Z", 1),
        ["2026-11-16T09:00:00Z"]
    );
    // 2026-12-15 is a Tuesday: the day itself.
    assert_eq!(
        next_n(&s, "2026-12-01T00:00:00Z", 1),
        ["2026-12-15T09:00:00Z"]
    );
}

#[test]
fn hash_is_the_nth_weekday_and_l_the_last_with_sunday_as_one() {
    // 3#2: the second Tuesday (3 is Tuesday when 1 is Sunday). December 2026 starts on one.
    let s = rule("cron(0 12 ? * 3#2 *)");
    assert_eq!(
        next_n(&s, "2026-12-01T00:00:00Z", 2),
        ["2026-12-08T12:00:00Z", "2027-01-12T12:00:00Z"]
    );
    // 6L: the last Friday; Christmas 2026 is one.
    let s = rule("cron(0 12 ? * 6L *)");
    assert_eq!(
        next_n(&s, "2026-12-01T00:00:00Z", 1),
        ["2026-12-25T12:00:00Z"]
    );
    // L alone: the week's last day, Saturday.
    let s = rule("cron(0 12 ? * L *)");
    assert_eq!(
        next_n(&s, "2026-12-01T00:00:00Z", 1),
        ["2026-12-05T12:00:00Z"]
    );
    // Names, months and years.
    let s = rule("cron(0 8 ? JAN MON 2027)");
    assert_eq!(
        next_n(&s, "2026-12-01T00:00:00Z", 5),
        [
            "2027-01-04T08:00:00Z",
            "2027-01-11T08:00:00Z",
            "2027-01-18T08:00:00Z",
            "2027-01-25T08:00:00Z"
        ]
    );
}

#[test]
fn a_wall_time_skipped_by_spring_forward_does_not_fire() {
    // New York springs forward on 2026-03-08 at 02:00: 02:30 does not exist that day.
    let s = zoned("cron(30 2 * * ? *)", "America/New_York");
    assert_eq!(
        next_n(&s, "2026-03-07T00:00:00Z", 2),
        ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"]
    );
}

#[test]
fn a_wall_time_repeated_by_fall_back_fires_once() {
    // New York falls back on 2026-11-01 at 02:00: 01:30 happens twice; it fires at the first.
    let s = zoned("cron(30 1 * * ? *)", "America/New_York");
    assert_eq!(
        next_n(&s, "2026-10-31T00:00:00Z", 3),
        [
            "2026-10-31T05:30:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-02T06:30:00Z"
        ]
    );
    // From between the two occurrences, the next is the next day's.
    assert_eq!(
        next_n(&s, "2026-11-01T06:00:00Z", 1),
        ["2026-11-02T06:30:00Z"]
    );
}

#[test]
fn a_daily_cron_keeps_its_wall_time_across_the_change_and_a_rate_keeps_its_hours() {
    // Paris springs forward on 2026-03-29: 09:00 is 08:00Z before, 07:00Z after.
    let s = zoned("cron(0 9 * * ? *)", "Europe/Paris");
    assert_eq!(
        next_n(&s, "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z"
        ]
    );
    let r = zoned("rate(1 day)", "Europe/Paris");
    let start = ms("2026-03-28T08:00:00Z");
    assert_eq!(
        r.next_after(start, start, 0),
        Some(ms("2026-03-29T08:00:00Z"))
    );
}

#[test]
fn at_fires_once_at_its_wall_time_in_its_zone() {
    let s = zoned("at(2026-12-24T18:00:00)", "Europe/Berlin");
    assert!(s.one_off());
    assert_eq!(
        next_n(&s, "2026-12-01T00:00:00Z", 3),
        ["2026-12-24T17:00:00Z"]
    );
    // A time in a spring-forward gap never comes.
    let gap = zoned("at(2026-03-08T02:30:00)", "America/New_York");
    assert_eq!(gap.next_after(ms("2026-03-01T00:00:00Z"), 0, 1), None);
}

#[test]
fn after_downtime_the_latest_missed_due_time_is_found() {
    let r = rule("rate(1 minute)");
    let created = ms("2026-12-02T10:00:00Z");
    // Fired for 10:01; down until 10:10:30: the 10:10 one is the latest missed.
    let fired = created + 60_000;
    let now = ms("2026-12-02T10:10:30Z");
    assert_eq!(
        r.latest_due(fired, now, created, 1),
        Some(ms("2026-12-02T10:10:00Z"))
    );
    // Nothing missed: nothing to catch up.
    assert_eq!(r.latest_due(fired, fired + 30_000, created, 1), None);
    let daily = rule("cron(0 9 * * ? *)");
    let fired = ms("2026-12-02T09:00:00Z");
    assert_eq!(
        daily.latest_due(fired, ms("2026-12-06T12:00:00Z"), 0, 1),
        Some(ms("2026-12-06T09:00:00Z"))
    );
    assert_eq!(
        daily.latest_due(fired, ms("2026-12-03T08:59:59Z"), 0, 1),
        None
    );
    assert_eq!(
        daily.latest_due(fired, ms("2026-12-03T09:00:00Z"), 0, 1),
        Some(ms("2026-12-03T09:00:00Z"))
    );
}

#[test]
fn the_next_due_time_is_always_later() {
    // Every expression above, from many starting points: strictly increasing, no panics.
    let all = [
        rule("cron(0/7 * * * ? *)"),
        rule("cron(0 0 L * ? *)"),
        rule("cron(0 12 ? * 6L *)"),
        zoned("cron(30 1 * * ? *)", "America/New_York"),
        zoned("cron(30 2 * * ? *)", "America/New_York"),
        zoned("cron(0 9 15W * ? *)", "Australia/Lord_Howe"),
        rule("rate(3 hours)"),
    ];
    let mut t = ms("2026-01-01T00:00:00Z");
    while t < ms("2027-01-01T00:00:00Z") {
        for s in &all {
            let n = s.next_after(t, 0, 1).unwrap();
            assert!(n > t);
        }
        t += 7 * 3_600_000 + 13 * 60_000;
    }
}
