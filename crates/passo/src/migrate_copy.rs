//! The copying of `passo migrate`: every table of the source read in pages (the big ones
//! in key order, so a store of millions of steps never sits in memory whole) and written to
//! the destination as the store's own writes, a few thousand rows per transaction, with a
//! few transactions in flight so that reading the next page overlaps committing the last.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use passo_store::{Db, MessagingWrite as M, Result, Write, TABLES};
use std::collections::VecDeque;
use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;

/// Rows read per page of the tables that can be large.
const PAGE: usize = 1000;
/// Steps carry whole histories (up to a payload limit each): fewer per page.
const STEP_PAGE: usize = 500;
/// A batch is sent once it holds this many bytes of text, however few rows.
const BATCH_BYTES: usize = 8 << 20;
/// Transactions sent and not yet committed.
const IN_FLIGHT: usize = 3;

type Pending = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

pub struct Copier<'a> {
    from: &'a Db,
    to: &'a Db,
    rt: tokio::runtime::Runtime,
    batch_rows: usize,
    batch: Vec<Write>,
    batch_bytes: usize,
    in_flight: VecDeque<Pending>,
    copied: Vec<(&'static str, u64)>,
    bar: ProgressBar,
}

impl<'a> Copier<'a> {
    pub fn new(from: &'a Db, to: &'a Db, batch_rows: usize, total_rows: u64) -> Copier<'a> {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total_rows), target);
        let template = "[{bar:30}] {human_pos}/{human_len} rows, {per_sec}, {eta} left: {msg}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Copier {
            from,
            to,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to wait for commits on"),
            batch_rows,
            batch: Vec::with_capacity(batch_rows),
            batch_bytes: 0,
            in_flight: VecDeque::new(),
            copied: TABLES.iter().map(|t| (*t, 0)).collect(),
            bar,
        }
    }

    /// Queues one row's write; sends the batch when it is full.
    fn put(&mut self, table: &'static str, w: Write) -> Result<()> {
        self.batch_bytes += weight(&w);
        self.batch.push(w);
        if let Some(c) = self.copied.iter_mut().find(|(t, _)| *t == table) {
            c.1 += 1;
        }
        if self.batch.len() >= self.batch_rows || self.batch_bytes >= BATCH_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the batch as one request, first waiting for the oldest when enough are out.
    fn send(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = self.batch.len() as u64;
        let writes = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_rows));
        self.batch_bytes = 0;
        self.in_flight.push_back(Box::pin(self.to.submit(writes)));
        while self.in_flight.len() > IN_FLIGHT {
            self.wait_oldest()?;
        }
        self.bar.inc(rows);
        Ok(())
    }

    fn wait_oldest(&mut self) -> Result<()> {
        match self.in_flight.pop_front() {
            Some(f) => self.rt.block_on(f),
            None => Ok(()),
        }
    }

    /// Sends what is left, waits for every commit, and answers the rows copied per table.
    pub fn finish(mut self) -> Result<Vec<(&'static str, u64)>> {
        self.send()?;
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        self.bar.finish_and_clear();
        Ok(self.copied)
    }

    fn table(&self, name: &str) {
        self.bar.set_message(name.to_string());
    }

    /// Copies every table, in the order of [`TABLES`].
    pub fn copy_all(&mut self) -> Result<()> {
        let from = self.from;
        self.table("machines");
        for m in from.machines()? {
            self.put("machines", Write::PutMachine(m))?;
        }
        self.table("revisions");
        let mut after: Option<(String, String)> = None;
        loop {
            let key = after.as_ref().map(|(m, r)| (m.as_str(), r.as_str()));
            let page = from.revisions_page(key, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.machine_arn.clone(), last.revision_id.clone()));
            for r in page {
                self.put("revisions", Write::PutRevision(r))?;
            }
        }
        self.table("versions");
        for v in from.all_versions()? {
            self.put("versions", Write::PutVersion(v))?;
        }
        self.table("aliases");
        for a in from.all_aliases()? {
            self.put("aliases", Write::PutAlias(a))?;
        }
        // One write per tag, in the order they were set, so each resource's tags keep it.
        self.table("tags");
        for (arn, k, v) in from.all_tags()? {
            self.put("tags", Write::PutTags(arn, vec![(k, v)]))?;
        }
        self.table("activities");
        for a in from.activities()? {
            self.put("activities", Write::PutActivity(a))?;
        }
        self.table("functions");
        for f in from.functions()? {
            self.put("functions", Write::PutFunction(f))?;
        }
        self.copy_executions()?;
        self.copy_events()?;
        self.copy_messaging()
    }

    /// Executions, their steps and timers, Map Runs.
    fn copy_executions(&mut self) -> Result<()> {
        let from = self.from;
        self.table("executions");
        let mut after: Option<String> = None;
        loop {
            let page = from.executions_page(after.as_deref(), PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.arn.clone());
            for e in page {
                self.put("executions", Write::InsertExecution(e))?;
            }
        }
        self.table("steps");
        let mut after: Option<(String, i64)> = None;
        loop {
            let key = after.as_ref().map(|(a, s)| (a.as_str(), *s));
            let page = from.steps_page(key, STEP_PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.execution_arn.clone(), last.seq));
            for s in page {
                self.put("steps", Write::AppendStep(s))?;
            }
        }
        // Timers are a few per running execution: read at once.
        self.table("timers");
        for t in from.due_timers(i64::MAX, usize::MAX)? {
            self.put("timers", Write::PutTimer(t))?;
        }
        self.table("map_runs");
        let mut after: Option<String> = None;
        loop {
            let page = from.map_runs_page(after.as_deref(), PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.arn.clone());
            for r in page {
                self.put("map_runs", Write::PutMapRun(r))?;
            }
        }
        Ok(())
    }

    /// Event buses, rules, targets, deliveries, dead letters, schedules, webhooks.
    fn copy_events(&mut self) -> Result<()> {
        let from = self.from;
        self.table("event buses and rules");
        for b in from.event_buses()? {
            self.put("event_buses", Write::InsertEventBus(b))?;
        }
        for r in from.rules()? {
            self.put("rules", Write::PutRule(r))?;
        }
        for t in from.rule_targets()? {
            self.put("rule_targets", Write::PutRuleTarget(t))?;
        }
        self.table("deliveries");
        for d in from.pending_deliveries()? {
            self.put("deliveries", Write::InsertDelivery(d))?;
        }
        for d in from.dead_letters(usize::MAX)? {
            self.put("dead_letters", Write::PutDeadLetter(d))?;
        }
        self.table("schedules");
        for s in from.schedules()? {
            self.put("schedules", Write::PutSchedule(s))?;
        }
        for (key, due_ms) in from.schedule_marks()? {
            self.put("schedule_marks", Write::MarkSchedule(key, due_ms))?;
        }
        for w in from.webhooks()? {
            self.put("webhooks", Write::PutWebhook(w))?;
        }
        Ok(())
    }

    /// Queues with their messages; topics, subscriptions and their deliveries.
    fn copy_messaging(&mut self) -> Result<()> {
        let from = self.from;
        self.table("queues");
        for q in from.queues()? {
            self.put("queues", Write::Messaging(M::PutQueue(q)))?;
        }
        self.table("queue messages");
        let mut after: Option<(String, i64)> = None;
        loop {
            let key = after.as_ref().map(|(q, s)| (q.as_str(), *s));
            let page = from.queue_messages_page(key, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.queue.clone(), last.seq));
            for m in page {
                self.put("queue_messages", Write::Messaging(M::PutMessage(m)))?;
            }
        }
        self.table("topics");
        for t in from.topics()? {
            self.put("topics", Write::Messaging(M::PutTopic(t)))?;
        }
        for s in from.subscriptions()? {
            self.put("subscriptions", Write::Messaging(M::PutSubscription(s)))?;
        }
        for d in from.topic_deliveries()? {
            self.put("topic_deliveries", Write::Messaging(M::PutTopicDelivery(d)))?;
        }
        Ok(())
    }
}

/// About how many bytes a write carries (its large text columns), to bound a batch's size.
fn weight(w: &Write) -> usize {
    match w {
        Write::AppendStep(s) => s.event.len() + s.history.len() + s.execution_arn.len(),
        Write::InsertExecution(e) => {
            e.input.len() + e.output.as_ref().map_or(0, String::len) + e.params.len() + 256
        }
        Write::PutMachine(m) => m.definition.len() + 256,
        Write::PutRevision(r) => r.definition.len() + 128,
        Write::InsertDelivery(d) => d.event.len() + d.target.len() + 128,
        Write::PutDeadLetter(d) => d.event.len() + 256,
        Write::Messaging(M::PutMessage(m)) => m.body.len() + m.attributes.len() + 128,
        Write::Messaging(M::PutTopicDelivery(d)) => d.body.len() + 128,
        _ => 128,
    }
}
