//! The randomized concurrency and fault test: state machines made at random from Parallel,
//! inline Map, Retry, Catch, Pass, Wait 0, callbacks and activities over mocked, HTTP and
//! command tasks, started one at a time and many at once, through rounds where the server
//! is SIGKILLed and restarted and where its disk fills up and is freed again.
//!
//! Asserted at the end: no execution left RUNNING (0 stuck), every acknowledged start
//! exists and SUCCEEDED (0 lost), every history is whole (contiguous ids, one end, every
//! state entered exited, every task scheduled answered once: 0 duplicated steps), no task
//! invoked twice except in executions that were running at a kill, and the invariant
//! sweeper found nothing. The seed is printed (`PASSO_FAULT_SEED=N` replays a run).
//!
//! The disk-full round needs a small tmpfs (root, as on CI machines); without one it is
//! skipped with a note.

mod support;

use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::peers::{echo_endpoint, workers, Addr, Calls};
use support::*;

/// A small deterministic generator (SplitMix64): the run is a function of its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What answers a Task.
#[derive(Clone, Copy)]
enum Answer {
    Mock,
    Http,
    Command,
    Activity,
    Callback,
}

const ANSWERS: [Answer; 5] = [
    Answer::Mock,
    Answer::Http,
    Answer::Command,
    Answer::Activity,
    Answer::Callback,
];

/// A Task state answered by `a` (its result discarded, so the input's `items` reach every
/// later state), and the name it gets: `mock*` names are answered by the mock file.
fn task_state(tag: &str, a: Answer, activity: &str) -> (String, Value) {
    let invoke = |f: &str, token: bool| {
        let mut payload = json!({"exec.$": "$$.Execution.Id"});
        if token {
            payload["token.$"] = json!("$$.Task.Token");
        }
        json!({"FunctionName": f, "Payload": payload})
    };
    let lambda = "arn:aws:states:::lambda:invoke";
    let mut t = match a {
        Answer::Mock => {
            json!({"Type": "Task", "Resource": lambda, "Parameters": invoke("mocked", false)})
        }
        Answer::Http => {
            json!({"Type": "Task", "Resource": lambda, "Parameters": invoke("http", false)})
        }
        Answer::Command => {
            json!({"Type": "Task", "Resource": lambda, "Parameters": invoke("cmd", false)})
        }
        // A worker whose GetActivityTask answer is cut off by a kill never learns it has
        // the task, which stays started until a timeout ends it (as on AWS): the workflow
        // times the activity out and retries it, as one running activities should.
        Answer::Activity => json!({"Type": "Task", "Resource": activity, "TimeoutSeconds": 5,
                                   "Retry": [{"ErrorEquals": ["States.Timeout"],
                                              "IntervalSeconds": 1, "MaxAttempts": 3}]}),
        Answer::Callback => json!({"Type": "Task",
                                   "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                                   "Parameters": invoke("http", true)}),
    };
    t["ResultPath"] = Value::Null;
    let name = match a {
        Answer::Mock => format!("mock{tag}"),
        _ => format!("real{tag}"),
    };
    (name, t)
}

/// A one-state program (a Parallel branch, a Map's processor).
fn program(tag: &str, a: Answer, activity: &str) -> Value {
    let (name, mut t) = task_state(tag, a, activity);
    t["End"] = json!(true);
    json!({"StartAt": name, "States": {name: t}})
}

/// A random state machine of 1-4 blocks chained in order, then `Done`. The mock file
/// answers states by name: `mock*` succeed, `flaky*` fail once with Flaky (retried after
/// 1 s), `fails*` always fail (caught).
fn random_machine(rng: &mut Rng, activity: &str) -> Value {
    let n = 1 + rng.below(4);
    let mut blocks: Vec<(String, Value)> = Vec::new();
    for i in 0..n {
        let kind = rng.below(8);
        let mut pick = || ANSWERS[rng.below(ANSWERS.len())];
        let block = match kind {
            0 => (format!("S{i}"), json!({"Type": "Pass"})),
            1 => (format!("S{i}"), json!({"Type": "Wait", "Seconds": 0})),
            2 => {
                let (a, b) = (pick(), pick());
                (
                    format!("S{i}"),
                    json!({"Type": "Parallel", "ResultPath": null, "Branches": [
                    program(&format!("{i}a"), a, activity), program(&format!("{i}b"), b, activity)]}),
                )
            }
            3 => (
                format!("S{i}"),
                json!({"Type": "Map", "ItemsPath": "$.items", "ResultPath": null,
                                          "ItemProcessor": program(&format!("{i}m"), pick(), activity)}),
            ),
            4 => {
                let (_, mut t) = task_state("", Answer::Mock, activity);
                t["Retry"] =
                    json!([{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3}]);
                (format!("flaky{i}"), t)
            }
            5 => {
                let (_, mut t) = task_state("", Answer::Mock, activity);
                t["Catch"] =
                    json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}]);
                (format!("fails{i}"), t)
            }
            _ => task_state(&format!("{i}t"), pick(), activity),
        };
        blocks.push(block);
    }
    let mut states = serde_json::Map::new();
    let first = blocks[0].0.clone();
    for i in 0..blocks.len() {
        let next = blocks
            .get(i + 1)
            .map_or("Done".to_string(), |b| b.0.clone());
        let (name, mut st) = blocks[i].clone();
        st["Next"] = json!(next);
        if let Some(c) = st.get_mut("Catch") {
            c[0]["Next"] = json!(next);
        }
        states.insert(name, st);
    }
    states.insert("Done".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": first, "States": states})
}

fn mock_file(dir: &Path, machines: &[String]) -> PathBuf {
    let mut cases = serde_json::Map::new();
    for m in machines {
        let mut states = serde_json::Map::new();
        for i in 0..4 {
            for b in ["a", "b", "m", "t"] {
                states.insert(format!("mock{i}{b}"), json!("Ok"));
            }
            states.insert(format!("flaky{i}"), json!("FlakyOnce"));
            states.insert(format!("fails{i}"), json!("Fails"));
        }
        cases.insert(m.clone(), json!({"TestCases": {"Faults": states}}));
    }
    let cfg = json!({"StateMachines": cases, "MockedResponses": {
        "Ok": {"0": {"Return": {"StatusCode": 200, "Payload": {"ok": 1}}}},
        "FlakyOnce": {"0": {"Throw": {"Error": "Flaky", "Cause": "once"}},
                      "1": {"Return": {"StatusCode": 200, "Payload": {"ok": 2}}}},
        "Fails": {"0": {"Throw": {"Error": "Broken", "Cause": "always"}}},
    }});
    let p = dir.join("mocks.json");
    std::fs::write(&p, cfg.to_string()).unwrap();
    p
}

/// A tmpfs mounted for the data directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }

    /// Writes a file until the disk is full; answers its path. The database's write-ahead
    /// log is checkpointed and truncated first (as SQLite does by itself from time to
    /// time), so that the next commits must grow it and meet the full disk, rather than
    /// reuse the log's space.
    fn fill(&self, db: &Path) -> PathBuf {
        use std::io::Write;
        let script = "import sqlite3,sys,time\nfor _ in range(50):\n    r=sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()\n    if r[0]==0: break\n    time.sleep(0.02)\n";
        let _ = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(db)
            .status();
        let p = self.0.join("filler");
        let mut f = std::fs::File::create(&p).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.flush();
        p
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Starts of one round: each start's name, and whether the server acknowledged it.
type Starts = Arc<Mutex<Vec<(String, String, bool)>>>;

/// Starts `n` executions from `threads` threads (one thread: one at a time), named
/// `{round}-{i}`, spread over the machines, each thread pausing `pace` between its starts
/// (so that a fault lands among them); records each start and its acknowledgement.
fn start_many(
    passo: &Addr,
    machines: &[String],
    round: &str,
    n: usize,
    threads: usize,
    pace: Duration,
) -> Starts {
    let starts: Starts = Default::default();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (passo, machines, starts) = (passo.clone(), machines.to_vec(), starts.clone());
            let round = round.to_string();
            std::thread::spawn(move || {
                for i in (t..n).step_by(threads) {
                    let m = &machines[i % machines.len()];
                    let name = format!("{round}-{i}");
                    let req = json!({"stateMachineArn": format!("{m}#Faults"), "name": name,
                                     "input": "{\"items\": [1, 2, 3]}"});
                    let addr = passo.lock().unwrap().clone();
                    let ok = matches!(try_call(&addr, "StartExecution", &req), Some((200, _)));
                    starts.lock().unwrap().push((m.clone(), name, ok));
                    std::thread::sleep(pace);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    starts
}

fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// Calls of the command function, by execution (from its log of payloads).
fn command_calls(log: &Path) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            if let Some(e) = v["exec"].as_str() {
                *out.entry(e.to_string()).or_default() += 1;
            }
        }
    }
    out
}

/// Tasks of function `f` the history scheduled.
fn scheduled(h: &[Value], f: &str) -> usize {
    let needle = format!("\"FunctionName\":\"{f}\"");
    h.iter()
        .filter(|e| e["type"] == "TaskScheduled")
        .filter(|e| {
            e["taskScheduledEventDetails"]["parameters"]
                .as_str()
                .is_some_and(|p| p.contains(&needle))
        })
        .count()
}

/// Executions RUNNING now, over all machines.
fn running(s: &Server, machines: &[String]) -> usize {
    machines
        .iter()
        .map(|m| {
            let req = json!({"stateMachineArn": m, "statusFilter": "RUNNING", "maxResults": 1000});
            s.call("ListExecutions", req)["executions"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum()
}

fn stats(s: &Server) -> Value {
    let (status, v) = raw_call(&s.addr, "Passo.DescribeServer", "{}", "");
    assert_eq!(status, 200, "{v}");
    v
}

#[test]
fn random_workflows_through_kills_and_a_full_disk_lose_nothing() {
    let seed = std::env::var("PASSO_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("fault test seed: {seed} (PASSO_FAULT_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tmpfs = Tmpfs::mount(&data, 48);
    if tmpfs.is_none() {
        println!("note: no tmpfs could be mounted (not root?): the disk-full round is skipped");
    }
    let log = dir.path().join("server.log");
    let cmd_log = dir.path().join("cmd.log");
    let passo: Addr = Arc::new(Mutex::new(String::new()));
    let (echo, http_calls): (String, Calls) = echo_endpoint(passo.clone());
    let project = dir.path().join("passo.toml");
    let record = format!(
        "p=$(cat); printf '%s\\n' \"$p\" >> {}; printf '%s' \"$p\"",
        cmd_log.display()
    );
    std::fs::write(
        &project,
        format!(
            "[functions.http]\nurl = \"{echo}\"\n\n[functions.cmd]\ncommand = [\"sh\", \"-c\", {}]\nconcurrency = 16\n",
            serde_json::to_string(&record).unwrap()
        ),
    )
    .unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let mocks = mock_file(dir.path(), &names);
    let args = [
        "--project",
        project.to_str().unwrap(),
        "--mock",
        mocks.to_str().unwrap(),
        "--sweep-seconds",
        "0.5",
    ];
    let mut s = Server::start_with(&data, &args, None, Some(&log));
    *passo.lock().unwrap() = s.addr.clone();
    let activity = s.call("CreateActivity", json!({"name": "work"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = Arc::new(AtomicBool::new(false));
    workers(passo.clone(), &activity, 4, stop.clone());
    let mut machines = Vec::new();
    for n in &names {
        let def = random_machine(&mut rng, &activity);
        machines.push(create(&s, n, "STANDARD", def));
    }

    // Round 1: one at a time, then many at once.
    let mut all: Vec<(String, String, bool)> = Vec::new();
    all.extend(
        start_many(&passo, &machines, "one", 40, 1, Duration::ZERO)
            .lock()
            .unwrap()
            .drain(..),
    );
    all.extend(
        start_many(&passo, &machines, "many", 80, 8, Duration::ZERO)
            .lock()
            .unwrap()
            .drain(..),
    );
    let steady: HashSet<String> = all.iter().map(|(_, n, _)| n.clone()).collect();

    // Round 2: SIGKILL twice while executions start and run; restart at the same address.
    let mut killed_names = HashSet::new();
    let mut running_at_kills = 0;
    for k in 0..2 {
        let before = stats(&s);
        assert_eq!(before["strandedFound"], 0, "before kill {k}: {before}");
        let round = format!("kill{k}");
        let (p, m, r) = (passo.clone(), machines.clone(), round.clone());
        let starter =
            std::thread::spawn(move || start_many(&p, &m, &r, 120, 8, Duration::from_millis(50)));
        std::thread::sleep(Duration::from_millis(400 + rng.below(300) as u64));
        running_at_kills += running(&s, &machines);
        s.kill();
        let addr = s.addr.clone();
        s = Server::start_with(&data, &args, Some(&addr), Some(&log));
        let starts = starter.join().unwrap();
        let mut starts = starts.lock().unwrap();
        killed_names.extend(starts.iter().map(|(_, n, _)| n.clone()));
        all.extend(starts.drain(..));
    }
    // Executions of the first round still running at a kill may call again too.
    killed_names.extend(steady.iter().cloned());

    // Round 3: the disk fills up, executions start and run on it, then it frees. The starts
    // begin once the disk is full (and go on for longer than it stays full), so that commits
    // meet it however fast the machine is.
    let mut full_round = false;
    if let Some(t) = &tmpfs {
        let filler = t.fill(&data.join("passo.db"));
        let (p, m) = (passo.clone(), machines.clone());
        let starter = std::thread::spawn(move || {
            start_many(&p, &m, "full", 160, 8, Duration::from_millis(100))
        });
        std::thread::sleep(Duration::from_millis(1500));
        std::fs::remove_file(&filler).unwrap();
        let starts = starter.join().unwrap();
        all.extend(starts.lock().unwrap().drain(..));
        full_round = true;
    }

    // Every acknowledged start exists and ends; nothing that exists stays RUNNING.
    let acknowledged: Vec<String> = all
        .iter()
        .filter(|(_, _, ok)| *ok)
        .map(|(m, n, _)| execution_arn(m, n))
        .collect();
    let mut existing: Vec<String> = Vec::new();
    for m in &machines {
        let mut token: Option<String> = None;
        loop {
            let mut req = json!({"stateMachineArn": m, "maxResults": 1000});
            if let Some(t) = &token {
                req["nextToken"] = json!(t);
            }
            let v = s.call("ListExecutions", req);
            for e in v["executions"].as_array().unwrap() {
                existing.push(e["executionArn"].as_str().unwrap().to_string());
            }
            match v["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
    }
    let existing_set: HashSet<&String> = existing.iter().collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|a| !existing_set.contains(a))
        .collect();
    let stuck = still_running(&s, &existing, 90);
    // Where each stuck execution stopped: its last events, for the failure message.
    let stuck_at: Vec<String> = stuck
        .iter()
        .map(|a| {
            let h = history(&s, a);
            let tail: Vec<&str> = h
                .iter()
                .rev()
                .take(4)
                .filter_map(|e| e["type"].as_str())
                .collect();
            format!("{a}: last events {tail:?}")
        })
        .collect();
    let mut not_succeeded = Vec::new();
    let mut broken = Vec::new();
    let mut twice = Vec::new();
    let cmd_calls = command_calls(&cmd_log);
    let http = http_calls.lock().unwrap().clone();
    for a in &existing {
        let d = s.call("DescribeExecution", json!({"executionArn": a}));
        if d["status"] != "SUCCEEDED" {
            not_succeeded.push(format!("{a}: {d}"));
        }
        let h = history(&s, a);
        if let Err(e) = check_history(&h) {
            broken.push(format!("{a}: {e}"));
        }
        let name = a.rsplit(':').next().unwrap().to_string();
        let (want_http, want_cmd) = (scheduled(&h, "http"), scheduled(&h, "cmd"));
        let (got_http, got_cmd) = (
            http.get(a).copied().unwrap_or(0),
            cmd_calls.get(a).copied().unwrap_or(0),
        );
        let exact = !killed_names.contains(&name);
        let bad = |want: usize, got: usize| {
            if exact {
                want != got
            } else {
                got < want || got > 2 * want
            }
        };
        if bad(want_http, got_http) || bad(want_cmd, got_cmd) {
            twice.push(format!(
                "{a}: http {got_http} calls for {want_http} scheduled, command {got_cmd} for {want_cmd}"
            ));
        }
    }
    stop.store(true, Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(1200));
    let end = stats(&s);
    let acked = acknowledged.len();
    println!(
        "fault test: {} executions ({acked} acknowledged starts, {} refused or cut off), 2 SIGKILL rounds ({running_at_kills} executions running at the kills), disk-full round: {}; stuck {}, lost {}, not SUCCEEDED {}, broken histories {}, extra invocations {}, sweeper found {}",
        existing.len(),
        all.len() - acked,
        if full_round { "yes" } else { "skipped" },
        stuck.len(),
        lost.len(),
        not_succeeded.len(),
        broken.len(),
        twice.len(),
        end["strandedFound"]
    );
    drop(s);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let retried = log_text.matches("retrying").count();
    println!("fault test: {retried} failing commits logged and retried");
    if full_round {
        assert!(
            retried > 0,
            "the full disk failed no commit: the round tested nothing"
        );
    }
    assert!(stuck.is_empty(), "stuck: {stuck_at:#?}");
    assert!(lost.is_empty(), "lost: {lost:#?}");
    assert!(not_succeeded.is_empty(), "{not_succeeded:#?}");
    assert!(broken.is_empty(), "{broken:#?}");
    assert!(twice.is_empty(), "{twice:#?}");
    assert_eq!(end["strandedFound"], 0, "{end}");
    assert!(
        !log_text.contains("stranded execution"),
        "the sweeper found stranded executions:\n{log_text}"
    );
}
