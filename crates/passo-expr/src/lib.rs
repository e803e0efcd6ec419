//! What a definition computes with, evaluated against a [`Scope`]: ASL JSONPath (reading and
//! writing), payload templates, the 18 intrinsic functions and Choice rules.
//!
//! Pure: no clock, no I/O. Randomness (`States.UUID`, `States.MathRandom`) comes from the
//! seeded generator in the scope, so a run replays exactly.

pub mod choice;
pub mod error;
pub mod intrinsics;
pub mod jsonata;
pub mod jsonpath;
pub mod random;
pub mod scope;
pub mod template;

pub use error::ExprError;
pub use scope::{ContextObject, Scope, Variables};
