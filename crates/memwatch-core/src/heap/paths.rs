//! Shortest retainer paths from the root, and how they are printed.
//!
//! Why a forward BFS tree: one breadth-first pass from the root gives every
//! node's shortest path at once (one `u32` per node), which is what leak
//! reports need (a path per group). The pass is DevTools' distance pass
//! (`calculateDistances`), so a path has as many steps as DevTools' distance
//! of its target. For a single node, see
//! [`super::retainers::shortest_retainer_path`].

use std::collections::HashSet;
use std::fmt::Write;

use super::essential::Bits;
use super::graph::{HeapGraph, NONE};
use super::kinds::{EdgeKind, NodeKind};
use super::names::display_name;
use super::owned::is_user_root;
use super::weakmap::EphemeronNames;

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

/// The breadth-first tree of DevTools' distances.
///
/// As in DevTools: the user roots (the objects the root points to: the global
/// objects) are searched first, and the engine's roots (`(GC roots)` and its
/// categories) only for what they leave unreached; so an object held by
/// `global.cache` and also by a stack slot is shown through `global.cache`.
/// Weak edges are never followed; nor are a native context's
/// `sloppy_function_map`, the descriptor links of `(map descriptors)`
/// arrays, or the first-seen of a WeakMap value's two edges (the value comes
/// after both its table and its key).
#[derive(Clone, Debug)]
pub struct RootPaths {
    /// Per node: the edge it was first reached by; `NONE` for the root and
    /// for unreached nodes.
    parent_edge: Vec<u32>,
    root: u32,
}

/// DevTools' `filter` of `calculateDistances`.
struct DistanceFilter<'g> {
    graph: &'g HeapGraph,
    ephemerons: EphemeronNames<'g>,
    /// Ephemeron pairs whose first edge was seen.
    pending: HashSet<&'g str>,
}

impl<'g> DistanceFilter<'g> {
    fn allows(&mut self, node: u32, edge: u32) -> bool {
        let g = self.graph;
        match g.node_kind(node) {
            NodeKind::Hidden
                if g.edge_name(edge) == Some("sloppy_function_map")
                    && g.node_name(node) == "system / NativeContext" =>
            {
                return false;
            }
            NodeKind::Array if g.node_name(node) == "(map descriptors)" => {
                // Descriptor arrays are shared by maps, so only slots 0, 1
                // and the non-link entries count; a name that is not a
                // number (parseInt's NaN) passes.
                return match js_parse_int(&edge_label(g, edge)) {
                    Some(i) => i < 2 || i % 3 != 1,
                    None => true,
                };
            }
            _ => {}
        }
        if let Some(e) = self.ephemerons.of_edge(edge) {
            if !self.pending.remove(e.pair) {
                self.pending.insert(e.pair);
                return false;
            }
        }
        true
    }
}

/// An edge's name as DevTools' `edge.name()` gives it: the name, or the index.
fn edge_label(graph: &HeapGraph, edge: u32) -> String {
    match graph.edge_name(edge) {
        Some(name) => name.to_owned(),
        None => graph.edge_name_or_index(edge).to_string(),
    }
}

/// JavaScript's `parseInt(s, 10)`: leading whitespace, a sign, digits;
/// `None` for NaN. Saturates far past any index.
fn js_parse_int(s: &str) -> Option<i128> {
    let t = s.trim_start();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let run: &str = &digits[..digits.len()
        - digits
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len()];
    if run.is_empty() {
        return None;
    }
    let value = run.bytes().fold(0i128, |n, d| {
        n.saturating_mul(10).saturating_add(i128::from(d - b'0'))
    });
    Some(if negative { -value } else { value })
}

impl RootPaths {
    pub fn compute(graph: &HeapGraph) -> Self {
        let n = graph.node_count();
        let root = graph.root();
        let mut parent_edge = vec![NONE; n];
        let mut seen = Bits::new(n);
        let mut filter = DistanceFilter {
            graph,
            ephemerons: EphemeronNames::new(graph),
            pending: HashSet::new(),
        };
        let mut queue: Vec<u32> = Vec::new();
        // The user roots, at distance 1 (each time the root points to one,
        // as DevTools queues them).
        for e in graph.edges(root) {
            let to = graph.edge_to(e);
            if is_user_root(graph, to) {
                if !seen.get(to) {
                    parent_edge[to as usize] = e;
                }
                seen.set(to);
                queue.push(to);
            }
        }
        bfs(graph, &mut queue, &mut seen, &mut parent_edge, &mut filter);
        // Then everything else, from the root.
        queue.clear();
        seen.set(root);
        parent_edge[root as usize] = NONE;
        queue.push(root);
        bfs(graph, &mut queue, &mut seen, &mut parent_edge, &mut filter);
        Self { parent_edge, root }
    }

    /// The shortest path from the root to `node`; `None` if unreachable.
    pub fn path_to(&self, graph: &HeapGraph, node: u32) -> Option<RetainerPath> {
        let mut steps = Vec::new();
        let mut v = node;
        while v != self.root {
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

/// DevTools' `bfs`: first-in first-out from `queue`, skipping weak edges,
/// reached nodes and what the filter refuses.
fn bfs(
    graph: &HeapGraph,
    queue: &mut Vec<u32>,
    seen: &mut Bits,
    parent_edge: &mut [u32],
    filter: &mut DistanceFilter<'_>,
) {
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        for e in graph.edges(v) {
            if graph.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let w = graph.edge_to(e);
            if seen.get(w) || !filter.allows(v, e) {
                continue;
            }
            seen.set(w);
            parent_edge[w as usize] = e;
            queue.push(w);
        }
    }
}

/// Longest node label or edge name printed, in characters.
const MAX_LABEL: usize = 60;

fn shorten(text: &str) -> String {
    let mut chars = text.chars();
    let short: String = chars.by_ref().take(MAX_LABEL).collect();
    if chars.next().is_some() {
        short + "…"
    } else {
        short
    }
}

/// A short readable name for a node in a path: DevTools' display name
/// (strings quoted, functions with `()`), cut at 60 characters.
pub fn node_label(graph: &HeapGraph, node: u32) -> String {
    let kind = graph.node_kind(node);
    let name = display_name(graph, node);
    match kind {
        _ if kind.is_string() => format!("{:?}", shorten(&name)),
        NodeKind::Closure if name.is_empty() => "(anonymous)()".to_string(),
        NodeKind::Closure => format!("{}()", shorten(&name)),
        _ if name.is_empty() => format!("({})", kind.name()),
        _ => shorten(&name),
    }
}

/// How an edge is written after its holder: `.name`, or `[index]` for
/// element/hidden edges and for named edges whose name is a number (V8
/// names hash-table slots that way). Long names are cut at 60 characters.
pub fn edge_accessor(graph: &HeapGraph, edge: u32) -> String {
    match graph.edge_name(edge) {
        Some(name) if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) => {
            format!("[{}]", shorten(name))
        }
        Some(name) => format!(".{}", shorten(name)),
        None => format!("[{}]", graph.edge_name_or_index(edge)),
    }
}

/// Hops printed by default: the first 10 and the last 10 of a longer path.
pub const DEFAULT_PATH_STEPS: usize = 20;

/// Prints retainer paths within limits: a path longer than `max_steps` hops
/// keeps its first and last hops and says how many were left out; once
/// `max_total_chars` characters have been printed, later paths are replaced
/// by a note. So a 100,000-deep list or a thousand examples cost kilobytes,
/// not gigabytes.
#[derive(Clone, Debug)]
pub struct PathFormatter {
    max_steps: usize,
    remaining: usize,
}

impl Default for PathFormatter {
    fn default() -> Self {
        Self::new()
    }
}

impl PathFormatter {
    /// [`DEFAULT_PATH_STEPS`] hops per path, no total limit.
    pub fn new() -> Self {
        Self {
            max_steps: DEFAULT_PATH_STEPS,
            remaining: usize::MAX,
        }
    }

    /// Hops kept per path (at least 2: the first and the last).
    pub fn max_steps(mut self, steps: usize) -> Self {
        self.max_steps = steps.max(2);
        self
    }

    /// Characters all paths printed by this formatter may use together.
    pub fn max_total_chars(mut self, chars: usize) -> Self {
        self.remaining = chars;
        self
    }

    /// The steps of `path` whose names `format` may print: all of a short
    /// path; the first and last ones of a long path (with room for the root
    /// and synthetic root nodes folded away at its start). A caller that
    /// names a graph lazily (the native snapshot walk) names only these.
    pub fn printed_steps<'p>(&self, path: &'p RetainerPath) -> Vec<&'p PathStep> {
        // Root, (GC roots) and one root category are folded at most.
        const FOLDED: usize = 3;
        let n = path.steps.len();
        let keep = self.max_steps.max(2);
        if n <= keep + FOLDED {
            return path.steps.iter().collect();
        }
        let head = keep - keep / 2 + FOLDED;
        let tail = keep / 2;
        path.steps[..head]
            .iter()
            .chain(&path.steps[n - tail..])
            .collect()
    }

    /// Prints `path` (see [`format_path`]), counting it against the budget.
    pub fn format(&mut self, graph: &HeapGraph, path: &RetainerPath) -> String {
        if self.remaining == 0 {
            return "(path omitted: the output limit was reached)".to_string();
        }
        let text = print_path(graph, path, self.max_steps);
        let used = text.chars().count();
        if used > self.remaining {
            self.remaining = 0;
            return "(path omitted: the output limit was reached)".to_string();
        }
        self.remaining -= used;
        text
    }
}

/// Prints a path as
/// `(GC roots) → global.cache (property) → Map.table (internal) → (array)[42] (element) → Leak @1234`.
///
/// The root and the synthetic `(GC roots)` node are folded into the leading
/// `(GC roots)`; other synthetic nodes (`(Global handles)`, `(Stack roots)`,
/// ...) say which kind of root holds the rest and are printed by name alone.
/// A path of more than [`DEFAULT_PATH_STEPS`] hops keeps the first and the
/// last ten: `… → a.next (property) → … 99,980 more steps … → b.next (property) → …`.
pub fn format_path(graph: &HeapGraph, path: &RetainerPath) -> String {
    print_path(graph, path, DEFAULT_PATH_STEPS)
}

/// The hops of a path as printed; `None` for those folded away.
fn hop(graph: &HeapGraph, step: &PathStep, root: u32) -> Option<String> {
    if step.node == root {
        return None;
    }
    if graph.node_kind(step.node) == NodeKind::Synthetic {
        let name = graph.node_name(step.node);
        if name == "(GC roots)" || name.is_empty() {
            return None;
        }
        return Some(shorten(name));
    }
    let kind = graph.edge_kind(step.edge);
    Some(format!(
        "{}{} ({})",
        node_label(graph, step.node),
        edge_accessor(graph, step.edge),
        if kind == EdgeKind::Unknown {
            "?"
        } else {
            kind.name()
        }
    ))
}

fn print_path(graph: &HeapGraph, path: &RetainerPath, max_steps: usize) -> String {
    let root = graph.root();
    let printed: Vec<&PathStep> = path
        .steps
        .iter()
        .filter(|s| {
            s.node != root
                && !(graph.node_kind(s.node) == NodeKind::Synthetic
                    && matches!(graph.node_name(s.node), "(GC roots)" | ""))
        })
        .collect();
    let mut out = String::from("(GC roots)");
    let keep = max_steps.max(2);
    let (head, skipped) = if printed.len() > keep {
        (keep - keep / 2, printed.len() - keep)
    } else {
        (printed.len(), 0)
    };
    for (i, step) in printed.iter().enumerate() {
        if skipped > 0 && i == head {
            let _ = write!(out, " → … {} more steps …", thousands(skipped));
        }
        if skipped > 0 && i >= head && i < head + skipped {
            continue;
        }
        if let Some(text) = hop(graph, step, root) {
            let _ = write!(out, " → {text}");
        }
    }
    let _ = write!(
        out,
        " → {} @{}",
        node_label(graph, path.target),
        graph.node_id(path.target)
    );
    out
}

/// `99980` as `99,980`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
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
        // a is held by the root's weak edge (DevTools still counts it as a
        // user root); b only by a weak edge; c only by garbage.
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Object, "B", 1),
                Spec::node(K::Object, "C", 1),
                Spec::node(K::Object, "D", 1),
            ],
            &[
                (0, E::Weak, "w", 1),
                (1, E::Weak, "w", 2),
                (4, E::Property, "c", 3),
            ],
        );
        let paths = RootPaths::compute(&g);
        assert_eq!(paths.path_to(&g, 1).map(|p| p.steps.len()), Some(1));
        assert_eq!(paths.path_to(&g, 2), None);
        assert_eq!(paths.path_to(&g, 3), None);
        assert_eq!(paths.path_to(&g, 4), None);
    }

    /// root -shortcut-> link 1 -> link 2 -> ... -> link n-1.
    fn chain(n: u32) -> HeapGraph {
        let mut b = crate::heap::GraphBuilder::with_capacity(n as usize, n as usize);
        let (empty, link, next, global) = (
            b.intern(""),
            b.intern("Link"),
            b.intern("next"),
            b.intern("global"),
        );
        for i in 0..n {
            let kind = if i == 0 { K::Synthetic } else { K::Object };
            b.add_node(
                kind,
                if i == 0 { empty } else { link },
                2 * i + 1,
                1,
                u32::from(i + 1 < n),
            );
        }
        b.add_edge(E::Shortcut, global, 1);
        for i in 2..n {
            b.add_edge(E::Property, next, i);
        }
        b.finish().expect("chain")
    }

    #[test]
    fn long_paths_keep_their_ends() {
        const N: u32 = 100_000;
        let g = chain(N);
        let paths = RootPaths::compute(&g);
        let path = paths.path_to(&g, N - 1).expect("reachable");
        assert_eq!(path.steps.len(), N as usize - 1);
        let text = format_path(&g, &path);
        let hop = " → Link.next (property)";
        let expected = format!(
            "(GC roots){}{} → … 99,978 more steps …{} → Link @{}",
            hop.repeat(10),
            "",
            hop.repeat(10),
            2 * (N - 1) + 1
        );
        assert_eq!(text, expected);
        // Callers choose the length, and a budget for many paths.
        let short = PathFormatter::new().max_steps(4).format(&g, &path);
        assert_eq!(short.matches(hop).count(), 4);
        let mut budget = PathFormatter::new().max_total_chars(text.chars().count() + 10);
        assert_eq!(budget.format(&g, &path), text);
        assert_eq!(
            budget.format(&g, &path),
            "(path omitted: the output limit was reached)"
        );
        let near = paths.path_to(&g, 3).expect("reachable");
        assert_eq!(
            format_path(&g, &near),
            "(GC roots) → Link.next (property) → Link.next (property) → Link @7"
        );
    }

    #[test]
    fn long_names_are_cut() {
        let name: &'static str = Box::leak("n".repeat(500).into_boxed_str());
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, name, 1),
                Spec::node(K::Object, "A", 1),
            ],
            &[(0, E::Shortcut, "g", 1), (1, E::Property, name, 2)],
        );
        let path = RootPaths::compute(&g).path_to(&g, 2).expect("reachable");
        let text = format_path(&g, &path);
        let cut = format!("{}…", "n".repeat(60));
        assert_eq!(text, format!("(GC roots) → {cut}.{cut} (property) → A @5"));
    }

    #[test]
    fn distances_follow_devtools_filters() {
        // A WeakMap value is placed after both its table and its key: the
        // table's edge (seen first) is skipped, the key's is followed.
        const PAIR: &str = "0 / part of key (K @9) -> value (V @11) pair in WeakMap (table @5)";
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "global", 1).with_id(3),
                Spec::node(K::Array, "table", 1).with_id(5),
                Spec::node(K::Object, "Holder", 1).with_id(7),
                Spec::node(K::Object, "K", 1).with_id(9),
                Spec::node(K::Object, "V", 1).with_id(11),
                Spec::node(K::Hidden, "system / NativeContext", 1).with_id(13),
                Spec::node(K::Object, "Map", 1).with_id(15),
                Spec::node(K::Array, "(map descriptors)", 1).with_id(17),
                Spec::node(K::Object, "Slot4", 1).with_id(19),
                Spec::node(K::Object, "Slot3", 1).with_id(21),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (1, E::Property, "table", 2),
                (1, E::Property, "holder", 3),
                (1, E::Property, "context", 6),
                (1, E::Property, "descriptors", 8),
                (2, E::Internal, PAIR, 5),
                (3, E::Property, "key", 4),
                (4, E::Internal, PAIR, 5),
                (6, E::Internal, "sloppy_function_map", 7),
                (8, E::Element, "4", 9),
                (8, E::Element, "3", 10),
            ],
        );
        let paths = RootPaths::compute(&g);
        let text = |n| format_path(&g, &paths.path_to(&g, n).expect("reachable"));
        assert_eq!(
            text(5),
            "(GC roots) → global.holder (property) → Holder.key (property) → K.0 / part of key (K @9) -> value (V @11) pair in WeakMap (tab… (internal) → V @11"
        );
        assert_eq!(paths.path_to(&g, 7), None);
        // Descriptor slot 4 (index % 3 == 1) is a link: skipped; slot 3 is not.
        assert_eq!(paths.path_to(&g, 9), None);
        assert_eq!(paths.path_to(&g, 10).map(|p| p.steps.len()), Some(3));
    }
}
