//! Variable scopes: a Parallel branch or an inline Map's processor is an inner scope that reads
//! the outer scope's variables and may not assign a name the outer scope assigns (no
//! shadowing). A Distributed Map's children see no outer variables, so they may reuse names.

use crate::diagnostic::{Code, Diagnostic};
use crate::jtemplate::JTemplate;
use crate::model::*;
use crate::template::{escape_pointer, Template};
use serde_json::Value;
use std::collections::HashSet;

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
    for state in &program.states {
        let loc = format!("{at}/States/{}", escape_pointer(&state.name));
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
    }
    for state in &program.states {
        let loc = format!("{at}/States/{}", escape_pointer(&state.name));
        // The enclosing state's own Assign and Catch run after its children, in the outer
        // scope; AWS accepts children that assign the same names (recorded in the
        // conformance corpus), so only the other states' names count.
        let own: HashSet<String> = assigned(state).into_iter().collect();
        let others: HashSet<String> = program
            .states
            .iter()
            .filter(|s| s.name != state.name)
            .flat_map(assigned)
            .chain(outer.iter().cloned())
            .collect();
        let visible: HashSet<String> = here
            .iter()
            .filter(|n| others.contains(*n) || !own.contains(*n))
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
