//! A [`Graph`] drawn as SVG text: what the console shows (its script only sets each node's
//! status class) and what `passo graph --format svg` prints. Every name and label comes from
//! a user's definition, so every one goes through [`escape`].

use super::graph::{EdgeKind, Graph, Shape};
use std::fmt::Write;

/// Text made safe inside an element or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// A name cut to what fits in `w` pixels of the node (the full name stays in its title).
fn fit(name: &str, w: f64) -> String {
    let max = ((w - 20.0) / 7.0).max(4.0) as usize;
    if name.chars().count() <= max {
        return name.to_string();
    }
    let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The SVG document (styled by classes; `standalone` adds a style sheet of its own).
pub fn render(g: &Graph, standalone: bool) -> String {
    let (w, h) = (g.width + 20.0, g.height + 20.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="-10 -10 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img">"#
    );
    s.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>"#);
    if standalone {
        s.push_str(STANDALONE_STYLE);
    }
    // Containers first, so the states and edges inside them are drawn on top.
    let order = |shape: Shape| match shape {
        Shape::Container => 0,
        Shape::Lane => 1,
        _ => 2,
    };
    let mut nodes: Vec<_> = g.nodes.iter().collect();
    nodes.sort_by_key(|n| order(n.shape));
    for n in nodes.iter().filter(|n| order(n.shape) < 2) {
        node(&mut s, n);
    }
    for e in &g.edges {
        let kind = match e.kind {
            EdgeKind::Next => "next",
            EdgeKind::Choice => "choice",
            EdgeKind::Default => "default",
            EdgeKind::Catch => "catch",
        };
        let pts: Vec<String> = e
            .points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            s,
            r#"<g class="edge edge-{kind}"><polyline points="{}" marker-end="url(#arrow)"/>"#,
            pts.join(" ")
        );
        if let Some(label) = &e.label {
            // On the segment that reaches the target: the edges leaving a Choice share
            // their first segment, so labels there would be drawn over each other.
            let (x, y) = match e.points.as_slice() {
                [.., a, b] => ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0),
                _ => (0.0, 0.0),
            };
            let _ = write!(
                s,
                r#"<text class="edge-label" x="{:.1}" y="{:.1}">{}</text>"#,
                x + 4.0,
                y + 4.0,
                escape(&fit(label, 180.0))
            );
        }
        s.push_str("</g>");
    }
    for n in nodes.iter().filter(|n| order(n.shape) == 2) {
        node(&mut s, n);
    }
    s.push_str("</svg>");
    s
}

fn node(s: &mut String, n: &super::graph::Node) {
    let shape = match n.shape {
        Shape::Terminal => "terminal",
        Shape::Leaf => "state",
        Shape::Container => "container",
        Shape::Lane => "lane",
    };
    let _ = write!(
        s,
        r#"<g class="node shape-{shape} kind-{}{}" data-id="{}" data-name="{}"><title>{}</title>"#,
        n.kind.to_ascii_lowercase(),
        if n.distributed { " distributed" } else { "" },
        escape(&n.id),
        escape(&n.name),
        escape(&format!("{} ({})", n.name, n.kind)),
    );
    let r = match n.shape {
        Shape::Terminal => n.h / 2.0,
        _ => 6.0,
    };
    let _ = write!(
        s,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="{r:.1}"/>"#,
        n.x, n.y, n.w, n.h
    );
    match n.shape {
        Shape::Container | Shape::Lane => {
            let label = if n.distributed {
                format!("{} · Distributed", n.name)
            } else if n.shape == Shape::Container {
                format!("{} · {}", n.name, n.kind)
            } else {
                n.name.clone()
            };
            let _ = write!(
                s,
                r#"<text class="box-label" x="{:.1}" y="{:.1}">{}</text>"#,
                n.x + 10.0,
                n.y + 19.0,
                escape(&fit(&label, n.w))
            );
        }
        _ => {
            let _ = write!(
                s,
                r#"<text class="node-label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                n.x + n.w / 2.0,
                n.y + n.h / 2.0 + 4.5,
                escape(&fit(&n.name, n.w))
            );
        }
    }
    s.push_str("</g>");
}

const STANDALONE_STYLE: &str = "<style>\
.graph{font:13px system-ui,sans-serif}\
.node rect{fill:#fff;stroke:#5f6b7a;stroke-width:1.2}\
.shape-container>rect{fill:#f4f6f8;stroke-dasharray:4 3}\
.shape-lane>rect{fill:#fafbfc;stroke:#c6ccd4}\
.shape-terminal>rect{fill:#e9edf1}\
.distributed>rect{stroke:#7b3fe4;stroke-width:2}\
.box-label{font-weight:600;fill:#414d5c}\
.edge polyline{fill:none;stroke:#8d99a8;stroke-width:1.3}\
.edge-catch polyline{stroke:#d13212;stroke-dasharray:5 3}\
.edge-label{font-size:11px;fill:#5f6b7a}\
.arrowhead{fill:#8d99a8}\
</style>";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn a_state_named_script_is_text_in_the_svg() {
        let def = json!({"StartAt": "<script>alert(1)</script>", "States": {
            "<script>alert(1)</script>": {"Type": "Pass", "Next": "\"><img src=x onerror=alert(2)>"},
            "\"><img src=x onerror=alert(2)>": {"Type": "Choice", "Choices": [
                {"Variable": "$.a", "IsPresent": true, "Next": "<script>alert(1)</script>"}],
                "Default": "End'"},
            "End'": {"Type": "Succeed"}}});
        let g = Graph::of(&passo_asl::parse(&def).unwrap());
        let svg = render(&g, true);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains(r#"data-name="&quot;&gt;&lt;img src=x onerror=alert(2)&gt;""#));
        assert!(svg.contains("End&#39;"));
        // Every element that opens is one of the few the renderer writes.
        for tag in svg.split('<').skip(1) {
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(
                [
                    "svg", "defs", "marker", "path", "style", "g", "title", "rect", "text",
                    "polyline"
                ]
                .contains(&name.as_str()),
                "unexpected element <{name}"
            );
        }
    }

    #[test]
    fn long_names_are_cut_but_kept_whole_in_the_title() {
        let name = "A".repeat(80);
        let def = json!({"StartAt": name, "States": {name.clone(): {"Type": "Succeed"}}});
        let svg = render(&Graph::of(&passo_asl::parse(&def).unwrap()), false);
        assert!(svg.contains('…'));
        assert!(svg.contains(&format!("<title>{name} (Succeed)</title>")));
    }
}
