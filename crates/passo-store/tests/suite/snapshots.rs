//! Snapshots of long executions, and the steps' event ids that let a page of history and a
//! replay read only what they need.

use crate::{exec, Fixture};
use passo_store::*;

/// Step `seq` holding events `first..=last` (ids written when `ids`).
fn step(arn: &str, seq: i64, first: i64, last: i64, ids: bool) -> Write {
    let events: Vec<String> = (first..=last).map(|i| format!("{{\"id\":{i}}}")).collect();
    Write::AppendStep(StepRow {
        execution_arn: arn.into(),
        seq,
        now_ms: 10 * seq,
        event: format!("{{\"seq\":{seq}}}"),
        history: format!("[{}]", events.join(",")),
        first_event: ids.then_some(first),
        last_event: ids.then_some(last),
    })
}

fn snapshot(arn: &str, seq: i64, state: &str) -> Write {
    Write::PutSnapshot(SnapshotRow {
        execution_arn: arn.into(),
        seq,
        revision_id: "r1".into(),
        format: 7,
        state: state.into(),
    })
}

fn seqs(rows: &[StepRow]) -> Vec<i64> {
    rows.iter().map(|s| s.seq).collect()
}

pub async fn a_snapshot_is_replaced_and_goes_with_its_execution(f: &mut Fixture) {
    let mut done = exec("done", "m", 1);
    done.status = "SUCCEEDED".into();
    done.stop_ms = Some(5);
    f.db.write(vec![
        Write::InsertExecution(done),
        Write::InsertExecution(exec("running", "m", 1)),
        snapshot("done", 3, "{\"a\":1}"),
        snapshot("running", 3, "{\"b\":1}"),
    ])
    .await
    .unwrap();
    assert!(f.db.snapshot("nobody").unwrap().is_none());
    let s = f.db.snapshot("running").unwrap().unwrap();
    assert_eq!((s.seq, s.format, s.revision_id.as_str()), (3, 7, "r1"));
    assert_eq!(s.state, "{\"b\":1}");
    // A later one replaces it: one per execution.
    f.db.write(vec![snapshot("running", 9, "{\"b\":2}")])
        .await
        .unwrap();
    let s = f.db.snapshot("running").unwrap().unwrap();
    assert_eq!((s.seq, s.state.as_str()), (9, "{\"b\":2}"));
    f.reopen();
    assert_eq!(f.db.snapshot("running").unwrap().unwrap().seq, 9);
    // The retention purge takes the snapshot with the execution; the running one stays.
    f.db.write(vec![Write::PurgeStoppedBefore(6)])
        .await
        .unwrap();
    assert!(f.db.snapshot("done").unwrap().is_none());
    assert!(f.db.snapshot("running").unwrap().is_some());
    f.db.write(vec![Write::DeleteSnapshot("running".into())])
        .await
        .unwrap();
    assert!(f.db.snapshot("running").unwrap().is_none());
}

pub async fn steps_are_read_by_event_ids_and_after_a_seq(f: &mut Fixture) {
    f.db.write(vec![Write::InsertExecution(exec("e", "m", 1))])
        .await
        .unwrap();
    // Two steps from before ids were kept, then steps of 3 events each, one of none.
    let mut w = vec![step("e", 0, 1, 2, false), step("e", 1, 3, 3, false)];
    let mut next = 4;
    for seq in 2..10 {
        let n = if seq == 5 { 0 } else { 3 };
        w.push(step("e", seq, next, next + n - 1, true));
        next += n;
    }
    f.db.write(w).await.unwrap();
    assert_eq!(f.db.last_event_id("e").unwrap(), Some(next - 1));
    assert_eq!(f.db.last_event_id("nobody").unwrap(), None);
    // Events 7..=11 are in steps 3 (7-9) and 4 (10-12); the old steps always come along.
    let rows = f.db.history_steps("e", 7, 11).unwrap();
    assert_eq!(seqs(&rows), [0, 1, 3, 4]);
    assert_eq!(rows[2].first_event, Some(7));
    assert_eq!(rows[2].last_event, Some(9));
    assert_eq!(rows[3].history, "[{\"id\":10},{\"id\":11},{\"id\":12}]");
    // One event, at a step's edge; past the end: only the old steps.
    assert_eq!(seqs(&f.db.history_steps("e", 12, 12).unwrap()), [0, 1, 4]);
    assert_eq!(seqs(&f.db.history_steps("e", 100, 200).unwrap()), [0, 1]);
    // For replay: the events after a step, without the history.
    let rows = f.db.step_events("e", 7).unwrap();
    assert_eq!(seqs(&rows), [8, 9]);
    assert_eq!(rows[0].event, "{\"seq\":8}");
    assert_eq!(rows[0].now_ms, 80);
    assert_eq!(rows[0].history, "");
    assert_eq!(f.db.step_events("e", -1).unwrap().len(), 10);
    // Copied whole (`passo migrate`), the ids come along.
    let page = f.db.steps_page(None, 100).unwrap();
    assert_eq!(page[4].first_event, Some(10));
    assert_eq!(page[0].first_event, None);
}
