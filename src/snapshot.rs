//! V8's live heap snapshot -> `memwatch_core::heap::HeapGraph`, through the
//! profiler binding. The graph engine never sees V8; this only converts.

use crate::v8::{self, EdgeName, Snapshot, SnapshotSink};
use memwatch_core::heap::{EdgeKind, GraphBuilder, GraphError, HeapGraph, NodeKind};

/// Which node names to ask V8 for. Each name is a JS string V8 allocates, so
/// the walk only asks for the ones the analyses print: constructor names of
/// objects and native objects, closure names, synthetic roots' names. String
/// contents (DevTools shows them as names) are skipped.
fn wants_name(kind: u8) -> bool {
    matches!(
        kind,
        v8::node_type::OBJECT
            | v8::node_type::NATIVE
            | v8::node_type::CLOSURE
            | v8::node_type::SYNTHETIC
    )
}

struct BuilderSink {
    builder: GraphBuilder,
    empty: u32,
    with_edges: bool,
}

impl SnapshotSink for BuilderSink {
    fn node(&mut self, kind: u8, name: Option<&str>, id: u32, self_size: u64, edge_count: u32) {
        let name = match name {
            Some(n) => self.builder.intern(n),
            None => self.empty,
        };
        let edges = if self.with_edges { edge_count } else { 0 };
        self.builder
            .add_node(NodeKind::from_u8(kind), name, id, self_size, edges);
    }

    fn wants_name(&self, kind: u8) -> bool {
        wants_name(kind)
    }

    fn edge(&mut self, kind: u8, name: EdgeName<'_>, to_node: u32) {
        let name = match name {
            EdgeName::Name(n) => self.builder.intern(n),
            EdgeName::Index(i) => i,
        };
        self.builder
            .add_edge(EdgeKind::from_u8(kind), name, to_node);
    }
}

/// Copies a V8 snapshot into a graph: nodes always, edges when asked
/// (retainer paths and retained sizes need them; class counts do not).
///
/// # Safety
/// On the snapshot's isolate thread, from JS, outside any GC callback.
pub unsafe fn graph_from_snapshot(
    snap: &Snapshot,
    with_edges: bool,
) -> Result<HeapGraph, GraphError> {
    let nodes = snap.node_count() as usize;
    let mut builder = GraphBuilder::with_capacity(nodes, if with_edges { nodes * 4 } else { 0 });
    let empty = builder.intern("");
    let mut sink = BuilderSink {
        builder,
        empty,
        with_edges,
    };
    snap.walk(&mut sink, with_edges);
    sink.builder.finish()
}
