//! `passo migrate`: copies a whole store into another, empty one (SQLite to PostgreSQL, or
//! any other way round), then counts every table in both and says whether they agree.
//! The copying itself is in `migrate_copy.rs`.

use crate::migrate_copy::Copier;
use clap::Args as ClapArgs;
use passo_store::{Database, Db, DbOptions, StoreError, NODE_TABLES, TABLES};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(ClapArgs)]
#[command(
    about = "Copy a whole store into another, empty one (SQLite to PostgreSQL, or back)",
    long_about = "Copy everything a Passo store holds into another, empty one: to move from the \
embedded SQLite database to PostgreSQL (or back, or between two databases of one kind).\n\n\
Copied: state machines with their revisions, versions, aliases and tags; activities; \
functions made through the API; executions with every step of their histories, their timers \
and Map Runs (RUNNING ones carry on where they stood once a server runs on the destination: \
Waits fire, task tokens can still be answered); event buses, rules, targets, pending \
deliveries and dead letters; schedules and when each last fired; webhooks; queues with their \
messages; topics, subscriptions and their pending deliveries.\n\n\
Not copied: what lives outside the store. Keep the data directory: its token.keys signs the \
task tokens already handed out, so start the server on the destination with the same \
--data-dir (or copy token.keys), and its buckets stay there too. PostgreSQL's leases and \
inbox belong to the nodes that ran on the source: a node starting on the destination takes \
the running executions over.\n\n\
Stop the server first: the source must not change while it is read (an SQLite file another \
process has open is refused). The destination must be empty: migrate never merges two \
stores, and there is no --force. If a migration stops halfway, drop and create the \
destination database again (or delete the file) and run it again.\n\n\
At the end every table's rows are counted in both stores and printed. Exit 0 when they \
agree; 1 when they do not, or on an error while copying; 2 when refused before copying \
anything (a bad URL, a missing or busy source, a destination that is not empty).\n\n\
Example:\n  passo migrate --from sqlite:./passo-data/passo.db --to postgres://passo@db.internal/passo\n  \
passo server --data-dir ./passo-data --database postgres://passo@db.internal/passo"
)]
pub struct Args {
    /// The store to copy: sqlite:PATH (a passo.db, or the data directory holding one) or
    /// postgres://USER@HOST:PORT/DBNAME.
    #[arg(long, value_name = "URL")]
    from: String,
    /// The store to fill, which must be empty: postgres://USER@HOST:PORT/DBNAME (its schema
    /// is created) or sqlite:PATH (created if missing).
    #[arg(long, value_name = "URL")]
    to: String,
    /// Rows committed together in the destination.
    #[arg(long, default_value_t = 2000, value_name = "ROWS")]
    batch_rows: usize,
}

/// Why nothing was copied (exit 2), or what failed (exit 1).
#[derive(Debug, thiserror::Error)]
enum MigrateError {
    #[error("{0}")]
    BadUrl(String),
    #[error("no Passo database at {0}")]
    NoSource(PathBuf),
    #[error("{0} is open in another process (a server running on it?): stop it first")]
    SourceBusy(PathBuf),
    #[error("the source and the destination are the same store")]
    SameStore,
    #[error(
        "the destination {0} is not empty ({1}): migrate never merges two stores; \
         drop and create the database (or delete the file) and run it again"
    )]
    NotEmpty(String, String),
    #[error("{0}: {1}")]
    Store(String, StoreError),
}

impl MigrateError {
    fn code(&self) -> u8 {
        match self {
            MigrateError::Store(..) => 1,
            _ => 2,
        }
    }
}

pub fn main(a: Args) -> ExitCode {
    match run(&a) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code())
        }
    }
}

/// Reads `--from`/`--to`; an SQLite path naming a directory means its passo.db.
fn parse(url: &str) -> Result<Database, MigrateError> {
    match Database::parse(url).map_err(MigrateError::BadUrl)? {
        Database::Sqlite(p) if p.is_dir() => Ok(Database::Sqlite(p.join("passo.db"))),
        d => Ok(d),
    }
}

fn open(d: &Database, what: &str) -> Result<Db, MigrateError> {
    let opts = DbOptions::default();
    Db::connect(d, opts).map_err(|e| MigrateError::Store(format!("{what} {d}"), e))
}

/// Copies, then verifies; answers whether the counts agree.
fn run(a: &Args) -> Result<bool, MigrateError> {
    let (from, to) = (parse(&a.from)?, parse(&a.to)?);
    if from == to {
        return Err(MigrateError::SameStore);
    }
    if let Database::Sqlite(p) = &from {
        // Opening would create an empty database where the user mistyped a path.
        if !p.is_file() {
            return Err(MigrateError::NoSource(p.clone()));
        }
        let busy = passo_store::sqlite_in_use(p)
            .map_err(|e| MigrateError::Store(format!("source {}", p.display()), e))?;
        if busy {
            return Err(MigrateError::SourceBusy(p.clone()));
        }
    }
    let source = open(&from, "source")?;
    let dest = open(&to, "destination")?;
    let counts = |db: &Db, what: &str, d: &Database| {
        db.table_counts()
            .map_err(|e| MigrateError::Store(format!("counting the rows of {what} {d}"), e))
    };
    let held: Vec<String> = counts(&dest, "destination", &to)?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{t}: {n}"))
        .collect();
    if !held.is_empty() {
        return Err(MigrateError::NotEmpty(to.to_string(), held.join(", ")));
    }
    let before = counts(&source, "source", &from)?;
    let total: i64 = before
        .iter()
        .filter(|(t, _)| TABLES.contains(&t.as_str()))
        .map(|(_, n)| n)
        .sum();
    eprintln!("copying {total} rows from {from} to {to}");
    let started = Instant::now();
    let mut copier = Copier::new(&source, &dest, a.batch_rows.max(1), total as u64);
    copier
        .copy_all()
        .map_err(|e| MigrateError::Store("copying".into(), e))?;
    let copied = copier
        .finish()
        .map_err(|e| MigrateError::Store(format!("writing to {to}"), e))?;
    let secs = started.elapsed().as_secs_f64();
    let after = counts(&source, "source", &from)?;
    let landed = counts(&dest, "destination", &to)?;
    let agree = report(&after, &copied, &landed);
    let rows: u64 = copied.iter().map(|(_, n)| n).sum();
    let executions = copied
        .iter()
        .find(|(t, _)| *t == "executions")
        .map_or(0, |(_, n)| *n);
    outln!(
        "copied {rows} rows in {secs:.1} s ({:.0} rows/s, {:.0} executions/s)",
        rows as f64 / secs.max(1e-9),
        executions as f64 / secs.max(1e-9)
    );
    source.close();
    dest.close();
    if agree {
        outln!("verified: every table has as many rows in {to} as in {from}");
    } else {
        eprintln!(
            "error: the counts differ (marked !): was a server running on the source? \
             Drop the destination and run migrate again with the server stopped"
        );
    }
    Ok(agree)
}

/// Prints each table's rows in the source, copied and in the destination; answers whether
/// every table agrees.
fn report(source: &[(String, i64)], copied: &[(&str, u64)], dest: &[(String, i64)]) -> bool {
    let of =
        |rows: &[(String, i64)], t: &str| rows.iter().find(|(n, _)| n == t).map_or(0, |(_, n)| *n);
    let mut agree = true;
    outln!(
        "{:<18} {:>12} {:>12} {:>12}",
        "table",
        "source",
        "copied",
        "destination"
    );
    for t in TABLES {
        let (s, d) = (of(source, t), of(dest, t));
        let c = copied.iter().find(|(n, _)| n == t).map_or(0, |(_, n)| *n);
        let same = s == d && c as i64 == s;
        agree &= same;
        outln!(
            "{:<18} {s:>12} {c:>12} {d:>12}{}",
            t,
            if same { "" } else { "  !" }
        );
    }
    // Never copied; listed when the destination has some (a node started on it meanwhile).
    for t in NODE_TABLES {
        let d = of(dest, t);
        if d > 0 {
            outln!("{t:<18} {:>12} {:>12} {d:>12}  (not copied)", "-", "-");
        }
    }
    agree
}
