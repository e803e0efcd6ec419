//! Issue 18 part 3, the fault test: three `passo server` nodes on loopback share one
//! PostgreSQL database; thousands of Standard executions of a mix (a Pass chain, a Wait, a
//! Retry, a Parallel and a Map over function Tasks, a task-token callback answered by the
//! test) are started round-robin over them; mid-run node 1 is SIGKILLed and restarted, and
//! node 3 is cut off from the database (a black-hole proxy) for longer than its lease.
//! Then every execution must have succeeded exactly once, with a history holding exactly
//! the events its machine implies, contiguous steps in the store, no timer left, and no
//! function invoked twice except for tasks in flight on a node when it failed.
//!
//! What the harness expects of the nodes:
//! - `passo server --node-id NAME --lease-ms 3000 --database postgres://...`; every node
//!   accepts every call (StartExecution, SendTaskSuccess, DescribeExecution, history).
//! - StartExecution by name is idempotent: the same name and input while running answers
//!   the execution; once it ended, ExecutionAlreadyExists (counted as started).
//! - Any node accepts a task token another minted: the test writes one `token.keys` into
//!   every data directory before the nodes start.
//! - Machines are made on node 1 before nodes 2 and 3 start (each node reads the catalog
//!   of machines at start and keeps it in memory).
//!
//! Environment: `PASSO_CLUSTER_EXECUTIONS` (default 10,000), `PASSO_CLUSTER_NO_LEASE_FLAGS=1`
//! to leave `--node-id`/`--lease-ms` out (a binary without leases; expect duplicates),
//! `PASSO_CLUSTER_FAULTS=0` to run without the kill and the cut (a check of the harness
//! itself: the same checks must then pass), and, as for every PostgreSQL test,
//! `PASSO_TEST_POSTGRES` and `PASSO_REQUIRE_E2E=1`. When a check fails, every finding and
//! the nodes' logs are kept in `target/tmp/cluster/`.

mod support;

use passo_store::scratch::ScratchDatabase;
use passo_store::{Database, Db, DbOptions};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::cluster::{call_any, metric_sum, names_with_status, Cluster};
use support::ledger::{Call, Key, Ledger};
use support::load::{start_all, Answer, Answerers, Planned};
use support::mix::{events_off, machines, Machine};
use support::{check_history, create};

const LEASE_MS: u64 = 3_000;
/// Client threads starting executions.
const CLIENTS: usize = 16;
/// SIGKILLed once a quarter of the starts are done, restarted after this.
const KILLED: usize = 0;
const DOWN_FOR: Duration = Duration::from_secs(3);
/// Cut off from the database once half the starts are done, for over twice its lease.
const CUT: usize = 2;
const CUT_FOR: Duration = Duration::from_secs(8);
/// A node cut off holds the tasks its last commits before the cut scheduled, and may send
/// them once healed, before a commit tells it that its leases are gone; the node that took
/// the execution over sends them too. Those were in flight at the cut: allowed twice
/// (and counted apart in the summary as "sent after heal").
const HEAL_GRACE: Duration = Duration::from_secs(2);
/// A task invoked this long before a fault may still have been in flight at it (its answer
/// not yet committed).
const IN_FLIGHT_SLACK: Duration = Duration::from_millis(LEASE_MS + 2_000);

fn executions() -> usize {
    std::env::var("PASSO_CLUSTER_EXECUTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// A fault: the node, and from when to when it could not commit.
struct Fault {
    /// What happened, for the summary.
    told: String,
    node: String,
    from: Instant,
    to: Instant,
    /// How long after `to` the node may still send a task it had in hand at the fault.
    grace: Duration,
}

impl Fault {
    /// Whether a call may have been in flight on the node at the fault.
    fn covers(&self, c: &Call) -> bool {
        c.node == self.node && c.at + IN_FLIGHT_SLACK >= self.from && c.at <= self.to + self.grace
    }

    /// Whether the call went out after the fault was over (within its grace).
    fn late(&self, c: &Call) -> bool {
        self.covers(c) && c.at > self.to
    }
}

#[test]
fn three_nodes_run_every_execution_once_through_a_kill_and_a_cut() {
    let Some(pg) = ScratchDatabase::for_test("cluster fault test") else {
        return;
    };
    let began = Instant::now();
    // Evidence of an earlier failing run would read as this run's.
    let _ =
        std::fs::remove_dir_all(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cluster"));
    let n = executions();
    let (ledger, tokens) = Ledger::start();
    let mut cluster = Cluster::new(pg.url(), &ledger.base, 3, CUT, LEASE_MS);
    let mix = machines();
    // The machines are made on node 1 before the others start: a node reads the catalog
    // of machines at start and keeps it in memory.
    cluster.nodes[0].start();
    let arns: Vec<String> = mix
        .iter()
        .map(|m| {
            create(
                cluster.nodes[0].server(),
                m.name,
                "STANDARD",
                m.definition.clone(),
            )
        })
        .collect();
    cluster.nodes[1].start();
    cluster.nodes[2].start();
    let addrs = cluster.addrs();
    let answerers = Answerers::start(tokens, addrs.clone(), 4);
    let plan: Vec<Planned> = (0..n)
        .map(|i| {
            let m = i % mix.len();
            Planned {
                name: format!("{}-{i:05}", mix[m].name),
                machine: m,
                machine_arn: arns[m].clone(),
                input: mix[m].input.to_string(),
            }
        })
        .collect();

    // Starts from many clients while, on this thread, the faults come as the starts pass a
    // quarter and a half of the plan; then every execution must end.
    let progress = AtomicUsize::new(0);
    let starting_at = Instant::now();
    let (starts, faults) = std::thread::scope(|s| {
        let starting = s.spawn(|| start_all(&addrs, &plan, CLIENTS, &progress));
        let faults = inject_faults(&mut cluster, &progress, n);
        (starting.join().unwrap(), faults)
    });
    let starts_s = starting_at.elapsed().as_secs_f64();
    let still = wait_until_done(
        &addrs,
        &arns,
        Duration::from_secs(600),
        Duration::from_secs(90),
    );
    let answers = answerers.finish();
    let run_s = starting_at.elapsed().as_secs_f64();
    let checking_at = Instant::now();

    // The checks, each finding naming its execution.
    let mut f = Findings::default();
    for s in &starts.failed {
        f.add("start failed", s.clone());
    }
    for name in &still {
        f.add("still running", name.clone());
    }
    for node in &mut cluster.nodes {
        if let Some(status) = node.exited() {
            f.add(
                "node died",
                format!("{} exited by itself: {status}", node.name),
            );
        }
    }
    check_executions(&addrs, &plan, &mix, &mut f);
    check_store(pg.url(), &plan, &arns, &mut f);
    let dups = check_invocations(&ledger.calls(), &plan, &mix, &faults, &mut f);
    check_answers(&answers, &dups.execs, &mut f);
    let checks_s = checking_at.elapsed().as_secs_f64();

    // The nodes' own counts (the restarted node's since its restart).
    let metric =
        |name| metric_sum(&addrs, name).map_or_else(|| "not exposed".into(), |v| format!("{v}"));
    let (takeovers, lost) = (metric("leases_taken_over"), metric("leases_lost"));
    let told: Vec<&str> = faults.iter().map(|x| x.told.as_str()).collect();
    let detours: Vec<String> = starts
        .detours
        .iter()
        .map(|(k, v)| format!("{v}x {k}"))
        .collect();
    println!(
        "Cluster fault test: {n} executions from {CLIENTS} clients ({} started, {} already \
         existed, {} taken by another node than the first tried [{}]); faults: {}; duplicate \
         invocations: {} executions seen, at most {} allowed (a task of theirs invoked by a \
         failed node around its fault), {} of them first sent after heal; callback answers refused: {}; takeovers: {takeovers}; \
         steps refused for a lost lease: {lost}; \
         findings: {}; wall time {:.1} s (starts {starts_s:.1} s, all ended at {run_s:.1} s, \
         checks {checks_s:.1} s)",
        starts.started,
        starts.already,
        starts.moved,
        detours.join(", "),
        if told.is_empty() {
            "none".to_string()
        } else {
            told.join("; ")
        },
        dups.execs.len(),
        dups.allowed,
        dups.late,
        answers.iter().filter(|a| a.refused.is_some()).count(),
        f.summary(),
        began.elapsed().as_secs_f64(),
    );
    if !f.lines.is_empty() {
        keep_evidence(&cluster, &f);
    }
    f.assert_none();
}

/// SIGKILLs node 1 once a quarter of the starts are done and restarts it [`DOWN_FOR`]
/// later; cuts node 3 off once half are done (and node 1 is back), heals it [`CUT_FOR`]
/// later.
fn inject_faults(cluster: &mut Cluster, progress: &AtomicUsize, n: usize) -> Vec<Fault> {
    if std::env::var("PASSO_CLUSTER_FAULTS").as_deref() == Ok("0") {
        return Vec::new();
    }
    let wait_for = |count: usize| {
        while progress.load(Ordering::Relaxed) < count {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(n / 4);
    let killed = &mut cluster.nodes[KILLED];
    let at = Instant::now();
    killed.kill();
    let kill = Fault {
        told: format!(
            "{} SIGKILLed, restarted {} s later",
            killed.name,
            DOWN_FOR.as_secs()
        ),
        node: killed.name.clone(),
        from: at,
        to: Instant::now(),
        grace: Duration::ZERO,
    };
    std::thread::sleep(DOWN_FOR);
    killed.start();
    wait_for(n / 2);
    let cut = Instant::now();
    cluster.proxy.cut();
    std::thread::sleep(CUT_FOR);
    cluster.proxy.heal();
    let cut = Fault {
        told: format!(
            "{} cut off from the database for {} s (the proxy held {} bytes, accepted {} connections meanwhile)",
            cluster.nodes[CUT].name,
            CUT_FOR.as_secs(),
            cluster.proxy.held_bytes(),
            cluster.proxy.accepted_while_cut()
        ),
        node: cluster.nodes[CUT].name.clone(),
        from: cut,
        to: Instant::now(),
        grace: HEAL_GRACE,
    };
    vec![kill, cut]
}

/// Waits until no execution of these machines is RUNNING (asking any node), at most
/// `limit`, or `stalled` without one ending; answers the names still running then.
fn wait_until_done(
    addrs: &[String],
    arns: &[String],
    limit: Duration,
    stalled: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut told = Instant::now();
    let (mut fewest, mut moved) = (usize::MAX, Instant::now());
    loop {
        let running: Vec<String> = arns
            .iter()
            .flat_map(|a| names_with_status(addrs, a, "RUNNING"))
            .collect();
        if running.len() < fewest {
            (fewest, moved) = (running.len(), Instant::now());
        }
        if running.is_empty() || Instant::now() > deadline || moved.elapsed() > stalled {
            return running;
        }
        if told.elapsed() > Duration::from_secs(10) {
            println!("cluster: {} executions still running", running.len());
            told = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Copies every finding and the nodes' logs under the target directory (the cluster's own
/// directory goes with it), and tells where.
fn keep_evidence(cluster: &Cluster, f: &Findings) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cluster");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("findings.txt"), f.lines.join("\n") + "\n").unwrap();
    for node in &cluster.nodes {
        let problems = node.log_problems();
        println!(
            "{}: {} warnings/errors in its log",
            node.name,
            problems.len()
        );
        for l in problems.iter().take(5) {
            println!("  {l}");
        }
        let _ = std::fs::copy(node.log_path(), dir.join(format!("{}.log", node.name)));
    }
    println!(
        "cluster: every finding and the nodes' logs are in {}",
        dir.display()
    );
}

/// Findings by kind, each line naming its execution.
#[derive(Default)]
struct Findings {
    lines: Vec<String>,
    kinds: BTreeMap<&'static str, usize>,
}

impl Findings {
    fn add(&mut self, kind: &'static str, line: String) {
        *self.kinds.entry(kind).or_default() += 1;
        self.lines.push(format!("{kind}: {line}"));
    }

    fn merge(&mut self, other: Findings) {
        for (k, v) in other.kinds {
            *self.kinds.entry(k).or_default() += v;
        }
        self.lines.extend(other.lines);
    }

    fn summary(&self) -> String {
        if self.kinds.is_empty() {
            return "none".into();
        }
        let parts: Vec<String> = self.kinds.iter().map(|(k, v)| format!("{v} {k}")).collect();
        parts.join(", ")
    }

    fn assert_none(&self) {
        assert!(
            self.lines.is_empty(),
            "{} findings ({}); the first:\n{}",
            self.lines.len(),
            self.summary(),
            self.lines
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Through the nodes in turn: each execution SUCCEEDED, its history consistent
/// ([`check_history`]: ids 1..n, previous ids pointing back, one end) and holding exactly
/// the events its machine implies.
fn check_executions(addrs: &[String], plan: &[Planned], mix: &[Machine], f: &mut Findings) {
    let next = AtomicUsize::new(0);
    let found: Vec<Findings> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    let mut f = Findings::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = plan.get(i) else { return f };
                        check_one(addrs, i % addrs.len(), p, &mix[p.machine], &mut f);
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for one in found {
        f.merge(one);
    }
}

fn check_one(addrs: &[String], node: usize, p: &Planned, m: &Machine, f: &mut Findings) {
    let patience = Duration::from_secs(60);
    let arn = p.arn();
    let req = json!({"executionArn": arn});
    match call_any(addrs, node, "DescribeExecution", &req, patience) {
        Some((_, 200, d)) if d["status"] == "SUCCEEDED" => {}
        Some((n, s, d)) => f.add(
            "not SUCCEEDED",
            format!("{}: node {n} answered {s} {d}", p.name),
        ),
        None => f.add("not described", format!("{}: no node answered", p.name)),
    }
    let req = json!({"executionArn": arn, "maxResults": 1000});
    let h = match call_any(addrs, node, "GetExecutionHistory", &req, patience) {
        Some((_, 200, v)) if v["nextToken"].is_null() => v["events"].as_array().unwrap().clone(),
        other => {
            f.add("no history", format!("{}: {other:?}", p.name));
            return;
        }
    };
    if let Err(e) = check_history(&h) {
        f.add("inconsistent history", format!("{}: {e}", p.name));
    }
    if let Some(off) = events_off(m, &h) {
        f.add("events off", format!("{}: {off}", p.name));
    }
}

/// In PostgreSQL itself: exactly the planned executions of the mix's machines, each one
/// row, SUCCEEDED, its steps numbered 0..n without a gap; no timer left.
fn check_store(url: &str, plan: &[Planned], arns: &[String], f: &mut Findings) {
    let db = Db::connect(&Database::Postgres(url.into()), DbOptions::default()).unwrap();
    let planned: HashSet<String> = plan.iter().map(Planned::arn).collect();
    let mut rows = 0;
    for machine in arns {
        let mut after: Option<(i64, String)> = None;
        loop {
            let page = db
                .executions(
                    machine,
                    None,
                    None,
                    None,
                    after.as_ref().map(|(t, a)| (*t, a.as_str())),
                    1000,
                )
                .unwrap();
            for r in &page {
                rows += 1;
                if !planned.contains(&r.arn) {
                    f.add("unplanned execution", r.arn.clone());
                }
                if r.status != "SUCCEEDED" {
                    f.add("row not SUCCEEDED", format!("{}: {}", r.name, r.status));
                }
            }
            match page.last() {
                Some(r) if page.len() == 1000 => after = Some((r.start_ms, r.arn.clone())),
                _ => break,
            }
        }
    }
    if rows != plan.len() {
        f.add(
            "row count",
            format!("{rows} execution rows for {} planned", plan.len()),
        );
    }
    for p in plan {
        let seqs: Vec<i64> = db.steps(&p.arn()).unwrap().iter().map(|s| s.seq).collect();
        if seqs.is_empty() || seqs.iter().enumerate().any(|(i, s)| *s != i as i64) {
            f.add("steps not contiguous", format!("{}: seqs {seqs:?}", p.name));
        }
    }
    for t in db.due_timers(i64::MAX, 50).unwrap() {
        f.add(
            "timer left",
            format!("{} timer {}", t.execution_arn, t.timer_id),
        );
    }
    db.close();
}

/// Executions with a function invoked twice, and how many may be (those with a task out
/// on a node when it failed).
struct Duplicates {
    execs: HashSet<String>,
    allowed: usize,
    /// Allowed duplicates with a call from a cut node after heal.
    late: usize,
}

/// Each execution's function invocations, from the ledger: every key its machine implies
/// invoked, no other; each once, or twice when one of the calls went out from a failed node
/// around its fault; and no more executions with a twice-invoked task than there were
/// executions whose tasks that node invoked around its fault.
fn check_invocations(
    calls: &HashMap<Key, Vec<Call>>,
    plan: &[Planned],
    mix: &[Machine],
    faults: &[Fault],
    f: &mut Findings,
) -> Duplicates {
    let mut expected: HashSet<Key> = HashSet::new();
    for p in plan {
        expected.extend(mix[p.machine].keys(&p.name));
    }
    let mut execs = HashSet::new();
    let mut late = 0;
    for key in &expected {
        match calls.get(key).map_or(0, Vec::len) {
            0 => f.add("never invoked", key.to_string()),
            1 => {}
            // At-least-once: one of the two calls went out from a failed node around its
            // fault, whichever came first (a node cut off mid-commit hears of its commit
            // only at heal, after the node that took over has sent the task again).
            2 if calls[key]
                .iter()
                .any(|c| faults.iter().any(|fault| fault.covers(c))) =>
            {
                execs.insert(key.exec.clone());
                late += usize::from(
                    calls[key]
                        .iter()
                        .any(|c| faults.iter().any(|fault| fault.late(c))),
                );
            }
            n => {
                let from: Vec<String> = calls[key].iter().map(|c| when(c, faults)).collect();
                f.add(
                    "invoked too often",
                    format!("{key}: {n} times, from {}", from.join(", ")),
                );
                execs.insert(key.exec.clone());
            }
        }
    }
    for key in calls.keys().filter(|k| !expected.contains(*k)) {
        f.add("unexpected invocation", key.to_string());
    }
    let in_flight: HashSet<&str> = calls
        .iter()
        .filter(|(_, cs)| {
            cs.iter()
                .any(|c| faults.iter().any(|fault| fault.covers(c)))
        })
        .map(|(k, _)| k.exec.as_str())
        .collect();
    let allowed = in_flight.len();
    if execs.len() > allowed {
        f.add(
            "too many re-invoked",
            format!("{} executions with a task invoked twice; at most {allowed} had one in flight at a fault", execs.len()),
        );
    }
    Duplicates {
        execs,
        allowed,
        late,
    }
}

/// A call's node and when it came, from the start of the last fault that began before it
/// ("n3 at cut+9.1 s (healed at 8.0 s)").
fn when(c: &Call, faults: &[Fault]) -> String {
    let Some(f) = faults.iter().rev().find(|f| f.from <= c.at) else {
        return format!("{} before any fault", c.node);
    };
    let at = c.at.duration_since(f.from).as_secs_f64();
    let span = f.to.duration_since(f.from).as_secs_f64();
    format!("{} at {}+{at:.1} s (over at {span:.1} s)", c.node, f.node)
}

/// Every token the test answered was accepted, except those of callbacks invoked twice
/// (the first task's token may be void once the task was sent again) and those sent again
/// after a node gave no answer (it may have taken the answer before it died).
fn check_answers(answers: &[Answer], twice: &HashSet<String>, f: &mut Findings) {
    for a in answers {
        if let Some(why) = &a.refused {
            if !twice.contains(&a.exec) && a.skipped.is_empty() {
                f.add("callback answer refused", format!("{}: {why}", a.exec));
            }
        }
    }
}

/// The proxy the test cuts with: bytes pass while healed; while cut, nothing passes on an
/// open connection nor on one made during the cut; at heal, what was held arrives.
#[test]
fn the_proxy_holds_everything_while_cut_and_delivers_it_at_heal() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = upstream.local_addr().unwrap().to_string();
    // An echo server upstream.
    std::thread::spawn(move || {
        for mut c in upstream.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n @ 1..) = c.read(&mut buf) {
                    if c.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let proxy = support::proxy::Proxy::start(&up_addr);
    let echo = |c: &mut TcpStream, msg: &[u8]| -> Option<Vec<u8>> {
        c.write_all(msg).unwrap();
        let mut got = vec![0u8; msg.len()];
        c.read_exact(&mut got).ok().map(|()| got)
    };
    let mut open = TcpStream::connect(proxy.addr()).unwrap();
    open.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert_eq!(echo(&mut open, b"before").as_deref(), Some(&b"before"[..]));

    proxy.cut();
    assert_eq!(
        echo(&mut open, b"during"),
        None,
        "an open connection is cut"
    );
    let mut new = TcpStream::connect(proxy.addr()).expect("accepted while cut");
    new.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert_eq!(
        echo(&mut new, b"fresh!"),
        None,
        "a new connection is not put through"
    );
    assert!(proxy.held_bytes() >= 6, "held {}", proxy.held_bytes());
    assert_eq!(proxy.accepted_while_cut(), 1);

    proxy.heal();
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    new.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut late = vec![0u8; 6];
    open.read_exact(&mut late).unwrap();
    assert_eq!(&late, b"during", "what was held arrives at heal");
    new.read_exact(&mut late).unwrap();
    assert_eq!(&late, b"fresh!");
    assert_eq!(echo(&mut open, b"after").as_deref(), Some(&b"after"[..]));
}
