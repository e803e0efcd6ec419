//! A [`Graph`] as Graphviz DOT (`passo graph --format dot`): Parallel and Map states are
//! clusters holding their branches, each with a header node the edges of that state attach
//! to; Catch edges are dashed. Every id and label is a quoted DOT string made by [`quote`].

use super::graph::{EdgeKind, Graph, Node, Shape};
use std::fmt::Write;

/// A quoted DOT string: `"` and `\` escaped, line breaks as `\n` (the only escapes DOT reads
/// in a quoted label), so no name can end the string or add attributes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn title(n: &Node) -> String {
    match n.shape {
        Shape::Container if n.distributed => format!("{} (Distributed {})", n.name, n.kind),
        Shape::Container => format!("{} ({})", n.name, n.kind),
        _ => n.name.clone(),
    }
}

pub fn render(g: &Graph) -> String {
    let mut s = String::from(
        "digraph passo {\n  rankdir=TB;\n  compound=true;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    nodes_in(g, None, 1, &mut s);
    for e in &g.edges {
        let mut attrs = Vec::new();
        if let Some(l) = &e.label {
            attrs.push(format!("label={}", quote(l)));
        }
        if e.kind == EdgeKind::Catch {
            attrs.push("style=dashed, color=\"#d13212\"".into());
        }
        let tail = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        let _ = writeln!(s, "  {} -> {}{tail};", quote(&e.from), quote(&e.to));
    }
    s.push_str("}\n");
    s
}

fn nodes_in(g: &Graph, parent: Option<&str>, depth: usize, s: &mut String) {
    let pad = "  ".repeat(depth);
    for n in g.nodes.iter().filter(|n| Graph::parent(&n.id) == parent) {
        match n.shape {
            Shape::Container | Shape::Lane => {
                let _ = writeln!(
                    s,
                    "{pad}subgraph {} {{",
                    quote(&format!("cluster_{}", n.id))
                );
                let _ = writeln!(s, "{pad}  label={};", quote(&title(n)));
                if n.shape == Shape::Container {
                    // The state itself, which its Next and Catch edges leave from.
                    let _ = writeln!(
                        s,
                        "{pad}  {} [label={}, shape=box, style=\"rounded,bold\"];",
                        quote(&n.id),
                        quote(&title(n))
                    );
                }
                nodes_in(g, Some(&n.id), depth + 1, s);
                let _ = writeln!(s, "{pad}}}");
            }
            Shape::Terminal => {
                let _ = writeln!(
                    s,
                    "{pad}{} [label={}, shape=ellipse, style=filled, fillcolor=\"#e9edf1\"];",
                    quote(&n.id),
                    quote(&n.name)
                );
            }
            Shape::Leaf => {
                let shape = if n.kind == "Choice" {
                    ", shape=diamond, style=\"\""
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "{pad}{} [label={}{shape}];",
                    quote(&n.id),
                    quote(&n.name)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_edges_and_clusters() {
        let def = json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "Next": "Done", "ItemProcessor": {"StartAt": "Item", "States": {
                "Item": {"Type": "Pass", "End": true}}}},
            "Done": {"Type": "Succeed"}}});
        let d = render(&Graph::of(&passo_asl::parse(&def).unwrap()));
        assert!(d.starts_with("digraph passo {"), "{d}");
        assert!(d.contains("subgraph \"cluster_0\" {"), "{d}");
        assert!(d.contains("label=\"M (Map)\";"), "{d}");
        assert!(d.contains("subgraph \"cluster_0.b0\" {"), "{d}");
        assert!(d.contains("\"0.b0.0\" [label=\"Item\"];"), "{d}");
        assert!(d.contains("\"0\" -> \"1\";"), "{d}");
        assert!(d.contains("\"start\" -> \"0\";"), "{d}");
        assert_eq!(d.matches('{').count(), d.matches('}').count());
    }

    #[test]
    fn names_stay_inside_their_quotes() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        let name = "x\"]; evil [label=\"y";
        let def = json!({"StartAt": name, "States": {name: {"Type": "Succeed"}}});
        let d = render(&Graph::of(&passo_asl::parse(&def).unwrap()));
        assert!(d.contains("[label=\"x\\\"]; evil [label=\\\"y\"];"), "{d}");
        assert!(!d.contains("evil [label=\"y"), "{d}");
    }
}
