//! Reading a store whole (what `passo migrate` copies): pages in key order that neither
//! repeat nor skip a row, every tag in the order set, and the count of every table.

use crate::{exec, Fixture};
use passo_store::*;

fn step(arn: &str, seq: i64) -> StepRow {
    StepRow {
        execution_arn: arn.into(),
        seq,
        now_ms: seq,
        event: "{}".into(),
        history: format!("[{{\"id\":{seq}}}]"),
        first_event: Some(seq),
        last_event: Some(seq),
    }
}

/// Every page of `page`, each `n` long, continuing from the last row's key.
fn all_pages<T: Clone, K>(
    n: usize,
    key: impl Fn(&T) -> K,
    page: impl Fn(Option<&K>, usize) -> Vec<T>,
) -> (Vec<T>, usize) {
    let (mut out, mut pages, mut after) = (Vec::new(), 0, None::<K>);
    loop {
        let rows = page(after.as_ref(), n);
        assert!(rows.len() <= n);
        if rows.is_empty() {
            return (out, pages);
        }
        pages += 1;
        after = Some(key(rows.last().unwrap()));
        out.extend(rows);
    }
}

pub async fn a_store_reads_whole_in_pages_and_counts_its_tables(f: &mut Fixture) {
    let counts = f.db.table_counts().unwrap();
    let names: Vec<&str> = counts.iter().map(|(t, _)| t.as_str()).collect();
    let mut expected: Vec<&str> = TABLES.to_vec();
    if f.db.backend() == "postgres" {
        expected.extend(NODE_TABLES);
    }
    assert_eq!(names, expected);
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");

    // Written out of key order, so that the pages' order is the store's, not ours.
    let mut writes = Vec::new();
    for i in [3, 0, 4, 1, 2] {
        let arn = format!("arn:e{i}");
        writes.push(Write::InsertExecution(exec(&arn, "m", i)));
        for seq in [2, 0, 1] {
            writes.push(Write::AppendStep(step(&arn, seq)));
        }
        writes.push(Write::PutRevision(RevisionRow {
            machine_arn: format!("arn:m{}", i % 2),
            revision_id: format!("r{i}"),
            definition: "{}".into(),
            role_arn: "role".into(),
            kind: "STANDARD".into(),
        }));
        writes.push(Write::PutMapRun(MapRunRow {
            arn: format!("arn:run{i}"),
            execution_arn: arn.clone(),
            state_machine_arn: format!("{arn}/M"),
            status: "RUNNING".into(),
            start_ms: i,
            stop_ms: None,
            config: "{}".into(),
        }));
        writes.push(Write::Messaging(MessagingWrite::PutMessage(
            QueueMessageRow {
                queue: format!("q{}", i % 2),
                seq: i,
                id: format!("m{i}"),
                body: "b".into(),
                attributes: "{}".into(),
                system: "{}".into(),
                sent_ms: i,
                visible_ms: i,
                receive_count: 0,
                first_receive_ms: None,
            },
        )));
    }
    writes.push(Write::PutTags(
        "arn:b".into(),
        vec![("k".into(), "1".into())],
    ));
    writes.push(Write::PutTags(
        "arn:a".into(),
        vec![("z".into(), "2".into())],
    ));
    writes.push(Write::PutTags(
        "arn:b".into(),
        vec![("a".into(), "3".into())],
    ));
    f.db.write(writes).await.unwrap();

    let db = &f.db;
    let (execs, pages) = all_pages(
        2,
        |e: &ExecutionRow| e.arn.clone(),
        |after, n| db.executions_page(after.map(String::as_str), n).unwrap(),
    );
    let arns: Vec<&str> = execs.iter().map(|e| e.arn.as_str()).collect();
    assert_eq!(arns, ["arn:e0", "arn:e1", "arn:e2", "arn:e3", "arn:e4"]);
    assert_eq!(pages, 3);
    assert_eq!(execs[3], exec("arn:e3", "m", 3));

    // Pages end inside an execution's steps and carry on from there.
    let (steps, _) = all_pages(
        4,
        |s: &StepRow| (s.execution_arn.clone(), s.seq),
        |after, n| {
            db.steps_page(after.map(|(a, s)| (a.as_str(), *s)), n)
                .unwrap()
        },
    );
    let keys: Vec<(String, i64)> = steps
        .iter()
        .map(|s| (s.execution_arn.clone(), s.seq))
        .collect();
    let want: Vec<(String, i64)> = (0..5)
        .flat_map(|i| (0..3).map(move |s| (format!("arn:e{i}"), s)))
        .collect();
    assert_eq!(keys, want);
    assert_eq!(steps[7], step("arn:e2", 1));

    let (revs, _) = all_pages(
        2,
        |r: &RevisionRow| (r.machine_arn.clone(), r.revision_id.clone()),
        |after, n| {
            db.revisions_page(after.map(|(m, r)| (m.as_str(), r.as_str())), n)
                .unwrap()
        },
    );
    let keys: Vec<String> = revs
        .iter()
        .map(|r| format!("{}/{}", r.machine_arn, r.revision_id))
        .collect();
    assert_eq!(
        keys,
        [
            "arn:m0/r0",
            "arn:m0/r2",
            "arn:m0/r4",
            "arn:m1/r1",
            "arn:m1/r3"
        ]
    );

    let (runs, _) = all_pages(
        3,
        |r: &MapRunRow| r.arn.clone(),
        |after, n| db.map_runs_page(after.map(String::as_str), n).unwrap(),
    );
    let arns: Vec<&str> = runs.iter().map(|r| r.arn.as_str()).collect();
    assert_eq!(
        arns,
        ["arn:run0", "arn:run1", "arn:run2", "arn:run3", "arn:run4"]
    );

    let (msgs, _) = all_pages(
        2,
        |m: &QueueMessageRow| (m.queue.clone(), m.seq),
        |after, n| {
            db.queue_messages_page(after.map(|(q, s)| (q.as_str(), *s)), n)
                .unwrap()
        },
    );
    let keys: Vec<String> = msgs
        .iter()
        .map(|m| format!("{}/{}", m.queue, m.seq))
        .collect();
    assert_eq!(keys, ["q0/0", "q0/2", "q0/4", "q1/1", "q1/3"]);

    // Tags in the order set, across resources.
    let tags = db.all_tags().unwrap();
    let t = |r: &str, k: &str, v: &str| (r.to_string(), k.to_string(), v.to_string());
    assert_eq!(
        tags,
        [
            t("arn:b", "k", "1"),
            t("arn:a", "z", "2"),
            t("arn:b", "a", "3")
        ]
    );

    let counts = db.table_counts().unwrap();
    let count = |table: &str| counts.iter().find(|(t, _)| t == table).unwrap().1;
    assert_eq!(count("executions"), 5);
    assert_eq!(count("steps"), 15);
    assert_eq!(count("revisions"), 5);
    assert_eq!(count("map_runs"), 5);
    assert_eq!(count("queue_messages"), 5);
    assert_eq!(count("tags"), 3);
    assert_eq!(count("machines"), 0);
}
