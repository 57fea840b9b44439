//! Small hand-built graphs for the unit tests.

use super::{EdgeKind, GraphBuilder, HeapGraph, NodeKind};

/// One node of a test graph. Ids default to `2 * index + 1` (V8's ids are odd).
pub(crate) struct Spec {
    pub kind: NodeKind,
    pub name: &'static str,
    pub size: u64,
    pub id: Option<u32>,
}

impl Spec {
    pub fn node(kind: NodeKind, name: &'static str, size: u64) -> Spec {
        Spec {
            kind,
            name,
            size,
            id: None,
        }
    }

    pub fn with_id(mut self, id: u32) -> Spec {
        self.id = Some(id);
        self
    }
}

/// Builds a graph from nodes and `(from, kind, name_or_index, to)` edges.
/// Edges may be listed in any order; element/hidden names are numbers.
pub(crate) fn graph(nodes: &[Spec], edges: &[(u32, EdgeKind, &str, u32)]) -> HeapGraph {
    let mut b = GraphBuilder::new();
    let mut sorted: Vec<&(u32, EdgeKind, &str, u32)> = edges.iter().collect();
    sorted.sort_by_key(|e| e.0);
    for (i, n) in nodes.iter().enumerate() {
        let name = b.intern(n.name);
        let count = edges.iter().filter(|e| e.0 == i as u32).count() as u32;
        let id = n.id.unwrap_or(2 * i as u32 + 1);
        b.add_node(n.kind, name, id, n.size, count);
    }
    for &&(_, kind, name, to) in &sorted {
        let name = if kind.has_string_name() {
            b.intern(name)
        } else {
            name.parse().expect("numeric edge name")
        };
        b.add_edge(kind, name, to);
    }
    b.finish().expect("valid test graph")
}

/// root -> (Stack roots) -> Leak (2 hops, engine root);
/// root -shortcut-> global -> Holder -> Leak (3 hops, user root);
/// root -> (GC roots) (an engine root with nothing below).
pub(crate) fn user_root_graph() -> HeapGraph {
    use EdgeKind as E;
    use NodeKind as K;
    graph(
        &[
            Spec::node(K::Synthetic, "", 0),
            Spec::node(K::Synthetic, "(GC roots)", 0),
            Spec::node(K::Synthetic, "(Stack roots)", 0),
            Spec::node(K::Object, "global", 1),
            Spec::node(K::Object, "Holder", 1),
            Spec::node(K::Object, "Leak", 1),
        ],
        &[
            (0, E::Element, "1", 1),
            (0, E::Element, "2", 2),
            (0, E::Shortcut, "global", 3),
            (2, E::Element, "0", 5),
            (3, E::Property, "holder", 4),
            (4, E::Internal, "12", 5),
        ],
    )
}
