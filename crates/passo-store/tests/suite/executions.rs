//! Executions, their steps, timers and Map Runs; listing, search and purge; how the writer
//! batches requests.

use crate::{exec, Fixture};
use passo_store::*;

fn step(arn: &str, seq: i64) -> StepRow {
    StepRow {
        execution_arn: arn.into(),
        seq,
        now_ms: 100 + seq,
        event: format!("{{\"seq\":{seq}}}"),
        history: "[{\"type\":\"PassStateEntered\"}]".into(),
        first_event: None,
        last_event: None,
    }
}

fn timer(arn: &str, id: i64, at: i64) -> Write {
    Write::PutTimer(TimerRow {
        fire_at_ms: at,
        execution_arn: arn.into(),
        timer_id: id,
    })
}

pub async fn concurrent_writes_share_commits_and_a_conflict_fails_alone(f: &mut Fixture) {
    let mut handles = Vec::new();
    for i in 0..500 {
        let db = f.db.clone();
        handles.push(tokio::spawn(async move {
            db.write(vec![Write::InsertExecution(exec(&format!("e{i}"), "m", 1))])
                .await
        }));
    }
    // The same key twice in flight: exactly one wins.
    let dup =
        f.db.write(vec![Write::InsertExecution(exec("e7", "m", 1))])
            .await;
    let mut conflicts = usize::from(matches!(dup, Err(StoreError::Conflict)));
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => {}
            Err(StoreError::Conflict) => conflicts += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(conflicts, 1);
    assert_eq!(f.db.running().unwrap().len(), 500);
    // 501 requests were committed in fewer transactions than requests.
    assert!(f.db.commits() < 501, "commits: {}", f.db.commits());
    f.reopen();
    assert!(f.db.execution("e499").unwrap().is_some());
}

pub async fn a_failing_request_leaves_no_trace_and_its_neighbours_commit(f: &mut Fixture) {
    f.db.write(vec![Write::InsertExecution(exec("taken", "m", 1))])
        .await
        .unwrap();
    // Queued while the writer waits on a lock, so that the failing request shares its batch
    // (one transaction) with a neighbour at least.
    let hold = f.hold_writes().await;
    let before = f.db.commits();
    let first = f.db.submit(vec![Write::InsertExecution(exec("a", "m", 2))]);
    let failing = f.db.submit(vec![
        Write::InsertExecution(exec("b", "m", 3)),
        Write::InsertExecution(exec("taken", "m", 3)),
    ]);
    let third = f.db.submit(vec![
        Write::InsertExecution(exec("c", "m", 4)),
        Write::AppendStep(step("c", 0)),
    ]);
    hold.release().await;
    let (first, failing, third) = (first.await, failing.await, third.await);
    assert!(first.is_ok() && third.is_ok(), "{first:?} {third:?}");
    assert!(matches!(failing, Err(StoreError::Conflict)), "{failing:?}");
    assert!(
        f.db.commits() - before <= 2,
        "{} batches",
        f.db.commits() - before
    );
    // The failing request's first write was undone with it.
    assert!(f.db.execution("b").unwrap().is_none());
    assert_eq!(f.db.execution("taken").unwrap().unwrap().start_ms, 1);
    assert!(f.db.execution("a").unwrap().is_some());
    assert_eq!(f.db.steps("c").unwrap(), vec![step("c", 0)]);
    // Alone in its batch, a failing request fails the same way.
    let alone = f.db.write(vec![Write::AppendStep(step("c", 0))]).await;
    assert!(matches!(alone, Err(StoreError::Conflict)), "{alone:?}");
}

pub async fn an_execution_runs_with_steps_and_survives_a_reopen(f: &mut Fixture) {
    let mut e = exec("arn:ex:m:one", "arn:sm:m", 10);
    e.version_arn = Some("arn:sm:m:1".into());
    e.trace_header = Some("Root=1-abc".into());
    e.input = "{\"big\":\"".to_string() + &"x".repeat(100_000) + "\"}";
    f.db.write(vec![
        Write::InsertExecution(e.clone()),
        Write::AppendStep(step(&e.arn, 0)),
        timer(&e.arn, 1, 500),
    ])
    .await
    .unwrap();
    assert_eq!(f.db.execution(&e.arn).unwrap(), Some(e.clone()));
    assert_eq!(f.db.running().unwrap(), vec![(e.arn.clone(), 0)]);
    // No task out: nothing for a restart to send again.
    assert!(f.db.running_with_tasks().unwrap().is_empty());
    assert!(f.db.running_without_timers().unwrap().is_empty());
    let update = |status: &str, stop_ms, redrive_ms| ExecutionUpdate {
        arn: e.arn.clone(),
        status: status.into(),
        output: None,
        error: Some("States.TaskFailed".into()),
        cause: Some("boom".into()),
        stop_ms,
        pending_tasks: 2,
        redrive_count: 1,
        redrive_ms,
    };
    f.db.write(vec![
        Write::AppendStep(step(&e.arn, 2)),
        Write::AppendStep(step(&e.arn, 1)),
        Write::DeleteTimers(e.arn.clone()),
        Write::UpdateExecution(update("RUNNING", None, Some(77))),
    ])
    .await
    .unwrap();
    assert_eq!(f.db.running().unwrap(), vec![(e.arn.clone(), 2)]);
    assert_eq!(f.db.running_with_tasks().unwrap(), vec![e.arn.clone()]);
    assert_eq!(f.db.running_without_timers().unwrap(), vec![e.arn.clone()]);
    // No redrive time given: the one recorded stays.
    f.db.write(vec![Write::UpdateExecution(update(
        "FAILED",
        Some(90),
        None,
    ))])
    .await
    .unwrap();
    f.reopen();
    let got = f.db.execution(&e.arn).unwrap().unwrap();
    assert_eq!(
        (
            got.status.as_str(),
            got.stop_ms,
            got.redrive_ms,
            got.redrive_count
        ),
        ("FAILED", Some(90), Some(77), 1)
    );
    assert_eq!(
        (got.error, got.cause),
        (Some("States.TaskFailed".into()), Some("boom".into()))
    );
    assert_eq!(got.input.len(), e.input.len());
    let seqs: Vec<i64> = f.db.steps(&e.arn).unwrap().iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert!(f.db.running().unwrap().is_empty());
    assert!(f.db.execution("arn:ex:m:none").unwrap().is_none());
}

pub async fn timers_come_back_in_due_order(f: &mut Fixture) {
    f.db.write(vec![
        timer("e", 1, 30),
        timer("e", 2, 10),
        timer("e", 3, 20),
        timer("other", 1, 15),
    ])
    .await
    .unwrap();
    let due = |until, limit| -> Vec<(String, i64)> {
        f.db.due_timers(until, limit)
            .unwrap()
            .into_iter()
            .map(|t| (t.execution_arn, t.timer_id))
            .collect()
    };
    let e = |id| ("e".to_string(), id);
    assert_eq!(due(25, 10), [e(2), ("other".into(), 1), e(3)]);
    assert_eq!(due(25, 2), [e(2), ("other".into(), 1)]);
    // A timer set again moves.
    f.db.write(vec![
        timer("e", 2, 40),
        Write::DeleteTimer("other".into(), 1),
    ])
    .await
    .unwrap();
    assert_eq!(due(100, usize::MAX), [e(3), e(1), e(2)]);
    let mut of_e = f.db.timers_of("e").unwrap();
    of_e.sort();
    assert_eq!(of_e.len(), 3);
    assert_eq!(of_e[0].fire_at_ms, 20);
    f.db.write(vec![Write::DeleteTimers("e".into())])
        .await
        .unwrap();
    assert!(f.db.due_timers(i64::MAX, usize::MAX).unwrap().is_empty());
}

pub async fn map_runs_keep_their_start_and_take_updates(f: &mut Fixture) {
    let run = |arn: &str, start_ms| MapRunRow {
        arn: arn.into(),
        execution_arn: "arn:ex:parent".into(),
        state_machine_arn: "arn:sm:parent/Map".into(),
        status: "RUNNING".into(),
        start_ms,
        stop_ms: None,
        config: "{\"max\":10}".into(),
    };
    f.db.write(vec![
        Write::PutMapRun(run("arn:mr:2", 20)),
        Write::PutMapRun(run("arn:mr:1", 10)),
    ])
    .await
    .unwrap();
    // A recovered run records itself again: its first start stays.
    f.db.write(vec![Write::PutMapRun(run("arn:mr:1", 99))])
        .await
        .unwrap();
    assert_eq!(f.db.map_run("arn:mr:1").unwrap(), Some(run("arn:mr:1", 10)));
    let arns: Vec<String> =
        f.db.map_runs_of("arn:ex:parent")
            .unwrap()
            .into_iter()
            .map(|m| m.arn)
            .collect();
    assert_eq!(arns, ["arn:mr:1", "arn:mr:2"]);
    f.db.write(vec![Write::UpdateMapRun {
        arn: "arn:mr:1".into(),
        status: "SUCCEEDED".into(),
        stop_ms: Some(50),
        config: "{\"succeeded\":3}".into(),
    }])
    .await
    .unwrap();
    let done = f.db.map_run("arn:mr:1").unwrap().unwrap();
    assert_eq!(
        (done.status.as_str(), done.stop_ms, done.config.as_str()),
        ("SUCCEEDED", Some(50), "{\"succeeded\":3}")
    );
    assert!(f.db.map_runs_of("arn:ex:none").unwrap().is_empty());
}

/// Twelve executions of `arn:sm:m` (three per start time), some of a version, an alias or
/// another revision, some finished; two of another machine.
async fn populate(f: &Fixture) {
    let mut writes = Vec::new();
    for i in 0..12 {
        let mut e = exec(&format!("arn:ex:m:run-{i:02}"), "arn:sm:m", 100 + i / 3);
        if i % 4 == 0 {
            e.status = "SUCCEEDED".into();
            e.stop_ms = Some(200 + i);
        }
        if i % 3 == 0 {
            e.version_arn = Some("arn:sm:m:1".into());
        }
        if i == 5 {
            e.alias_arn = Some("arn:sm:m:prod".into());
        }
        if i >= 10 {
            e.revision_id = "r2".into();
        }
        writes.push(Write::InsertExecution(e));
    }
    writes.push(Write::InsertExecution(exec(
        "arn:ex:n:other-1",
        "arn:sm:n",
        101,
    )));
    writes.push(Write::InsertExecution(exec(
        "arn:ex:n:run-x",
        "arn:sm:n",
        150,
    )));
    f.db.write(writes).await.unwrap();
}

fn names(rows: &[ExecutionRow]) -> Vec<String> {
    rows.iter().map(|e| e.name.clone()).collect()
}

pub async fn listing_pages_by_start_time_without_repeats(f: &mut Fixture) {
    populate(f).await;
    fn list(
        db: &Db,
        status: Option<&str>,
        qualifier: Option<&str>,
        revision: Option<&str>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Vec<ExecutionRow> {
        db.executions("arn:sm:m", status, qualifier, revision, after, limit)
            .unwrap()
    }
    let db = &f.db;
    // Newest first; ties on start time by ARN, descending.
    let all = list(db, None, None, None, None, 100);
    assert_eq!(all.len(), 12);
    // "All of them", as callers ask.
    assert_eq!(list(db, None, None, None, None, usize::MAX), all);
    assert_eq!(names(&all[..4]), ["run-11", "run-10", "run-09", "run-08"]);
    // Pages of five cover everything once, even across equal start times.
    let mut seen = Vec::new();
    let mut after: Option<(i64, String)> = None;
    loop {
        let page = list(
            db,
            None,
            None,
            None,
            after.as_ref().map(|(ms, arn)| (*ms, arn.as_str())),
            5,
        );
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some((last.start_ms, last.arn.clone()));
        seen.extend(names(&page));
    }
    assert_eq!(seen, names(&all));
    assert_eq!(
        names(&list(db, Some("SUCCEEDED"), None, None, None, 100)),
        ["run-08", "run-04", "run-00"]
    );
    assert_eq!(
        names(&list(db, None, Some("arn:sm:m:1"), None, None, 100)),
        ["run-09", "run-06", "run-03", "run-00"]
    );
    assert_eq!(
        names(&list(db, None, Some("arn:sm:m:prod"), None, None, 100)),
        ["run-05"]
    );
    assert_eq!(
        names(&list(db, None, None, Some("r2"), None, 100)),
        ["run-11", "run-10"]
    );
    assert_eq!(
        names(&list(
            db,
            Some("SUCCEEDED"),
            Some("arn:sm:m:1"),
            None,
            None,
            100
        )),
        ["run-00"]
    );
}

pub async fn search_filters_across_machines(f: &mut Fixture) {
    populate(f).await;
    let search = |filter: ExecutionFilter<'_>, limit| {
        names(&f.db.search_executions(&filter, None, limit).unwrap())
    };
    assert_eq!(
        search(ExecutionFilter::default(), 3),
        ["run-x", "run-11", "run-10"]
    );
    assert_eq!(
        search(
            ExecutionFilter {
                name_contains: Some("other"),
                ..Default::default()
            },
            10
        ),
        ["other-1"]
    );
    // Case-sensitive, as AWS's names.
    assert!(search(
        ExecutionFilter {
            name_contains: Some("RUN"),
            ..Default::default()
        },
        10
    )
    .is_empty());
    assert_eq!(
        search(
            ExecutionFilter {
                machine_arn: Some("arn:sm:n"),
                ..Default::default()
            },
            10
        ),
        ["run-x", "other-1"]
    );
    assert_eq!(
        search(
            ExecutionFilter {
                status: Some("SUCCEEDED"),
                started_after_ms: Some(101),
                started_before_ms: Some(103),
                ..Default::default()
            },
            10
        ),
        ["run-08", "run-04"]
    );
    // Paging continues after the last row.
    let first =
        f.db.search_executions(&ExecutionFilter::default(), None, 4)
            .unwrap();
    let last = first.last().unwrap();
    let next =
        f.db.search_executions(
            &ExecutionFilter::default(),
            Some((last.start_ms, &last.arn)),
            2,
        )
        .unwrap();
    assert_eq!(names(&next), ["run-08", "run-07"]);
}

pub async fn purge_removes_only_what_stopped_before(f: &mut Fixture) {
    let mut old = exec("old", "m", 1);
    old.status = "SUCCEEDED".into();
    old.stop_ms = Some(5);
    let mut recent = exec("recent", "m", 1);
    recent.status = "FAILED".into();
    recent.stop_ms = Some(50);
    let run = |arn: &str, stop_ms| MapRunRow {
        arn: arn.into(),
        execution_arn: "old".into(),
        state_machine_arn: "m/Map".into(),
        status: "SUCCEEDED".into(),
        start_ms: 1,
        stop_ms,
        config: "{}".into(),
    };
    f.db.write(vec![
        Write::InsertExecution(old),
        Write::AppendStep(step("old", 0)),
        Write::InsertExecution(recent),
        Write::AppendStep(step("recent", 0)),
        Write::InsertExecution(exec("running", "m", 1)),
        Write::PutMapRun(run("mr-old", Some(4))),
        Write::PutMapRun(run("mr-running", None)),
    ])
    .await
    .unwrap();
    // Slices: the stop time of the n-th oldest that stopped before the limit.
    assert_eq!(f.db.purge_cutoff(100, 0).unwrap(), Some(5));
    assert_eq!(f.db.purge_cutoff(100, 1).unwrap(), Some(50));
    assert_eq!(
        f.db.purge_cutoff(100, 2).unwrap(),
        None,
        "the running one never counts"
    );
    assert_eq!(f.db.purge_cutoff(50, 1).unwrap(), None);
    f.db.write(vec![Write::PurgeStoppedBefore(6)])
        .await
        .unwrap();
    assert!(f.db.execution("old").unwrap().is_none());
    assert!(f.db.steps("old").unwrap().is_empty());
    assert!(f.db.map_run("mr-old").unwrap().is_none());
    assert!(f.db.map_run("mr-running").unwrap().is_some());
    assert!(f.db.execution("recent").unwrap().is_some());
    assert_eq!(f.db.steps("recent").unwrap().len(), 1);
    assert!(f.db.execution("running").unwrap().is_some());
}
