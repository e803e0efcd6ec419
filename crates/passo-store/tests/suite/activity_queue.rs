//! The shared activity queue: each queued task goes to one claimer, whichever node claims
//! (PostgreSQL only: with SQLite the queue lives in the one server's memory).

use crate::exec;
use passo_store::scratch::ScratchDatabase;
use passo_store::{ActivityTaskRow, Database, Db, DbOptions, InboxRow, Write};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

fn open(scratch: &ScratchDatabase) -> Db {
    Db::connect(
        &Database::Postgres(scratch.url().into()),
        DbOptions::default(),
    )
    .unwrap()
}

fn task(arn: &str, n: i64, activity: &str, at: i64) -> ActivityTaskRow {
    ActivityTaskRow {
        execution_arn: arn.into(),
        task: n,
        activity: activity.into(),
        token: format!("token-{arn}-{n}"),
        input: format!("{{\"n\":{n}}}"),
        created_ms: at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_task_is_claimed_once_oldest_first_and_queued_once() {
    let Some(scratch) = ScratchDatabase::for_test("activity_queue_claims") else {
        return;
    };
    let db = open(&scratch);
    let s = db.shared().expect("PostgreSQL is shared");
    db.write(vec![
        Write::QueueActivityTask(task("e1", 1, "a", 20)),
        Write::QueueActivityTask(task("e2", 1, "a", 10)),
        Write::QueueActivityTask(task("e3", 1, "b", 5)),
    ])
    .await
    .unwrap();
    // Sent again (a takeover, a restart): still one row, and the first one's fields.
    let mut again = task("e1", 1, "a", 99);
    again.token = "other".into();
    db.write(vec![Write::QueueActivityTask(again)])
        .await
        .unwrap();
    assert!(s.activity_task_pending("e1", 1).unwrap());
    assert!(!s.activity_task_pending("e1", 2).unwrap());
    // Oldest first, per activity.
    assert_eq!(
        s.claim_next_activity_task("a").unwrap(),
        Some(task("e2", 1, "a", 10))
    );
    // By key: once.
    assert_eq!(
        s.claim_activity_task("e1", 1).unwrap(),
        Some(task("e1", 1, "a", 20))
    );
    assert_eq!(s.claim_activity_task("e1", 1).unwrap(), None);
    assert_eq!(s.claim_next_activity_task("a").unwrap(), None);
    assert!(!s.activity_task_pending("e1", 1).unwrap());
    // A forwarded event on its way to the execution counts as pending (a worker on
    // another node claimed the task and its TaskStarted is in the inbox).
    db.write(vec![Write::PutInbox(InboxRow {
        id: "i1".into(),
        execution_arn: "e1".into(),
        event: "{}".into(),
        expect: "any".into(),
        created_ms: 1,
    })])
    .await
    .unwrap();
    assert!(s.activity_task_pending("e1", 1).unwrap());
    let ids: Vec<String> = s
        .inbox_of("e1")
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["i1"]);
    assert!(s.inbox_of("e2").unwrap().is_empty());
    // A task its execution closed while queued is gone for every claimer.
    db.write(vec![Write::DeleteActivityTask("e3".into(), 1)])
        .await
        .unwrap();
    assert_eq!(s.claim_next_activity_task("b").unwrap(), None);
    // Purging an ended execution takes its queued tasks with it.
    db.write(vec![
        Write::InsertExecution(exec("e4", "m", 1)),
        Write::QueueActivityTask(task("e4", 1, "b", 1)),
    ])
    .await
    .unwrap();
    db.write(vec![
        Write::UpdateExecution(crate::succeeded("e4", 5)),
        Write::PurgeStoppedBefore(10),
    ])
    .await
    .unwrap();
    assert!(!s.activity_task_pending("e4", 1).unwrap());
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimer_passes_over_a_row_another_is_taking_instead_of_waiting() {
    let Some(scratch) = ScratchDatabase::for_test("activity_queue_skip_locked") else {
        return;
    };
    let db = open(&scratch);
    db.write(vec![
        Write::QueueActivityTask(task("old", 1, "a", 1)),
        Write::QueueActivityTask(task("new", 1, "a", 2)),
    ])
    .await
    .unwrap();
    // Another node's claim of the oldest row, caught mid-transaction.
    let (other, conn) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    other
        .batch_execute("BEGIN; SELECT 1 FROM activity_tasks WHERE execution_arn = 'old' FOR UPDATE")
        .await
        .unwrap();
    let claim = tokio::task::spawn_blocking({
        let db = db.clone();
        move || db.shared().unwrap().claim_next_activity_task("a")
    });
    let got = tokio::time::timeout(Duration::from_secs(5), claim)
        .await
        .expect("the claim waited on the locked row")
        .unwrap()
        .unwrap();
    assert_eq!(got.map(|t| t.execution_arn).as_deref(), Some("new"));
    // Once the other claim is given up, the row is there to take.
    other.batch_execute("ROLLBACK").await.unwrap();
    let got = db.shared().unwrap().claim_next_activity_task("a").unwrap();
    assert_eq!(got.map(|t| t.execution_arn).as_deref(), Some("old"));
    db.close();
}

/// Claims until the queue is empty, answering the ids this claimer got.
fn drain(db: &Db, activity: &str) -> Vec<(String, i64)> {
    let s = db.shared().unwrap();
    let mut got = Vec::new();
    while let Some(t) = s.claim_next_activity_task(activity).unwrap() {
        got.push((t.execution_arn, t.task));
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_on_two_stores_never_get_the_same_task() {
    let Some(scratch) = ScratchDatabase::for_test("activity_queue_concurrent") else {
        return;
    };
    // Two stores on one database: two nodes' connection pools.
    let (a, b) = (Arc::new(open(&scratch)), Arc::new(open(&scratch)));
    const TASKS: i64 = 400;
    let rows: Vec<Write> = (0..TASKS)
        .map(|n| Write::QueueActivityTask(task(&format!("e{n}"), 1, "act", n % 7)))
        .collect();
    a.write(rows).await.unwrap();
    // Four claimers over the two stores, oldest-first claims racing each other.
    let claimers: Vec<_> = [&a, &b, &a, &b]
        .into_iter()
        .map(|db| {
            let db = db.clone();
            std::thread::spawn(move || drain(&db, "act"))
        })
        .collect();
    let got: Vec<Vec<(String, i64)>> = claimers.into_iter().map(|c| c.join().unwrap()).collect();
    let all: Vec<&(String, i64)> = got.iter().flatten().collect();
    let distinct: HashSet<&(String, i64)> = all.iter().copied().collect();
    assert_eq!(all.len(), TASKS as usize, "every task claimed exactly once");
    assert_eq!(distinct.len(), TASKS as usize, "no task claimed twice");
    // Claims by key race too: of two claimers of the same task, one gets it.
    let rows: Vec<Write> = (0..100)
        .map(|n| Write::QueueActivityTask(task(&format!("k{n}"), 1, "key", 0)))
        .collect();
    a.write(rows).await.unwrap();
    let by_key = |db: Arc<Db>| {
        std::thread::spawn(move || {
            let s = db.shared().unwrap();
            (0..100)
                .filter(|n| {
                    s.claim_activity_task(&format!("k{n}"), 1)
                        .unwrap()
                        .is_some()
                })
                .count()
        })
    };
    let (x, y) = (by_key(a.clone()), by_key(b.clone()));
    assert_eq!(x.join().unwrap() + y.join().unwrap(), 100);
    a.close();
    b.close();
}
