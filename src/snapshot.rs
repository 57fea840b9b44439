//! V8's live heap snapshot -> `memwatch_core::heap::HeapGraph`, through the
//! profiler binding. The graph engine never sees V8; this only converts, and
//! checks once per process that the binding reads snapshots right (the
//! canary).

use crate::v8::{self, node_type, EdgeName, NodeDescription, Snapshot, SnapshotSink};
use memwatch_core::heap::{EdgeKind, GraphBuilder, GraphError, HeapGraph, NodeKind};
use napi::sys;

/// What a walk copies besides ids, types and sizes.
#[derive(Clone, Copy)]
pub struct WalkOptions {
    /// Edges (types and targets), for retained sizes and retainer paths.
    pub edges: bool,
    /// V8 ids of nodes to leave out (memwatch's own marker object): they
    /// become zero-size hidden nodes, which no analysis counts.
    pub hide_id: u32,
    /// V8 id of the canary object whose node index the walk should note.
    pub canary_id: u32,
}

/// Which node names to ask V8 for. Each name is a JS string V8 allocates, so
/// the walk asks only for what the analyses print: constructor names of
/// objects and native objects, closure names, synthetic roots' names. String
/// contents (DevTools shows them as names) are skipped.
fn wants_node_name(kind: u8) -> bool {
    matches!(
        kind,
        node_type::OBJECT | node_type::NATIVE | node_type::CLOSURE | node_type::SYNTHETIC
    )
}

/// Which edge names to ask V8 for, when edges are copied: only internal
/// edges that leave arrays and hidden nodes, where V8 puts WeakMap tables'
/// "part of key (…) -> value (…) pair in WeakMap (table @…)" edges, which
/// DevTools' retention rule needs. The names of the edges on a printed
/// retainer path are read later, one by one (`Snapshot::edge_name`).
fn wants_edge_name(source_kind: u8, kind: u8) -> bool {
    kind == v8::edge_type::INTERNAL
        && matches!(source_kind, node_type::ARRAY | node_type::HIDDEN)
}

struct BuilderSink {
    builder: GraphBuilder,
    empty: u32,
    options: WalkOptions,
    index: u32,
    canary_index: Option<u32>,
}

impl SnapshotSink for BuilderSink {
    fn node(&mut self, kind: u8, name: Option<&str>, id: u32, self_size: u64, edge_count: u32) {
        if id == self.options.canary_id && id != 0 {
            self.canary_index = Some(self.index);
        }
        let (kind, size) = if id == self.options.hide_id && id != 0 {
            (NodeKind::Hidden, 0)
        } else {
            (NodeKind::from_u8(kind), self_size)
        };
        let name = match name {
            Some(n) => self.builder.intern(n),
            None => self.empty,
        };
        self.builder.add_node(kind, name, id, size, edge_count);
        self.index += 1;
    }

    fn wants_node_name(&self, kind: u8) -> bool {
        wants_node_name(kind)
    }

    fn edge(&mut self, kind: u8, name: Option<EdgeName<'_>>, to_node: u32) {
        let name = match name {
            Some(EdgeName::Name(n)) => self.builder.intern(n),
            Some(EdgeName::Index(i)) => i,
            // Named kinds without a name get "" (the engine prints names
            // read from V8 afterwards); element/hidden kinds index 0.
            None if EdgeKind::from_u8(kind).has_string_name() => self.empty,
            None => 0,
        };
        self.builder
            .add_edge(EdgeKind::from_u8(kind), name, to_node);
    }

    fn wants_edge_name(&self, source_kind: u8, kind: u8) -> bool {
        wants_edge_name(source_kind, kind)
    }
}

/// A graph copied from a V8 snapshot, and where the canary was in it.
pub struct Walked {
    pub graph: HeapGraph,
    pub canary_index: Option<u32>,
}

/// Copies a V8 snapshot into a graph: nodes always, edges when asked
/// (retainer paths and retained sizes need them; class counts do not).
///
/// # Safety
/// On the snapshot's isolate thread, from a Node-API call with `env`,
/// outside any GC callback.
pub unsafe fn graph_from_snapshot(
    env: sys::napi_env,
    snap: &Snapshot,
    options: WalkOptions,
) -> Result<Walked, GraphError> {
    let nodes = snap.node_count() as usize;
    let mut builder =
        GraphBuilder::with_capacity(nodes, if options.edges { nodes * 4 } else { 0 });
    let empty = builder.intern("");
    let mut sink = BuilderSink {
        builder,
        empty,
        options,
        index: 0,
        canary_index: None,
    };
    snap.walk(env, &mut sink, options.edges);
    Ok(Walked {
        canary_index: sink.canary_index,
        graph: sink.builder.finish()?,
    })
}

/// The canary: memwatch creates, before its first snapshot,
/// `new MemwatchCanary()` with `label = 'memwatch canary ✓'`, `list = [7]`
/// and `[0] = list`. Finding exactly that in V8's snapshot shows that the
/// snapshot symbols, node and edge types, names (UTF-8, both string kinds),
/// element indices and object ids all read as this build assumes. A V8 that
/// fails it is never used for snapshots again in this process.
pub fn check_canary(found: Option<&NodeDescription>, expected_id: u32) -> Result<(), String> {
    let node = found.ok_or("the canary object is not in V8's snapshot")?;
    let bad = |what: String| Err(format!("canary {what}"));
    if node.kind != node_type::OBJECT || node.name != "MemwatchCanary" {
        return bad(format!("node reads as type {} named {:?}", node.kind, node.name));
    }
    if node.id != expected_id || node.self_size == 0 || node.self_size > 1 << 20 {
        return bad(format!(
            "node has id {} (expected {expected_id}) and size {}",
            node.id, node.self_size
        ));
    }
    let edge = |kind: u8, name: &str| {
        node.edges
            .iter()
            .find(|(k, n, _, _, _)| *k == kind && n == name)
    };
    match edge(v8::edge_type::PROPERTY, "label") {
        Some((_, _, to, text, _)) if *to == node_type::STRING && text == "memwatch canary ✓" => {}
        other => return bad(format!("property 'label' reads as {other:?}")),
    }
    let list = match edge(v8::edge_type::PROPERTY, "list") {
        Some((_, _, to, name, id)) if *to == node_type::OBJECT && name == "Array" => *id,
        other => return bad(format!("property 'list' reads as {other:?}")),
    };
    match edge(v8::edge_type::ELEMENT, "0") {
        Some((_, _, _, _, id)) if *id == list => Ok(()),
        other => bad(format!("element 0 reads as {other:?}")),
    }
}
