//! Schedules: EventBridge rules with a `ScheduleExpression` and EventBridge Scheduler's
//! schedules (`POST /schedules/NAME`, restJson1), fired durably.
//!
//! - [`expr`]: AWS's `rate`, `cron` and `at` expressions, and the next due time (pure);
//! - [`spec`]: a Scheduler schedule validated; [`api`]: its REST API;
//! - [`fire`]: the events and deliveries of one firing; [`clock`]: the scheduler's clock;
//! - [`overview`]: `Passo.ListSchedules`, every schedule with its last and next firing.
//!
//! Durability: a firing commits, in one transaction, its delivery rows and the schedule's
//! *mark* (the due time it fired for). Once committed, the bus's delivery machinery takes
//! over (retries, dead letters, resumed after a restart); the mark keeps the same due time
//! from firing again, and the execution's name is derived from the schedule and the due
//! time, so one due time makes one execution, however the server stops.
//!
//! Missed firings (the server was down): when it comes back, each schedule fires **once,
//! for the latest due time it missed**, then carries on with the next one: a daily report
//! down for three days runs once on restart, not three times. Firings before a schedule or
//! rule existed, or before its StartDate, never happen.

pub mod api;
pub mod clock;
pub mod error;
pub mod expr;
pub mod fire;
pub mod overview;
pub mod spec;

use crate::bus::delivery::Received;
use crate::bus::names::DEFAULT_BUS;
use crate::runtime::Runtime;
use clock::Clock;
use expr::{Dialect, Schedule};
use passo_store::{Db, DeliveryRow, Write};
use spec::Spec;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest the loop sleeps (it is also woken when a schedule changes).
const MAX_SLEEP: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    /// By (group, name).
    schedules: BTreeMap<(String, String), Spec>,
    /// Key (rule or schedule ARN) -> the last due time fired.
    marks: HashMap<String, i64>,
    /// Rules' expressions, parsed once per text (None: no longer parses).
    parsed: HashMap<String, Option<Arc<Schedule>>>,
}

/// The server's schedules and their marks.
pub struct Scheduler {
    pub clock: Clock,
    state: Mutex<State>,
    /// One API change at a time (the store's commit and the registry's update together).
    pub changes: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
}

/// One firing to make.
enum Firing {
    Rule {
        rule: Box<crate::bus::Rule>,
        due: i64,
    },
    Schedule {
        spec: Box<Spec>,
        due: i64,
        last: bool,
    },
}

impl Scheduler {
    pub fn load(
        db: &Db,
        realm: &crate::arn::Realm,
        clock: Clock,
    ) -> Result<Scheduler, passo_store::StoreError> {
        let mut state = State::default();
        for row in db.schedules()? {
            let given = serde_json::from_str(&row.spec).unwrap_or_default();
            match Spec::parse(
                realm,
                &row.group,
                &row.name,
                &given,
                row.created_ms,
                row.modified_ms,
            ) {
                Ok(s) => {
                    state.schedules.insert((row.group, row.name), s);
                }
                Err(e) => {
                    tracing::warn!("schedule {}/{} no longer parses: {e}", row.group, row.name)
                }
            }
        }
        state.marks = db.schedule_marks()?.into_iter().collect();
        Ok(Scheduler {
            clock,
            state: Mutex::new(state),
            changes: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// Reads the schedules and marks again (other nodes sharing the database change and
    /// fire them); a mark only moves forward.
    pub fn reload(
        &self,
        db: &Db,
        realm: &crate::arn::Realm,
    ) -> Result<(), passo_store::StoreError> {
        let fresh = Scheduler::load(db, realm, self.clock)?
            .state
            .into_inner()
            .unwrap();
        let mut s = self.state.lock().unwrap();
        s.schedules = fresh.schedules;
        for (k, due) in fresh.marks {
            let m = s.marks.entry(k).or_insert(due);
            *m = (*m).max(due);
        }
        drop(s);
        self.wake.notify_one();
        Ok(())
    }

    pub fn get(&self, group: &str, name: &str) -> Option<Spec> {
        let s = self.state.lock().unwrap();
        s.schedules
            .get(&(group.to_string(), name.to_string()))
            .cloned()
    }

    pub fn list(&self) -> Vec<Spec> {
        self.state
            .lock()
            .unwrap()
            .schedules
            .values()
            .cloned()
            .collect()
    }

    pub fn put(&self, spec: Spec) {
        let key = (spec.group.clone(), spec.name.clone());
        self.state.lock().unwrap().schedules.insert(key, spec);
        self.wake.notify_one();
    }

    pub fn remove(&self, group: &str, name: &str) {
        let mut s = self.state.lock().unwrap();
        if let Some(spec) = s.schedules.remove(&(group.to_string(), name.to_string())) {
            s.marks.remove(&spec.arn);
        }
    }

    /// A rule changed (its expression may have): look again.
    pub fn rules_changed(&self) {
        self.wake.notify_one();
    }

    /// The last due time a schedule or rule fired for.
    pub fn mark(&self, key: &str) -> Option<i64> {
        self.state.lock().unwrap().marks.get(key).copied()
    }

    fn parsed(&self, text: &str) -> Option<Arc<Schedule>> {
        let mut s = self.state.lock().unwrap();
        s.parsed
            .entry(text.to_string())
            .or_insert_with(|| {
                Schedule::parse(text, None, Dialect::Rule)
                    .ok()
                    .map(Arc::new)
            })
            .clone()
    }

    /// Where a rule's due times count from (its creation, on the scheduler's clock) and the
    /// time after which the next one falls (the last it fired for; a rate's first due time
    /// is one period after the anchor).
    fn rule_cursor(&self, row: &passo_store::RuleRow) -> (i64, i64) {
        let anchor = self.clock.at(row.created_ms);
        (anchor, self.mark(&row.arn).unwrap_or(anchor).max(anchor))
    }

    /// [`Self::rule_cursor`] for a Scheduler schedule, which may fire at its anchor itself.
    fn schedule_cursor(&self, spec: &Spec) -> (i64, i64) {
        let anchor = spec.anchor(self.clock.at(spec.created_ms));
        (
            anchor,
            self.mark(&spec.arn).unwrap_or(anchor - 1).max(anchor - 1),
        )
    }

    /// What is due at `now` (virtual), and when the next firing after those is.
    fn plan(&self, rt: &Runtime, now: i64) -> (Vec<Firing>, Option<i64>) {
        let mut due = Vec::new();
        let mut next_at: Option<i64> = None;
        let mut soonest = |t: i64| next_at = Some(next_at.map_or(t, |n| n.min(t)));
        for rule in rt.bus.rules(DEFAULT_BUS) {
            let Some(text) = rule.row.schedule.as_deref() else {
                continue;
            };
            if rule.row.state == "DISABLED" {
                continue;
            }
            let Some(sched) = self.parsed(text) else {
                continue;
            };
            let (anchor, mark) = self.rule_cursor(&rule.row);
            let Some(next) = sched.next_after(mark, anchor, 1) else {
                continue;
            };
            if next <= now {
                let at = sched.latest_due(mark, now, anchor, 1).unwrap_or(next);
                due.push(Firing::Rule {
                    rule: Box::new(rule),
                    due: at,
                });
            } else {
                soonest(next);
            }
        }
        for spec in self.list().into_iter().filter(|s| s.enabled) {
            let (anchor, mark) = self.schedule_cursor(&spec);
            let Some(next) = spec.schedule.next_after(mark, anchor, 0) else {
                continue;
            };
            if !spec.within(next) {
                continue;
            }
            let at_ms = next + fire::offset(&spec.arn, next, spec.window_ms);
            if at_ms <= now {
                let latest = spec
                    .schedule
                    .latest_due(mark, now, anchor, 0)
                    .filter(|d| spec.within(*d))
                    .unwrap_or(next);
                let last = spec
                    .schedule
                    .next_after(latest, anchor, 0)
                    .is_none_or(|n| !spec.within(n));
                due.push(Firing::Schedule {
                    spec: Box::new(spec),
                    due: latest,
                    last,
                });
            } else {
                soonest(at_ms);
            }
        }
        (due, next_at)
    }
}

impl Runtime {
    /// Commits one firing (deliveries and mark together), then hands the deliveries over.
    /// Answers whether the firing was committed.
    async fn fire(self: &Arc<Self>, firing: Firing) -> bool {
        let ingested = Received::now(self);
        let (key, due, rows, mut writes): (String, i64, Vec<DeliveryRow>, Vec<Write>) =
            match &firing {
                Firing::Rule { rule, due } => {
                    let id = fire::event_id(&rule.row.arn, rule.row.created_ms, *due);
                    let event = fire::rule_event(&self.cfg.realm, &rule.row.arn, &id, *due);
                    (
                        rule.row.arn.clone(),
                        *due,
                        fire::rule_rows(rule, &event, ingested),
                        Vec::new(),
                    )
                }
                Firing::Schedule { spec, due, last } => {
                    let mut w = Vec::new();
                    if *last && spec.delete_after {
                        w.push(Write::DeleteSchedule(spec.group.clone(), spec.name.clone()));
                        w.push(Write::DeleteScheduleMark(spec.arn.clone()));
                    }
                    (
                        spec.arn.clone(),
                        *due,
                        vec![fire::schedule_row(spec, *due, ingested)],
                        w,
                    )
                }
            };
        let mut all: Vec<Write> = rows.iter().cloned().map(Write::InsertDelivery).collect();
        let deleting = !writes.is_empty();
        if !deleting {
            all.push(Write::ClaimFiring(key.clone(), due));
        }
        all.append(&mut writes);
        let committed = self.db.write(all).await;
        if let Err(passo_store::StoreError::Conflict) = committed {
            // Another node (sharing the database) fired this due time: nothing to do here
            // but know it.
            let mut s = self.scheduler.state.lock().unwrap();
            let m = s.marks.entry(key.clone()).or_insert(due);
            *m = (*m).max(due);
            return true;
        }
        if let Err(e) = committed {
            // Not marked: the next tick tries the same due time again.
            tracing::warn!(
                "schedule {key}: the firing for {} was not committed: {e}",
                crate::bus::events::iso(due)
            );
            return false;
        }
        tracing::info!("schedule {key} fired for {}", crate::bus::events::iso(due));
        {
            let mut s = self.scheduler.state.lock().unwrap();
            s.marks.insert(key.clone(), due);
        }
        if let (true, Firing::Schedule { spec, .. }) = (deleting, &firing) {
            self.scheduler.remove(&spec.group, &spec.name);
        }
        self.dispatch(rows);
        true
    }
}

/// The scheduler's loop: fires what is due, sleeps until the next due time (at most a
/// second, and woken by changes).
pub async fn run(rt: Arc<Runtime>) {
    loop {
        let now = rt.scheduler.clock.now_ms();
        let (due, next) = rt.scheduler.plan(&rt, now);
        if !due.is_empty() {
            let mut committed = true;
            for f in due {
                committed &= rt.fire(f).await;
            }
            if !committed {
                // The store refused: try again soon, not at once.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            // What fired has a next due time the plan did not see: plan again.
            continue;
        }
        let wait = next
            .map(|n| rt.scheduler.clock.real(n - now))
            .unwrap_or(MAX_SLEEP)
            .clamp(Duration::from_millis(2), MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = rt.scheduler.wake.notified() => {}
        }
    }
}
