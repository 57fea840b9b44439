//! V8's live heap snapshot -> the core's structures, through the profiler
//! binding. The engine never sees V8; this only converts, and checks once
//! per process that the binding reads snapshots right (the canary).
//!
//! Three ways to read a snapshot, by what the caller needs:
//! - `base_from_snapshot`: a HeapDiff's first snapshot, as a `DiffBase`
//!   (12 bytes per counted node; objects named);
//! - `stream_diff`: a HeapDiff's second snapshot without `examples`, diffed
//!   node by node against the base, holding no column of it;
//! - `graph_from_snapshot`: a whole graph with edges (`examples` need
//!   dominators and retainer paths).

use crate::v8::{node_type, EdgeName, NodeDescription, Snapshot, SnapshotSink};
use memwatch_core::heap::{
    DiffBase, DiffBaseBuilder, DiffNames, EdgeKind, GraphBuilder, GraphDiff, GraphError, HeapGraph,
    NodeKind,
};
use napi::sys;

/// Ids of nodes a walk treats specially.
#[derive(Clone, Copy, Default)]
pub struct Marks {
    /// memwatch's own marker object: read as a zero-size hidden node, which
    /// no analysis counts.
    pub hide_id: u32,
    /// The canary object, whose node index the walk notes.
    pub canary_id: u32,
}

impl Marks {
    fn apply(&self, kind: u8, id: u32, size: u64) -> (NodeKind, u64) {
        if id == self.hide_id && id != 0 {
            (NodeKind::Hidden, 0)
        } else {
            (NodeKind::from_u8(kind), size)
        }
    }
}

/// Notes the node index of the canary while nodes go by.
#[derive(Default)]
struct CanaryIndex {
    index: u32,
    found: Option<u32>,
}

impl CanaryIndex {
    fn next(&mut self, marks: &Marks, id: u32) {
        if id == marks.canary_id && id != 0 {
            self.found = Some(self.index);
        }
        self.index += 1;
    }
}

// ---- a whole graph ----

struct GraphSink {
    builder: GraphBuilder,
    empty: u32,
    marks: Marks,
}

impl SnapshotSink for GraphSink {
    fn node(&mut self, kind: u8, id: u32, self_size: u64, edge_count: u32) -> bool {
        let (kind, size) = self.marks.apply(kind, id, self_size);
        // Names are read afterwards, for what a diff prints: the added
        // objects (`name_added_objects`) and a printed path's nodes.
        self.builder
            .add_node(kind, self.empty, id, size, edge_count);
        false
    }

    fn node_name(&mut self, _: &str) {}

    fn edge(&mut self, kind: u8, name: Option<EdgeName<'_>>, to_node: u32) {
        let name = match name {
            Some(EdgeName::Name(n)) => self.builder.intern(n),
            Some(EdgeName::Index(i)) => i,
            // Named kinds without a name get "" (a printed path's edge names
            // are read from V8 afterwards); element/hidden kinds index 0.
            None if EdgeKind::from_u8(kind).has_string_name() => self.empty,
            None => 0,
        };
        self.builder
            .add_edge(EdgeKind::from_u8(kind), name, to_node);
    }

    fn weak_map_edge_names(&self) -> bool {
        true
    }
}

/// Copies a V8 snapshot into a graph with its edges, objects unnamed (see
/// `name_added_objects`).
///
/// # Safety
/// On the snapshot's isolate thread, from a Node-API call with `env`,
/// outside any GC callback.
pub unsafe fn graph_from_snapshot(
    env: sys::napi_env,
    snap: &Snapshot,
    marks: Marks,
) -> Result<HeapGraph, GraphError> {
    let nodes = snap.node_count() as usize;
    let mut builder = GraphBuilder::with_capacity(nodes, nodes * 4);
    let empty = builder.intern("");
    let mut sink = GraphSink {
        builder,
        empty,
        marks,
    };
    snap.walk(env, &mut sink, true);
    sink.builder.finish()
}

// ---- a diff's first snapshot ----

struct BaseSink {
    builder: DiffBaseBuilder,
    marks: Marks,
    canary: CanaryIndex,
    pending: Option<(NodeKind, u32, u64)>,
}

impl SnapshotSink for BaseSink {
    fn node(&mut self, kind: u8, id: u32, self_size: u64, _edges: u32) -> bool {
        self.canary.next(&self.marks, id);
        let (kind, size) = self.marks.apply(kind, id, self_size);
        if self.builder.wants_name(kind) {
            self.pending = Some((kind, id, size));
            return true;
        }
        self.builder.node(kind, None, id, size);
        false
    }

    fn node_name(&mut self, name: &str) {
        if let Some((kind, id, size)) = self.pending.take() {
            self.builder.node(kind, Some(name), id, size);
        }
    }

    fn edge(&mut self, _: u8, _: Option<EdgeName<'_>>, _: u32) {}

    fn weak_map_edge_names(&self) -> bool {
        false
    }
}

/// A HeapDiff's first snapshot as a `DiffBase`, and where the canary was.
///
/// # Safety
/// As for `graph_from_snapshot`.
pub unsafe fn base_from_snapshot(
    env: sys::napi_env,
    snap: &Snapshot,
    marks: Marks,
    names: DiffNames,
) -> (DiffBase, Option<u32>) {
    let mut sink = BaseSink {
        builder: DiffBaseBuilder::new(snap.node_count() as usize, names),
        marks,
        canary: CanaryIndex::default(),
        pending: None,
    };
    snap.walk(env, &mut sink, false);
    (sink.builder.finish(), sink.canary.found)
}

// ---- a diff's second snapshot, streamed ----

struct StreamSink<'b> {
    diff: memwatch_core::heap::StreamDiff<'b>,
    marks: Marks,
}

impl SnapshotSink for StreamSink<'_> {
    fn node(&mut self, kind: u8, id: u32, self_size: u64, _edges: u32) -> bool {
        let (kind, size) = self.marks.apply(kind, id, self_size);
        self.diff.node(kind, id, size)
    }

    fn node_name(&mut self, name: &str) {
        self.diff.added_name(name);
    }

    fn edge(&mut self, _: u8, _: Option<EdgeName<'_>>, _: u32) {}

    fn weak_map_edge_names(&self) -> bool {
        false
    }
}

/// Diffs `snap` against `base` node by node: only the added objects' names
/// are read, and nothing of the snapshot is kept.
///
/// # Safety
/// As for `graph_from_snapshot`.
pub unsafe fn stream_diff(
    env: sys::napi_env,
    snap: &Snapshot,
    base: &DiffBase,
    marks: Marks,
) -> GraphDiff {
    let mut sink = StreamSink {
        diff: base.stream(),
        marks,
    };
    snap.walk(env, &mut sink, false);
    sink.diff.finish()
}

/// Names the objects of `after` that are not in `before` (a graph walk
/// leaves objects unnamed), reading their names from `snap`, which `after`
/// was walked from.
///
/// # Safety
/// As for `graph_from_snapshot`; `snap` is the snapshot `after` came from.
pub unsafe fn name_added_objects(
    env: sys::napi_env,
    snap: &Snapshot,
    before: &DiffBase,
    after: &mut HeapGraph,
) {
    let added: Vec<u32> = before
        .added_nodes(after)
        .into_iter()
        .filter(|&n| after.node_kind(n) == NodeKind::Object)
        .collect();
    let mut interned: rustc_hash::FxHashMap<String, u32> = Default::default();
    let mut names = Vec::with_capacity(added.len());
    snap.node_names(env, &added, |node, name| {
        let index = match interned.get(name) {
            Some(&i) => i,
            None => {
                let i = after.add_string(name);
                interned.insert(name.to_owned(), i);
                i
            }
        };
        names.push((node, index));
    });
    for (node, index) in names {
        after.set_node_name_index(node, index);
    }
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
        return bad(format!(
            "node reads as type {} named {:?}",
            node.kind, node.name
        ));
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
    match edge(crate::v8::edge_type::PROPERTY, "label") {
        Some((_, _, to, text, _)) if *to == node_type::STRING && text == "memwatch canary ✓" => {}
        other => return bad(format!("property 'label' reads as {other:?}")),
    }
    let list = match edge(crate::v8::edge_type::PROPERTY, "list") {
        Some((_, _, to, name, id)) if *to == node_type::OBJECT && name == "Array" => *id,
        other => return bad(format!("property 'list' reads as {other:?}")),
    };
    match edge(crate::v8::edge_type::ELEMENT, "0") {
        Some((_, _, _, _, id)) if *id == list => Ok(()),
        other => bad(format!("element 0 reads as {other:?}")),
    }
}
