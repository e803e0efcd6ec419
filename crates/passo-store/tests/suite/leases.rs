//! Leases and the inbox, what several nodes sharing a PostgreSQL database rely on
//! (PostgreSQL only: an SQLite file has one process, and `Db::shared` is None there).

use crate::exec;
use passo_store::scratch::ScratchDatabase;
use passo_store::{
    Claim, Database, Db, DbOptions, InboxRow, LeaseRow, NodeRow, StepRow, StoreError, TimerRow,
    Write,
};

fn open(test: &str) -> Option<(ScratchDatabase, Db)> {
    let scratch = ScratchDatabase::for_test(test)?;
    let db = Db::connect(
        &Database::Postgres(scratch.url().into()),
        DbOptions::default(),
    )
    .unwrap();
    Some((scratch, db))
}

fn step(arn: &str, seq: i64) -> StepRow {
    StepRow {
        execution_arn: arn.into(),
        seq,
        now_ms: 1,
        event: "{}".into(),
        history: "[]".into(),
        first_event: None,
        last_event: None,
    }
}

fn lease(key: &str, node: &str, fence: i64, expires_ms: i64) -> LeaseRow {
    LeaseRow {
        key: key.into(),
        node: Some(node.into()),
        fence,
        expires_ms,
    }
}

/// A claim counts its lease from when it got the row's lock, so a statement that took a
/// millisecond or two on a busy machine moves the expiry by as much: equal but for that.
fn assert_lease_near(got: Option<LeaseRow>, want: LeaseRow) {
    let got = got.expect("a lease row");
    let late = got.expires_ms - want.expires_ms;
    assert!(
        (0..100).contains(&late),
        "expiry {} is not within 100 ms after {}",
        got.expires_ms,
        want.expires_ms
    );
    assert_eq!(
        LeaseRow {
            expires_ms: want.expires_ms,
            ..got
        },
        want
    );
}

fn held(fence: i64, from: Option<&str>) -> Claim {
    Claim::Held {
        fence,
        from: from.map(String::from),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_held_by_one_node_until_it_runs_out_or_is_released() {
    let Some((_scratch, db)) = open("lease_claims") else {
        return;
    };
    let s = db.shared().expect("PostgreSQL is shared");
    // Free: the first claim holds it under fence 1; another node is turned away.
    assert_eq!(s.claim("e1", "n1", 1_000, 500).unwrap(), held(1, None));
    assert_eq!(
        s.claim("e1", "n2", 1_100, 500).unwrap(),
        Claim::Busy {
            node: "n1".into(),
            expires_ms: 1_500
        }
    );
    // Its holder may claim again (after a restart): a new fence, not a takeover.
    assert_eq!(s.claim("e1", "n1", 1_200, 500).unwrap(), held(2, None));
    // Run out: another node takes it over, and says from whom.
    assert_eq!(
        s.claim("e1", "n2", 1_800, 500).unwrap(),
        held(3, Some("n1"))
    );
    assert_eq!(
        s.expired_leases("n1", 1_900, 10).unwrap(),
        Vec::<LeaseRow>::new(),
        "n2's lease is not expired yet"
    );
    let expired = s.expired_leases("n1", 2_400, 10).unwrap();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_lease_near(expired.into_iter().next(), lease("e1", "n2", 3, 2_300));
    assert!(
        s.expired_leases("n2", 2_400, 10).unwrap().is_empty(),
        "a node's own leases are not listed for it"
    );
    // Released: claimable at once, and not a takeover.
    db.write(vec![Write::ReleaseLease(lease("e1", "n2", 3, 0))])
        .await
        .unwrap();
    assert_eq!(s.claim("e1", "n1", 1_900, 500).unwrap(), held(4, None));
    // A release under an old fence does nothing.
    db.write(vec![Write::ReleaseLease(lease("e1", "n1", 3, 0))])
        .await
        .unwrap();
    assert_lease_near(s.lease("e1").unwrap(), lease("e1", "n1", 4, 2_400));
    // Renewal extends only the node's own leases.
    assert_eq!(s.claim("e2", "n2", 1_900, 500).unwrap(), held(1, None));
    assert_eq!(s.renew("n1", 9_000).unwrap(), 1);
    assert_eq!(s.lease("e1").unwrap().unwrap().expires_ms, 9_000);
    assert_eq!(s.lease("e2").unwrap().unwrap().expires_ms, 2_400);
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_its_lease_cannot_commit_a_step() {
    let Some((_scratch, db)) = open("lease_fence") else {
        return;
    };
    let s = db.shared().unwrap();
    db.write(vec![
        Write::InsertExecution(exec("e1", "m", 1)),
        Write::InsertExecution(exec("e2", "m", 1)),
        Write::NewLease(lease("e1", "n1", 1, 1_000)),
        Write::NewLease(lease("e2", "n1", 1, 1_000)),
        Write::AppendStep(step("e1", 0)),
    ])
    .await
    .unwrap();
    // A second start of the same execution finds its lease taken.
    assert!(matches!(
        db.write(vec![Write::NewLease(lease("e1", "n9", 1, 1_000))])
            .await,
        Err(StoreError::Conflict)
    ));
    // The holder commits under its fence, and the commit extends the lease.
    db.write(vec![
        Write::HoldLease(lease("e1", "n1", 1, 1_500)),
        Write::AppendStep(step("e1", 1)),
    ])
    .await
    .unwrap();
    assert_eq!(s.lease("e1").unwrap().unwrap().expires_ms, 1_500);
    // n2 takes it over once it runs out; n1's next step is refused, while a neighbour in
    // the same batch (e2, still n1's) commits.
    assert_eq!(
        s.claim("e1", "n2", 2_000, 500).unwrap(),
        held(2, Some("n1"))
    );
    let lost = db.submit(vec![
        Write::HoldLease(lease("e1", "n1", 1, 2_500)),
        Write::AppendStep(step("e1", 2)),
    ]);
    let fine = db.submit(vec![
        Write::HoldLease(lease("e2", "n1", 1, 2_500)),
        Write::AppendStep(step("e2", 0)),
    ]);
    match lost.await {
        Err(StoreError::LeaseLost(key)) => assert_eq!(key, "e1"),
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    fine.await.unwrap();
    assert_eq!(
        db.steps("e1").unwrap().len(),
        2,
        "the refused step is not there"
    );
    assert_eq!(db.steps("e2").unwrap().len(), 1);
    // The new holder commits under its own fence.
    db.write(vec![
        Write::HoldLease(lease("e1", "n2", 2, 2_500)),
        Write::AppendStep(step("e1", 2)),
    ])
    .await
    .unwrap();
    assert_eq!(db.steps("e1").unwrap().len(), 3);
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_events_timers_and_sweeps_go_to_nodes_that_may_own_them() {
    let Some((_scratch, db)) = open("lease_work") else {
        return;
    };
    let s = db.shared().unwrap();
    let inbox = |id: &str, arn: &str, at: i64| InboxRow {
        id: id.into(),
        execution_arn: arn.into(),
        event: "{\"k\":\"stop\"}".into(),
        expect: "any".into(),
        created_ms: at,
    };
    let timer = |arn: &str| TimerRow {
        fire_at_ms: 100,
        execution_arn: arn.into(),
        timer_id: 1,
    };
    db.write(vec![
        // held: n1 holds it; free: no lease; gone: n1's lease ran out (n1 died).
        Write::InsertExecution(exec("held", "m", 1)),
        Write::InsertExecution(exec("free", "m", 1)),
        Write::InsertExecution(exec("gone", "m", 1)),
        Write::NewLease(lease("held", "n1", 1, 10_000)),
        Write::NewLease(lease("gone", "n1", 1, 500)),
        Write::PutInbox(inbox("i1", "held", 1)),
        Write::PutInbox(inbox("i2", "free", 2)),
        Write::PutInbox(inbox("i3", "gone", 3)),
        Write::PutInbox(inbox("i3", "gone", 3)),
        Write::PutTimer(timer("held")),
        Write::PutTimer(timer("free")),
    ])
    .await
    .unwrap();
    let ids = |rows: Vec<InboxRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(s.inbox("n1", 1_000, 10).unwrap()), ["i1", "i2", "i3"]);
    assert_eq!(ids(s.inbox("n2", 1_000, 10).unwrap()), ["i2", "i3"]);
    let arns = |rows: Vec<TimerRow>| {
        rows.into_iter()
            .map(|r| r.execution_arn)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        arns(s.due_timers_for("n2", 1_000, 200, 10).unwrap()),
        ["free"]
    );
    assert_eq!(
        arns(s.due_timers_for("n1", 1_000, 200, 10).unwrap()).len(),
        2
    );
    assert!(
        s.due_timers_for("n1", 1_000, 50, 10).unwrap().is_empty(),
        "not due"
    );
    // Without timers: gone (n2 may take it over); held and free have timers.
    assert_eq!(s.sweep_candidates("n2", 1_000).unwrap(), ["gone"]);
    db.write(vec![Write::DeleteInbox("i2".into())])
        .await
        .unwrap();
    assert_eq!(ids(s.inbox("n2", 1_000, 10).unwrap()), ["i3"]);
    // Purging an ended execution takes its lease and inbox with it.
    db.write(vec![
        Write::UpdateExecution(crate::succeeded("gone", 5)),
        Write::PurgeStoppedBefore(10),
    ])
    .await
    .unwrap();
    assert_eq!(s.lease("gone").unwrap(), None);
    assert!(ids(s.inbox("n2", 1_000, 10).unwrap()).is_empty());
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_has_no_leases() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("passo.db"), DbOptions::default()).unwrap();
    assert!(db.shared().is_none());
    let refused = db
        .write(vec![Write::PutInbox(InboxRow {
            id: "i".into(),
            execution_arn: "e".into(),
            event: "{}".into(),
            expect: "any".into(),
            created_ms: 0,
        })])
        .await;
    assert!(
        refused.is_err(),
        "an SQLite store must not take forwarded events"
    );
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_extended_only_by_its_holder_under_its_fence() {
    let Some((_scratch, db)) = open("lease_extend") else {
        return;
    };
    let s = db.shared().expect("PostgreSQL is shared");
    assert_eq!(s.claim("e1", "n1", 1_000, 500).unwrap(), held(1, None));
    // Past its expiry but not yet taken: the holder may still extend it.
    assert!(s.extend("e1", "n1", 1, 5_000).unwrap());
    assert_eq!(s.lease("e1").unwrap().unwrap().expires_ms, 5_000);
    // Never shortened.
    assert!(s.extend("e1", "n1", 1, 2_000).unwrap());
    assert_eq!(s.lease("e1").unwrap().unwrap().expires_ms, 5_000);
    // Another node, or the holder under an older fence, is refused.
    assert!(!s.extend("e1", "n2", 1, 9_000).unwrap());
    assert_eq!(
        s.claim("e1", "n2", 6_000, 500).unwrap(),
        held(2, Some("n1"))
    );
    assert!(!s.extend("e1", "n1", 1, 9_000).unwrap());
    assert!(!s.extend("nothing", "n1", 1, 9_000).unwrap());
    assert_eq!(s.lease("e1").unwrap().unwrap().expires_ms, 6_500);
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_delivery_is_taken_once_and_a_due_one_is_left() {
    let Some((_scratch, db)) = open("overdue_deliveries") else {
        return;
    };
    let row = |id: &str, next_ms: i64| passo_store::DeliveryRow {
        id: id.into(),
        event: "{}".into(),
        rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r".into(),
        rule_name: "r".into(),
        target: "{}".into(),
        ingested_ms: next_ms,
        attempts: 0,
        next_ms,
    };
    db.write(vec![
        Write::InsertDelivery(row("old", 1_000)),
        Write::InsertDelivery(row("recent", 9_000)),
    ])
    .await
    .unwrap();
    let s = db.shared().expect("PostgreSQL is shared");
    let taken = s.take_overdue_deliveries(5_000, 10_000, 100).unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id.as_str(), taken[0].next_ms), ("old", 10_000));
    // Rescheduled to the taker's now: another scan at the same time finds nothing.
    assert!(s
        .take_overdue_deliveries(5_000, 10_000, 100)
        .unwrap()
        .is_empty());
    // Both rows are still pending (taking is not delivering).
    assert_eq!(db.pending_deliveries().unwrap().len(), 2);
    db.close();
}

/// Real milliseconds since the epoch (the claim's wait is measured by the database's clock).
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_waited_on_the_row_counts_its_lease_from_when_it_got_it() {
    let Some((scratch, db)) = open("lease_claim_waits") else {
        return;
    };
    let s = db.shared().expect("PostgreSQL is shared");
    // n1's lease ran out; a commit of n1's, cut off mid-transaction, holds its row.
    assert_eq!(s.claim("e1", "n1", 0, 1).unwrap(), held(1, None));
    let (cut, conn) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    cut.batch_execute("BEGIN; SELECT 1 FROM leases WHERE key = 'e1' FOR UPDATE")
        .await
        .unwrap();
    // n2 claims for 1 s and waits 1.5 s on the row: counted from when it asked, the lease
    // it got would have run out already.
    let asked = wall_ms();
    let claim = tokio::task::spawn_blocking({
        let db = db.clone();
        move || db.shared().unwrap().claim("e1", "n2", asked, 1_000)
    });
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    cut.batch_execute("COMMIT").await.unwrap();
    assert_eq!(claim.await.unwrap().unwrap(), held(2, Some("n1")));
    let got = wall_ms();
    let expires = s.lease("e1").unwrap().unwrap().expires_ms;
    assert!(
        expires >= asked + 1_000 + 1_400 && expires <= got + 1_000 + 100,
        "asked at {asked}, answered at {got}, expires at {expires}"
    );
    // So a claimer queued behind it finds it held, not run out.
    assert!(matches!(
        s.claim("e1", "n3", got, 1_000).unwrap(),
        Claim::Busy { .. }
    ));
    db.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_say_where_they_are_reached_and_share_one_secret() {
    let Some((scratch, n1)) = open("nodes_and_secret") else {
        return;
    };
    let n2 = Db::connect(
        &Database::Postgres(scratch.url().into()),
        DbOptions::default(),
    )
    .unwrap();
    let (s1, s2) = (n1.shared().unwrap(), n2.shared().unwrap());
    assert_eq!(
        s2.node("n1").unwrap(),
        None,
        "no node has said anything yet"
    );
    let row = |url: &str, seen_ms| NodeRow {
        id: "n1".into(),
        url: url.into(),
        seen_ms,
    };
    s1.put_node(&row("http://10.0.0.1:8080", 1_000)).unwrap();
    assert_eq!(
        s2.node("n1").unwrap(),
        Some(row("http://10.0.0.1:8080", 1_000))
    );
    // Restarted on another address: the row is replaced, not added to.
    s1.put_node(&row("http://10.0.0.9:9090", 2_000)).unwrap();
    assert_eq!(
        s2.node("n1").unwrap(),
        Some(row("http://10.0.0.9:9090", 2_000))
    );
    assert_eq!(s2.node("n2").unwrap(), None);

    // The first node to ask sets the secret; every later candidate is ignored.
    assert_eq!(s1.cluster_secret("first").unwrap(), "first");
    assert_eq!(s2.cluster_secret("second").unwrap(), "first");
    assert_eq!(s1.cluster_secret("third").unwrap(), "first");
    n1.close();
    n2.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_lost_the_messaging_lease_cannot_change_a_queue() {
    let Some((_scratch, db)) = open("messaging_lease_fence") else {
        return;
    };
    let s = db.shared().unwrap();
    let key = "passo:messaging";
    let Claim::Held { fence, .. } = s.claim(key, "n1", 1_000, 500).unwrap() else {
        panic!("a free lease is claimed");
    };
    let queue = |name: &str| {
        Write::Messaging(passo_store::MessagingWrite::PutQueue(
            passo_store::QueueRow {
                name: name.into(),
                attributes: "{}".into(),
                tags: "{}".into(),
                created_ms: 1,
                modified_ms: 1,
            },
        ))
    };
    let hold = |node: &str, fence| Write::HoldLease(lease(key, node, fence, 5_000));
    db.write(vec![hold("n1", fence), queue("q1")])
        .await
        .unwrap();
    // n1 stops renewing; n2 takes the lease over once it runs out.
    assert_eq!(
        s.claim(key, "n2", 2_000, 500).unwrap(),
        Claim::Busy {
            node: "n1".into(),
            expires_ms: 5_000
        },
        "a queue change extends the lease"
    );
    let Claim::Held { fence: newer, from } = s.claim(key, "n2", 6_000, 500).unwrap() else {
        panic!("a lease that ran out is taken over");
    };
    assert_eq!(from.as_deref(), Some("n1"));
    match db.write(vec![hold("n1", fence), queue("q2")]).await {
        Err(StoreError::LeaseLost(k)) => assert_eq!(k, key),
        other => panic!("n1's change went through: {other:?}"),
    }
    db.write(vec![hold("n2", newer), queue("q3")])
        .await
        .unwrap();
    let names: Vec<String> = db.queues().unwrap().into_iter().map(|q| q.name).collect();
    assert_eq!(names, ["q1", "q3"]);
    db.close();
}
