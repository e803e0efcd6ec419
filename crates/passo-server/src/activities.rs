//! Activity tasks waiting for a worker: one queue per activity, in memory. A queued task is
//! an open Task invocation of a durable execution, so after a restart the recovery that
//! re-invokes open tasks queues it again; nothing here needs to be stored.
//!
//! GetActivityTask long-polls: a poller waits on the queue's `Notify` without holding a
//! thread, so hundreds of pollers cost hundreds of small futures.

use passo_engine::TaskId;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::time::Instant;

/// One scheduled activity task.
#[derive(Debug, Clone)]
pub struct ActivityTask {
    pub execution_arn: String,
    pub task: TaskId,
    pub token: String,
    pub input: Value,
}

#[derive(Default)]
struct Queue {
    tasks: VecDeque<ActivityTask>,
    ready: Arc<Notify>,
}

#[derive(Default)]
pub struct ActivityQueues {
    queues: Mutex<HashMap<String, Queue>>,
}

impl ActivityQueues {
    /// Queues a task for the activity's workers and wakes one poller.
    pub fn push(&self, activity_arn: &str, task: ActivityTask) {
        let mut g = self.queues.lock().unwrap();
        let q = g.entry(activity_arn.to_string()).or_default();
        // The same task queued twice (a re-invocation after recovery) is handed out once.
        if q.tasks
            .iter()
            .any(|t| t.task == task.task && t.execution_arn == task.execution_arn)
        {
            return;
        }
        q.tasks.push_back(task);
        q.ready.notify_one();
    }

    /// The next task of the activity, waiting until `deadline` for one.
    pub async fn pop(&self, activity_arn: &str, deadline: Instant) -> Option<ActivityTask> {
        loop {
            let ready = {
                let mut g = self.queues.lock().unwrap();
                let q = g.entry(activity_arn.to_string()).or_default();
                if let Some(t) = q.tasks.pop_front() {
                    // Another task left: pass the wake-up on to the next poller.
                    if !q.tasks.is_empty() {
                        q.ready.notify_one();
                    }
                    return Some(t);
                }
                q.ready.clone()
            };
            // notify_one keeps a permit when nobody waits, so a push between the check above
            // and this wait is not lost.
            tokio::select! {
                _ = ready.notified() => {}
                _ = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// Tasks waiting for a worker, over all activities.
    pub fn len(&self) -> usize {
        self.queues
            .lock()
            .unwrap()
            .values()
            .map(|q| q.tasks.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn task(n: u64) -> ActivityTask {
        ActivityTask {
            execution_arn: "e".into(),
            task: n,
            token: format!("t{n}"),
            input: Value::Null,
        }
    }

    #[tokio::test]
    async fn pollers_get_each_task_once() {
        let q = Arc::new(ActivityQueues::default());
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut pollers = Vec::new();
        for _ in 0..50 {
            let q = q.clone();
            pollers.push(tokio::spawn(async move { q.pop("a", deadline).await }));
        }
        tokio::task::yield_now().await;
        for n in 0..50 {
            q.push("a", task(n));
        }
        q.push("a", task(3)); // a duplicate is not handed out again
        let mut got: Vec<u64> = Vec::new();
        for p in pollers {
            got.push(p.await.unwrap().expect("every poller gets a task").task);
        }
        got.sort_unstable();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_poll_without_tasks_ends_at_its_deadline() {
        let q = ActivityQueues::default();
        let t0 = Instant::now();
        let got = q.pop("a", t0 + Duration::from_millis(50)).await;
        assert!(got.is_none());
        assert!(t0.elapsed() >= Duration::from_millis(50));
        q.push("b", task(1));
        assert!(
            q.pop("a", Instant::now()).await.is_none(),
            "queues are per activity"
        );
    }
}
