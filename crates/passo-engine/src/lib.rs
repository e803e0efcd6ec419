//! The pure interpreter of ../../docs/architecture.md:
//! `step(execution, event, now) -> (commands, history events)`.
//!
//! Nothing here reads a clock, performs I/O or draws randomness of its own: the time of each
//! step is given, the random seed is given at start, Task results and timer firings come in as
//! [`Event`]s and Task invocations and timers go out as [`Command`]s.

mod context;
pub mod driver;
pub mod execution;
mod failure;
pub mod history;
pub mod history_text;
mod io;
pub mod map_run;
pub mod mock;
mod retry;
pub mod snapshot;
pub(crate) mod states;
pub mod test_state;
pub mod test_state_shapes;
pub mod token;

pub use execution::{
    Command, Event, Execution, ExecutionInfo, OpenTaskView, Outcome, Status, TaskId, TaskPhase,
    TimerId,
};
pub use failure::Failure;
pub use history::HistoryEvent;
