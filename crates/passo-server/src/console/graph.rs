//! A definition as a drawable graph: every state a node, every transition (Next, Default,
//! a Choice rule, a Catch) a labelled edge, Parallel branches and Map processors as boxes
//! nested in their state's node, laid out in layers (the console draws it as SVG as is).
//!
//! The layout is hand-written, in the shape AWS's console draws: each program (the top level,
//! a branch, a processor) flows top to bottom from its start; a state sits one layer below the
//! deepest state that leads to it along edges that do not close a loop; branches sit side by
//! side. Edges that go back up (loops) or skip layers are routed along the right side, so no
//! edge crosses a state. It is linear in the
//! number of states and edges, so a 200-state machine lays out in well under a millisecond.
//!
//! Node ids are paths (`3`, `3.b1.0`: state 0 of branch 1 of state 3), unique even where
//! names repeat; the console colours nodes by `name`, which AWS keeps unique per machine.

use passo_asl::{MapMode, Program, State, StateKind, StateMachine, Transition};
use serde_json::{json, Value};
use std::collections::HashMap;

const LEAF_H: f64 = 40.0;
const LEAF_MIN_W: f64 = 120.0;
const LEAF_MAX_W: f64 = 260.0;
const CHAR_W: f64 = 7.5;
const LAYER_GAP: f64 = 46.0;
const SIBLING_GAP: f64 = 36.0;
const PAD: f64 = 16.0;
const HEADER_H: f64 = 30.0;
/// A lane's own header (its "Branch 1" or "Processor" label), above its states.
const LANE_HEADER_H: f64 = 28.0;
const TERMINAL: f64 = 30.0;
/// Room kept right of a program for the loops routed there.
const LOOP_LANE: f64 = 24.0;

/// How a state is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The start and end markers of the top level.
    Terminal,
    /// A state with nothing inside it.
    Leaf,
    /// A Parallel or Map state: a box holding its branches (or its processor).
    Container,
    /// One branch or processor inside a container.
    Lane,
}

impl Shape {
    fn as_str(self) -> &'static str {
        match self {
            Shape::Terminal => "terminal",
            Shape::Leaf => "state",
            Shape::Container => "container",
            Shape::Lane => "lane",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub name: String,
    /// The state type (`Task`, `Choice`, ...), `Start`/`End` for terminals, `Branch` or
    /// `Processor` for lanes.
    pub kind: &'static str,
    pub shape: Shape,
    /// A Distributed Map (drawn marked; its processor runs as child executions).
    pub distributed: bool,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// What an edge stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Next,
    Choice,
    Default,
    Catch,
}

impl EdgeKind {
    fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Next => "next",
            EdgeKind::Choice => "choice",
            EdgeKind::Default => "default",
            EdgeKind::Catch => "catch",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub label: Option<String>,
    /// The polyline to draw, first point on the source, last on the target.
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub width: f64,
    pub height: f64,
}

impl Graph {
    /// The graph of a whole definition, with Start and End markers.
    pub fn of(machine: &StateMachine) -> Graph {
        let mut g = Graph::default();
        let laid = layout(&machine.program, "", true);
        laid.emit(&mut g, 0.0, 0.0);
        g.width = laid.w;
        g.height = laid.h;
        g
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The id of the box (a Parallel or Map container, or one of its lanes) a node is drawn
    /// in, from the node ids' paths (`3.b1.0` is in lane `3.b1`, which is in `3`).
    pub fn parent(id: &str) -> Option<&str> {
        id.rfind('.').map(|i| &id[..i])
    }

    /// The JSON the console's script draws.
    pub fn to_json(&self) -> Value {
        let r = |v: f64| (v * 10.0).round() / 10.0;
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                json!({"id": n.id, "name": n.name, "kind": n.kind, "shape": n.shape.as_str(),
                       "distributed": n.distributed,
                       "x": r(n.x), "y": r(n.y), "w": r(n.w), "h": r(n.h)})
            })
            .collect();
        let edges: Vec<Value> = self
            .edges
            .iter()
            .map(|e| {
                let pts: Vec<Value> = e
                    .points
                    .iter()
                    .map(|(x, y)| json!([r(*x), r(*y)]))
                    .collect();
                json!({"from": e.from, "to": e.to, "kind": e.kind.as_str(),
                       "label": e.label, "points": pts})
            })
            .collect();
        json!({"nodes": nodes, "edges": edges, "width": r(self.width), "height": r(self.height)})
    }
}

/// One item of a program's layout, positioned relative to the program's top left.
struct Placed {
    id: String,
    name: String,
    kind: &'static str,
    shape: Shape,
    distributed: bool,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    /// What is drawn inside (containers' lanes, lanes' states), relative to this item.
    inner: Vec<Laid>,
    inner_at: Vec<(f64, f64)>,
}

/// A laid-out program: its items, edges (relative coordinates) and size.
struct Laid {
    items: Vec<Placed>,
    edges: Vec<Edge>,
    w: f64,
    h: f64,
}

impl Laid {
    fn emit(&self, g: &mut Graph, dx: f64, dy: f64) {
        for it in &self.items {
            g.nodes.push(Node {
                id: it.id.clone(),
                name: it.name.clone(),
                kind: it.kind,
                shape: it.shape,
                distributed: it.distributed,
                x: it.x + dx,
                y: it.y + dy,
                w: it.w,
                h: it.h,
            });
            for (inner, (ix, iy)) in it.inner.iter().zip(&it.inner_at) {
                inner.emit(g, dx + it.x + ix, dy + it.y + iy);
            }
        }
        for e in &self.edges {
            let mut e = e.clone();
            for p in &mut e.points {
                p.0 += dx;
                p.1 += dy;
            }
            g.edges.push(e);
        }
    }
}

fn child_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}.")
    }
}

/// Where each state goes: (target, kind, label).
fn transitions(s: &State) -> Vec<(usize, EdgeKind, Option<String>)> {
    let mut out = Vec::new();
    let next = |t: &Transition, out: &mut Vec<_>| {
        if let Transition::Next(n) = t {
            out.push((*n, EdgeKind::Next, None));
        }
    };
    let catches = |c: &[passo_asl::Catcher], out: &mut Vec<_>| {
        for c in c {
            out.push((c.next, EdgeKind::Catch, Some(c.error_equals.join(", "))));
        }
    };
    match &s.kind {
        StateKind::Pass(p) => next(&p.transition, &mut out),
        StateKind::Wait(w) => next(&w.transition, &mut out),
        StateKind::Task(t) => {
            next(&t.transition, &mut out);
            catches(&t.catch, &mut out);
        }
        StateKind::Parallel(p) => {
            next(&p.transition, &mut out);
            catches(&p.catch, &mut out);
        }
        StateKind::Map(m) => {
            next(&m.transition, &mut out);
            catches(&m.catch, &mut out);
        }
        StateKind::Choice(c) => {
            for (i, r) in c.choices.iter().enumerate() {
                out.push((r.next, EdgeKind::Choice, Some(format!("Rule #{}", i + 1))));
            }
            if let Some(d) = c.default {
                out.push((d, EdgeKind::Default, Some("Default".into())));
            }
        }
        StateKind::Succeed | StateKind::Fail(_) => {}
    }
    out
}

/// Whether the state ends its program (drawn with an edge to End at the top level).
fn ends(s: &State) -> bool {
    match &s.kind {
        StateKind::Pass(p) => p.transition == Transition::End,
        StateKind::Wait(w) => w.transition == Transition::End,
        StateKind::Task(t) => t.transition == Transition::End,
        StateKind::Parallel(p) => p.transition == Transition::End,
        StateKind::Map(m) => m.transition == Transition::End,
        StateKind::Succeed | StateKind::Fail(_) => true,
        StateKind::Choice(_) => false,
    }
}

fn leaf_width(name: &str) -> f64 {
    (name.chars().count() as f64 * CHAR_W + 36.0).clamp(LEAF_MIN_W, LEAF_MAX_W)
}

/// Lays out a state's own box (a leaf, or a container with its lanes inside).
fn place_state(s: &State, id: String) -> Placed {
    let (lanes, distributed): (Vec<(&Program, &'static str)>, bool) = match &s.kind {
        StateKind::Parallel(p) => (p.branches.iter().map(|b| (b, "Branch")).collect(), false),
        StateKind::Map(m) => (
            vec![(&m.processor, "Processor")],
            m.mode == MapMode::Distributed,
        ),
        _ => (Vec::new(), false),
    };
    if lanes.is_empty() {
        return Placed {
            w: leaf_width(&s.name),
            name: s.name.to_string(),
            id,
            kind: s.kind.type_name(),
            shape: Shape::Leaf,
            distributed: false,
            x: 0.0,
            y: 0.0,
            h: LEAF_H,
            inner: Vec::new(),
            inner_at: Vec::new(),
        };
    }
    let mut inner = Vec::new();
    let mut inner_at = Vec::new();
    let mut x = PAD;
    let mut lanes_h: f64 = 0.0;
    for (i, (prog, kind)) in lanes.iter().enumerate() {
        let lane_id = format!("{id}.b{i}");
        let body = layout(prog, &lane_id, false);
        let (lw, lh) = (body.w + 2.0 * PAD, body.h + LANE_HEADER_H + PAD);
        let lane = Placed {
            id: lane_id,
            name: if *kind == "Branch" {
                format!("Branch {}", i + 1)
            } else {
                "Processor".into()
            },
            kind,
            shape: Shape::Lane,
            distributed: false,
            x: 0.0,
            y: 0.0,
            w: lw,
            h: lh,
            inner: vec![body],
            inner_at: vec![(PAD, LANE_HEADER_H)],
        };
        inner.push(Laid {
            items: vec![lane],
            edges: Vec::new(),
            w: lw,
            h: lh,
        });
        inner_at.push((x, HEADER_H));
        x += lw + SIBLING_GAP / 2.0;
        lanes_h = lanes_h.max(lh);
    }
    let w = (x - SIBLING_GAP / 2.0 + PAD).max(leaf_width(&s.name) + 2.0 * PAD);
    // Lanes narrower than the header are centred.
    let used = x - SIBLING_GAP / 2.0 + PAD;
    if used < w {
        let shift = (w - used) / 2.0;
        for p in &mut inner_at {
            p.0 += shift;
        }
    }
    Placed {
        id,
        name: s.name.to_string(),
        kind: s.kind.type_name(),
        shape: Shape::Container,
        distributed,
        x: 0.0,
        y: 0.0,
        w,
        h: HEADER_H + lanes_h + PAD,
        inner,
        inner_at,
    }
}

/// Lays out one program: layers from its start, states side by side within a layer.
fn layout(p: &Program, prefix: &str, top: bool) -> Laid {
    let n = p.states.len();
    let pre = child_prefix(prefix);
    let outs: Vec<Vec<(usize, EdgeKind, Option<String>)>> =
        p.states.iter().map(transitions).collect();
    // Depth-first from the start (then from any state not reached), marking the edges that
    // close a loop so the layering sees a DAG.
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
    let mut back: Vec<(usize, usize)> = Vec::new();
    let roots = std::iter::once(p.start_at).chain(0..n);
    for root in roots {
        if root >= n || seen[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        seen[root] = 1;
        order.push(root);
        while let Some((v, i)) = stack.pop() {
            if let Some((t, _, _)) = outs[v].get(i) {
                stack.push((v, i + 1));
                let t = *t;
                if t >= n {
                    continue;
                }
                match seen[t] {
                    0 => {
                        seen[t] = 1;
                        order.push(t);
                        stack.push((t, 0));
                    }
                    1 => back.push((v, i)),
                    _ => {}
                }
            } else {
                seen[v] = 2;
            }
        }
    }
    let is_back = |v: usize, i: usize| back.contains(&(v, i));
    // Longest path over forward edges, visiting in a topological order (reverse postorder
    // would do; repeated relaxation in DFS order is simpler and n is small).
    let mut layer = vec![0usize; n];
    let mut indeg = vec![0usize; n];
    for (v, out) in outs.iter().enumerate() {
        for (i, (t, _, _)) in out.iter().enumerate() {
            if *t < n && !is_back(v, i) {
                indeg[*t] += 1;
            }
        }
    }
    let mut queue: std::collections::VecDeque<usize> =
        order.iter().copied().filter(|v| indeg[*v] == 0).collect();
    while let Some(v) = queue.pop_front() {
        for (i, (t, _, _)) in outs[v].iter().enumerate() {
            if *t < n && !is_back(v, i) {
                layer[*t] = layer[*t].max(layer[v] + 1);
                indeg[*t] -= 1;
                if indeg[*t] == 0 {
                    queue.push_back(*t);
                }
            }
        }
    }
    // The top level has Start above everything and End below.
    let shift = usize::from(top);
    let mut layers: Vec<Vec<usize>> = Vec::new();
    for &v in &order {
        let l = layer[v] + shift;
        if layers.len() <= l {
            layers.resize(l + 1, Vec::new());
        }
        layers[l].push(v);
    }
    // One barycentre sweep: a state sits under the states that lead to it.
    let mut rank: HashMap<usize, f64> = HashMap::new();
    for l in &mut layers {
        if !rank.is_empty() {
            let bary = |v: usize| -> f64 {
                let mut sum = 0.0;
                let mut k = 0.0;
                for (u, o) in outs.iter().enumerate() {
                    if o.iter().any(|(t, _, _)| *t == v) {
                        if let Some(r) = rank.get(&u) {
                            sum += r;
                            k += 1.0;
                        }
                    }
                }
                if k == 0.0 {
                    f64::MAX
                } else {
                    sum / k
                }
            };
            let mut keyed: Vec<(f64, usize, usize)> = l
                .iter()
                .enumerate()
                .map(|(i, v)| (bary(*v), i, *v))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            *l = keyed.into_iter().map(|k| k.2).collect();
        }
        for (i, v) in l.iter().enumerate() {
            rank.insert(*v, i as f64 - (l.len() as f64 - 1.0) / 2.0);
        }
    }
    let mut placed: Vec<Option<Placed>> = p
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| Some(place_state(s, format!("{pre}{i}"))))
        .collect();
    // Sizes per layer, then positions centred on the widest layer.
    let width_of = |l: &Vec<usize>, placed: &Vec<Option<Placed>>| -> f64 {
        let sum: f64 = l
            .iter()
            .map(|v| placed[*v].as_ref().map_or(0.0, |p| p.w))
            .sum();
        sum + SIBLING_GAP * (l.len().saturating_sub(1)) as f64
    };
    let mut w: f64 = TERMINAL;
    for l in &layers {
        w = w.max(width_of(l, &placed));
    }
    let mut items: Vec<Placed> = Vec::new();
    let mut y = 0.0;
    let mut pos: HashMap<usize, (f64, f64, f64, f64)> = HashMap::new();
    let mut layer_of: HashMap<usize, usize> = HashMap::new();
    let start_id = format!("{pre}start");
    let end_id = format!("{pre}end");
    for (li, l) in layers.iter().enumerate() {
        if top && li == 0 {
            items.push(terminal(&start_id, "Start", w / 2.0, y));
            y += TERMINAL + LAYER_GAP;
            continue;
        }
        let lw = width_of(l, &placed);
        let mut x = (w - lw) / 2.0;
        let mut lh: f64 = 0.0;
        for v in l {
            if let Some(mut it) = placed[*v].take() {
                it.x = x;
                it.y = y;
                pos.insert(*v, (it.x, it.y, it.w, it.h));
                layer_of.insert(*v, li);
                x += it.w + SIBLING_GAP;
                lh = lh.max(it.h);
                items.push(it);
            }
        }
        y += lh + LAYER_GAP;
    }
    let mut edges = Vec::new();
    let right_lane = w + LOOP_LANE / 2.0;
    let mut loops: f64 = 0.0;
    for (v, out) in outs.iter().enumerate() {
        let Some(&(sx, sy, sw, sh)) = pos.get(&v) else {
            continue;
        };
        for (i, (t, kind, label)) in out.iter().enumerate() {
            let Some(&(tx, ty, tw, th)) = pos.get(t) else {
                continue;
            };
            // An edge that skips layers would cross the states between: it goes round them.
            let skips = layer_of
                .get(t)
                .zip(layer_of.get(&v))
                .is_some_and(|(a, b)| *a > b + 1);
            let points = if is_back(v, i) || ty <= sy || skips {
                // Out of the right side, along the lane on the right (up for a loop, down
                // past the layers skipped), into the target's right side.
                loops += 4.0;
                let lane = right_lane + loops.min(LOOP_LANE);
                vec![
                    (sx + sw, sy + sh / 2.0),
                    (lane, sy + sh / 2.0),
                    (lane, ty + th / 2.0),
                    (tx + tw, ty + th / 2.0),
                ]
            } else {
                let (ax, ay) = (sx + sw / 2.0, sy + sh);
                let (bx, by) = (tx + tw / 2.0, ty);
                let mid = ay + LAYER_GAP / 2.0;
                if (ax - bx).abs() < 0.5 {
                    vec![(ax, ay), (bx, by)]
                } else {
                    vec![(ax, ay), (ax, mid), (bx, mid), (bx, by)]
                }
            };
            edges.push(Edge {
                from: format!("{pre}{v}"),
                to: format!("{pre}{t}"),
                kind: *kind,
                label: label.clone(),
                points,
            });
        }
    }
    if top {
        items.push(terminal(&end_id, "End", w / 2.0, y));
        let st = p.start_at;
        if let Some(&(tx, ty, tw, _)) = pos.get(&st) {
            edges.push(Edge {
                from: start_id.clone(),
                to: format!("{pre}{st}"),
                kind: EdgeKind::Next,
                label: None,
                points: vec![(w / 2.0, TERMINAL), (tx + tw / 2.0, ty)],
            });
        }
        for (v, s) in p.states.iter().enumerate() {
            if !ends(s) {
                continue;
            }
            if let Some(&(sx, sy, sw, sh)) = pos.get(&v) {
                let (ax, ay) = (sx + sw / 2.0, sy + sh);
                edges.push(Edge {
                    from: format!("{pre}{v}"),
                    to: end_id.clone(),
                    kind: EdgeKind::Next,
                    label: None,
                    points: vec![(ax, ay), (ax, y - LAYER_GAP / 2.0), (w / 2.0, y)],
                });
            }
        }
        y += TERMINAL + LAYER_GAP;
    }
    let has_loops = !back.is_empty() || loops > 0.0;
    Laid {
        items,
        edges,
        w: w + if has_loops { LOOP_LANE * 1.5 } else { 0.0 },
        h: (y - LAYER_GAP).max(LEAF_H),
    }
}

fn terminal(id: &str, kind: &'static str, cx: f64, y: f64) -> Placed {
    Placed {
        id: id.to_string(),
        name: kind.to_string(),
        kind,
        shape: Shape::Terminal,
        distributed: false,
        x: cx - TERMINAL * 1.2,
        y,
        w: TERMINAL * 2.4,
        h: TERMINAL,
        inner: Vec::new(),
        inner_at: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn graph(def: Value) -> Graph {
        Graph::of(&passo_asl::parse(&def).expect("a valid definition"))
    }

    fn edge<'a>(g: &'a Graph, from: &str, to: &str) -> &'a Edge {
        let id = |name: &str| {
            g.nodes
                .iter()
                .find(|n| n.name == name)
                .unwrap_or_else(|| panic!("no node {name}"))
                .id
                .clone()
        };
        let (f, t) = (id(from), id(to));
        g.edges
            .iter()
            .find(|e| e.from == f && e.to == t)
            .unwrap_or_else(|| panic!("no edge {from} -> {to}"))
    }

    fn by_name<'a>(g: &'a Graph, name: &str) -> &'a Node {
        g.nodes.iter().find(|n| n.name == name).unwrap()
    }

    #[test]
    fn every_state_is_a_node_between_start_and_end() {
        let g = graph(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Wait", "Seconds": 1, "Next": "C"},
            "C": {"Type": "Succeed"}}}));
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        for s in ["Start", "A", "B", "C", "End"] {
            assert!(names.contains(&s), "{s} missing from {names:?}");
        }
        assert!(by_name(&g, "A").y < by_name(&g, "B").y);
        assert!(by_name(&g, "B").y < by_name(&g, "C").y);
        assert!(by_name(&g, "C").y < by_name(&g, "End").y);
        assert_eq!(edge(&g, "Start", "A").kind, EdgeKind::Next);
        assert_eq!(edge(&g, "C", "End").kind, EdgeKind::Next);
    }

    #[test]
    fn choice_rules_default_and_catch_are_labelled_edges() {
        let g = graph(json!({"StartAt": "Pick", "States": {
            "Pick": {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericEquals": 1, "Next": "One"},
                {"Variable": "$.x", "NumericEquals": 2, "Next": "Work"}],
              "Default": "Other"},
            "One": {"Type": "Succeed"},
            "Other": {"Type": "Fail", "Error": "E"},
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Other"}], "End": true}}}));
        let r1 = edge(&g, "Pick", "One");
        assert_eq!(
            (r1.kind, r1.label.as_deref()),
            (EdgeKind::Choice, Some("Rule #1"))
        );
        assert_eq!(edge(&g, "Pick", "Work").label.as_deref(), Some("Rule #2"));
        let d = edge(&g, "Pick", "Other");
        assert_eq!(
            (d.kind, d.label.as_deref()),
            (EdgeKind::Default, Some("Default"))
        );
        let c = edge(&g, "Work", "Other");
        assert_eq!(
            (c.kind, c.label.as_deref()),
            (EdgeKind::Catch, Some("States.ALL"))
        );
        // Siblings of one layer do not overlap.
        let (a, b) = (by_name(&g, "One"), by_name(&g, "Work"));
        assert_eq!(a.y, b.y);
        assert!(a.x + a.w <= b.x || b.x + b.w <= a.x);
    }

    #[test]
    fn parallel_branches_sit_side_by_side_inside_their_state() {
        let g = graph(json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}},
                {"StartAt": "R", "States": {"R": {"Type": "Pass", "Next": "R2"},
                                            "R2": {"Type": "Pass", "End": true}}}]}}}));
        let p = by_name(&g, "P");
        assert_eq!(p.shape, Shape::Container);
        for n in ["L", "R", "R2", "Branch 1", "Branch 2"] {
            let c = by_name(&g, n);
            assert!(
                c.x >= p.x && c.y > p.y && c.x + c.w <= p.x + p.w && c.y + c.h <= p.y + p.h,
                "{n} is not inside P: {c:?} in {p:?}"
            );
        }
        let (b1, b2) = (by_name(&g, "Branch 1"), by_name(&g, "Branch 2"));
        assert!(b1.x + b1.w <= b2.x, "branches overlap");
        assert_eq!(by_name(&g, "R2").id, "0.b1.1");
        edge(&g, "R", "R2");
    }

    #[test]
    fn distributed_map_is_marked_and_holds_its_processor() {
        let g = graph(json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "End": true, "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}}},
        }}));
        let m = by_name(&g, "M");
        assert!(m.distributed);
        assert_eq!(by_name(&g, "Processor").shape, Shape::Lane);
        let item = by_name(&g, "Item");
        assert!(item.y > m.y && item.y + item.h <= m.y + m.h);
    }

    #[test]
    fn loops_go_back_up_on_the_right() {
        let g = graph(json!({"StartAt": "Poll", "States": {
            "Poll": {"Type": "Wait", "Seconds": 1, "Next": "Done?"},
            "Done?": {"Type": "Choice", "Choices": [
                {"Variable": "$.done", "BooleanEquals": true, "Next": "Ok"}], "Default": "Poll"},
            "Ok": {"Type": "Succeed"}}}));
        let back = edge(&g, "Done?", "Poll");
        let poll = by_name(&g, "Poll");
        assert!(by_name(&g, "Done?").y > poll.y);
        let max_x = back.points.iter().map(|p| p.0).fold(0.0, f64::max);
        assert!(
            max_x > poll.x + poll.w,
            "the loop is not routed on the right"
        );
        assert!(g.width >= max_x);
    }

    #[test]
    fn an_edge_that_skips_layers_goes_round_the_states_between() {
        let g2 = graph(json!({"StartAt": "Route", "States": {
            "Route": {"Type": "Choice", "Choices": [
                {"Variable": "$.a", "IsPresent": true, "Next": "Refund"}], "Default": "Done"},
            "Refund": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}}}));
        let skip = edge(&g2, "Route", "Done");
        let refund = by_name(&g2, "Refund");
        let done = by_name(&g2, "Done");
        assert!(refund.y < done.y && by_name(&g2, "Route").y < refund.y);
        assert!(
            skip.points
                .iter()
                .any(|p| p.0 > refund.x + refund.w && p.0 > done.x + done.w),
            "the skipping edge is not routed round Refund: {:?}",
            skip.points
        );
        assert!(g2.width >= skip.points.iter().map(|p| p.0).fold(0.0, f64::max));
        // One layer down: still a straight edge.
        assert_eq!(edge(&g2, "Refund", "Done").points.len(), 2);
    }

    #[test]
    fn two_hundred_states_lay_out_fast() {
        let mut states = serde_json::Map::new();
        for i in 0..200 {
            let next = if i == 199 {
                json!({"Type": "Succeed"})
            } else if i % 10 == 0 {
                json!({"Type": "Choice", "Choices": [
                    {"Variable": "$.x", "NumericEquals": i, "Next": format!("S{}", i + 1)}],
                    "Default": format!("S{}", (i + 2).min(199))})
            } else {
                json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
            };
            states.insert(format!("S{i}"), next);
        }
        let m = passo_asl::parse(&json!({"StartAt": "S0", "States": states})).unwrap();
        let t = std::time::Instant::now();
        let g = Graph::of(&m);
        let took = t.elapsed();
        assert_eq!(g.nodes.len(), 202);
        assert!(took.as_millis() < 500, "layout took {took:?}");
    }
}
