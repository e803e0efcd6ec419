//! Executions across machines, filtered the way a person looks for them (the console's
//! list): by machine, status, part of the name and start time, newest first.

/// What to look for; every field is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecutionFilter<'a> {
    pub machine_arn: Option<&'a str>,
    pub status: Option<&'a str>,
    /// A part of the name (case-sensitive, as AWS's names).
    pub name_contains: Option<&'a str>,
    /// Started at or after this time.
    pub started_after_ms: Option<i64>,
    /// Started before this time.
    pub started_before_ms: Option<i64>,
}
