//! A [`Graph`] as a Mermaid flowchart (`passo graph --format mermaid`), for docs and code
//! review: Parallel and Map states are subgraphs holding their branches, Catch edges are
//! dotted. Names come from a user's definition, so every label goes through [`label`] and
//! every id is made from the graph's own node ids (paths of digits, `b` and dots).

use super::graph::{EdgeKind, Graph, Node, Shape};
use std::fmt::Write;

/// Text inside a quoted Mermaid label: characters that could end the label or be read as
/// markup are written as Mermaid's `#NNN;` entity codes.
pub fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_alphanumeric()
            || matches!(
                c,
                ' ' | '_'
                    | '-'
                    | '.'
                    | ','
                    | ':'
                    | '?'
                    | '!'
                    | '/'
                    | '('
                    | ')'
                    | '$'
                    | '+'
                    | '='
                    | '@'
            )
        {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", c as u32);
        }
    }
    out
}

/// A Mermaid id for a node id (`3.b1.0` -> `n3_b1_0`).
fn id(node: &str) -> String {
    let safe: String = node
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("n{safe}")
}

fn title(n: &Node) -> String {
    match n.shape {
        Shape::Container if n.distributed => format!("{} - Distributed {}", n.name, n.kind),
        Shape::Container => format!("{} - {}", n.name, n.kind),
        _ => n.name.clone(),
    }
}

pub fn render(g: &Graph) -> String {
    let mut s = String::from("flowchart TD\n");
    nodes_in(g, None, 1, &mut s);
    for e in &g.edges {
        let arrow = match (e.kind, &e.label) {
            (EdgeKind::Catch, Some(l)) => format!("-. \"{}\" .->", label(l)),
            (EdgeKind::Catch, None) => "-.->".to_string(),
            (_, Some(l)) => format!("-->|\"{}\"|", label(l)),
            (_, None) => "-->".to_string(),
        };
        let _ = writeln!(s, "  {} {} {}", id(&e.from), arrow, id(&e.to));
    }
    s
}

/// The nodes whose box is `parent`, nested as subgraphs.
fn nodes_in(g: &Graph, parent: Option<&str>, depth: usize, s: &mut String) {
    let pad = "  ".repeat(depth);
    for n in g.nodes.iter().filter(|n| Graph::parent(&n.id) == parent) {
        match n.shape {
            Shape::Container | Shape::Lane => {
                let _ = writeln!(s, "{pad}subgraph {} [\"{}\"]", id(&n.id), label(&title(n)));
                nodes_in(g, Some(&n.id), depth + 1, s);
                let _ = writeln!(s, "{pad}end");
            }
            Shape::Terminal => {
                let _ = writeln!(s, "{pad}{}([\"{}\"])", id(&n.id), label(&n.name));
            }
            Shape::Leaf if n.kind == "Choice" => {
                let _ = writeln!(s, "{pad}{}{{\"{}\"}}", id(&n.id), label(&n.name));
            }
            Shape::Leaf => {
                let _ = writeln!(s, "{pad}{}[\"{}\"]", id(&n.id), label(&n.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn graph(def: serde_json::Value) -> Graph {
        Graph::of(&passo_asl::parse(&def).unwrap())
    }

    #[test]
    fn states_edges_and_nested_boxes() {
        let g = graph(json!({"StartAt": "Go?", "States": {
            "Go?": {"Type": "Choice", "Choices": [
                {"Variable": "$.a", "IsPresent": true, "Next": "Both"}], "Default": "Stop"},
            "Both": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}},
                {"StartAt": "R", "States": {"R": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fix"}], "End": true},
                    "Fix": {"Type": "Pass", "End": true}}}]},
            "Stop": {"Type": "Fail"}}}));
        let m = render(&g);
        assert!(m.starts_with("flowchart TD\n"), "{m}");
        assert!(m.contains("n0{\"Go?\"}"), "{m}");
        assert!(m.contains("subgraph n1 [\"Both - Parallel\"]"), "{m}");
        assert!(m.contains("subgraph n1_b1 [\"Branch 2\"]"), "{m}");
        assert!(m.contains("n1_b1_0[\"R\"]"), "{m}");
        assert!(m.contains("n0 -->|\"Default\"| n2"), "{m}");
        assert!(m.contains("n1_b1_0 -. \"States.ALL\" .-> n1_b1_1"), "{m}");
        let ends = m.lines().filter(|l| l.trim() == "end").count();
        assert_eq!(m.matches("subgraph").count(), ends, "{m}");
        assert_eq!(ends, 3, "{m}");
    }

    #[test]
    fn names_cannot_break_out_of_their_labels() {
        let name = "a\"]:::x\nclick n0 call alert(1) <b>|";
        let g = graph(json!({"StartAt": name, "States": {name: {"Type": "Succeed"}}}));
        let m = render(&g);
        let line = m
            .lines()
            .find(|l| l.trim_start().starts_with("n0["))
            .unwrap();
        // One label, quoted, with nothing of the name's punctuation left raw.
        assert_eq!(line.matches('"').count(), 2, "{line}");
        for bad in ["<", ">", "|", "]:::", "\n"] {
            assert!(!line.contains(bad), "{line}");
        }
        assert!(
            line.contains("#34;") && line.contains("#60;b#62;"),
            "{line}"
        );
        assert_eq!(m.lines().count(), 1 + 3 + 2, "{m}");
    }
}
