//! The scheduler's clock. In production it is the system's; a test can make it run faster
//! (`passo server --schedule-clock ANCHOR_MS:SCALE`, hidden): from the real instant
//! ANCHOR_MS on, every real millisecond counts SCALE virtual ones, so a daily schedule fires
//! every few seconds. The scaling is fixed by the anchor, not by the process's start, so a
//! server restarted with the same setting sees time carry on where it was (never backwards).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    #[default]
    System,
    Scaled {
        anchor_ms: i64,
        scale: i64,
    },
}

impl Clock {
    /// `ANCHOR_MS:SCALE` (SCALE from 1 to 1,000,000).
    pub fn parse(text: &str) -> Result<Clock, String> {
        let bad = || format!("--schedule-clock wants ANCHOR_MS:SCALE, got '{text}'");
        let (a, s) = text.split_once(':').ok_or_else(bad)?;
        let anchor_ms: i64 = a.trim().parse().map_err(|_| bad())?;
        let scale: i64 = s.trim().parse().map_err(|_| bad())?;
        if !(1..=1_000_000).contains(&scale) {
            return Err(bad());
        }
        Ok(Clock::Scaled { anchor_ms, scale })
    }

    /// The virtual instant of a real one.
    pub fn at(&self, real_ms: i64) -> i64 {
        match *self {
            Clock::System => real_ms,
            Clock::Scaled { anchor_ms, scale } => {
                anchor_ms.saturating_add((real_ms - anchor_ms).saturating_mul(scale))
            }
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.at(crate::runtime::now_ms())
    }

    /// How long to sleep, really, for `virtual_ms` to pass.
    pub fn real(&self, virtual_ms: i64) -> Duration {
        let v = virtual_ms.max(0) as u64;
        match *self {
            Clock::System => Duration::from_millis(v),
            Clock::Scaled { scale, .. } => Duration::from_micros(v * 1000 / scale as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_runs_faster_from_its_anchor_and_the_same_after_a_restart() {
        let c = Clock::parse("1000:60").unwrap();
        assert_eq!(c.at(1000), 1000);
        assert_eq!(c.at(2000), 1000 + 60_000);
        // A "restart" is the same setting read again: the same instants.
        assert_eq!(Clock::parse("1000:60").unwrap().at(2000), c.at(2000));
        assert_eq!(c.real(60_000), Duration::from_millis(1000));
        assert_eq!(Clock::System.at(5), 5);
        for bad in ["", "1000", "x:2", "1000:0", "1000:-3", "1:9999999"] {
            assert!(Clock::parse(bad).is_err(), "{bad}");
        }
    }
}
