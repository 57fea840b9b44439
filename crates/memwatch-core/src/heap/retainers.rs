//! Reverse edges ("retainers") as CSR, and the shortest path to one node.
//!
//! Why: DevTools' "Retainers" pane needs, for a node, the edges pointing at
//! it. Two flat `u32` arrays (offsets per node, edge indices) hold them; the
//! holder of each edge is found by binary search over the graph's CSR, so no
//! third array is needed.

use std::collections::VecDeque;

use super::graph::{HeapGraph, NONE};
use super::kinds::EdgeKind;
use super::owned::is_user_root;
use super::paths::{PathStep, RetainerPath};

/// For each node, the indices of the edges (of any kind) that point to it.
#[derive(Clone, Debug)]
pub struct Retainers {
    first: Vec<u32>,
    edges: Vec<u32>,
}

impl Retainers {
    pub fn build(graph: &HeapGraph) -> Self {
        let n = graph.node_count();
        let targets = graph.edge_targets();
        let mut first = vec![0u32; n + 1];
        for &to in targets {
            first[to as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut cursor = first[..n].to_vec();
        let mut edges = vec![0u32; targets.len()];
        for (e, &to) in targets.iter().enumerate() {
            edges[cursor[to as usize] as usize] = e as u32;
            cursor[to as usize] += 1;
        }
        Self { first, edges }
    }

    /// Edge indices pointing to `node` (empty for an unknown node).
    pub fn of(&self, node: u32) -> &[u32] {
        let n = node as usize;
        match (self.first.get(n), self.first.get(n + 1)) {
            (Some(&a), Some(&b)) => &self.edges[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Stands for "the target itself" in the BFS's per-node next-edge column
/// (edge indices stay below `u32::MAX - 1`, which graphs guarantee).
const TARGET: u32 = u32::MAX - 1;

/// The shortest path from the root to `node` over retaining edges, found by
/// a breadth-first search backwards from `node`. Like [`RootPaths`], it
/// prefers paths from a user root (an object the root points to, i.e. a
/// global object): the search stops at the first one, and otherwise falls
/// back to the shortest path through the engine's roots. `None` if `node` is
/// unreachable (or not a node). (Unlike [`RootPaths`], it does not apply
/// DevTools' distance filters, which depend on the order of a forward search.)
///
/// [`RootPaths`]: super::paths::RootPaths
pub fn shortest_retainer_path(
    graph: &HeapGraph,
    retainers: &Retainers,
    node: u32,
) -> Option<RetainerPath> {
    let n = graph.node_count();
    if node as usize >= n {
        return None;
    }
    let root = graph.root();
    if node == root {
        return Some(RetainerPath {
            steps: Vec::new(),
            target: node,
        });
    }
    // Per node: the edge it holds on the way to the target. The root is
    // never marked, so that every edge from it is seen.
    let mut next = vec![NONE; n];
    next[node as usize] = TARGET;
    let mut queue = VecDeque::from([node]);
    let mut from_root = None;
    'search: while let Some(v) = queue.pop_front() {
        for &e in retainers.of(v) {
            let from = graph.edge_source(e);
            // Every edge but a weak one, as DevTools' distances.
            if graph.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            if from == root {
                if is_user_root(graph, v) {
                    from_root = Some(e);
                    break 'search;
                }
                from_root.get_or_insert(e);
                continue;
            }
            if next[from as usize] == NONE {
                next[from as usize] = e;
                queue.push_back(from);
            }
        }
    }
    let first = from_root?;
    let mut steps = vec![PathStep {
        node: root,
        edge: first,
    }];
    let mut v = graph.edge_to(first);
    while v != node {
        let e = next[v as usize];
        if e == NONE || e == TARGET || steps.len() > n {
            return None;
        }
        steps.push(PathStep { node: v, edge: e });
        v = graph.edge_to(e);
    }
    Some(RetainerPath {
        steps,
        target: node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::paths::{format_path, RootPaths};
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    #[test]
    fn retainers_index_every_edge() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Object, "B", 1),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 2),
                (1, E::Property, "b", 2),
                (2, E::Weak, "a", 1),
            ],
        );
        let r = Retainers::build(&g);
        assert_eq!(r.of(0), &[] as &[u32]);
        assert_eq!(r.of(1), &[0, 3]);
        assert_eq!(r.of(2), &[1, 2]);
        assert_eq!(r.of(9), &[] as &[u32]);
    }

    #[test]
    fn backward_search_matches_forward_bfs() {
        // root -> a -> b -> c -> d ; root -> x -> d (shorter) ; d -weak-> root
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Object, "B", 1),
                Spec::node(K::Object, "C", 1),
                Spec::node(K::Object, "D", 1),
                Spec::node(K::Object, "X", 1),
                Spec::node(K::Object, "Lonely", 1),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 5),
                (1, E::Property, "b", 2),
                (2, E::Property, "c", 3),
                (3, E::Property, "d", 4),
                (5, E::Property, "d", 4),
                (4, E::Weak, "root", 0),
                (6, E::Property, "a", 1),
            ],
        );
        let r = Retainers::build(&g);
        let forward = RootPaths::compute(&g);
        for node in 0..7 {
            let back = shortest_retainer_path(&g, &r, node);
            let fwd = forward.path_to(&g, node);
            assert_eq!(
                back.as_ref().map(|p| p.steps.len()),
                fwd.as_ref().map(|p| p.steps.len()),
                "node {node}"
            );
        }
        // Same answer as the forward tree where a user root is involved.
        let user = crate::heap::testutil::user_root_graph();
        let ru = Retainers::build(&user);
        assert_eq!(
            shortest_retainer_path(&user, &ru, 5),
            RootPaths::compute(&user).path_to(&user, 5)
        );
        let p = shortest_retainer_path(&g, &r, 4).expect("reachable");
        assert_eq!(format_path(&g, &p), "(GC roots) → X.d (property) → D @9");
        assert_eq!(shortest_retainer_path(&g, &r, 6), None);
        assert_eq!(
            shortest_retainer_path(&g, &r, 0).map(|p| p.steps.len()),
            Some(0)
        );
    }

    #[test]
    fn deep_chain_path() {
        const N: u32 = 100_000;
        let mut b = crate::heap::GraphBuilder::new();
        let name = b.intern("Link");
        for i in 0..N {
            b.add_node(K::Object, name, i, 1, u32::from(i + 1 < N));
        }
        for i in 1..N {
            b.add_edge(E::Element, i, i);
        }
        let g = b.finish().expect("chain");
        let r = Retainers::build(&g);
        let back = shortest_retainer_path(&g, &r, N - 1).expect("reachable");
        assert_eq!(back.steps.len(), (N - 1) as usize);
        let fwd = RootPaths::compute(&g)
            .path_to(&g, N - 1)
            .expect("reachable");
        assert_eq!(fwd, back);
    }
}
