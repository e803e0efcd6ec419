//! Schedule expressions in AWS's dialect: `rate(N unit)`, `cron(...)` with six fields
//! (minutes hours day-of-month month day-of-week year) and, for EventBridge Scheduler,
//! `at(yyyy-mm-ddThh:mm:ss)`; and the pure question every scheduler asks: when is the next
//! due time after this one?
//!
//! Cron fields are checked here for AWS's own rules (exactly six fields, one of the day
//! fields `?` and not both, one `#` expression at most, years 1970-2199, day-of-week 1-7 with
//! 1 = Sunday) and then evaluated by `croner` in its Quartz mode (`1/10` steps, `L`, `W`,
//! `#`, names). Cron and `at` are evaluated on the wall clock of a time zone (UTC for rules):
//! a wall time that a spring-forward change skips does not fire, and one that a fall-back
//! change repeats fires once, at its first occurrence, as EventBridge Scheduler documents.
//! A rate is a fixed duration (a day is 24 hours, whatever the clocks do).

use chrono::{LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Why an expression is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    #[error("the expression is not rate(...), cron(...) or at(...)")]
    Form,
    #[error("{0}")]
    Rate(&'static str),
    #[error("{0}")]
    Cron(String),
    #[error("at(...) wants yyyy-mm-ddThh:mm:ss")]
    At,
    #[error("at(...) expressions are EventBridge Scheduler's only")]
    AtOnRule,
    #[error("unknown time zone {0}")]
    Zone(String),
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// Every `every_ms`, from an anchor (a rule's creation, a schedule's start).
    Rate { every_ms: i64 },
    /// Wall-clock times in the schedule's zone.
    Cron(Box<croner::Cron>),
    /// One wall-clock time in the schedule's zone.
    At(NaiveDateTime),
}

/// Which API the expression belongs to: rules have no `at(...)` and no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Rule,
    Scheduler,
}

/// An expression with the zone it is evaluated in.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub expr: Expr,
    pub zone: Tz,
}

impl Schedule {
    pub fn parse(text: &str, zone: Option<&str>, dialect: Dialect) -> Result<Schedule, ExprError> {
        let zone = match zone {
            None | Some("") => Tz::UTC,
            Some(z) => z
                .parse::<Tz>()
                .map_err(|_| ExprError::Zone(z.to_string()))?,
        };
        let text = text.trim();
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(')'))
                .map(str::trim)
        };
        let expr = if let Some(r) = inner("rate(") {
            Expr::Rate {
                every_ms: rate_ms(r)?,
            }
        } else if let Some(c) = inner("cron(") {
            Expr::Cron(Box::new(cron(c)?))
        } else if let Some(a) = inner("at(") {
            if dialect == Dialect::Rule {
                return Err(ExprError::AtOnRule);
            }
            Expr::At(
                NaiveDateTime::parse_from_str(a, "%Y-%m-%dT%H:%M:%S").map_err(|_| ExprError::At)?,
            )
        } else {
            return Err(ExprError::Form);
        };
        Ok(Schedule { expr, zone })
    }

    /// Whether the schedule fires once only (`at(...)`).
    pub fn one_off(&self) -> bool {
        matches!(self.expr, Expr::At(_))
    }

    /// The first due time (epoch ms) strictly after `after_ms`, or None when there is none.
    /// A rate's due times are `anchor_ms + k * rate` for `k >= first` (`first` is 1 for a
    /// rule, whose rate starts counting at its creation, 0 for a schedule, which fires at its
    /// start).
    pub fn next_after(&self, after_ms: i64, anchor_ms: i64, first: i64) -> Option<i64> {
        match &self.expr {
            Expr::Rate { every_ms } => {
                let k = if after_ms < anchor_ms {
                    0
                } else {
                    (after_ms - anchor_ms) / every_ms + 1
                };
                anchor_ms.checked_add(k.max(first).checked_mul(*every_ms)?)
            }
            Expr::At(t) => {
                let due = self.instant(t)?;
                (due > after_ms).then_some(due)
            }
            Expr::Cron(c) => {
                let after = chrono::DateTime::from_timestamp_millis(after_ms)?;
                let local = after.with_timezone(&self.zone).naive_local();
                // Wall times from three hours before (a fall-back repeats an hour: the first
                // occurrence may be behind `local`), each mapped to an instant.
                let start = local - chrono::Duration::hours(3);
                c.iter_after(start)
                    .take(100_000)
                    .filter_map(|t| self.instant(&t))
                    .find(|due| *due > after_ms)
            }
        }
    }

    /// The latest due time at or before `now_ms` and after `after_ms` (what a server that was
    /// down fires once when it comes back), counting as [`Self::next_after`] does.
    pub fn latest_due(
        &self,
        after_ms: i64,
        now_ms: i64,
        anchor_ms: i64,
        first: i64,
    ) -> Option<i64> {
        let due = self.next_after(after_ms, anchor_ms, first)?;
        if due > now_ms {
            return None;
        }
        if let Expr::Rate { every_ms } = self.expr {
            // Straight to the last one: a rate of a minute missed for a year is 500k steps.
            let skip = (now_ms - due) / every_ms;
            return Some(due + skip * every_ms);
        }
        let Expr::Cron(c) = &self.expr else {
            return Some(due);
        };
        // Cron: back from now, the first wall time that is an instant in (after, now].
        let now = chrono::DateTime::from_timestamp_millis(now_ms)?;
        let local = now.with_timezone(&self.zone).naive_local() + chrono::Duration::minutes(1);
        c.iter_before(local)
            .take(100_000)
            .filter_map(|t| self.instant(&t))
            .find(|t| *t <= now_ms)
            .filter(|t| *t > after_ms)
            .or(Some(due))
    }

    /// A wall time of the zone as an instant: none in a spring-forward gap, the first of two
    /// in a fall-back overlap.
    fn instant(&self, t: &NaiveDateTime) -> Option<i64> {
        match self.zone.from_local_datetime(t) {
            LocalResult::Single(d) => Some(d.timestamp_millis()),
            LocalResult::Ambiguous(a, b) => Some(a.timestamp_millis().min(b.timestamp_millis())),
            LocalResult::None => None,
        }
    }
}

/// `N unit`: N a positive integer, the unit singular for 1 and plural otherwise.
fn rate_ms(text: &str) -> Result<i64, ExprError> {
    let mut parts = text.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ExprError::Rate("a rate is rate(value unit)"));
    };
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ExprError::Rate("a rate's value is a positive integer"))?;
    let unit_ms = match unit {
        "minute" | "minutes" => 60_000,
        "hour" | "hours" => 3_600_000,
        "day" | "days" => 86_400_000,
        _ => return Err(ExprError::Rate("a rate's unit is minutes, hours or days")),
    };
    if (n == 1) == unit.ends_with('s') {
        return Err(ExprError::Rate(
            "a rate of 1 takes a singular unit (minute), others plural (minutes)",
        ));
    }
    n.checked_mul(unit_ms)
        .filter(|ms| *ms <= 100 * 365 * 86_400_000)
        .ok_or(ExprError::Rate("the rate is too long"))
}

/// AWS's six cron fields, checked, then read by croner in its Quartz mode.
fn cron(text: &str) -> Result<croner::Cron, ExprError> {
    let bad = |why: &str| ExprError::Cron(why.to_string());
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [minutes, hours, dom, month, dow, year] = fields[..] else {
        return Err(bad(
            "a cron expression has six fields: minutes hours day-of-month month day-of-week year",
        ));
    };
    match (dom == "?", dow == "?") {
        (false, false) => return Err(bad("one of day-of-month and day-of-week must be ?")),
        (true, true) => return Err(bad("day-of-month and day-of-week cannot both be ?")),
        _ => {}
    }
    let allowed = |field: &str, extra: &str| {
        field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ",-*/".contains(c) || extra.contains(c))
    };
    let checks = [
        (minutes, "", "minutes"),
        (hours, "", "hours"),
        (dom, "?", "day-of-month"),
        (month, "", "month"),
        (dow, "?#", "day-of-week"),
        (year, "", "year"),
    ];
    for (field, extra, name) in checks {
        if !allowed(field, extra) {
            return Err(ExprError::Cron(format!(
                "the {name} field '{field}' has a character it cannot take"
            )));
        }
    }
    if dow.contains('#') && dow.contains(',') {
        return Err(bad("a day-of-week with # takes one expression only"));
    }
    if minutes.chars().any(|c| c.is_ascii_alphabetic())
        || hours.chars().any(|c| c.is_ascii_alphabetic())
    {
        return Err(bad("minutes and hours are numbers"));
    }
    for y in year
        .split([',', '-', '/'])
        .filter(|y| !y.is_empty() && *y != "*")
    {
        match y.parse::<i32>() {
            Ok(y) if year.contains('/') || (1970..=2199).contains(&y) => {}
            _ => return Err(bad("years are 1970-2199")),
        }
    }
    // Day-of-week `L` alone is the week's last day (Saturday, 7 with Sunday as 1).
    let dow = if dow == "L" { "7" } else { dow };
    let quartz = format!("0 {minutes} {hours} {dom} {month} {dow} {year}");
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .year(croner::parser::Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
        .parse(&quartz)
        .map_err(|e| ExprError::Cron(e.to_string()))
}

#[cfg(test)]
mod tests;
