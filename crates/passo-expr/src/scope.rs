//! What an expression can see: the input (`$`), the context object (`$$`), the variables
//! (`$name`) and the seeded random generator.

use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;

/// Variables visible to an expression (inner scopes see outer ones).
pub trait Variables {
    fn get_var(&self, name: &str) -> Option<&Value>;
}

impl Variables for () {
    fn get_var(&self, _: &str) -> Option<&Value> {
        None
    }
}

impl Variables for HashMap<String, Value> {
    fn get_var(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl Variables for serde_json::Map<String, Value> {
    fn get_var(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The context object, built only when a `$$` path asks for it (most states never do).
pub trait ContextObject {
    fn context(&self) -> Value;
}

impl ContextObject for Value {
    fn context(&self) -> Value {
        self.clone()
    }
}

/// Everything an expression evaluates against.
pub struct Scope<'a> {
    pub input: &'a Value,
    pub context: &'a dyn ContextObject,
    pub vars: &'a dyn Variables,
    pub rng: &'a Cell<u64>,
}

impl<'a> Scope<'a> {
    /// The same scope with another input (e.g. a Map item, or a ResultSelector's result).
    pub fn with_input<'b>(&'b self, input: &'b Value) -> Scope<'b>
    where
        'a: 'b,
    {
        Scope {
            input,
            context: self.context,
            vars: self.vars,
            rng: self.rng,
        }
    }
}
