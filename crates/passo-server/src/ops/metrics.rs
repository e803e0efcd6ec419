//! The server's metrics: counters bumped where things happen (an execution starts, a step
//! commits, an execution ends, a task answers, a timer fires) and gauges read when scraped
//! (what is in memory, queued, in flight). Each bump is one atomic add; nothing is kept per
//! execution.

use crate::runtime::Runtime;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

const KINDS: [&str; 2] = ["STANDARD", "EXPRESS"];
const ENDS: [&str; 4] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

pub struct Metrics {
    registry: Registry,
    started: Family<Labels, Counter>,
    finished: Family<Labels, Counter>,
    /// The families' series made once, so a bump on the hot path allocates no label set.
    started_by_kind: [Counter; 2],
    finished_by_kind: [[Counter; 4]; 2],
    transitions: Counter,
    steps: Counter,
    task_seconds: Histogram,
    timer_lag_seconds: Histogram,
    in_memory: Gauge,
    tasks_in_flight: Gauge,
    activity_tasks_queued: Gauge,
    timers_in_memory: Gauge,
    express_in_flight: Gauge,
    stranded_found: Gauge,
    /// Several nodes on one database (bumped by `runtime::leases` and `inbox`).
    pub cluster: ClusterMetrics,
}

/// What a node sharing its database with others did with leases and forwarded events.
#[derive(Default)]
pub struct ClusterMetrics {
    pub taken_over: Counter,
    pub lost: Counter,
    /// Event deliveries another node accepted and this one took over as overdue.
    pub deliveries_taken_over: Counter,
    pub forwarded: Counter,
    pub inbox_applied: Counter,
    pub inbox_depth: Gauge,
    pub leases_renewed: Gauge,
    /// 1 while this node serves Passo's own queues and topics.
    pub messaging_serving: Gauge,
    /// SQS and SNS requests and calls this node sent on to the node serving them.
    pub messaging_forwarded: Counter,
}

impl ClusterMetrics {
    fn register(&self, r: &mut Registry) {
        r.register(
            "leases_taken_over",
            "Executions this node took over from a node whose lease ran out",
            self.taken_over.clone(),
        );
        r.register(
            "leases_lost",
            "Steps refused because another node had taken the execution's lease",
            self.lost.clone(),
        );
        r.register(
            "deliveries_taken_over",
            "Event deliveries this node took over, overdue, from the node that accepted them",
            self.deliveries_taken_over.clone(),
        );
        r.register(
            "events_forwarded",
            "Events sent through the inbox to the node holding their execution",
            self.forwarded.clone(),
        );
        r.register(
            "inbox_events_applied",
            "Forwarded events this node applied",
            self.inbox_applied.clone(),
        );
        r.register(
            "inbox_depth",
            "Forwarded events this node may apply, at its last look",
            self.inbox_depth.clone(),
        );
        r.register(
            "leases_held",
            "Leases this node held at its last renewal",
            self.leases_renewed.clone(),
        );
        r.register(
            "messaging_serving",
            "1 while this node serves Passo's own SQS queues and SNS topics",
            self.messaging_serving.clone(),
        );
        r.register(
            "messaging_forwarded",
            "SQS and SNS requests and in-process calls sent on to the node serving them",
            self.messaging_forwarded.clone(),
        );
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("passo");
        let started = Family::<Labels, Counter>::default();
        registry.register(
            "executions_started",
            "Executions started, by type (STANDARD, EXPRESS)",
            started.clone(),
        );
        let finished = Family::<Labels, Counter>::default();
        registry.register(
            "executions_finished",
            "Executions ended, by type and status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)",
            finished.clone(),
        );
        let transitions = Counter::default();
        registry.register(
            "state_transitions",
            "States entered by Standard executions (committed)",
            transitions.clone(),
        );
        let steps = Counter::default();
        registry.register(
            "steps_committed",
            "Steps of Standard executions committed to the store",
            steps.clone(),
        );
        // 1 ms to ~65 s.
        let task_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 17));
        registry.register(
            "task_seconds",
            "Time from a Task's invocation to its answer (functions, HTTP, AWS services)",
            task_seconds.clone(),
        );
        let timer_lag_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "timer_lag_seconds",
            "How late a timer (Wait, retry back-off, timeout) fired after its due time",
            timer_lag_seconds.clone(),
        );
        let gauge = |r: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            r.register(name, help, g.clone());
            g
        };
        let in_memory = gauge(
            &mut registry,
            "executions_in_memory",
            "Standard executions held in memory",
        );
        let tasks_in_flight = gauge(
            &mut registry,
            "tasks_in_flight",
            "Task invocations not yet answered",
        );
        let activity_tasks_queued = gauge(
            &mut registry,
            "activity_tasks_queued",
            "Activity tasks waiting for a worker",
        );
        let timers_in_memory = gauge(
            &mut registry,
            "timers_in_memory",
            "Timers due soon, held in memory",
        );
        let express_in_flight = gauge(
            &mut registry,
            "express_in_flight",
            "Express executions running",
        );
        let stranded_found = gauge(
            &mut registry,
            "stranded_found",
            "Executions the sweeper found with nothing to move them on (should stay 0)",
        );
        let started_by_kind = KINDS.map(|k| {
            started
                .get_or_create(&vec![("type", k.to_string())])
                .clone()
        });
        let finished_by_kind = KINDS.map(|k| {
            ENDS.map(|s| {
                finished
                    .get_or_create(&vec![("type", k.to_string()), ("status", s.to_string())])
                    .clone()
            })
        });
        let cluster = ClusterMetrics::default();
        cluster.register(&mut registry);
        Metrics {
            cluster,
            registry,
            started,
            finished,
            started_by_kind,
            finished_by_kind,
            transitions,
            steps,
            task_seconds,
            timer_lag_seconds,
            in_memory,
            tasks_in_flight,
            activity_tasks_queued,
            timers_in_memory,
            express_in_flight,
            stranded_found,
        }
    }
}

impl Metrics {
    pub fn started(&self, kind: &str) {
        match KINDS.iter().position(|k| *k == kind) {
            Some(i) => self.started_by_kind[i].inc(),
            None => self
                .started
                .get_or_create(&vec![("type", kind.to_string())])
                .inc(),
        };
    }

    pub fn finished(&self, kind: &str, status: &str) {
        let k = KINDS.iter().position(|k| *k == kind);
        let s = ENDS.iter().position(|s| *s == status);
        match (k, s) {
            (Some(k), Some(s)) => self.finished_by_kind[k][s].inc(),
            _ => self
                .finished
                .get_or_create(&vec![
                    ("type", kind.to_string()),
                    ("status", status.to_string()),
                ])
                .inc(),
        };
    }

    /// A committed step and the states it entered.
    pub fn stepped(&self, states_entered: u64) {
        self.steps.inc();
        self.transitions.inc_by(states_entered);
    }

    pub fn task_answered(&self, seconds: f64) {
        self.task_seconds.observe(seconds);
    }

    pub fn timer_fired(&self, late_ms: i64) {
        self.timer_lag_seconds
            .observe(late_ms.max(0) as f64 / 1000.0);
    }

    /// The text Prometheus scrapes, with the gauges read now.
    pub fn render(&self, rt: &Runtime) -> String {
        let set = |g: &Gauge, v: usize| {
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
        };
        set(&self.in_memory, rt.active_count());
        set(&self.tasks_in_flight, rt.inflight_count());
        set(&self.activity_tasks_queued, rt.activities.len());
        set(&self.timers_in_memory, rt.timers.len());
        set(&self.express_in_flight, rt.express_in_flight());
        set(&self.stranded_found, rt.sweeper.stranded() as usize);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
