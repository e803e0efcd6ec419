//! The invariant sweeper. A running Standard execution must always have something that can
//! move it on: a task out (in flight, queued for a worker, or waiting on its token or a
//! worker's answer), a timer in the store, a child execution, or an event being applied.
//! One with none of these is a bug; the sweeper looks for them periodically, logs each with
//! its ARN, and recovers it from the store (tasks that were lost are sent again, timers
//! that were lost are set again). The tests assert it never finds one.
//!
//! Executions parked on a timer are skipped by the store query; ones waiting on someone
//! outside (a callback, a worker, a child, a `.sync` job being followed) are checked once
//! and then skipped until they step again, so a sweep costs little however many executions
//! wait. A `.sync` job that nobody follows (its follower lost) is followed again from its
//! recorded submission.

use super::active::Active;
use super::Runtime;
use passo_engine::{Command, Event, TaskId, TaskPhase};
use passo_store::{TimerRow, Write};
use passo_tasks::nested::Pattern;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Sweeper {
    /// Executions found waiting on someone outside, not stepped since.
    waiting: Mutex<HashSet<String>>,
    sweeps: AtomicU64,
    stranded: AtomicU64,
    /// Clustered: activity tasks found neither queued nor on their way to their owner, and
    /// when that was first seen (see `activity_tasks::HANDING_GRACE_MS`).
    missing: Mutex<HashMap<(String, TaskId), i64>>,
}

impl Sweeper {
    /// The execution stepped: whatever it waited on before may have changed.
    pub(crate) fn stepped(&self, arn: &str) {
        let mut w = self.waiting.lock().unwrap();
        if !w.is_empty() {
            w.remove(arn);
        }
        drop(w);
        let mut m = self.missing.lock().unwrap();
        if !m.is_empty() {
            m.retain(|(a, _), _| a != arn);
        }
    }

    /// The activity task is queued or on its way: not missing.
    pub(crate) fn found(&self, arn: &str, task: TaskId) {
        let mut m = self.missing.lock().unwrap();
        if !m.is_empty() {
            m.remove(&(arn.to_string(), task));
        }
    }

    /// When the activity task was first found missing (now, if this is the first time).
    pub(crate) fn missing_since(&self, arn: &str, task: TaskId, now_ms: i64) -> i64 {
        *self
            .missing
            .lock()
            .unwrap()
            .entry((arn.to_string(), task))
            .or_insert(now_ms)
    }

    /// Sweeps done since the server started.
    pub fn sweeps(&self) -> u64 {
        self.sweeps.load(Ordering::Relaxed)
    }

    /// Stranded executions found (and recovered) since the server started: always 0 unless
    /// there is a bug.
    pub fn stranded(&self) -> u64 {
        self.stranded.load(Ordering::Relaxed)
    }
}

/// What the sweeper found for one execution.
enum Finding {
    /// Something can move it on.
    Moving,
    /// It waits only on someone outside the server: skip it until it steps.
    WaitingOutside,
    /// These tasks and timers were lost: send and set them again.
    Lost(Vec<Command>),
    /// These `.sync` children ended and their parent did not hear: tell it again.
    ChildrenEnded(Vec<(u64, String, Pattern)>),
    /// These `.sync` jobs are followed by nobody: follow them again (never resubmit).
    JobsUnfollowed(Vec<(u64, Command, serde_json::Value)>),
    /// Nothing at all can move it on, and there is nothing to send again.
    Stuck,
}

/// Sweeps every `every` forever (run it as a task).
pub async fn run(rt: Arc<Runtime>, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        rt.sweep().await;
    }
}

impl Runtime {
    /// One sweep; answers how many stranded executions it found.
    pub async fn sweep(self: &Arc<Self>) -> usize {
        // With other nodes, only the executions this node may own: the others sweep theirs.
        let candidates = match self.db.shared() {
            Some(shared) => shared.sweep_candidates(&self.cfg.node_id, self.lease_now()),
            None => self.db.running_without_timers(),
        };
        let candidates = match candidates {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("sweeping: {e}");
                return 0;
            }
        };
        let mut found = 0;
        for arn in candidates {
            if self.sweeper.waiting.lock().unwrap().contains(&arn) {
                continue;
            }
            // An execution being applied right now is moving: skip it rather than wait.
            let (slot, mut g) = if self.owners.contains(&arn) {
                match self.owners.try_lock(&arn) {
                    Some(x) => x,
                    None => continue,
                }
            } else {
                self.owners.lock(&arn).await
            };
            let a = match g.active.take() {
                Some(a) => a,
                None => match self.load_confirmed(&arn, false, &mut g).await {
                    // A dead node's execution: resumed as a takeover, not a stranding.
                    Ok(super::leases::Owned::Here(mut a, Some(from))) => {
                        self.take_over(&arn, &mut a, &from, &g);
                        self.after_commit(&arn, a, Vec::new(), &slot, &mut g);
                        continue;
                    }
                    Ok(super::leases::Owned::Here(a, None)) => a,
                    Ok(super::leases::Owned::Missing | super::leases::Owned::Elsewhere) => {
                        self.owners.evict(&arn, &slot, &mut g);
                        continue;
                    }
                    Err(e) => {
                        self.owners.evict(&arn, &slot, &mut g);
                        tracing::warn!("sweeping {arn}: {e}");
                        continue;
                    }
                },
            };
            match self.examine(&arn, &a) {
                // Kept in memory only if it needs to be (it may have been loaded here).
                Finding::Moving => self.after_commit(&arn, a, Vec::new(), &slot, &mut g),
                Finding::WaitingOutside => {
                    self.sweeper.waiting.lock().unwrap().insert(arn.clone());
                    // Loaded for the check only: it needs no memory while it waits.
                    self.after_commit(&arn, a, Vec::new(), &slot, &mut g);
                }
                Finding::Lost(cmds) => {
                    found += 1;
                    self.sweeper.stranded.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        "stranded execution {arn}: {} tasks or timers were lost; sending them again",
                        cmds.len()
                    );
                    let rows: Vec<Write> = cmds
                        .iter()
                        .filter_map(|c| match c {
                            Command::StartTimer { timer, fire_at_ms } => {
                                Some(Write::PutTimer(TimerRow {
                                    fire_at_ms: *fire_at_ms,
                                    execution_arn: arn.clone(),
                                    timer_id: *timer as i64,
                                }))
                            }
                            _ => None,
                        })
                        .collect();
                    if !rows.is_empty() {
                        if let Err(e) = self.db.write(rows).await {
                            tracing::warn!("setting {arn}'s timers again: {e}");
                        }
                    }
                    self.after_commit(&arn, a, cmds, &slot, &mut g);
                }
                Finding::ChildrenEnded(children) => {
                    found += 1;
                    self.sweeper.stranded.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        "stranded execution {arn}: {} child executions ended unheard; telling it again",
                        children.len()
                    );
                    g.active = Some(a);
                    drop(g);
                    for (task, child, pattern) in children {
                        self.check_child(&arn, task, &child, pattern).await;
                    }
                }
                Finding::JobsUnfollowed(jobs) => {
                    found += 1;
                    self.sweeper.stranded.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        "stranded execution {arn}: {} jobs were followed by nobody; following them again",
                        jobs.len()
                    );
                    self.resume_jobs(&arn, jobs);
                    self.after_commit(&arn, a, Vec::new(), &slot, &mut g);
                }
                Finding::Stuck => {
                    found += 1;
                    self.sweeper.stranded.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        "stranded execution {arn}: nothing is open that could move it on; stopping it"
                    );
                    g.active = Some(a);
                    drop(g);
                    let stop = Event::Stop {
                        error: Some("States.Runtime".into()),
                        cause: Some("Passo found this execution with nothing open that could move it on (a bug: please report it)".into()),
                    };
                    if let Err(e) = self.deliver(&arn, stop).await {
                        tracing::warn!("stopping stranded {arn}: {e}");
                    }
                }
            }
        }
        self.sweeper.sweeps.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// What, if anything, can move the (locked) execution on.
    fn examine(&self, arn: &str, a: &Active) -> Finding {
        if a.ex.outcome().is_some() {
            return Finding::Moving;
        }
        let mut lost = Vec::new();
        let mut unfollowed = Vec::new();
        let (mut outside, mut moving) = (!a.children.is_empty(), false);
        for (id, phase) in a.ex.open_tasks() {
            match phase {
                TaskPhase::Invoked
                    if self.inflight.contains(arn, id)
                        || self.activity_task_out(arn, id, a.tasks.get(&id)) =>
                {
                    moving = true
                }
                TaskPhase::Invoked => lost.extend(a.tasks.get(&id).cloned()),
                TaskPhase::Submitted if a.jobs.contains_key(&id) => {
                    // A job runs for minutes or hours: while its follower lives the
                    // execution waits outside (checked again once it steps), rather than
                    // being loaded at every sweep.
                    if self.inflight.contains(arn, id) {
                        outside = true;
                    } else {
                        unfollowed.extend(a.jobs.get(&id).map(|(c, v)| (id, c.clone(), v.clone())));
                    }
                }
                TaskPhase::Submitted | TaskPhase::Started => outside = true,
            }
        }
        if !a.timers.is_empty() {
            let stored: HashSet<i64> = match self.db.timers_of(arn) {
                Ok(rows) => rows.into_iter().map(|t| t.timer_id).collect(),
                Err(_) => return Finding::Moving,
            };
            for (timer, at) in &a.timers {
                if stored.contains(&(*timer as i64)) {
                    moving = true;
                } else {
                    lost.push(Command::StartTimer {
                        timer: *timer,
                        fire_at_ms: *at,
                    });
                }
            }
        }
        // A Standard child that ended has a row; an Express child has none and tells its
        // parent itself.
        let ended: Vec<(u64, String, Pattern)> = a
            .children
            .iter()
            .filter(|(task, (child, _))| {
                !self.inflight.contains(arn, **task)
                    && matches!(self.db.execution(child), Ok(Some(row)) if row.status != "RUNNING")
            })
            .map(|(t, (c, p))| (*t, c.clone(), *p))
            .collect();
        if lost.is_empty() && !ended.is_empty() {
            return Finding::ChildrenEnded(ended);
        }
        if lost.is_empty() && !unfollowed.is_empty() {
            return Finding::JobsUnfollowed(unfollowed);
        }
        match (lost.is_empty(), moving, outside) {
            (false, _, _) => Finding::Lost(lost),
            (true, true, _) => Finding::Moving,
            (true, false, true) => Finding::WaitingOutside,
            (true, false, false) => Finding::Stuck,
        }
    }
}
