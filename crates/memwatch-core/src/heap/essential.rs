//! Which edges hold their targets alive for the dominator tree: one bit per
//! edge, computed once (DevTools' `initEssentialEdges`).
//!
//! Why a bit vector: the dominator passes look at every edge several times
//! (the DFS, the predecessor lists, the orphan check); deciding once costs
//! one bit an edge and keeps the name lookups out of those loops.

use super::dominators::RetainRules;
use super::graph::HeapGraph;
use super::kinds::{EdgeKind, NodeKind};
use super::weakmap::EphemeronNames;

/// A fixed-size set of indices.
#[derive(Clone, Debug)]
pub(crate) struct Bits {
    words: Vec<u64>,
}

impl Bits {
    pub(crate) fn new(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
        }
    }

    #[inline]
    pub(crate) fn set(&mut self, i: u32) {
        self.words[(i >> 6) as usize] |= 1 << (i & 63);
    }

    #[inline]
    pub(crate) fn get(&self, i: u32) -> bool {
        self.words
            .get((i >> 6) as usize)
            .is_some_and(|w| w & (1 << (i & 63)) != 0)
    }
}

/// DevTools' `markPageOwnedNodes`: everything reachable over non-weak edges
/// from the user roots (targets of the root's shortcut edges, i.e. the global
/// objects, and the `(Document DOM trees)` root).
pub(crate) fn page_owned(graph: &HeapGraph) -> Bits {
    let root = graph.root();
    let mut owned = Bits::new(graph.node_count());
    let mut stack = Vec::new();
    for e in graph.edges(root) {
        let to = graph.edge_to(e);
        let user_root = match graph.edge_kind(e) {
            EdgeKind::Shortcut => true,
            EdgeKind::Element => {
                graph.node_kind(to) == NodeKind::Synthetic
                    && graph.node_name(to) == "(Document DOM trees)"
            }
            _ => false,
        };
        if user_root && !owned.get(to) {
            owned.set(to);
            stack.push(to);
        }
    }
    while let Some(v) = stack.pop() {
        for e in graph.edges(v) {
            let to = graph.edge_to(e);
            if graph.edge_kind(e) != EdgeKind::Weak && !owned.get(to) {
                owned.set(to);
                stack.push(to);
            }
        }
    }
    owned
}

/// One bit per edge: whether it counts for dominators under `rules`.
///
/// Both rules: weak edges, self edges and the shortcut edges of nodes other
/// than the root do not count. [`RetainRules::DevTools`] adds DevTools' two
/// rules: a WeakMap table's edge to a value does not count (the key's does),
/// and an edge from a node the page does not own to one it owns does not
/// count unless it leaves the root.
pub(crate) fn essential_edges(graph: &HeapGraph, rules: RetainRules) -> Bits {
    let root = graph.root();
    let owned = match rules {
        RetainRules::Basic => None,
        RetainRules::DevTools => Some(page_owned(graph)),
    };
    let mut ephemerons = EphemeronNames::new(graph);
    let mut bits = Bits::new(graph.edge_count());
    let kinds = graph.edge_types();
    let targets = graph.edge_targets();
    for v in 0..graph.node_count() as u32 {
        for e in graph.edges(v) {
            let kind = EdgeKind::from_u8(kinds[e as usize]);
            let to = targets[e as usize];
            let keep = match kind {
                EdgeKind::Weak => false,
                _ if to == v => false,
                EdgeKind::Shortcut if v != root => false,
                EdgeKind::Internal if owned.is_some() => ephemerons
                    .of_edge(e)
                    .is_none_or(|x| x.table_id != u64::from(graph.node_id(v))),
                _ => true,
            };
            let keep = keep
                && match &owned {
                    Some(owned) => v == root || owned.get(v) || !owned.get(to),
                    None => true,
                };
            if keep {
                bits.set(e);
            }
        }
    }
    bits
}
