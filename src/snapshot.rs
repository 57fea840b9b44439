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
    /// Constructor names of every object. A diff needs them for the objects
    /// that appear or disappear between its snapshots: all of the first
    /// snapshot's (any may be freed), only the added ones of the second
    /// (named afterwards, see `name_added_objects`).
    pub object_names: bool,
    /// V8 id of memwatch's own marker object: it becomes a zero-size hidden
    /// node, which no analysis counts.
    pub hide_id: u32,
    /// V8 id of the canary object whose node index the walk should note.
    pub canary_id: u32,
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
        // Each name is a JS string V8 allocates: only objects' constructor
        // names are read here (what memwatch's class rows print); closure,
        // system and string names only for the nodes of a printed path.
        self.options.object_names && kind == node_type::OBJECT
    }

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
        self.options.edges
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

/// Names the objects of `after` that are not in `before` (a walk without
/// `object_names` left them unnamed), reading their names from `snap`,
/// which `after` was walked from.
///
/// # Safety
/// As for `graph_from_snapshot`; `snap` is the snapshot `after` came from.
pub unsafe fn name_added_objects(
    env: sys::napi_env,
    snap: &Snapshot,
    before: &HeapGraph,
    after: &mut HeapGraph,
) {
    let added: Vec<u32> = memwatch_core::heap::added_nodes(before, after)
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
