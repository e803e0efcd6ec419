//! Rebuilding an execution from its recorded steps (replay), and recovery after a restart.
//! A long execution starts from its latest snapshot (see [`super::snapshot`]) and replays
//! only the steps after it.
//!
//! The interpreter is deterministic, so feeding it the recorded events at their recorded
//! times gives back the same execution, including the tasks that were out. After a crash
//! those tasks are invoked again (in-flight work is at-least-once); nothing that was
//! recorded runs again.

use super::active::{forget, settle, track, Active};
use super::effects::invocation;
use super::{codec, snapshot, Runtime};
use crate::error::ApiError;
use passo_engine::{Command, Execution};
use passo_tasks::nested::Pattern;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Runtime {
    /// Rebuilds a running execution from its recorded steps (None when it does not exist or
    /// has ended).
    pub(crate) fn load(&self, arn: &str, finished_too: bool) -> Result<Option<Active>, ApiError> {
        let Some(row) = self.db.execution(arn)? else {
            return Ok(None);
        };
        if row.status != "RUNNING" && !finished_too {
            return Ok(None);
        }
        let machine = self
            .catalog
            .definition(&self.db, &row.machine_arn, &row.revision_id)?;
        let (seed, payload_limit) = codec::parse_params(&row.params);
        let machine_name = row
            .machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut info = self.info(
            &row.arn,
            &row.name,
            &machine_name,
            &row.machine_arn,
            &machine.1,
            row.start_ms,
            seed,
        );
        info.payload_limit = payload_limit;
        let test_case = codec::parse_test_case(&row.params);
        let parent = codec::parse_parent(&row.params);
        // From the latest snapshot when there is one that fits; a test case's mocks count
        // every invocation again, so those executions always replay in full.
        let snap = match test_case {
            None => self.db.snapshot(arn)?,
            Some(_) => None,
        };
        let restored = snap.and_then(|s| {
            let a = snapshot::restore(
                &s,
                &row.revision_id,
                machine.0.clone(),
                info.clone(),
                parent.clone(),
            );
            a.map_err(|e| {
                self.rebuilds.passed_over.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "{arn}: its snapshot of step {} is not used ({e}); replaying every step",
                    s.seq
                )
            })
            .ok()
        });
        let mut invoked: Vec<Command> = Vec::new();
        let (mut a, cmds) = match restored {
            Some(a) => {
                self.rebuilds.from_snapshot.fetch_add(1, Ordering::Relaxed);
                (a, Vec::new())
            }
            None => {
                self.rebuilds.in_full.fetch_add(1, Ordering::Relaxed);
                let input: Value = serde_json::from_str(&row.input).unwrap_or(Value::Null);
                let (ex, cmds, _) = Execution::start(machine.0, info, input);
                (Active::new(ex, parent), cmds)
            }
        };
        a.revision = row.revision_id.clone();
        let steps = self.db.step_events(arn, a.seq)?;
        self.rebuilds
            .steps_replayed
            .fetch_add(steps.len() as u64, Ordering::Relaxed);
        let mut note = |cmds: &[Command]| {
            invoked.extend(
                cmds.iter()
                    .filter(|c| matches!(c, Command::InvokeTask { .. }))
                    .cloned(),
            )
        };
        note(&cmds);
        track(&mut a, &cmds);
        for s in &steps {
            let Some(ev) = codec::parse_event(&s.event) else {
                continue;
            };
            forget(&mut a, &ev);
            let (cmds, _) = a.ex.step(ev, s.now_ms);
            note(&cmds);
            a.seq = s.seq;
            track(&mut a, &cmds);
            settle(&mut a);
        }
        if let Some(case) = test_case {
            // The mocks count invocations per state: count again the ones already answered
            // (those still out are answered, and counted, when they are sent again).
            let mut mocks = self.mocks(&machine_name, &case)?;
            for (task, inv) in invoked.iter().filter_map(invocation) {
                if !a.tasks.contains_key(&task) {
                    let _ = mocks.answer(&inv);
                }
            }
            a.mocks = Some(mocks);
        }
        Ok(Some(a))
    }

    /// After a restart: invoke again the tasks that were out when the process stopped.
    pub async fn recover(self: &Arc<Self>) -> Result<usize, ApiError> {
        let mut n = 0;
        for arn in self.db.running_with_tasks()? {
            let (slot, mut g) = self.owners.lock(&arn).await;
            if g.active.is_some() {
                continue;
            }
            // With other nodes: only what this node may own (its own from before the
            // restart, or a dead node's); the rest is theirs.
            let a = match self.load_confirmed(&arn, false, &mut g).await? {
                super::leases::Owned::Here(a, _) => Some(a),
                _ => {
                    self.owners.evict(&arn, &slot, &mut g);
                    None
                }
            };
            if let Some(a) = a {
                let cmds: Vec<Command> = a.tasks.values().cloned().collect();
                n += cmds.len();
                let children: Vec<(u64, String, Pattern)> = a
                    .children
                    .iter()
                    .map(|(t, (c, p))| (*t, c.clone(), *p))
                    .collect();
                let jobs = a.jobs_out();
                n += jobs.len();
                // Held before the execution can leave memory, so the sweeper sees them out.
                self.resume_jobs(&arn, jobs);
                self.after_commit(&arn, a, cmds, &slot, &mut g);
                drop(g);
                // A child that ended while the server was down has not told its parent.
                for (task, child, pattern) in children {
                    self.check_child(&arn, task, &child, pattern).await;
                }
            }
        }
        Ok(n)
    }
}
