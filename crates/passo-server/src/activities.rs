//! Activity tasks waiting for a worker: one queue per activity, in memory. A queued task is
//! an open Task invocation of a durable execution, so after a restart the recovery that
//! re-invokes open tasks queues it again; nothing here needs to be stored.
//!
//! When nodes share a database, the task is also queued there (`runtime/activity_tasks.rs`)
//! and a worker on any node may claim it: this queue is then the node's own tasks, looked
//! at first and claimed from the database before they are handed, and its wake-up.
//!
//! GetActivityTask long-polls: a poller waits on the queue's `Notify` without holding a
//! thread, so hundreds of pollers cost hundreds of small futures.

use passo_engine::TaskId;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
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
struct Inner {
    queues: Mutex<HashMap<String, Queue>>,
    /// Tasks a poller took off a queue and is handing to its worker.
    taken: Mutex<HashSet<(String, TaskId)>>,
}

#[derive(Default)]
pub struct ActivityQueues {
    inner: Arc<Inner>,
}

/// A task a poller took off its queue. Until [`Taken::handed`] says the worker has it, it
/// is still the queue's: dropped (the poll failed, or its client hung up), it goes back to
/// the front of the queue, so a dequeued task is never lost.
pub struct Taken {
    inner: Arc<Inner>,
    activity: String,
    task: Option<ActivityTask>,
}

impl Taken {
    pub fn task(&self) -> &ActivityTask {
        self.task.as_ref().expect("a taken task until handed")
    }

    /// The worker has it (ActivityStarted is committed), or it needs no worker any more.
    pub fn handed(mut self) -> ActivityTask {
        let t = self.task.take().expect("a taken task until handed");
        self.inner.untake(&t);
        t
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            self.inner.untake(&t);
            let mut g = self.inner.queues.lock().unwrap();
            let q = g.entry(self.activity.clone()).or_default();
            q.tasks.push_front(t);
            q.ready.notify_one();
        }
    }
}

impl Inner {
    fn untake(&self, t: &ActivityTask) {
        self.taken
            .lock()
            .unwrap()
            .remove(&(t.execution_arn.clone(), t.task));
    }
}

impl ActivityQueues {
    /// Queues a task for the activity's workers and wakes one poller.
    pub fn push(&self, activity_arn: &str, task: ActivityTask) {
        if self.holds(&task.execution_arn, task.task) {
            // The same task queued twice (a re-invocation after recovery) is handed out once.
            return;
        }
        let mut g = self.inner.queues.lock().unwrap();
        let q = g.entry(activity_arn.to_string()).or_default();
        q.tasks.push_back(task);
        q.ready.notify_one();
    }

    /// The next task of the activity, waiting until `deadline` for one.
    pub async fn pop(&self, activity_arn: &str, deadline: Instant) -> Option<Taken> {
        loop {
            let ready = {
                let mut g = self.inner.queues.lock().unwrap();
                let q = g.entry(activity_arn.to_string()).or_default();
                if let Some(t) = q.tasks.pop_front() {
                    // Another task left: pass the wake-up on to the next poller.
                    if !q.tasks.is_empty() {
                        q.ready.notify_one();
                    }
                    self.inner
                        .taken
                        .lock()
                        .unwrap()
                        .insert((t.execution_arn.clone(), t.task));
                    return Some(Taken {
                        inner: self.inner.clone(),
                        activity: activity_arn.to_string(),
                        task: Some(t),
                    });
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

    /// Whether the task is queued or being handed to a worker.
    pub fn holds(&self, execution_arn: &str, task: TaskId) -> bool {
        if self.handing(execution_arn, task) {
            return true;
        }
        self.inner.queues.lock().unwrap().values().any(|q| {
            q.tasks
                .iter()
                .any(|t| t.task == task && t.execution_arn == execution_arn)
        })
    }

    /// Whether a poller of this node took the task off its queue and is handing it now.
    pub fn handing(&self, execution_arn: &str, task: TaskId) -> bool {
        self.inner
            .taken
            .lock()
            .unwrap()
            .contains(&(execution_arn.to_string(), task))
    }

    /// Drops the task from its queue: a worker polling another node has it.
    pub fn forget(&self, execution_arn: &str, task: TaskId) {
        for q in self.inner.queues.lock().unwrap().values_mut() {
            q.tasks
                .retain(|t| t.task != task || t.execution_arn != execution_arn);
        }
    }

    /// Tasks waiting for a worker, over all activities.
    pub fn len(&self) -> usize {
        self.inner
            .queues
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
            got.push(
                p.await
                    .unwrap()
                    .expect("every poller gets a task")
                    .handed()
                    .task,
            );
        }
        got.sort_unstable();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn a_taken_task_not_handed_goes_back_to_the_front() {
        let q = ActivityQueues::default();
        q.push("a", task(1));
        q.push("a", task(2));
        let soon = Instant::now() + Duration::from_millis(10);
        let t = q.pop("a", soon).await.unwrap();
        assert_eq!(t.task().task, 1);
        assert!(q.holds("e", 1), "a taken task is still held");
        q.push("a", task(1)); // queued again while taken: still handed out once
        drop(t);
        assert!(q.holds("e", 1));
        let again = q.pop("a", soon).await.unwrap().handed();
        assert_eq!(again.task, 1, "back at the front, once");
        assert!(!q.holds("e", 1));
        assert_eq!(q.pop("a", soon).await.unwrap().handed().task, 2);
        assert!(q.pop("a", soon).await.is_none());
    }

    #[tokio::test]
    async fn a_forgotten_task_is_not_handed_out() {
        let q = ActivityQueues::default();
        q.push("a", task(1));
        q.push("a", task(2));
        q.forget("e", 1);
        assert!(!q.holds("e", 1));
        let soon = Instant::now() + Duration::from_millis(10);
        let t = q.pop("a", soon).await.unwrap();
        assert!(q.handing("e", 2), "taken, not yet handed");
        assert_eq!(t.handed().task, 2);
        assert!(!q.handing("e", 2));
        assert!(q.pop("a", soon).await.is_none());
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
