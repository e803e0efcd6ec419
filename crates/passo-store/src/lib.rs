//! Passo's durable storage.
//!
//! One embedded SQLite database (WAL) holds state machines with their revisions, versions and
//! aliases, tags, executions, the *steps* of each execution (the event the interpreter was
//! given, the time, and the history events it wrote) and timers.
//!
//! Writes go through one writer thread that commits whatever has queued up in one
//! transaction (group commit): at thousands of executions per second, batching decides
//! throughput, not the rows. Each request is wrapped in its own savepoint, so one failing
//! request (say, an execution name already taken) does not fail its neighbours. Reads use a
//! small pool of separate connections, which WAL lets run beside the writer.

mod messaging;
mod rows;
mod search;
mod sqlite;

pub use messaging::{
    MessagingWrite, QueueMessageRow, QueueRow, SubscriptionRow, TopicDeliveryRow, TopicRow,
};
pub use rows::*;
pub use search::ExecutionFilter;
pub use sqlite::{Db, DbOptions};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a row with this key already exists")]
    Conflict,
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("the store's writer has stopped")]
    Closed,
}

pub type Result<T> = std::result::Result<T, StoreError>;
