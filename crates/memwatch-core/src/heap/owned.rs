//! DevTools' owned-size attribution (`calculateShallowSizes`): the size of an
//! array or hidden object that belongs to exactly one object is shown as part
//! of that object, so `Item` carries its property and element backing stores
//! and `(array)` keeps only the arrays nobody owns alone.
//!
//! The rule: hidden nodes, arrays and `system / ExternalStringData` start
//! unowned; every other node owns itself. Ownership flows over non-weak edges
//! into unowned nodes; a node reached from two owners has none. A node with
//! one owner gives its self size to that owner, unless the owner is the root
//! or synthetic. Snapshots without user roots (V8's "expose internals" mode)
//! are left alone, as DevTools leaves them.

use std::ops::Range;

use super::essential::Bits;
use super::graph::HeapGraph;
#[cfg(test)]
use super::graph::Sizes;
use super::kinds::{EdgeKind, NodeKind};

const UNVISITED: u32 = u32::MAX;
const SEVERAL: u32 = u32::MAX - 1;

/// Whether the root holds a user root: an object (not a synthetic node), or
/// the `(Document DOM trees)` root. DevTools' `#hasUserRoots`.
pub(crate) fn has_user_roots(graph: &HeapGraph) -> bool {
    graph
        .edges(graph.root())
        .any(|e| is_user_root(graph, graph.edge_to(e)))
}

/// DevTools' `isUserRoot` for a target of the root's edges.
pub(crate) fn is_user_root(graph: &HeapGraph, node: u32) -> bool {
    graph.node_kind(node) != NodeKind::Synthetic || graph.node_name(node) == "(Document DOM trees)"
}

fn starts_unowned(graph: &HeapGraph, node: u32) -> bool {
    match graph.node_kind(node) {
        NodeKind::Hidden | NodeKind::Array => true,
        NodeKind::Native => graph.node_name(node) == "system / ExternalStringData",
        _ => false,
    }
}

/// Who owns each node that starts unowned, while ownership spreads.
///
/// Why not a column per node: only the unowned nodes (arrays, hidden nodes)
/// need an owner, so they are numbered among themselves (a rank over a bit
/// per node) and the owners take 4 bytes per unowned node. The first step
/// (owners to the unowned nodes they point to) is fed by the dominators'
/// one pass over every edge ([`see`](Self::see)), so attribution costs no
/// pass of its own over the whole graph.
pub(crate) struct Ownership {
    unowned: Bits,
    /// Per 64 nodes: how many unowned nodes come before.
    rank_base: Vec<u32>,
    /// Per unowned node, by rank: its owner, `UNVISITED` or `SEVERAL`.
    owners: Vec<u32>,
}

impl Ownership {
    /// `None` when the snapshot has no user roots: DevTools then keeps V8's
    /// sizes ("expose internals" snapshots).
    pub(crate) fn new(graph: &HeapGraph) -> Option<Self> {
        if !has_user_roots(graph) {
            return None;
        }
        let n = graph.node_count();
        let mut unowned = Bits::new(n);
        let mut count = 0u32;
        let mut rank_base = Vec::with_capacity(n.div_ceil(64));
        for v in 0..n as u32 {
            if v % 64 == 0 {
                rank_base.push(count);
            }
            if starts_unowned(graph, v) {
                unowned.set(v);
                count += 1;
            }
        }
        Some(Self {
            unowned,
            rank_base,
            owners: vec![UNVISITED; count as usize],
        })
    }

    #[inline]
    fn rank(&self, v: u32) -> usize {
        let below = self.unowned.word(v) & ((1u64 << (v & 63)) - 1);
        self.rank_base[(v >> 6) as usize] as usize + below.count_ones() as usize
    }

    /// The owner of a node (itself, unless it starts unowned).
    #[inline]
    fn owner(&self, v: u32) -> u32 {
        if self.unowned.get(v) {
            self.owners[self.rank(v)]
        } else {
            v
        }
    }

    /// Spreads `owner` to the unowned node `t`; whether `t` changed.
    #[inline]
    fn reach(&mut self, t: u32, owner: u32) -> bool {
        let slot = self.rank(t);
        let current = self.owners[slot];
        if current == UNVISITED {
            self.owners[slot] = owner;
            true
        } else if current != owner && current != SEVERAL {
            self.owners[slot] = SEVERAL;
            true
        } else {
            false
        }
    }

    /// The first step, for the edges `edges` of node `v` (every node's in
    /// turn): a node that owns itself passes itself to its unowned targets
    /// (weak edges never).
    #[inline]
    pub(crate) fn see_edges(&mut self, v: u32, edges: Range<u32>, kinds: &[u8], targets: &[u32]) {
        if self.unowned.get(v) {
            return;
        }
        for e in edges {
            let t = targets[e as usize];
            if self.unowned.get(t) && kinds[e as usize] != EdgeKind::Weak as u8 {
                self.reach(t, v);
            }
        }
    }

    /// Spreads ownership on through the unowned nodes, then moves each singly
    /// owned node's size into its owner (not the root, not a synthetic node).
    /// `sizes` holds V8's self sizes and ends with DevTools' (saturating).
    pub(crate) fn attribute(mut self, graph: &HeapGraph, sizes: &mut [u64]) {
        let n = graph.node_count() as u32;
        // The final owners do not depend on the visiting order (each node
        // ends with the set of owners that reach it through unowned nodes).
        let mut stack: Vec<u32> = (0..n)
            .filter(|&v| self.unowned.get(v) && self.owner(v) != UNVISITED)
            .collect();
        while let Some(v) = stack.pop() {
            let owner = self.owner(v);
            for e in graph.edges(v) {
                let t = graph.edge_to(e);
                if self.unowned.get(t)
                    && graph.edge_kind(e) != EdgeKind::Weak
                    && self.reach(t, owner)
                {
                    stack.push(t);
                }
            }
        }
        let root = graph.root();
        for v in 0..n {
            if !self.unowned.get(v) {
                continue;
            }
            let owner = self.owner(v);
            if owner == UNVISITED || owner == SEVERAL || owner == root {
                continue;
            }
            if graph.node_kind(owner) == NodeKind::Synthetic {
                continue;
            }
            let moved = std::mem::take(&mut sizes[v as usize]);
            sizes[owner as usize] = sizes[owner as usize].saturating_add(moved);
        }
    }
}

/// Self sizes after attribution, or `None` when the snapshot has no user
/// roots (sizes stay V8's). (The dominators compute this inside their own
/// pass; this is the same on its own.)
#[cfg(test)]
pub(crate) fn owned_self_sizes(graph: &HeapGraph) -> Option<Sizes> {
    let mut ownership = Ownership::new(graph)?;
    for v in 0..graph.node_count() as u32 {
        ownership.see_edges(v, graph.edges(v), graph.edge_types(), graph.edge_targets());
    }
    let mut sizes: Vec<u64> = graph.self_sizes().collect();
    ownership.attribute(graph, &mut sizes);
    Some(Sizes::from_sizes(&sizes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    #[test]
    fn arrays_move_into_their_only_owner() {
        // root -shortcut-> global -> a(Item) -> props(array) -> deep(hidden)
        //                        \-> b(Item) -> shared(array) <- a
        // root -> (GC roots) -> loose(array)   (owned by the root: stays)
        // a -weak-> w(array)                   (weak: no ownership)
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "global", 10),
                Spec::node(K::Object, "Item", 20),
                Spec::node(K::Array, "", 100),
                Spec::node(K::Hidden, "deep", 7),
                Spec::node(K::Object, "Item", 20),
                Spec::node(K::Array, "", 50),
                Spec::node(K::Synthetic, "(GC roots)", 0),
                Spec::node(K::Array, "", 3),
                Spec::node(K::Array, "", 9),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (0, E::Element, "1", 7),
                (1, E::Property, "a", 2),
                (1, E::Property, "b", 5),
                (2, E::Internal, "properties", 3),
                (3, E::Internal, "x", 4),
                (2, E::Internal, "elements", 6),
                (5, E::Internal, "elements", 6),
                (2, E::Weak, "w", 9),
                (7, E::Element, "1", 8),
            ],
        );
        let sizes = owned_self_sizes(&g).expect("has a user root");
        let sizes: Vec<u64> = (0..sizes.len() as u32).map(|v| sizes.get(v)).collect();
        assert_eq!(sizes, [0, 10, 20 + 100 + 7, 0, 0, 20, 50, 0, 3, 9]);
    }

    #[test]
    fn no_user_roots_no_attribution() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Synthetic, "(GC roots)", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Array, "", 5),
            ],
            &[
                (0, E::Element, "1", 1),
                (1, E::Element, "1", 2),
                (2, E::Internal, "elements", 3),
            ],
        );
        assert_eq!(owned_self_sizes(&g), None);
    }
}
