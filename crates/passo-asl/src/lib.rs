//! The Amazon States Language: the typed model of a state machine definition, parsing from
//! JSON or YAML, and validation that reports every problem with its location.
//!
//! Nothing here performs I/O or evaluates anything at run time; `passo-expr` and
//! `passo-engine` evaluate what this crate parses.

pub mod diagnostic;
mod filter_words;
pub mod intrinsic;
pub mod jsonata;
pub mod jtemplate;
pub mod model;
pub mod parse;
pub mod path;
pub mod scopes;
pub mod template;
pub mod timestamp;

pub use diagnostic::invalid_definition_message;
pub use diagnostic::{Code, Diagnostic};
pub use model::*;
pub use parse::{parse, parse_for, parse_str, parse_text, validate, validate_for, MachineType};
