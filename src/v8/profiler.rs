//! Heap snapshots through V8's own `HeapProfiler` API (v8-profiler.h), walked
//! node by node into Rust; no JSON, and V8's snapshot is deleted as soon as
//! what the caller needs has been copied.
//!
//! Checked against v8-profiler.h, v8-local-handle.h and v8-primitive.h of
//! every row of `memwatch_core::layout::V8_PROFILES`:
//! - `const HeapSnapshot* HeapProfiler::TakeHeapSnapshot(ActivityControl*,
//!   {Object,Context}NameResolver*, bool hide_internals, bool
//!   capture_numeric_value)`: the overload that needs no options struct
//!   (that struct grew in later V8); its resolver class was renamed in 14.6.
//! - `HeapGraphNode::GetName` and `HeapGraphEdge::GetName` return a `Local`
//!   (one pointer) to a JS value they allocate: an open handle scope is
//!   required, renewed every few thousand calls, and this must never run
//!   inside a GC callback. Handle scopes are opened through Node-API
//!   (`napi_open_handle_scope`), which needs no knowledge of their size.
//! - An edge's name is a `String` except for element/hidden edges, where it
//!   is a `Number` (the index).
//!
//! Names cost a JS string each, so the walk asks only for the ones its caller
//! needs (object names for a diff; a few more for retainer paths).

use super::handles::{Local, Scope, Utf8};
use super::symbols::Sym;
use super::{BindingError, Isolate, Runtime};
use memwatch_core::layout::SnapshotOverload;
use napi::sys;
use std::ffi::{c_int, c_void};

#[repr(C)]
pub struct HeapProfiler {
    _private: [u8; 0],
}
#[repr(C)]
pub struct HeapSnapshot {
    _private: [u8; 0],
}
#[repr(C)]
pub struct HeapGraphNode {
    _private: [u8; 0],
}
#[repr(C)]
pub struct HeapGraphEdge {
    _private: [u8; 0],
}

/// The `HeapGraphNode::Type` values this module names (v8-profiler.h; the
/// full list is `memwatch_core::heap::NodeKind`, in the same order).
pub mod node_type {
    pub const HIDDEN: u8 = 0;
    pub const ARRAY: u8 = 1;
    pub const STRING: u8 = 2;
    pub const OBJECT: u8 = 3;
}

/// The `HeapGraphEdge::Type` values this module names (v8-profiler.h; the
/// full list is `memwatch_core::heap::EdgeKind`, in the same order).
pub mod edge_type {
    pub const ELEMENT: u8 = 1;
    pub const PROPERTY: u8 = 2;
    pub const INTERNAL: u8 = 3;
    pub const HIDDEN: u8 = 4;
    pub const WEAK: u8 = 6;
}

type GetHeapProfilerFn = unsafe extern "C" fn(*mut Isolate) -> *mut HeapProfiler;
/// Both resolver variants: the pointers are null, so only the name differs.
type TakeHeapSnapshotFn = unsafe extern "C" fn(
    *mut HeapProfiler,
    *mut c_void, // ActivityControl*
    *mut c_void, // ObjectNameResolver* / ContextNameResolver*
    bool,
    bool,
) -> *const HeapSnapshot;
type ProfilerFn = unsafe extern "C" fn(*mut HeapProfiler);
/// `SnapshotObjectId HeapProfiler::GetObjectId(Local<Value>)`: a `Local` is
/// passed by value in a register on every ABI (trivially copyable, 8 bytes).
type GetObjectIdFn = unsafe extern "C" fn(*mut HeapProfiler, Local) -> u32;
type SnapshotCountFn = unsafe extern "C" fn(*const HeapSnapshot) -> c_int;
type SnapshotGetNodeFn = unsafe extern "C" fn(*const HeapSnapshot, c_int) -> *const HeapGraphNode;
type SnapshotDeleteFn = unsafe extern "C" fn(*const HeapSnapshot);
type NodeTypeFn = unsafe extern "C" fn(*const HeapGraphNode) -> c_int;
type NodeIdFn = unsafe extern "C" fn(*const HeapGraphNode) -> u32;
type NodeSizeFn = unsafe extern "C" fn(*const HeapGraphNode) -> usize;
type NodeChildCountFn = unsafe extern "C" fn(*const HeapGraphNode) -> c_int;
type NodeChildFn = unsafe extern "C" fn(*const HeapGraphNode, c_int) -> *const HeapGraphEdge;
type EdgeTypeFn = unsafe extern "C" fn(*const HeapGraphEdge) -> c_int;
type EdgeToFn = unsafe extern "C" fn(*const HeapGraphEdge) -> *const HeapGraphNode;
/// `Local<String> HeapGraphNode::GetName() const`, `Local<Value>
/// HeapGraphEdge::GetName() const`: Itanium returns the `Local` in a
/// register; MSVC returns class types from member functions through a
/// hidden pointer passed after `this`.
#[cfg(not(windows))]
type NameFn = unsafe extern "C" fn(*const c_void) -> Local;
#[cfg(windows)]
type NameFn = unsafe extern "C" fn(*const c_void, *mut Local) -> *mut Local;
type NumberValueFn = unsafe extern "C" fn(Local) -> f64;

/// V8 cuts snapshot names at 1,024 UTF-16 units: at most 3 UTF-8 bytes each.
const NAME_BUFFER: usize = 4096;
/// JS values created per handle scope before it is renewed.
const NAMES_PER_SCOPE: u32 = 4096;

#[derive(Clone, Copy)]
pub struct ProfilerApi {
    get_heap_profiler: GetHeapProfilerFn,
    take_heap_snapshot: TakeHeapSnapshotFn,
    clear_object_ids: ProfilerFn,
    get_object_id: GetObjectIdFn,
    snapshot_count: SnapshotCountFn,
    snapshot_get_node: SnapshotGetNodeFn,
    snapshot_delete: SnapshotDeleteFn,
    node_type: NodeTypeFn,
    node_name: NameFn,
    node_id: NodeIdFn,
    node_size: NodeSizeFn,
    node_child_count: NodeChildCountFn,
    node_child: NodeChildFn,
    edge_type: EdgeTypeFn,
    edge_name: NameFn,
    edge_to: EdgeToFn,
    utf8: Utf8,
    number_value: NumberValueFn,
}

impl ProfilerApi {
    pub(super) fn resolve(runtime: &Runtime) -> Result<Self, BindingError> {
        let p = runtime.profile;
        // A verified row names its variants; for a newer V8 the newest row's
        // variants are tried first, then the older ones (the canary decides
        // whether what resolved reads right).
        let snapshot = if runtime.verified {
            p.snapshot
        } else if super::symbols::lookup(Sym::TakeSnapshotContextNameResolver).is_some() {
            SnapshotOverload::ContextNameResolver
        } else {
            SnapshotOverload::ObjectNameResolver
        };
        Ok(Self {
            get_heap_profiler: resolve_fn!(Sym::GetHeapProfiler, GetHeapProfilerFn),
            take_heap_snapshot: match snapshot {
                SnapshotOverload::ObjectNameResolver => {
                    resolve_fn!(Sym::TakeSnapshotObjectNameResolver, TakeHeapSnapshotFn)
                }
                SnapshotOverload::ContextNameResolver => {
                    resolve_fn!(Sym::TakeSnapshotContextNameResolver, TakeHeapSnapshotFn)
                }
            },
            clear_object_ids: resolve_fn!(Sym::ClearObjectIds, ProfilerFn),
            get_object_id: resolve_fn!(Sym::GetObjectId, GetObjectIdFn),
            snapshot_count: resolve_fn!(Sym::SnapshotNodesCount, SnapshotCountFn),
            snapshot_get_node: resolve_fn!(Sym::SnapshotGetNode, SnapshotGetNodeFn),
            snapshot_delete: resolve_fn!(Sym::SnapshotDelete, SnapshotDeleteFn),
            node_type: resolve_fn!(Sym::NodeType, NodeTypeFn),
            node_name: resolve_fn!(Sym::NodeName, NameFn),
            node_id: resolve_fn!(Sym::NodeId, NodeIdFn),
            node_size: resolve_fn!(Sym::NodeShallowSize, NodeSizeFn),
            node_child_count: resolve_fn!(Sym::NodeChildrenCount, NodeChildCountFn),
            node_child: resolve_fn!(Sym::NodeChild, NodeChildFn),
            edge_type: resolve_fn!(Sym::EdgeType, EdgeTypeFn),
            edge_name: resolve_fn!(Sym::EdgeName, NameFn),
            edge_to: resolve_fn!(Sym::EdgeToNode, EdgeToFn),
            utf8: Utf8::resolve(runtime)?,
            number_value: resolve_fn!(Sym::NumberValue, NumberValueFn),
        })
    }

    fn profiler(&self, isolate: *mut Isolate) -> Option<*mut HeapProfiler> {
        // SAFETY: the callers' contract: a live isolate, on its thread.
        let p = unsafe { (self.get_heap_profiler)(isolate) };
        (!p.is_null()).then_some(p)
    }

    /// Takes a snapshot of `isolate`'s heap (V8 runs a full GC first).
    ///
    /// # Safety
    /// On the isolate's thread, from JS, outside any GC callback.
    pub unsafe fn take_snapshot(&'static self, isolate: *mut Isolate) -> Option<Snapshot> {
        let profiler = self.profiler(isolate)?;
        let ptr = (self.take_heap_snapshot)(
            profiler,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            true,
            false,
        );
        (!ptr.is_null()).then_some(Snapshot {
            api: self,
            isolate,
            ptr,
        })
    }

    /// Forgets V8's object-id map (every later GC pays for it otherwise).
    /// Ids restart afterwards, for everyone in the isolate: the caller
    /// decides when nobody depends on them (`graphs::IdMapGuard`).
    ///
    /// # Safety
    /// On the isolate's thread, outside any GC callback.
    pub unsafe fn clear_object_ids(&self, isolate: *mut Isolate) {
        if let Some(profiler) = self.profiler(isolate) {
            (self.clear_object_ids)(profiler);
        }
    }

    /// V8's id of a JS value in the heap profiler's id map: 0 when the map
    /// has no entry for it (no snapshot or allocation tracker has seen it
    /// since the map was last cleared), and for non-heap values.
    ///
    /// # Safety
    /// On the isolate's thread, outside any GC callback; `value` a live
    /// `napi_value` of this isolate (a `Local<Value>` by another name).
    pub unsafe fn object_id(&self, isolate: *mut Isolate, value: sys::napi_value) -> u32 {
        match self.profiler(isolate) {
            Some(p) => (self.get_object_id)(p, value as Local),
            None => 0,
        }
    }
}

/// A V8 snapshot, deleted on drop.
pub struct Snapshot {
    api: &'static ProfilerApi,
    isolate: *mut Isolate,
    ptr: *const HeapSnapshot,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from TakeHeapSnapshot and is deleted once.
        unsafe { (self.api.snapshot_delete)(self.ptr) };
    }
}

/// Receives the graph as it is walked.
pub trait SnapshotSink {
    /// A node, in snapshot order (the root first). Returns whether the
    /// node's name is wanted: it then arrives through `node_name` before the
    /// next node (each name is a JS string V8 allocates, so a sink asks only
    /// for what it prints).
    fn node(&mut self, kind: u8, id: u32, self_size: u64, edge_count: u32) -> bool;
    fn node_name(&mut self, name: &str);
    /// Edges arrive node by node in the same order. `name` is given only for
    /// the edges `weak_map_edge_names` asks for.
    fn edge(&mut self, kind: u8, name: Option<EdgeName<'_>>, to_node: u32);
    /// Whether to read the names of the internal edges that leave unnamed
    /// arrays: there V8 puts a WeakMap table's "N / part of key (…) -> value
    /// (…) pair in WeakMap (table @…)" edges, which DevTools' retention rule
    /// reads. (Other edge names cost a JS string each and are read only for
    /// the edges of a printed path, afterwards.)
    fn weak_map_edge_names(&self) -> bool;
}

pub enum EdgeName<'a> {
    Name(&'a str),
    Index(u32),
}

/// Handle scopes renewed every `NAMES_PER_SCOPE` JS values.
struct Scopes {
    env: sys::napi_env,
    current: Option<Scope>,
    used: u32,
}

impl Scopes {
    unsafe fn new(env: sys::napi_env) -> Self {
        Self {
            env,
            current: Scope::open(env),
            used: 0,
        }
    }

    /// Counts one JS value; closes the scope and opens the next when full.
    unsafe fn count(&mut self) {
        self.used += 1;
        if self.used >= NAMES_PER_SCOPE {
            // Close the old scope before opening the next (strict nesting).
            self.current = None;
            self.current = Scope::open(self.env);
            self.used = 0;
        }
    }
}

/// Calls a `GetName` member function (see `NameFn` for the ABI difference).
#[inline]
unsafe fn call_local(f: NameFn, this: *const c_void) -> Local {
    #[cfg(not(windows))]
    {
        f(this)
    }
    #[cfg(windows)]
    {
        let mut out: Local = std::ptr::null();
        f(this, &mut out);
        out
    }
}

impl Snapshot {
    pub fn node_count(&self) -> u32 {
        // SAFETY: live snapshot.
        unsafe { (self.api.snapshot_count)(self.ptr) }.max(0) as u32
    }

    fn node(&self, index: u32) -> *const HeapGraphNode {
        // SAFETY: live snapshot; V8 bounds-checks nothing, so callers pass
        // indices below `node_count()`.
        unsafe { (self.api.snapshot_get_node)(self.ptr, index as c_int) }
    }

    /// Copies the snapshot into `sink`: all nodes, then (if `with_edges`)
    /// all edges with their target node's index.
    ///
    /// # Safety
    /// On the isolate's thread, from a Node-API call with `env`, outside any
    /// GC callback.
    pub unsafe fn walk(&self, env: sys::napi_env, sink: &mut impl SnapshotSink, with_edges: bool) {
        let api = self.api;
        let n = self.node_count();
        let mut buf = vec![0u8; NAME_BUFFER];
        let mut scopes = Scopes::new(env);
        // Node pointer -> index, to turn edges' targets into indices.
        let mut index_of: rustc_hash::FxHashMap<usize, u32> = if with_edges {
            rustc_hash::FxHashMap::with_capacity_and_hasher(n as usize, Default::default())
        } else {
            Default::default()
        };
        let mut kinds: Vec<u8> = if with_edges {
            Vec::with_capacity(n as usize)
        } else {
            Vec::new()
        };
        for i in 0..n {
            let node = self.node(i);
            if node.is_null() {
                // Keep node indices aligned with V8's (never seen in practice).
                sink.node(node_type::HIDDEN, 0, 0, 0);
                kinds.push(node_type::HIDDEN);
                continue;
            }
            let kind = (api.node_type)(node).clamp(0, 255) as u8;
            let id = (api.node_id)(node);
            let size = (api.node_size)(node) as u64;
            let edges = if with_edges {
                index_of.insert(node as usize, i);
                kinds.push(kind);
                (api.node_child_count)(node).max(0) as u32
            } else {
                0
            };
            if sink.node(kind, id, size, edges) {
                let local = call_local(api.node_name, node as *const c_void);
                sink.node_name(self.utf8(local, &mut buf));
                scopes.count();
            }
        }
        if !with_edges {
            return;
        }
        for i in 0..n {
            let node = self.node(i);
            if node.is_null() {
                continue;
            }
            let source_kind = kinds[i as usize];
            // Read once per array, at its first internal edge: whether it is
            // unnamed (a hash table such as a WeakMap's).
            let mut unnamed_array: Option<bool> = None;
            let count = (api.node_child_count)(node).max(0);
            for c in 0..count {
                let edge = (api.node_child)(node, c);
                // The node announced `count` edges; every one is delivered so
                // the counts stay consistent. One V8 cannot resolve (never
                // seen) becomes a weak edge to the root, which no analysis follows.
                let to_index = if edge.is_null() {
                    None
                } else {
                    index_of.get(&((api.edge_to)(edge) as usize)).copied()
                };
                let Some(to_index) = to_index else {
                    sink.edge(edge_type::WEAK, Some(EdgeName::Index(0)), 0);
                    continue;
                };
                let kind = (api.edge_type)(edge).clamp(0, 255) as u8;
                let wanted = kind == edge_type::INTERNAL
                    && source_kind == node_type::ARRAY
                    && sink.weak_map_edge_names()
                    && *unnamed_array.get_or_insert_with(|| {
                        let local = call_local(api.node_name, node as *const c_void);
                        let unnamed = self.utf8(local, &mut buf).is_empty();
                        scopes.count();
                        unnamed
                    });
                if !wanted {
                    sink.edge(kind, None, to_index);
                    continue;
                }
                let name = self.edge_name_of(edge, kind, &mut buf);
                sink.edge(kind, Some(name), to_index);
                scopes.count();
            }
        }
    }

    unsafe fn edge_name_of<'b>(
        &self,
        edge: *const HeapGraphEdge,
        kind: u8,
        buf: &'b mut [u8],
    ) -> EdgeName<'b> {
        let local = call_local(self.api.edge_name, edge as *const c_void);
        if kind == edge_type::ELEMENT || kind == edge_type::HIDDEN {
            let index = if local.is_null() {
                0.0
            } else {
                (self.api.number_value)(local)
            };
            EdgeName::Index(index.max(0.0) as u32)
        } else {
            EdgeName::Name(self.utf8(local, buf))
        }
    }

    /// The names of nodes `indices` (the added objects of a diff), given to
    /// `each` one by one; handle scopes are renewed as in `walk`.
    ///
    /// # Safety
    /// As for `walk`.
    pub unsafe fn node_names(
        &self,
        env: sys::napi_env,
        indices: &[u32],
        mut each: impl FnMut(u32, &str),
    ) {
        let n = self.node_count();
        let mut buf = vec![0u8; NAME_BUFFER];
        let mut scopes = Scopes::new(env);
        for &i in indices {
            if i >= n {
                continue;
            }
            let node = self.node(i);
            if node.is_null() {
                continue;
            }
            let local = call_local(self.api.node_name, node as *const c_void);
            each(i, self.utf8(local, &mut buf));
            scopes.count();
        }
    }

    /// The name of node `index` (for the few nodes a retainer path prints).
    ///
    /// # Safety
    /// As for `walk`.
    pub unsafe fn node_name(&self, env: sys::napi_env, index: u32) -> String {
        if index >= self.node_count() {
            return String::new();
        }
        let node = self.node(index);
        if node.is_null() {
            return String::new();
        }
        let _scope = Scope::open(env);
        let mut buf = vec![0u8; NAME_BUFFER];
        let local = call_local(self.api.node_name, node as *const c_void);
        self.utf8(local, &mut buf).to_owned()
    }

    /// The name of the `child`th edge of node `index` (element and hidden
    /// edges: their index as text).
    ///
    /// # Safety
    /// As for `walk`.
    pub unsafe fn edge_name(&self, env: sys::napi_env, index: u32, child: u32) -> String {
        if index >= self.node_count() {
            return String::new();
        }
        let node = self.node(index);
        if node.is_null() || child as c_int >= (self.api.node_child_count)(node) {
            return String::new();
        }
        let edge = (self.api.node_child)(node, child as c_int);
        if edge.is_null() {
            return String::new();
        }
        let _scope = Scope::open(env);
        let mut buf = vec![0u8; NAME_BUFFER];
        let kind = (self.api.edge_type)(edge).clamp(0, 255) as u8;
        match self.edge_name_of(edge, kind, &mut buf) {
            EdgeName::Name(s) => s.to_owned(),
            EdgeName::Index(i) => i.to_string(),
        }
    }

    /// What the snapshot says about node `index` and its first edges, for
    /// the start-up canary; `None` past the end.
    ///
    /// # Safety
    /// As for `walk`.
    pub unsafe fn describe(&self, env: sys::napi_env, index: u32) -> Option<NodeDescription> {
        let api = self.api;
        if index >= self.node_count() {
            return None;
        }
        let node = self.node(index);
        if node.is_null() {
            return None;
        }
        let _scope = Scope::open(env);
        let mut buf = vec![0u8; NAME_BUFFER];
        let label = |p: *const HeapGraphNode, buf: &mut [u8]| {
            let local = call_local(api.node_name, p as *const c_void);
            self.utf8(local, buf).to_owned()
        };
        let mut edges = Vec::new();
        let count = (api.node_child_count)(node).clamp(0, 64);
        for c in 0..count {
            let edge = (api.node_child)(node, c);
            if edge.is_null() {
                continue;
            }
            let kind = (api.edge_type)(edge).clamp(0, 255) as u8;
            let name = match self.edge_name_of(edge, kind, &mut buf) {
                EdgeName::Name(s) => s.to_owned(),
                EdgeName::Index(i) => i.to_string(),
            };
            let to = (api.edge_to)(edge);
            if to.is_null() {
                continue;
            }
            let to_kind = (api.node_type)(to).clamp(0, 255) as u8;
            edges.push((kind, name, to_kind, label(to, &mut buf), (api.node_id)(to)));
        }
        Some(NodeDescription {
            kind: (api.node_type)(node).clamp(0, 255) as u8,
            name: label(node, &mut buf),
            id: (api.node_id)(node),
            self_size: (api.node_size)(node) as u64,
            edges,
        })
    }

    unsafe fn utf8<'b>(&self, local: Local, buf: &'b mut [u8]) -> &'b str {
        self.api.utf8.write(self.isolate, local, buf)
    }
}

/// One node of a snapshot as the canary check reads it.
#[derive(Debug)]
pub struct NodeDescription {
    pub kind: u8,
    pub name: String,
    pub id: u32,
    pub self_size: u64,
    /// `(edge type, edge name, target type, target name, target id)`
    pub edges: Vec<(u8, String, u8, String, u32)>,
}
