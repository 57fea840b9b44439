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

use std::collections::HashMap;

use super::graph::HeapGraph;
use super::kinds::{EdgeKind, NodeKind};

/// Self sizes after attribution, 4 bytes a node: DevTools keeps sizes in
/// 32 bits, and the rare larger one (a 4 GiB buffer) is kept aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OwnedSizes {
    small: Vec<u32>,
    large: HashMap<u32, u64>,
}

impl OwnedSizes {
    fn from_sizes(sizes: &[u64]) -> Self {
        let mut large = HashMap::new();
        let small = sizes
            .iter()
            .enumerate()
            .map(|(v, &size)| match u32::try_from(size) {
                Ok(s) if s != u32::MAX => s,
                _ => {
                    large.insert(v as u32, size);
                    u32::MAX
                }
            })
            .collect();
        Self { small, large }
    }

    #[inline]
    pub(crate) fn get(&self, node: u32) -> u64 {
        match self.small.get(node as usize) {
            Some(&u32::MAX) => self.large.get(&node).copied().unwrap_or(0),
            Some(&s) => u64::from(s),
            None => 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.small.len()
    }
}

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

/// Self sizes after attribution, or `None` when the snapshot has no user
/// roots (sizes stay V8's). Sums saturate.
pub(crate) fn owned_self_sizes(graph: &HeapGraph) -> Option<OwnedSizes> {
    if !has_user_roots(graph) {
        return None;
    }
    let n = graph.node_count();
    let mut owners: Vec<u32> = (0..n as u32)
        .map(|v| {
            if starts_unowned(graph, v) {
                UNVISITED
            } else {
                v
            }
        })
        .collect();
    // The final owners do not depend on the visiting order (each node ends
    // with the set of owners that reach it through unowned nodes), so each
    // owner is expanded in turn and what it reaches is drained from a stack.
    let mut stack: Vec<u32> = Vec::new();
    let spread = |v: u32, owners: &mut Vec<u32>, stack: &mut Vec<u32>| {
        let owner = owners[v as usize];
        for e in graph.edges(v) {
            if graph.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let t = graph.edge_to(e);
            let current = owners[t as usize];
            if current == UNVISITED {
                owners[t as usize] = owner;
                stack.push(t);
            } else if current != t && current != owner && current != SEVERAL {
                owners[t as usize] = SEVERAL;
                stack.push(t);
            }
        }
    };
    for v in 0..n as u32 {
        if owners[v as usize] != v {
            continue;
        }
        spread(v, &mut owners, &mut stack);
        while let Some(t) = stack.pop() {
            spread(t, &mut owners, &mut stack);
        }
    }
    let mut sizes = graph.self_sizes().to_vec();
    let root = graph.root();
    for (v, &owner) in owners.iter().enumerate() {
        if owner == UNVISITED || owner == SEVERAL || owner as usize == v {
            continue;
        }
        if owner == root || graph.node_kind(owner) == NodeKind::Synthetic {
            continue;
        }
        let moved = std::mem::take(&mut sizes[v]);
        sizes[owner as usize] = sizes[owner as usize].saturating_add(moved);
    }
    drop(owners);
    Some(OwnedSizes::from_sizes(&sizes))
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
