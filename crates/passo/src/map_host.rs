//! What `passo run`'s Map Runs reach: the project's buckets for ItemReader and ResultWriter,
//! and a progress bar on the terminal (items done of total, rate, failures, time left).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use passo_engine::driver::{ItemStream, MapRunHost, ResultSink};
use passo_engine::map_run::{Counts, ItemSource, MapRunSpec};
use passo_engine::Failure;
use passo_tasks::Integrations;
use std::io::IsTerminal;

pub struct RunHost<'a> {
    integrations: &'a Integrations,
    io: &'a tokio::runtime::Runtime,
    /// Draw progress bars (a terminal, and not `--json`).
    show_progress: bool,
    bars: Vec<(String, ProgressBar)>,
}

impl<'a> RunHost<'a> {
    pub fn new(
        integrations: &'a Integrations,
        io: &'a tokio::runtime::Runtime,
        json: bool,
    ) -> Self {
        RunHost {
            integrations,
            io,
            show_progress: !json && std::io::stderr().is_terminal(),
            bars: Vec::new(),
        }
    }

    fn bar(&mut self, spec: &MapRunSpec) -> &ProgressBar {
        if let Some(i) = self
            .bars
            .iter()
            .position(|(arn, _)| arn == &spec.map_run_arn)
        {
            return &self.bars[i].1;
        }
        let total = match &spec.items {
            ItemSource::Inline(items) => Some(items.len() as u64),
            ItemSource::Reader { .. } => None,
        };
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{prefix} [{bar:30}] {human_pos}/{human_len} children, {msg}, {eta} left"
        } else {
            "{prefix} {spinner} {human_pos} children in {elapsed}, {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(format!("Map Run {}", spec.state_name));
        self.bars.push((spec.map_run_arn.clone(), bar));
        &self.bars[self.bars.len() - 1].1
    }
}

impl MapRunHost for RunHost<'_> {
    fn open_items(&mut self, spec: &MapRunSpec) -> Result<ItemStream, Failure> {
        let buckets = self.integrations.buckets().map_err(|e| {
            Failure::new(
                "States.ItemReaderFailed",
                format!("The buckets cannot be used: {e}"),
            )
        })?;
        let items = passo_tasks::map_items::open(buckets, self.io.handle(), spec)?;
        Ok(items)
    }

    fn open_results(&mut self, spec: &MapRunSpec) -> Result<Box<dyn ResultSink>, Failure> {
        let buckets = self.integrations.buckets().map_err(|e| {
            Failure::new(
                "States.ResultWriterFailed",
                format!("The buckets cannot be used: {e}"),
            )
        })?;
        passo_tasks::map_items::open_results(buckets, self.io.handle(), spec)
    }

    fn progress(&mut self, spec: &MapRunSpec, counts: &Counts, done: bool) {
        if !self.show_progress {
            return;
        }
        let bar = self.bar(spec);
        let ended = counts.succeeded + counts.failed + counts.timed_out + counts.aborted;
        bar.set_position(ended);
        // The message (rate and failures) is redrawn every 1,024 children: formatting it
        // for each of millions would cost more than the children.
        if done || ended % 1024 == 1 {
            let failures = counts.failed + counts.timed_out + counts.aborted;
            let rate = ended as f64 / bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{rate:.0}/s, {failures} failed"));
        }
        if done {
            bar.finish();
        }
    }
}
