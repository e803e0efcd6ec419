//! Variable scopes: a Parallel branch or an inline Map's processor is an inner scope that reads
//! the outer scope's variables and may not assign a name the outer scope assigns (no
//! shadowing). A Distributed Map's children see no outer variables, so they may reuse names.

use crate::diagnostic::{Code, Diagnostic};
use crate::jtemplate::JTemplate;
use crate::model::*;
use crate::template::{escape_pointer, Template};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Every assignment that redefines a variable of an enclosing scope.
pub fn shadowing(machine: &StateMachine) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(&machine.program, &HashSet::new(), "", &mut out);
    out
}

fn template_names(t: &Template) -> Vec<String> {
    match t {
        Template::Literal(Value::Object(m)) => m.keys().cloned().collect(),
        Template::Object(members) => members.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    }
}

fn jtemplate_names(t: &JTemplate) -> Vec<String> {
    match t {
        JTemplate::Literal(Value::Object(m)) => m.keys().cloned().collect(),
        JTemplate::Object(members) => members.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    }
}

fn fields_names(f: &Option<JsonataFields>) -> Vec<String> {
    f.as_ref()
        .and_then(|f| f.assign.as_ref())
        .map(jtemplate_names)
        .unwrap_or_default()
}

/// The names a state assigns (its own Assign, its Choice rules' and its Catchers').
fn assigned(state: &State) -> Vec<String> {
    let mut names: Vec<String> = state
        .assign
        .as_ref()
        .map(template_names)
        .unwrap_or_default();
    names.extend(fields_names(&state.jsonata));
    let catch: &[Catcher] = match &state.kind {
        StateKind::Task(t) => &t.catch,
        StateKind::Parallel(p) => &p.catch,
        StateKind::Map(m) => &m.catch,
        _ => &[],
    };
    for c in catch {
        names.extend(c.assign.as_ref().map(template_names).unwrap_or_default());
        names.extend(fields_names(&c.jsonata));
    }
    if let StateKind::Choice(c) = &state.kind {
        for r in &c.choices {
            names.extend(r.assign.as_ref().map(template_names).unwrap_or_default());
            names.extend(fields_names(&r.jsonata));
        }
    }
    names
}

fn walk(program: &Program, outer: &HashSet<String>, at: &str, out: &mut Vec<Diagnostic>) {
    let mut here: HashSet<String> = outer.clone();
    // How many states of this program assign each name (once per state), so that "the
    // other states' names" below costs one lookup instead of a pass over every state.
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut own: Vec<HashSet<String>> = Vec::with_capacity(program.states.len());
    for state in &program.states {
        let loc = format!("{at}/States/{}", escape_pointer(&state.name));
        let names: HashSet<String> = assigned(state).into_iter().collect();
        for name in assigned(state) {
            if outer.contains(&name) {
                out.push(Diagnostic::new(
                    Code::SchemaValidationFailed,
                    format!("{loc}/Assign"),
                    format!("The variable '{name}' is assigned in an outer scope and cannot be assigned again in an inner scope"),
                ));
            }
            here.insert(name);
        }
        for n in &names {
            *counts.entry(n.clone()).or_default() += 1;
        }
        own.push(names);
    }
    for (state, own) in program.states.iter().zip(&own) {
        if !matches!(state.kind, StateKind::Parallel(_) | StateKind::Map(_)) {
            continue;
        }
        let loc = format!("{at}/States/{}", escape_pointer(&state.name));
        // The enclosing state's own Assign and Catch run after its children, in the outer
        // scope; AWS accepts children that assign the same names (recorded in the
        // conformance corpus), so only the other states' names count.
        let by_others = |n: &String| {
            outer.contains(n) || counts.get(n).copied().unwrap_or(0) > usize::from(own.contains(n))
        };
        let visible: HashSet<String> = here
            .iter()
            .filter(|n| by_others(n) || !own.contains(*n))
            .cloned()
            .collect();
        match &state.kind {
            StateKind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    walk(b, &visible, &format!("{loc}/Branches/{i}"), out);
                }
            }
            StateKind::Map(m) if m.mode == MapMode::Inline => {
                walk(&m.processor, &visible, &format!("{loc}/ItemProcessor"), out)
            }
            StateKind::Map(m) => walk(
                &m.processor,
                &HashSet::new(),
                &format!("{loc}/ItemProcessor"),
                out,
            ),
            _ => {}
        }
    }
}
