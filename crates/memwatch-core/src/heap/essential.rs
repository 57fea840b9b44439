//! Which edges hold their targets alive for the dominator tree: one bit per
//! edge, computed once (DevTools' `initEssentialEdges`).
//!
//! Why a bit vector: the dominator passes look at every edge several times
//! (the DFS, the predecessor lists, the orphan check); deciding once costs
//! one bit an edge and keeps the name lookups out of those loops.

use super::dominators::RetainRules;
use super::graph::HeapGraph;
use super::kinds::{EdgeKind, NodeKind};
use super::owned::Ownership;
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

    /// The 64 bits holding bit `i`.
    #[inline]
    pub(crate) fn word(&self, i: u32) -> u64 {
        self.words.get((i >> 6) as usize).copied().unwrap_or(0)
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
///
/// This is the one pass over every edge; `ownership`, when given, sees each
/// edge on the way (the first step of DevTools' owned sizes).
pub(crate) fn essential_edges(
    graph: &HeapGraph,
    rules: RetainRules,
    mut ownership: Option<&mut Ownership>,
) -> Bits {
    let root = graph.root();
    let devtools = rules == RetainRules::DevTools;
    let owned = devtools.then(|| page_owned(graph));
    let mut ephemerons = EphemeronNames::new(graph);
    let mut bits = Bits::new(graph.edge_count());
    let kinds = graph.edge_types();
    let targets = graph.edge_targets();
    let first_edge = graph.first_edges();
    const WEAK: u8 = EdgeKind::Weak as u8;
    const SHORTCUT: u8 = EdgeKind::Shortcut as u8;
    const INTERNAL: u8 = EdgeKind::Internal as u8;
    for v in 0..graph.node_count() as u32 {
        let is_root = v == root;
        // May this node's edges reach page-owned nodes? (DevTools: the root
        // and page-owned nodes may; others may not.)
        let to_owned_ok = owned.as_ref().is_none_or(|o| is_root || o.get(v));
        let (start, end) = (first_edge[v as usize], first_edge[v as usize + 1]);
        if let Some(o) = ownership.as_deref_mut() {
            o.see_edges(v, start..end, kinds, targets);
        }
        for e in start..end {
            let code = kinds[e as usize];
            let to = targets[e as usize];
            if code == WEAK || to == v || (code == SHORTCUT && !is_root) {
                continue;
            }
            if !to_owned_ok && owned.as_ref().is_some_and(|o| o.get(to)) {
                continue;
            }
            if devtools
                && code == INTERNAL
                && ephemerons
                    .of_edge(e)
                    .is_some_and(|x| x.table_id == u64::from(graph.node_id(v)))
            {
                continue;
            }
            bits.set(e);
        }
    }
    bits
}
