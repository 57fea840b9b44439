//! Dominator tree and retained sizes, from the root, all iterative.
//!
//! Algorithm: Semi-NCA (Georgiadis, Tarjan & Werneck, "Finding dominators in
//! practice"; the variant LLVM uses): a DFS numbers the nodes in preorder,
//! semidominators are computed in reverse preorder with a path-compressing
//! `eval`, and each immediate dominator is then the nearest common ancestor
//! of the DFS parent and the semidominator. O(m log n), and every loop runs
//! on explicit stacks, so a 100,000-deep chain is fine.
//!
//! Which edges count: see [`RetainRules`] (the bits come from `essential`).
//!
//! Nodes the root does not reach are placed as DevTools places them
//! (`calculateDominatorsAndRetainedSizes`): first, in node order, each
//! unnumbered node that no counted edge points to becomes a child of the root
//! and the search continues from it; then every node still left (rings of
//! garbage that hold each other) becomes a childless child of the root. So
//! every node has a dominator and the root retains the whole snapshot, as in
//! DevTools; [`Dominators::is_reachable`] still tells the nodes the root
//! reaches.

use super::essential::{essential_edges, Bits};
use super::graph::{HeapGraph, Sizes, NONE};
use super::owned::Ownership;

/// Which edges keep their targets alive for the dominator tree, and which
/// self sizes are summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RetainRules {
    /// Weak edges, self edges and the shortcut edges of non-root nodes are
    /// ignored; self sizes are V8's.
    Basic,
    /// DevTools' rules (its `computeIsEssentialEdge` and
    /// `calculateShallowSizes`): `Basic`, plus
    /// - a WeakMap table's edge to a value is ignored (the key's edge to it
    ///   counts), so a WeakMap-held value is retained by its key;
    /// - page ownership (`markPageOwnedNodes`): nodes reachable over non-weak
    ///   edges from the user roots (the targets of the root's shortcut edges,
    ///   i.e. the global objects, and the `(Document DOM trees)` root) are
    ///   page-owned, and an edge from a node that is not page-owned to one
    ///   that is, is ignored unless it leaves the root; an object held both
    ///   by a global and by an engine-internal root is retained by the global;
    /// - owned sizes: an array or hidden node that one object alone owns adds
    ///   its self size to that object's (see [`Dominators::self_size`]).
    #[default]
    DevTools,
}

/// The dominator tree, as an immediate-dominator column, and retained sizes.
#[derive(Clone, Debug)]
pub struct Dominators {
    /// Per node: its immediate dominator; the root's is itself.
    idom: Vec<u32>,
    /// Per node: self size plus the retained sizes of the nodes it
    /// immediately dominates (saturating).
    retained: Vec<u64>,
    /// Self sizes after DevTools' owned-size attribution; `None` when they
    /// are V8's (basic rules, or a snapshot without user roots).
    owned_sizes: Option<Sizes>,
    /// Nodes the root reaches over counted edges.
    reached: Bits,
    reachable: usize,
    root: u32,
}

impl Dominators {
    /// `None` for the root (and for a node index out of range).
    pub fn immediate_dominator(&self, node: u32) -> Option<u32> {
        match self.idom.get(node as usize) {
            Some(&d) if d != NONE && node != self.root => Some(d),
            _ => None,
        }
    }

    /// Whether the root reaches `node` over edges that keep it alive. The
    /// others are garbage V8 had not collected (or held only by weak edges);
    /// DevTools still files them under the root.
    pub fn is_reachable(&self, node: u32) -> bool {
        self.reached.get(node) && (node as usize) < self.idom.len()
    }

    /// Bytes that would be freed if `node` were gone.
    pub fn retained_size(&self, node: u32) -> u64 {
        self.retained.get(node as usize).copied().unwrap_or(0)
    }

    /// Retained size per node index.
    pub fn retained_sizes(&self) -> &[u64] {
        &self.retained
    }

    /// The self size these retained sizes are built from: V8's, or under
    /// [`RetainRules::DevTools`] with owned arrays and hidden nodes moved
    /// into their owner (what DevTools shows as "Shallow Size").
    pub fn self_size(&self, graph: &HeapGraph, node: u32) -> u64 {
        match &self.owned_sizes {
            Some(sizes) => sizes.get(node),
            None => graph.self_size(node),
        }
    }

    /// Immediate dominator per node index (root: itself).
    pub fn idoms(&self) -> &[u32] {
        &self.idom
    }

    /// The root these dominators were computed from.
    pub fn root(&self) -> u32 {
        self.root
    }

    /// Nodes reachable from the root, the root included.
    pub fn reachable_count(&self) -> usize {
        self.reachable
    }

    /// Whether these dominators can belong to `graph` (same node count and
    /// root). The `*_with` analyses recompute them when not, rather than
    /// index out of range.
    pub fn fits(&self, graph: &HeapGraph) -> bool {
        self.idom.len() == graph.node_count() && self.root == graph.root()
    }

    /// Whether `a` dominates `b` (every node dominates itself). Walks `b`'s
    /// dominator chain, so O(depth).
    pub fn dominates(&self, a: u32, b: u32) -> bool {
        if (a as usize) >= self.idom.len() || (b as usize) >= self.idom.len() {
            return false;
        }
        let mut x = b;
        loop {
            if x == a {
                return true;
            }
            if x == self.root {
                return false;
            }
            x = self.idom[x as usize];
        }
    }
}

/// Computes the dominator tree and every node's retained size with
/// [`RetainRules::DevTools`].
pub fn dominators(graph: &HeapGraph) -> Dominators {
    dominators_with_rules(graph, RetainRules::DevTools)
}

/// Computes the dominator tree and retained sizes under `rules`.
pub fn dominators_with_rules(graph: &HeapGraph, rules: RetainRules) -> Dominators {
    let n = graph.node_count();
    let mut ownership = match rules {
        RetainRules::Basic => None,
        RetainRules::DevTools => Ownership::new(graph),
    };
    let essential = essential_edges(graph, rules, ownership.as_mut());
    let Dfs {
        dfnum,
        vertex,
        parent,
        reached,
        leaves,
    } = preorder(graph, &essential);
    let (pred_start, preds) = predecessors(graph, &essential, &dfnum, &vertex[..leaves]);
    drop((dfnum, essential));
    let idom = semi_nca(parent, &pred_start, &preds);
    drop((pred_start, preds));

    let mut retained: Vec<u64> = graph.self_sizes().collect();
    let owned_sizes = ownership.map(|o| {
        o.attribute(graph, &mut retained);
        Sizes::from_sizes(&retained)
    });
    // Reverse preorder visits every node after all the nodes it dominates
    // (they are its DFS descendants), so each sum is complete when added up.
    for w in (1..vertex.len()).rev() {
        let child = vertex[w] as usize;
        let dom = vertex[idom[w] as usize] as usize;
        retained[dom] = retained[dom].saturating_add(retained[child]);
    }
    let mut node_idom = vec![NONE; n];
    let mut reached_bits = Bits::new(n);
    for (w, &node) in vertex.iter().enumerate() {
        node_idom[node as usize] = vertex[idom[w] as usize];
        if w < reached {
            reached_bits.set(node);
        }
    }
    Dominators {
        idom: node_idom,
        retained,
        owned_sizes,
        reached: reached_bits,
        reachable: reached,
        root: graph.root(),
    }
}

struct Dfs {
    /// Node -> preorder number.
    dfnum: Vec<u32>,
    /// Preorder number -> node.
    vertex: Vec<u32>,
    /// Preorder number -> preorder number of the DFS-tree parent (root: 0).
    parent: Vec<u32>,
    /// Nodes numbered from the root (the first `reached` numbers).
    reached: usize,
    /// Nodes numbered before the childless orphans (those from `leaves` on).
    leaves: usize,
}

/// Preorder numbering: a depth-first search from the root over counted
/// edges, then DevTools' orphans (see the module comment). A true DFS (one
/// edge at a time from the top of the stack), as Semi-NCA requires.
fn preorder(graph: &HeapGraph, essential: &Bits) -> Dfs {
    let n = graph.node_count();
    let first_edge = graph.first_edges();
    let targets = graph.edge_targets();
    let mut dfnum = vec![NONE; n];
    let mut vertex = Vec::with_capacity(n);
    let mut parent = Vec::with_capacity(n);
    // (node, next edge to look at)
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut search =
        |start: u32, dfnum: &mut Vec<u32>, vertex: &mut Vec<u32>, parent: &mut Vec<u32>| {
            dfnum[start as usize] = vertex.len() as u32;
            vertex.push(start);
            parent.push(0);
            stack.push((start, first_edge[start as usize]));
            while let Some(top) = stack.last_mut() {
                let v = top.0;
                let end = first_edge[v as usize + 1];
                let mut next = None;
                while top.1 < end {
                    let e = top.1;
                    top.1 += 1;
                    let w = targets[e as usize];
                    if dfnum[w as usize] == NONE && essential.get(e) {
                        next = Some(w);
                        break;
                    }
                }
                match next {
                    Some(w) => {
                        dfnum[w as usize] = vertex.len() as u32;
                        parent.push(dfnum[v as usize]);
                        vertex.push(w);
                        stack.push((w, first_edge[w as usize]));
                    }
                    None => {
                        stack.pop();
                    }
                }
            }
        };
    search(graph.root(), &mut dfnum, &mut vertex, &mut parent);
    let reached = vertex.len();
    if reached < n {
        // Nodes no counted edge points to start their own search, in node
        // order, as children of the root.
        let mut retained_by_something = Bits::new(n);
        for (e, &to) in targets.iter().enumerate() {
            if essential.get(e as u32) {
                retained_by_something.set(to);
            }
        }
        for v in 0..n as u32 {
            if dfnum[v as usize] == NONE && !retained_by_something.get(v) {
                search(v, &mut dfnum, &mut vertex, &mut parent);
            }
        }
    }
    let leaves = vertex.len();
    for v in 0..n as u32 {
        if dfnum[v as usize] == NONE {
            dfnum[v as usize] = vertex.len() as u32;
            vertex.push(v);
            parent.push(0);
        }
    }
    Dfs {
        dfnum,
        vertex,
        parent,
        reached,
        leaves,
    }
}

/// Reverse counted edges, in preorder numbers, as CSR. Only edges from
/// `sources` (the nodes numbered by a search) count: the childless orphans'
/// edges are left out, as DevTools' numbering leaves them without effect.
fn predecessors(
    graph: &HeapGraph,
    essential: &Bits,
    dfnum: &[u32],
    sources: &[u32],
) -> (Vec<u32>, Vec<u32>) {
    let r = dfnum.len();
    let targets = graph.edge_targets();
    let mut start = vec![0u32; r + 1];
    for &v in sources {
        for e in graph.edges(v) {
            if essential.get(e) {
                let w = dfnum[targets[e as usize] as usize];
                start[w as usize + 1] += 1;
            }
        }
    }
    for i in 0..r {
        start[i + 1] += start[i];
    }
    let mut cursor = start[..r].to_vec();
    let mut preds = vec![0u32; start[r] as usize];
    for &v in sources {
        let from = dfnum[v as usize];
        for e in graph.edges(v) {
            if essential.get(e) {
                let w = dfnum[targets[e as usize] as usize] as usize;
                preds[cursor[w] as usize] = from;
                cursor[w] += 1;
            }
        }
    }
    (start, preds)
}

/// Semi-NCA over preorder numbers. `parent` is consumed as the link-eval
/// forest (`ancestor`), which path compression rewrites. Returns the
/// immediate dominator of each preorder number (root: 0).
fn semi_nca(parent: Vec<u32>, pred_start: &[u32], preds: &[u32]) -> Vec<u32> {
    let r = parent.len();
    let mut idom = parent.clone();
    let mut ancestor = parent;
    let mut semi: Vec<u32> = (0..r as u32).collect();
    let mut label: Vec<u32> = (0..r as u32).collect();
    let mut stack = Vec::new();
    for w in (1..r).rev() {
        // Vertices numbered above `w` are processed, i.e. linked.
        let last_linked = w as u32 + 1;
        // `w` itself is not linked yet, so `ancestor[w]` is still its parent.
        let mut s = ancestor[w];
        for &v in &preds[pred_start[w] as usize..pred_start[w + 1] as usize] {
            let u = eval(v, last_linked, &mut ancestor, &mut label, &semi, &mut stack);
            s = s.min(semi[u as usize]);
        }
        semi[w] = s;
    }
    for w in 1..r {
        // Walk up the dominator tree (final for smaller numbers) from the
        // parent until at or above the semidominator: their nearest common
        // ancestor, which is the immediate dominator.
        let mut c = idom[w];
        while c > semi[w] {
            c = idom[c as usize];
        }
        idom[w] = c;
    }
    idom
}

/// The vertex of minimum semidominator on the forest path above `v`, with
/// path compression; iterative (the path can be as long as the graph).
fn eval(
    v: u32,
    last_linked: u32,
    ancestor: &mut [u32],
    label: &mut [u32],
    semi: &[u32],
    stack: &mut Vec<u32>,
) -> u32 {
    if ancestor[v as usize] < last_linked {
        return label[v as usize];
    }
    stack.clear();
    let mut x = v;
    loop {
        stack.push(x);
        x = ancestor[x as usize];
        if ancestor[x as usize] < last_linked {
            break;
        }
    }
    // `x` is the top of this tree of the forest; compress the path below it.
    let mut p = x;
    let mut p_label = label[p as usize];
    while let Some(y) = stack.pop() {
        let yu = y as usize;
        ancestor[yu] = ancestor[p as usize];
        if semi[p_label as usize] < semi[label[yu] as usize] {
            label[yu] = p_label;
        } else {
            p_label = label[yu];
        }
        p = y;
    }
    label[v as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    fn idom_of(d: &Dominators, node: u32) -> Option<u32> {
        d.immediate_dominator(node)
    }

    #[test]
    fn diamond() {
        // root -> a -> {b, c} -> d
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 10),
                Spec::node(K::Object, "B", 20),
                Spec::node(K::Object, "C", 30),
                Spec::node(K::Object, "D", 40),
            ],
            &[
                (0, E::Element, "1", 1),
                (1, E::Property, "b", 2),
                (1, E::Property, "c", 3),
                (2, E::Property, "d", 4),
                (3, E::Property, "d", 4),
            ],
        );
        let d = dominators(&g);
        assert_eq!(idom_of(&d, 0), None);
        assert_eq!(idom_of(&d, 1), Some(0));
        assert_eq!(idom_of(&d, 2), Some(1));
        assert_eq!(idom_of(&d, 3), Some(1));
        assert_eq!(idom_of(&d, 4), Some(1));
        assert_eq!(d.retained_sizes(), &[100, 100, 20, 30, 40]);
        assert!(d.dominates(1, 4));
        assert!(!d.dominates(2, 4));
    }

    #[test]
    fn cycle_and_back_edges() {
        // root -> a -> b -> c -> a (cycle), c -> d, root -> d via weak only.
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Object, "B", 2),
                Spec::node(K::Object, "C", 4),
                Spec::node(K::Object, "D", 8),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Weak, "w", 4),
                (1, E::Property, "b", 2),
                (2, E::Property, "c", 3),
                (3, E::Property, "a", 1),
                (3, E::Property, "d", 4),
            ],
        );
        let d = dominators(&g);
        assert_eq!(idom_of(&d, 1), Some(0));
        assert_eq!(idom_of(&d, 2), Some(1));
        assert_eq!(idom_of(&d, 3), Some(2));
        assert_eq!(idom_of(&d, 4), Some(3));
        assert_eq!(d.retained_sizes(), &[15, 15, 14, 12, 8]);
    }

    /// The classic Lengauer–Tarjan example (Appel's "Modern Compiler
    /// Implementation", fig. 19.8 style), with known immediate dominators.
    #[test]
    fn textbook_graph() {
        // Nodes: 0=R 1=A 2=B 3=C 4=D 5=E 6=F 7=G 8=H 9=I 10=J 11=K 12=L
        let names = [
            "R", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L",
        ];
        let nodes: Vec<Spec> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Spec::node(if i == 0 { K::Synthetic } else { K::Object }, n, 1))
            .collect();
        let arcs = [
            (0, 1),
            (0, 2),
            (0, 3),
            (1, 4),
            (2, 1),
            (2, 4),
            (2, 5),
            (3, 6),
            (3, 7),
            (4, 12),
            (5, 8),
            (6, 9),
            (7, 9),
            (7, 10),
            (8, 5),
            (8, 11),
            (9, 11),
            (10, 9),
            (11, 9),
            (11, 0),
            (12, 8),
        ];
        let edges: Vec<(u32, E, &str, u32)> = arcs
            .iter()
            .map(|&(a, b)| (a, E::Property, "x", b))
            .collect();
        let g = graph(&nodes, &edges);
        let d = dominators(&g);
        // Expected: A,B,C,D,E,H,I,K -> R; F,G -> C; J -> G; L -> D.
        let expected = [
            None,
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(3),
            Some(3),
            Some(0),
            Some(0),
            Some(7),
            Some(0),
            Some(4),
        ];
        for (node, want) in expected.iter().enumerate() {
            assert_eq!(idom_of(&d, node as u32), *want, "idom of {}", names[node]);
        }
        assert_eq!(d.retained_size(0), 13);
        assert_eq!(d.retained_size(3), 4); // C, F, G, J
        assert_eq!(d.retained_size(4), 2); // D, L
    }

    #[test]
    fn shortcuts_count_only_from_the_root() {
        // root -shortcut-> a ; root -> b -> c ; a -shortcut-> c
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "global", 5),
                Spec::node(K::Object, "B", 5),
                Spec::node(K::Object, "C", 5),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (0, E::Element, "1", 2),
                (1, E::Shortcut, "c", 3),
                (2, E::Property, "c", 3),
            ],
        );
        let d = dominators_with_rules(&g, RetainRules::Basic);
        assert_eq!(idom_of(&d, 1), Some(0));
        assert_eq!(idom_of(&d, 3), Some(2));
        assert_eq!(d.retained_size(1), 5);
        assert_eq!(d.retained_size(2), 10);
        // DevTools: c is page-owned (the global's shortcut reaches it), so
        // b's edge to it does not count either; nothing retains c, and
        // DevTools hangs it under the root.
        let d = dominators(&g);
        assert_eq!(idom_of(&d, 3), Some(0));
        assert!(!d.is_reachable(3));
        assert_eq!(d.retained_size(2), 5);
    }

    #[test]
    fn devtools_rules_prefer_user_roots() {
        // root -shortcut-> global -> cache ; root -> (GC roots) -> handles -> cache
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "global", 5),
                Spec::node(K::Synthetic, "(GC roots)", 0),
                Spec::node(K::Hidden, "handles", 1),
                Spec::node(K::Object, "Cache", 100),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (0, E::Element, "1", 2),
                (1, E::Property, "cache", 4),
                (2, E::Element, "1", 3),
                (3, E::Hidden, "0", 4),
            ],
        );
        let basic = dominators_with_rules(&g, RetainRules::Basic);
        assert_eq!(idom_of(&basic, 4), Some(0));
        assert_eq!(basic.retained_size(1), 5);
        let devtools = dominators_with_rules(&g, RetainRules::DevTools);
        assert_eq!(idom_of(&devtools, 4), Some(1));
        assert_eq!(devtools.retained_size(1), 105);
        assert_eq!(devtools.retained_size(3), 1);
        assert!(devtools.is_reachable(4));
    }

    /// root -shortcut-> global; global.map -> WeakMap -> table; the table
    /// holds the key weakly and the value through the ephemeron edge;
    /// global.key -> key, and the key's edge of the same name -> value.
    fn weak_map_graph() -> HeapGraph {
        const PAIR: &str =
            "1 / part of key (Key @9) -> value (Value @11) pair in WeakMap (table @7)";
        graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "global", 10).with_id(3),
                Spec::node(K::Object, "WeakMap", 20).with_id(5),
                Spec::node(K::Array, "", 30).with_id(7),
                Spec::node(K::Object, "Key", 40).with_id(9),
                Spec::node(K::Object, "Value", 50).with_id(11),
                Spec::node(K::Object, "Payload", 1000).with_id(13),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (1, E::Property, "map", 2),
                (1, E::Property, "key", 4),
                (2, E::Internal, "table", 3),
                (3, E::Weak, "1", 4),
                (3, E::Internal, PAIR, 5),
                (4, E::Internal, PAIR, 5),
                (5, E::Property, "payload", 6),
            ],
        )
    }

    #[test]
    fn weak_map_values_are_retained_by_their_key() {
        let g = weak_map_graph();
        let basic = dominators_with_rules(&g, RetainRules::Basic);
        assert_eq!(idom_of(&basic, 5), Some(1));
        assert_eq!(basic.retained_size(4), 40);
        // DevTools: the table's edge to the value does not count.
        let d = dominators(&g);
        assert_eq!(idom_of(&d, 5), Some(4));
        assert_eq!(d.retained_size(4), 40 + 50 + 1000);
        // The table is owned by the WeakMap alone: its size moves there.
        assert_eq!(d.self_size(&g, 3), 0);
        assert_eq!(d.self_size(&g, 2), 20 + 30);
        assert_eq!(d.retained_size(2), 50);
        assert_eq!(d.retained_size(0), 1150);
    }

    #[test]
    fn self_edges_retain_nothing() {
        // a holds only itself: nothing retains it, so it starts its own
        // search under the root and retains b.
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Object, "B", 2),
            ],
            &[(1, E::Property, "self", 1), (1, E::Property, "b", 2)],
        );
        let d = dominators(&g);
        assert_eq!(idom_of(&d, 1), Some(0));
        assert_eq!(idom_of(&d, 2), Some(1));
        assert_eq!(d.retained_size(1), 3);
        assert_eq!(d.reachable_count(), 1);
    }

    #[test]
    fn sizes_saturate_instead_of_wrapping() {
        let huge = u64::MAX / 2 + 1;
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "global", 8),
                Spec::node(K::Object, "Big", huge),
                Spec::node(K::Object, "Big", huge),
                Spec::node(K::Array, "", huge),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (1, E::Property, "a", 2),
                (1, E::Property, "b", 3),
                (3, E::Internal, "elements", 4),
            ],
        );
        let d = dominators(&g);
        // The array's size moves into its owner: saturated, not wrapped.
        assert_eq!(d.self_size(&g, 3), u64::MAX);
        assert_eq!(d.retained_size(1), u64::MAX);
        assert_eq!(d.retained_size(0), u64::MAX);
        let groups = crate::heap::class_groups_with(&g, &d);
        let big = groups.iter().find(|c| c.name == "Big").expect("Big");
        assert_eq!(
            (big.count, big.self_size, big.retained_size),
            (2, u64::MAX, u64::MAX)
        );
    }

    #[test]
    fn unreachable_nodes_hang_under_the_root() {
        // root -> a ; b -> a, b -> c (b, c unreachable); d <-> e (a ring)
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
                Spec::node(K::Object, "B", 2),
                Spec::node(K::Object, "C", 4),
                Spec::node(K::Object, "D", 8),
                Spec::node(K::Object, "E", 16),
            ],
            &[
                (0, E::Element, "1", 1),
                (2, E::Property, "a", 1),
                (2, E::Property, "c", 3),
                (4, E::Property, "e", 5),
                (5, E::Property, "d", 4),
            ],
        );
        let d = dominators(&g);
        assert_eq!(d.reachable_count(), 2);
        assert!(!d.is_reachable(2));
        // As in DevTools: b (nothing retains it) is a child of the root and
        // retains c; d and e hold each other, so each is a childless child
        // of the root.
        assert_eq!(idom_of(&d, 2), Some(0));
        assert_eq!(idom_of(&d, 3), Some(2));
        assert_eq!(idom_of(&d, 4), Some(0));
        assert_eq!(idom_of(&d, 5), Some(0));
        assert_eq!(d.retained_sizes(), &[31, 1, 6, 4, 8, 16]);
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        const N: u32 = 100_000;
        let mut b = crate::heap::GraphBuilder::with_capacity(N as usize, N as usize);
        let name = b.intern("Link");
        let next = b.intern("next");
        for i in 0..N {
            let kind = if i == 0 { K::Synthetic } else { K::Object };
            b.add_node(kind, name, i * 2 + 1, 1, u32::from(i + 1 < N));
        }
        for i in 1..N {
            b.add_edge(E::Property, next, i);
        }
        let g = b.finish().expect("chain");
        let d = dominators(&g);
        assert_eq!(d.reachable_count(), N as usize);
        assert_eq!(d.retained_size(0), u64::from(N));
        assert_eq!(d.retained_size(1), u64::from(N - 1));
        assert_eq!(d.retained_size(N - 1), 1);
        assert_eq!(idom_of(&d, N - 1), Some(N - 2));

        // A back edge from the tail to every 1000th link: exercises long
        // eval paths through the compression.
        let mut b = crate::heap::GraphBuilder::new();
        let name = b.intern("Link");
        for i in 0..N {
            let extra = u32::from(i + 1 < N) + u32::from(i == N - 1) * 100;
            b.add_node(K::Object, name, i, 1, extra);
        }
        for i in 1..N {
            b.add_edge(E::Property, name, i);
        }
        for k in 0..100 {
            b.add_edge(E::Property, name, k * 1000 + 1);
        }
        let g = b.finish().expect("chain with back edges");
        let d = dominators(&g);
        assert_eq!(idom_of(&d, N - 1), Some(N - 2));
        assert_eq!(d.retained_size(1), u64::from(N - 1));
    }

    /// Cross-check against the definition on many small random graphs:
    /// d dominates v iff v is unreachable from the root once d is removed,
    /// in the graph DevTools effectively uses: the root also points to each
    /// unreached node that nothing retains (in node order, each one then
    /// reaching what it can), and to every node still left, whose own edges
    /// are dropped.
    #[test]
    fn matches_brute_force_on_random_graphs() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |m: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(m)) as u32
        };
        for _ in 0..400 {
            let n = 2 + rand(12);
            let m = rand(3 * n);
            let nodes: Vec<Spec> = (0..n).map(|_| Spec::node(K::Object, "N", 1)).collect();
            let mut edges: Vec<(u32, E, &str, u32)> = (0..m)
                .map(|_| (rand(n), E::Property, "p", rand(n)))
                .collect();
            edges.sort_by_key(|e| e.0);
            let g = graph(&nodes, &edges);
            let d = dominators(&g);

            // The effective graph (self edges never count).
            let mut adj: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
            for &(a, _, _, b) in &edges {
                if a != b {
                    adj[a as usize].push(b);
                }
            }
            let walk = |adj: &Vec<Vec<u32>>, seen: &mut Vec<bool>, from: u32| {
                let mut stack = vec![from];
                seen[from as usize] = true;
                while let Some(v) = stack.pop() {
                    for &w in &adj[v as usize] {
                        if !seen[w as usize] {
                            seen[w as usize] = true;
                            stack.push(w);
                        }
                    }
                }
            };
            let mut seen = vec![false; n as usize];
            walk(&adj, &mut seen, 0);
            let reached_from_root = seen.clone();
            let retained: Vec<bool> = (0..n)
                .map(|v| adj.iter().any(|out| out.contains(&v)))
                .collect();
            for v in 0..n {
                if !seen[v as usize] && !retained[v as usize] {
                    adj[0].push(v);
                    walk(&adj, &mut seen, v);
                }
            }
            for v in 0..n {
                if !seen[v as usize] {
                    adj[v as usize].clear();
                    adj[0].push(v);
                    seen[v as usize] = true;
                }
            }

            // What the root reaches once `removed` is gone.
            let reach = |removed: u32| {
                let mut seen = vec![false; n as usize];
                if removed == 0 {
                    return seen;
                }
                let mut stack = vec![0u32];
                seen[0] = true;
                while let Some(v) = stack.pop() {
                    for &w in &adj[v as usize] {
                        if w != removed && !seen[w as usize] {
                            seen[w as usize] = true;
                            stack.push(w);
                        }
                    }
                }
                seen
            };
            for v in 1..n {
                assert_eq!(d.is_reachable(v), reached_from_root[v as usize]);
                // strict dominators by definition
                let doms: Vec<u32> = (0..n)
                    .filter(|&x| x != v && (x == 0 || !reach(x)[v as usize]))
                    .collect();
                // idom = the strict dominator dominated by all the others
                let idom = doms
                    .iter()
                    .copied()
                    .find(|&c| {
                        doms.iter()
                            .all(|&o| o == c || o == 0 || !reach(o)[c as usize])
                    })
                    .expect("some idom");
                assert_eq!(
                    d.immediate_dominator(v),
                    Some(idom),
                    "node {v} of {edges:?}"
                );
            }
            // Every node is under the root, so it retains everything.
            assert_eq!(d.retained_size(0), u64::from(n));
        }
    }
}
