//! Retry back-off: `IntervalSeconds * BackoffRate^attempt`, capped by `MaxDelaySeconds`, and
//! with FULL jitter a uniform draw below it from the execution's seeded generator.

use passo_asl::model::{Jitter, Retrier};
use std::cell::Cell;

/// The delay in milliseconds before retry number `attempt` (0-based) under `r`.
pub(crate) fn delay_ms(r: &Retrier, attempt: u64, rng: &Cell<u64>) -> i64 {
    let base = r.interval_seconds as f64 * r.backoff_rate.powf(attempt as f64);
    let capped = match r.max_delay_seconds {
        Some(m) => base.min(m as f64),
        None => base,
    };
    let secs = match r.jitter {
        Jitter::None => capped,
        Jitter::Full => passo_expr::random::next_f64(rng) * capped,
    };
    (secs.min(1e12) * 1000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(jitter: Jitter, max: Option<u64>) -> Retrier {
        Retrier {
            error_equals: vec!["States.ALL".into()],
            interval_seconds: 2,
            max_attempts: 5,
            backoff_rate: 2.0,
            max_delay_seconds: max,
            jitter,
        }
    }

    #[test]
    fn exponential_capped_and_jittered() {
        let rng = Cell::new(1);
        assert_eq!(delay_ms(&r(Jitter::None, None), 0, &rng), 2000);
        assert_eq!(delay_ms(&r(Jitter::None, None), 3, &rng), 16000);
        assert_eq!(delay_ms(&r(Jitter::None, Some(5)), 3, &rng), 5000);
        let j = delay_ms(&r(Jitter::Full, None), 3, &rng);
        assert!((0..=16000).contains(&j));
    }
}
