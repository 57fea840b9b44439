//! Shortest retainer paths from the root, and how they are printed.
//!
//! Why a forward BFS tree: one breadth-first pass from the root gives every
//! node's shortest path at once (one `u32` per node), which is what leak
//! reports need (a path per group). For a single node, see
//! [`super::retainers::shortest_retainer_path`].

use std::collections::VecDeque;
use std::fmt::Write;

use super::graph::{HeapGraph, NONE};
use super::kinds::{EdgeKind, NodeKind};

/// One hop of a path: `node` holds `edge`, which points to the next hop's node
/// (or to the path's target after the last hop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathStep {
    pub node: u32,
    pub edge: u32,
}

/// How the root reaches `target`: `steps[0].node` is the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetainerPath {
    pub steps: Vec<PathStep>,
    pub target: u32,
}

/// The breadth-first tree from the root over retaining edges (weak edges and
/// non-root shortcuts skipped, as for dominators).
///
/// As in DevTools' distances, the user roots (targets of the root's shortcut
/// edges: the global objects) are searched first, and the engine's roots
/// (`(GC roots)` and its categories) only for what they leave unreached; so
/// an object held by `global.cache` and also by a stack slot is shown through
/// `global.cache`. Within each phase, paths are shortest.
#[derive(Clone, Debug)]
pub struct RootPaths {
    /// Per node: the edge it was first reached by; `NONE` for the root and
    /// for unreachable nodes.
    parent_edge: Vec<u32>,
}

impl RootPaths {
    pub fn compute(graph: &HeapGraph) -> Self {
        let n = graph.node_count();
        let mut parent_edge = vec![NONE; n];
        let mut seen = vec![false; n];
        seen[HeapGraph::ROOT as usize] = true;
        let mut queue = VecDeque::new();
        for user_roots_only in [true, false] {
            for e in graph.edges(HeapGraph::ROOT) {
                let user_root = graph.edge_kind(e) == EdgeKind::Shortcut;
                if user_root || !user_roots_only {
                    visit(
                        graph,
                        HeapGraph::ROOT,
                        e,
                        &mut seen,
                        &mut parent_edge,
                        &mut queue,
                    );
                }
            }
            while let Some(v) = queue.pop_front() {
                for e in graph.edges(v) {
                    visit(graph, v, e, &mut seen, &mut parent_edge, &mut queue);
                }
            }
        }
        Self { parent_edge }
    }

    /// The shortest path from the root to `node`; `None` if unreachable.
    pub fn path_to(&self, graph: &HeapGraph, node: u32) -> Option<RetainerPath> {
        let mut steps = Vec::new();
        let mut v = node;
        while v != HeapGraph::ROOT {
            let e = *self.parent_edge.get(v as usize)?;
            if e == NONE || steps.len() > self.parent_edge.len() {
                return None;
            }
            let from = graph.edge_source(e);
            steps.push(PathStep {
                node: from,
                edge: e,
            });
            v = from;
        }
        steps.reverse();
        Some(RetainerPath {
            steps,
            target: node,
        })
    }
}

/// One BFS step: reach the target of `edge` (held by `v`) if it is new.
fn visit(
    graph: &HeapGraph,
    v: u32,
    edge: u32,
    seen: &mut [bool],
    parent_edge: &mut [u32],
    queue: &mut VecDeque<u32>,
) {
    if !graph.is_retaining_edge(v, edge) {
        return;
    }
    let w = graph.edge_to(edge) as usize;
    if !seen[w] {
        seen[w] = true;
        parent_edge[w] = edge;
        queue.push_back(w as u32);
    }
}

/// Longest node label printed, in characters.
const MAX_LABEL: usize = 60;

/// A short readable name for a node in a path.
pub fn node_label(graph: &HeapGraph, node: u32) -> String {
    let name = graph.node_name(node);
    let kind = graph.node_kind(node);
    let short: String = name.chars().take(MAX_LABEL).collect();
    let cut = if short.len() < name.len() { "…" } else { "" };
    match kind {
        _ if kind.is_string() => format!("{:?}", format!("{short}{cut}")),
        NodeKind::Closure if name.is_empty() => "(anonymous)()".to_string(),
        NodeKind::Closure => format!("{short}{cut}()"),
        _ if name.is_empty() => format!("({})", kind.name()),
        _ => format!("{short}{cut}"),
    }
}

/// How an edge is written after its holder: `.name`, or `[index]` for
/// element/hidden edges and for named edges whose name is a number (V8
/// names hash-table slots that way).
pub fn edge_accessor(graph: &HeapGraph, edge: u32) -> String {
    match graph.edge_name(edge) {
        Some(name) if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) => {
            format!("[{name}]")
        }
        Some(name) => format!(".{name}"),
        None => format!("[{}]", graph.edge_name_or_index(edge)),
    }
}

/// Prints a path as
/// `(GC roots) → global.cache (property) → Map.table (internal) → (array)[42] (element) → Leak @1234`.
///
/// The root and the synthetic `(GC roots)` node are folded into the leading
/// `(GC roots)`; other synthetic nodes (`(Global handles)`, `(Stack roots)`,
/// ...) say which kind of root holds the rest and are printed by name alone.
pub fn format_path(graph: &HeapGraph, path: &RetainerPath) -> String {
    let mut out = String::from("(GC roots)");
    for step in &path.steps {
        if step.node == HeapGraph::ROOT {
            continue;
        }
        if graph.node_kind(step.node) == NodeKind::Synthetic {
            let name = graph.node_name(step.node);
            if name != "(GC roots)" && !name.is_empty() {
                let _ = write!(out, " → {name}");
            }
            continue;
        }
        let kind = graph.edge_kind(step.edge);
        let _ = write!(
            out,
            " → {}{} ({})",
            node_label(graph, step.node),
            edge_accessor(graph, step.edge),
            if kind == EdgeKind::Unknown {
                "?"
            } else {
                kind.name()
            }
        );
    }
    let _ = write!(
        out,
        " → {} @{}",
        node_label(graph, path.target),
        graph.node_id(path.target)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    fn sample() -> HeapGraph {
        graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Synthetic, "(GC roots)", 0),
                Spec::node(K::Synthetic, "(Global handles)", 0),
                Spec::node(K::Object, "global", 100),
                Spec::node(K::Object, "Map", 40),
                Spec::node(K::Array, "", 400),
                Spec::node(K::Object, "LeakingClass", 64).with_id(1234),
                Spec::node(K::Closure, "onTick", 32),
                Spec::node(K::String, "a \"long\"\nstring", 24),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Shortcut, "global", 3),
                (1, E::Element, "4", 2),
                (2, E::Hidden, "7", 7),
                (3, E::Property, "cache", 4),
                (3, E::Weak, "w", 6),
                (4, E::Internal, "table", 5),
                (5, E::Element, "42", 6),
                (7, E::Context, "msg", 8),
            ],
        )
    }

    #[test]
    fn prints_a_path_through_the_global() {
        let g = sample();
        let paths = RootPaths::compute(&g);
        let path = paths.path_to(&g, 6).expect("reachable");
        assert_eq!(path.steps.len(), 4);
        assert_eq!(path.steps[0], PathStep { node: 0, edge: 1 });
        assert_eq!(
            format_path(&g, &path),
            "(GC roots) → global.cache (property) → Map.table (internal) → (array)[42] (element) → LeakingClass @1234"
        );
    }

    #[test]
    fn prints_root_categories_and_labels() {
        let g = sample();
        let path = RootPaths::compute(&g).path_to(&g, 8).expect("reachable");
        assert_eq!(
            format_path(&g, &path),
            "(GC roots) → (Global handles) → onTick().msg (context) → \"a \\\"long\\\"\\nstring\" @17"
        );
        let root = RootPaths::compute(&g).path_to(&g, 0).expect("root");
        assert!(root.steps.is_empty());
    }

    #[test]
    fn user_roots_are_preferred() {
        let g = crate::heap::testutil::user_root_graph();
        let paths = RootPaths::compute(&g);
        let p = paths.path_to(&g, 5).expect("reachable");
        assert_eq!(
            format_path(&g, &p),
            "(GC roots) → global.holder (property) → Holder[12] (internal) → Leak @11"
        );
        let p = paths.path_to(&g, 2).expect("reachable");
        assert_eq!(format_path(&g, &p), "(GC roots) → (Stack roots) @5");
        assert_eq!(paths.path_to(&g, 1).map(|p| p.steps.len()), Some(1));
    }

    #[test]
    fn unreachable_has_no_path() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
            ],
            &[(0, E::Weak, "w", 1)],
        );
        assert_eq!(RootPaths::compute(&g).path_to(&g, 1), None);
    }
}
