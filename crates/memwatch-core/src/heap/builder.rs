//! Building a [`HeapGraph`] node by node, and the checks every graph passes.
//!
//! Why a builder besides the parser: the binding can walk V8's live
//! `HeapSnapshot` through the C++ API and produce the same graph without
//! serialising to JSON and parsing it back.

use rustc_hash::FxHashMap as HashMap;
use std::fmt;

use super::graph::{HeapGraph, Location, MAX_EDGES, MAX_NODES};
use super::kinds::{EdgeKind, NodeKind};

/// Why a graph was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphError {
    /// There must be at least the root (node 0).
    NoNodes,
    TooManyNodes(u64),
    TooManyEdges(u64),
    /// The nodes' `edge_count`s do not add up to the number of edges.
    EdgeCountMismatch {
        declared: u64,
        added: u64,
    },
    EdgeTargetOutOfRange {
        edge: u32,
        target: u32,
        node_count: u32,
    },
    NodeNameOutOfRange {
        node: u32,
        name: u32,
        string_count: u32,
    },
    EdgeNameOutOfRange {
        edge: u32,
        name: u32,
        string_count: u32,
    },
    /// The root is not a node.
    RootOutOfRange {
        root: u32,
        node_count: u32,
    },
    /// A location names a node that does not exist.
    LocationOutOfRange {
        node: u32,
        node_count: u32,
    },
    /// A column's length disagrees with the node or edge count.
    Inconsistent(&'static str),
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::NoNodes => write!(f, "graph has no nodes (node 0 must be the root)"),
            GraphError::TooManyNodes(n) => write!(
                f,
                "{n} nodes is more than the engine's limit of {MAX_NODES} (32-bit node indices)"
            ),
            GraphError::TooManyEdges(n) => write!(
                f,
                "{n} edges is more than the engine's limit of {MAX_EDGES} (32-bit edge indices)"
            ),
            GraphError::EdgeCountMismatch { declared, added } => write!(
                f,
                "nodes declare {declared} edges in total but {added} edges were given"
            ),
            GraphError::EdgeTargetOutOfRange {
                edge,
                target,
                node_count,
            } => write!(
                f,
                "edge {edge} points to node {target}, but there are only {node_count} nodes"
            ),
            GraphError::NodeNameOutOfRange {
                node,
                name,
                string_count,
            } => write!(
                f,
                "node {node} has name string {name}, but there are only {string_count} strings"
            ),
            GraphError::EdgeNameOutOfRange {
                edge,
                name,
                string_count,
            } => write!(
                f,
                "edge {edge} has name string {name}, but there are only {string_count} strings"
            ),
            GraphError::RootOutOfRange { root, node_count } => write!(
                f,
                "the root is node {root}, but there are only {node_count} nodes"
            ),
            GraphError::LocationOutOfRange { node, node_count } => write!(
                f,
                "a location names node {node}, but there are only {node_count} nodes"
            ),
            GraphError::Inconsistent(what) => write!(f, "inconsistent graph columns: {what}"),
        }
    }
}

impl std::error::Error for GraphError {}

/// Accumulates nodes, edges and strings, then checks them in [`finish`].
///
/// Edges belong to nodes in order, exactly like V8's `edges` array: the first
/// `edge_count` of node 0 are node 0's, the next ones node 1's, and so on. A
/// caller may add all nodes first and then all edges, or interleave them.
///
/// [`finish`]: GraphBuilder::finish
#[derive(Debug)]
pub struct GraphBuilder {
    graph: HeapGraph,
    interned: HashMap<Box<str>, u32>,
    /// Distinct locations added so far.
    locations: HashMap<Location, u32>,
    /// Sum of declared edge counts (u64 so that overflow is reported, not wrapped).
    declared_edges: u64,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self {
            graph: HeapGraph::empty(),
            interned: HashMap::default(),
            locations: HashMap::default(),
            declared_edges: 0,
        }
    }

    /// Reserves room for the counts the caller knows (e.g. from V8's
    /// `GetNodesCount`), so the columns are allocated once.
    pub fn with_capacity(nodes: usize, edges: usize) -> Self {
        let mut b = Self::new();
        let g = &mut b.graph;
        g.node_type.reserve(nodes);
        g.node_name.reserve(nodes);
        g.node_id.reserve(nodes);
        g.node_self_size.reserve(nodes);
        g.first_edge.reserve(nodes);
        g.edge_type.reserve(edges);
        g.edge_name.reserve(edges);
        g.edge_to.reserve(edges);
        b
    }

    /// The index of `s` in the string table, adding it the first time.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.interned.get(s) {
            return i;
        }
        // Past u32::MAX strings the index would wrap; `finish` rejects such a
        // graph through the name range check, so saturating here is enough.
        let i = u32::try_from(self.graph.strings.push(s)).unwrap_or(u32::MAX);
        self.interned.insert(s.into(), i);
        i
    }

    /// Adds a node and returns its index. `edge_count` edges added with
    /// [`add_edge`](Self::add_edge) will belong to it.
    pub fn add_node(
        &mut self,
        kind: NodeKind,
        name: u32,
        id: u32,
        self_size: u64,
        edge_count: u32,
    ) -> u32 {
        let g = &mut self.graph;
        let index = u32::try_from(g.node_type.len()).unwrap_or(u32::MAX);
        g.node_type.push(kind as u8);
        g.node_name.push(name);
        g.node_id.push(id);
        g.node_self_size.push(self_size);
        if let Some(d) = g.node_detachedness.as_mut() {
            d.push(0);
        }
        self.declared_edges += u64::from(edge_count);
        // Saturate: an overflowing total is reported by `finish`.
        g.first_edge
            .push(u32::try_from(self.declared_edges).unwrap_or(u32::MAX));
        index
    }

    /// Records V8's detachedness of `node` (0 unknown, 1 attached, 2 detached).
    /// The column exists only once this has been called; ignored for a node
    /// not yet added.
    pub fn set_detachedness(&mut self, node: u32, detachedness: u8) {
        let g = &mut self.graph;
        let n = g.node_type.len();
        let column = g.node_detachedness.get_or_insert_with(|| vec![0; n]);
        if let Some(slot) = column.get_mut(node as usize) {
            *slot = detachedness;
        }
    }

    /// Makes `node` the root (node 0 unless set; V8's live snapshots always
    /// start with it).
    pub fn set_root(&mut self, node: u32) {
        self.graph.root = node;
    }

    /// Records where `node`'s constructor (an object) or function (a closure)
    /// is defined; DevTools keeps same-named classes apart by it.
    pub fn add_location(&mut self, node: u32, location: Location) {
        let locations = &mut self.graph.locations;
        let index = match self.locations.get(&location) {
            Some(&i) => i,
            None => {
                let i = u32::try_from(locations.table.len()).unwrap_or(u32::MAX);
                locations.table.push(location);
                self.locations.insert(location, i);
                i
            }
        };
        locations
            .by_node
            .push((u64::from(node) << 32) | u64::from(index));
    }

    /// Adds the next edge: `name_or_index` is a string index from
    /// [`intern`](Self::intern) for named kinds, a plain index for
    /// element/hidden edges; `to` is a node index.
    pub fn add_edge(&mut self, kind: EdgeKind, name_or_index: u32, to: u32) {
        let g = &mut self.graph;
        g.edge_type.push(kind as u8);
        g.edge_name.push(name_or_index);
        g.edge_to.push(to);
    }

    /// Checks the graph and hands it over.
    pub fn finish(mut self) -> Result<HeapGraph, GraphError> {
        self.graph.locations.seal();
        let added = self.graph.edge_to.len() as u64;
        if self.declared_edges != added {
            return Err(GraphError::EdgeCountMismatch {
                declared: self.declared_edges,
                added,
            });
        }
        self.graph.validate()?;
        Ok(self.graph)
    }
}

impl HeapGraph {
    /// Checks the invariants every accessor relies on. Linear time; run on
    /// every graph built or parsed, so no later index can be out of range.
    pub(crate) fn validate(&self) -> Result<(), GraphError> {
        let n = self.node_type.len();
        let m = self.edge_to.len();
        if n == 0 {
            return Err(GraphError::NoNodes);
        }
        if n as u64 > MAX_NODES {
            return Err(GraphError::TooManyNodes(n as u64));
        }
        if m as u64 > MAX_EDGES {
            return Err(GraphError::TooManyEdges(m as u64));
        }
        if self.root as usize >= n {
            return Err(GraphError::RootOutOfRange {
                root: self.root,
                node_count: n as u32,
            });
        }
        let located = &self.locations;
        let table = located.table.len();
        for (node, index) in located
            .by_node
            .iter()
            .map(|&p| ((p >> 32) as u32, p as u32))
        {
            if node as usize >= n {
                return Err(GraphError::LocationOutOfRange {
                    node,
                    node_count: n as u32,
                });
            }
            if index as usize >= table {
                return Err(GraphError::Inconsistent("location index past the table"));
            }
        }
        if located.by_node.windows(2).any(|w| w[0] >> 32 >= w[1] >> 32) {
            return Err(GraphError::Inconsistent("locations are not sorted by node"));
        }
        if self.node_name.len() != n
            || self.node_id.len() != n
            || self.node_self_size.len() != n
            || self
                .node_detachedness
                .as_ref()
                .is_some_and(|d| d.len() != n)
        {
            return Err(GraphError::Inconsistent("node column lengths differ"));
        }
        if self.edge_type.len() != m || self.edge_name.len() != m {
            return Err(GraphError::Inconsistent("edge column lengths differ"));
        }
        if self.first_edge.len() != n + 1
            || self.first_edge.first() != Some(&0)
            || self.first_edge.windows(2).any(|w| w[0] > w[1])
        {
            return Err(GraphError::Inconsistent("first_edge is not a CSR index"));
        }
        let declared = u64::from(self.first_edge[n]);
        if declared != m as u64 {
            return Err(GraphError::EdgeCountMismatch {
                declared,
                added: m as u64,
            });
        }
        let strings = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        if let Some((node, &name)) = self
            .node_name
            .iter()
            .enumerate()
            .find(|(_, &name)| name >= strings)
        {
            return Err(GraphError::NodeNameOutOfRange {
                node: node as u32,
                name,
                string_count: strings,
            });
        }
        let nodes = n as u32;
        for e in 0..m {
            let to = self.edge_to[e];
            if to >= nodes {
                return Err(GraphError::EdgeTargetOutOfRange {
                    edge: e as u32,
                    target: to,
                    node_count: nodes,
                });
            }
            let name = self.edge_name[e];
            if EdgeKind::from_u8(self.edge_type[e]).has_string_name() && name >= strings {
                return Err(GraphError::EdgeNameOutOfRange {
                    edge: e as u32,
                    name,
                    string_count: strings,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_small_graph() {
        let mut b = GraphBuilder::new();
        let root = b.intern("");
        let foo = b.intern("Foo");
        let x = b.intern("x");
        b.add_node(NodeKind::Synthetic, root, 1, 0, 1);
        b.add_node(NodeKind::Object, foo, 3, 32, 1);
        let number = b.intern("heap number");
        b.add_node(NodeKind::Number, number, 5, 16, 0);
        b.add_edge(EdgeKind::Shortcut, foo, 1);
        b.add_edge(EdgeKind::Property, x, 2);
        b.set_detachedness(1, 2);
        let g = b.finish().expect("valid graph");
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 2);
        assert_eq!(g.node_name(1), "Foo");
        assert_eq!(g.edges(1), 1..2);
        assert_eq!(g.edge_name(1), Some("x"));
        assert_eq!(g.edge_to(1), 2);
        assert_eq!(g.edge_source(0), 0);
        assert_eq!(g.edge_source(1), 1);
        assert_eq!(g.detachedness(1), Some(2));
        assert_eq!(g.detachedness(2), Some(0));
        assert!(g.is_retaining_edge(0, 0));
    }

    #[test]
    fn edge_source_skips_nodes_without_edges() {
        let mut b = GraphBuilder::new();
        let s = b.intern("");
        b.add_node(NodeKind::Synthetic, s, 1, 0, 0);
        b.add_node(NodeKind::Object, s, 2, 0, 0);
        b.add_node(NodeKind::Object, s, 3, 0, 2);
        b.add_node(NodeKind::Object, s, 4, 0, 0);
        b.add_node(NodeKind::Object, s, 5, 0, 1);
        for to in [0, 1, 2] {
            b.add_edge(EdgeKind::Element, to, to);
        }
        let g = b.finish().expect("valid graph");
        assert_eq!(g.edge_source(0), 2);
        assert_eq!(g.edge_source(1), 2);
        assert_eq!(g.edge_source(2), 4);
    }

    #[test]
    fn rejects_bad_graphs() {
        assert_eq!(
            GraphBuilder::new().finish().err(),
            Some(GraphError::NoNodes)
        );

        let mut b = GraphBuilder::new();
        let s = b.intern("");
        b.add_node(NodeKind::Synthetic, s, 1, 0, 2);
        b.add_edge(EdgeKind::Element, 0, 0);
        assert!(matches!(
            b.finish(),
            Err(GraphError::EdgeCountMismatch {
                declared: 2,
                added: 1
            })
        ));

        let mut b = GraphBuilder::new();
        let s = b.intern("");
        b.add_node(NodeKind::Synthetic, s, 1, 0, 1);
        b.add_edge(EdgeKind::Element, 0, 7);
        let err = b.finish().expect_err("target out of range");
        assert!(err.to_string().contains("points to node 7"), "{err}");

        let mut b = GraphBuilder::new();
        b.add_node(NodeKind::Synthetic, 3, 1, 0, 0);
        assert!(matches!(
            b.finish(),
            Err(GraphError::NodeNameOutOfRange { name: 3, .. })
        ));

        let mut b = GraphBuilder::new();
        let s = b.intern("");
        b.add_node(NodeKind::Synthetic, s, 1, 0, 1);
        b.add_edge(EdgeKind::Property, 9, 0);
        assert!(matches!(
            b.finish(),
            Err(GraphError::EdgeNameOutOfRange { name: 9, .. })
        ));
    }
}
