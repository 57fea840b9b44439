//! Heap snapshots through V8's own `HeapProfiler` API (v8-profiler.h), walked
//! node by node into Rust columns; no JSON, and V8's snapshot is deleted as
//! soon as the walk is done.
//!
//! Checked against v8-profiler.h, v8-local-handle.h, v8-primitive.h of Node
//! 18, 20, 22 and 24 (same mangled names in all four):
//! - `const HeapSnapshot* HeapProfiler::TakeHeapSnapshot(ActivityControl*,
//!   ObjectNameResolver*, bool hide_internals, bool capture_numeric_value)`:
//!   the overload that needs no options struct (that struct grew in later V8).
//! - `HeapGraphNode::GetName` and `HeapGraphEdge::GetName` return a `Local`
//!   (one pointer in a register) to a JS value they allocate: an open
//!   `HandleScope` is required, renewed every few thousand calls, and this
//!   must never run inside a GC callback.
//! - An edge's name is a `String` except for element/hidden edges, where it
//!   is a `Number` (the index).

use super::{lookup, BindingError, Isolate};
use std::ffi::{c_char, c_int, c_void, CStr};

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
/// The target of a `Local<T>`: `Local<T>` is a pointer to this.
#[repr(C)]
pub struct LocalTarget {
    _private: [u8; 0],
}
type Local = *const LocalTarget;

/// The `HeapGraphNode::Type` values this module names (v8-profiler.h; the
/// full list is `memwatch_core::heap::NodeKind`, in the same order).
pub mod node_type {
    pub const HIDDEN: u8 = 0;
    pub const OBJECT: u8 = 3;
    pub const CLOSURE: u8 = 5;
    pub const NATIVE: u8 = 8;
    pub const SYNTHETIC: u8 = 9;
}

/// The `HeapGraphEdge::Type` values this module names (v8-profiler.h; the
/// full list is `memwatch_core::heap::EdgeKind`, in the same order).
pub mod edge_type {
    pub const ELEMENT: u8 = 1;
    pub const HIDDEN: u8 = 4;
    pub const WEAK: u8 = 6;
}

type GetHeapProfilerFn = unsafe extern "C" fn(*mut Isolate) -> *mut HeapProfiler;
type TakeHeapSnapshotFn = unsafe extern "C" fn(
    *mut HeapProfiler,
    *mut c_void, // ActivityControl*
    *mut c_void, // ObjectNameResolver*
    bool,
    bool,
) -> *const HeapSnapshot;
type ClearObjectIdsFn = unsafe extern "C" fn(*mut HeapProfiler);
type SnapshotCountFn = unsafe extern "C" fn(*const HeapSnapshot) -> c_int;
type SnapshotGetNodeFn = unsafe extern "C" fn(*const HeapSnapshot, c_int) -> *const HeapGraphNode;
type SnapshotDeleteFn = unsafe extern "C" fn(*const HeapSnapshot);
type NodeTypeFn = unsafe extern "C" fn(*const HeapGraphNode) -> c_int;
type NodeNameFn = unsafe extern "C" fn(*const HeapGraphNode) -> Local;
type NodeIdFn = unsafe extern "C" fn(*const HeapGraphNode) -> u32;
type NodeSizeFn = unsafe extern "C" fn(*const HeapGraphNode) -> usize;
type NodeChildCountFn = unsafe extern "C" fn(*const HeapGraphNode) -> c_int;
type NodeChildFn = unsafe extern "C" fn(*const HeapGraphNode, c_int) -> *const HeapGraphEdge;
type EdgeTypeFn = unsafe extern "C" fn(*const HeapGraphEdge) -> c_int;
type EdgeNameFn = unsafe extern "C" fn(*const HeapGraphEdge) -> Local;
type EdgeToFn = unsafe extern "C" fn(*const HeapGraphEdge) -> *const HeapGraphNode;
type HandleScopeCtorFn = unsafe extern "C" fn(*mut c_void, *mut Isolate);
type HandleScopeDtorFn = unsafe extern "C" fn(*mut c_void);
/// `int String::WriteUtf8(Isolate*, char*, int length, int* nchars, int options) const`
type WriteUtf8Fn =
    unsafe extern "C" fn(Local, *mut Isolate, *mut c_char, c_int, *mut c_int, c_int) -> c_int;
type NumberValueFn = unsafe extern "C" fn(Local) -> f64;

const SYM_GET_HEAP_PROFILER: &CStr = c"_ZN2v87Isolate15GetHeapProfilerEv";
const SYM_TAKE_HEAP_SNAPSHOT: &CStr =
    c"_ZN2v812HeapProfiler16TakeHeapSnapshotEPNS_15ActivityControlEPNS0_18ObjectNameResolverEbb";
const SYM_CLEAR_OBJECT_IDS: &CStr = c"_ZN2v812HeapProfiler14ClearObjectIdsEv";
const SYM_SNAPSHOT_COUNT: &CStr = c"_ZNK2v812HeapSnapshot13GetNodesCountEv";
const SYM_SNAPSHOT_GET_NODE: &CStr = c"_ZNK2v812HeapSnapshot7GetNodeEi";
const SYM_SNAPSHOT_DELETE: &CStr = c"_ZN2v812HeapSnapshot6DeleteEv";
const SYM_NODE_TYPE: &CStr = c"_ZNK2v813HeapGraphNode7GetTypeEv";
const SYM_NODE_NAME: &CStr = c"_ZNK2v813HeapGraphNode7GetNameEv";
const SYM_NODE_ID: &CStr = c"_ZNK2v813HeapGraphNode5GetIdEv";
const SYM_NODE_SIZE: &CStr = c"_ZNK2v813HeapGraphNode14GetShallowSizeEv";
const SYM_NODE_CHILD_COUNT: &CStr = c"_ZNK2v813HeapGraphNode16GetChildrenCountEv";
const SYM_NODE_CHILD: &CStr = c"_ZNK2v813HeapGraphNode8GetChildEi";
const SYM_EDGE_TYPE: &CStr = c"_ZNK2v813HeapGraphEdge7GetTypeEv";
const SYM_EDGE_NAME: &CStr = c"_ZNK2v813HeapGraphEdge7GetNameEv";
const SYM_EDGE_TO: &CStr = c"_ZNK2v813HeapGraphEdge9GetToNodeEv";
const SYM_HANDLE_SCOPE_CTOR: &CStr = c"_ZN2v811HandleScopeC1EPNS_7IsolateE";
const SYM_HANDLE_SCOPE_DTOR: &CStr = c"_ZN2v811HandleScopeD1Ev";
const SYM_WRITE_UTF8: &CStr = c"_ZNK2v86String9WriteUtf8EPNS_7IsolateEPciPii";
const SYM_NUMBER_VALUE: &CStr = c"_ZNK2v86Number5ValueEv";

pub const SYMBOLS: &[&CStr] = &[
    SYM_GET_HEAP_PROFILER,
    SYM_TAKE_HEAP_SNAPSHOT,
    SYM_CLEAR_OBJECT_IDS,
    SYM_SNAPSHOT_COUNT,
    SYM_SNAPSHOT_GET_NODE,
    SYM_SNAPSHOT_DELETE,
    SYM_NODE_TYPE,
    SYM_NODE_NAME,
    SYM_NODE_ID,
    SYM_NODE_SIZE,
    SYM_NODE_CHILD_COUNT,
    SYM_NODE_CHILD,
    SYM_EDGE_TYPE,
    SYM_EDGE_NAME,
    SYM_EDGE_TO,
    SYM_HANDLE_SCOPE_CTOR,
    SYM_HANDLE_SCOPE_DTOR,
    SYM_WRITE_UTF8,
    SYM_NUMBER_VALUE,
];

/// `String::WriteOptions`: NO_NULL_TERMINATION | REPLACE_INVALID_UTF8.
const WRITE_UTF8_OPTIONS: c_int = 2 | 8;
/// V8 cuts snapshot names at 1,024 UTF-16 units: at most 3 UTF-8 bytes each.
const NAME_BUFFER: usize = 4096;
/// Bytes for a `HandleScope` (24 on release builds of Node 18-24; more with
/// V8_ENABLE_CHECKS): oversized so no build can write past it.
const HANDLE_SCOPE_BYTES: usize = 64;
/// JS values created per HandleScope before it is renewed.
const NAMES_PER_SCOPE: u32 = 4096;

#[derive(Clone, Copy)]
pub struct ProfilerApi {
    get_heap_profiler: GetHeapProfilerFn,
    take_heap_snapshot: TakeHeapSnapshotFn,
    clear_object_ids: ClearObjectIdsFn,
    snapshot_count: SnapshotCountFn,
    snapshot_get_node: SnapshotGetNodeFn,
    snapshot_delete: SnapshotDeleteFn,
    node_type: NodeTypeFn,
    node_name: NodeNameFn,
    node_id: NodeIdFn,
    node_size: NodeSizeFn,
    node_child_count: NodeChildCountFn,
    node_child: NodeChildFn,
    edge_type: EdgeTypeFn,
    edge_name: EdgeNameFn,
    edge_to: EdgeToFn,
    handle_scope_ctor: HandleScopeCtorFn,
    handle_scope_dtor: HandleScopeDtorFn,
    write_utf8: WriteUtf8Fn,
    number_value: NumberValueFn,
}

macro_rules! sym {
    ($name:expr, $ty:ty) => {{
        let p = lookup($name)?;
        // SAFETY: signature checked against v8-profiler.h (see the alias).
        unsafe { std::mem::transmute::<*mut c_void, $ty>(p) }
    }};
}

impl ProfilerApi {
    pub(super) fn resolve() -> Result<Self, BindingError> {
        Ok(Self {
            get_heap_profiler: sym!(SYM_GET_HEAP_PROFILER, GetHeapProfilerFn),
            take_heap_snapshot: sym!(SYM_TAKE_HEAP_SNAPSHOT, TakeHeapSnapshotFn),
            clear_object_ids: sym!(SYM_CLEAR_OBJECT_IDS, ClearObjectIdsFn),
            snapshot_count: sym!(SYM_SNAPSHOT_COUNT, SnapshotCountFn),
            snapshot_get_node: sym!(SYM_SNAPSHOT_GET_NODE, SnapshotGetNodeFn),
            snapshot_delete: sym!(SYM_SNAPSHOT_DELETE, SnapshotDeleteFn),
            node_type: sym!(SYM_NODE_TYPE, NodeTypeFn),
            node_name: sym!(SYM_NODE_NAME, NodeNameFn),
            node_id: sym!(SYM_NODE_ID, NodeIdFn),
            node_size: sym!(SYM_NODE_SIZE, NodeSizeFn),
            node_child_count: sym!(SYM_NODE_CHILD_COUNT, NodeChildCountFn),
            node_child: sym!(SYM_NODE_CHILD, NodeChildFn),
            edge_type: sym!(SYM_EDGE_TYPE, EdgeTypeFn),
            edge_name: sym!(SYM_EDGE_NAME, EdgeNameFn),
            edge_to: sym!(SYM_EDGE_TO, EdgeToFn),
            handle_scope_ctor: sym!(SYM_HANDLE_SCOPE_CTOR, HandleScopeCtorFn),
            handle_scope_dtor: sym!(SYM_HANDLE_SCOPE_DTOR, HandleScopeDtorFn),
            write_utf8: sym!(SYM_WRITE_UTF8, WriteUtf8Fn),
            number_value: sym!(SYM_NUMBER_VALUE, NumberValueFn),
        })
    }

    /// Takes a snapshot of `isolate`'s heap (V8 runs a full GC first).
    ///
    /// # Safety
    /// On the isolate's thread, from JS, outside any GC callback.
    pub unsafe fn take_snapshot(&'static self, isolate: *mut Isolate) -> Option<Snapshot> {
        let profiler = (self.get_heap_profiler)(isolate);
        if profiler.is_null() {
            return None;
        }
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
    /// Ids restart afterwards: only when no diff still needs them.
    ///
    /// # Safety
    /// On the isolate's thread, outside any GC callback.
    pub unsafe fn clear_object_ids(&self, isolate: *mut Isolate) {
        let profiler = (self.get_heap_profiler)(isolate);
        if !profiler.is_null() {
            (self.clear_object_ids)(profiler);
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

/// Receives the graph as it is walked. Nodes arrive in snapshot order (the
/// root first), then, if asked, each node's edges in the same order.
pub trait SnapshotSink {
    /// `name` is given only for node types that `wants_name` accepted.
    fn node(&mut self, kind: u8, name: Option<&str>, id: u32, self_size: u64, edge_count: u32);
    fn wants_name(&self, kind: u8) -> bool;
    /// `name` is the property/variable name, or `index` for element/hidden edges.
    fn edge(&mut self, kind: u8, name: EdgeName<'_>, to_node: u32);
}

pub enum EdgeName<'a> {
    Name(&'a str),
    Index(u32),
}

/// A HandleScope with a fixed address, closed on drop.
struct Scope<'a> {
    api: &'a ProfilerApi,
    mem: Box<[u64; HANDLE_SCOPE_BYTES / 8]>,
}

impl<'a> Scope<'a> {
    unsafe fn open(api: &'a ProfilerApi, isolate: *mut Isolate) -> Self {
        let mut mem = Box::new([0u64; HANDLE_SCOPE_BYTES / 8]);
        (api.handle_scope_ctor)(mem.as_mut_ptr() as *mut c_void, isolate);
        Self { api, mem }
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        // SAFETY: constructed in `open`, destroyed once, in reverse order of
        // creation (only one scope is alive at a time).
        unsafe { (self.api.handle_scope_dtor)(self.mem.as_mut_ptr() as *mut c_void) };
    }
}

impl Snapshot {
    pub fn node_count(&self) -> u32 {
        // SAFETY: live snapshot.
        unsafe { (self.api.snapshot_count)(self.ptr) }.max(0) as u32
    }

    /// Copies the snapshot into `sink`: all nodes, then (if `with_edges`)
    /// all edges with their target node's index.
    ///
    /// # Safety
    /// On the isolate's thread, from JS, outside any GC callback.
    pub unsafe fn walk(&self, sink: &mut impl SnapshotSink, with_edges: bool) {
        let api = self.api;
        let n = self.node_count();
        let mut buf = vec![0u8; NAME_BUFFER];
        let mut scope = Some(Scope::open(api, self.isolate));
        let mut names_in_scope = 0u32;
        let renew = |scope: &mut Option<Scope<'_>>, count: &mut u32| {
            *count += 1;
            if *count >= NAMES_PER_SCOPE {
                // Close the old scope before opening the next (strict nesting).
                *scope = None;
                *scope = Some(Scope::open(api, self.isolate));
                *count = 0;
            }
        };
        // Node pointer -> index, to turn edges' targets into indices.
        let mut index_of: std::collections::HashMap<usize, u32> = if with_edges {
            std::collections::HashMap::with_capacity(n as usize)
        } else {
            std::collections::HashMap::new()
        };
        for i in 0..n {
            let node = (api.snapshot_get_node)(self.ptr, i as c_int);
            if node.is_null() {
                // Keep node indices aligned with V8's (never seen in practice).
                sink.node(node_type::HIDDEN, None, 0, 0, 0);
                continue;
            }
            let kind = (api.node_type)(node).clamp(0, 255) as u8;
            let id = (api.node_id)(node);
            let size = (api.node_size)(node) as u64;
            let edges = (api.node_child_count)(node).max(0) as u32;
            if with_edges {
                index_of.insert(node as usize, i);
            }
            if sink.wants_name(kind) {
                let local = (api.node_name)(node);
                let name = self.utf8(local, &mut buf);
                sink.node(kind, Some(name), id, size, edges);
                renew(&mut scope, &mut names_in_scope);
            } else {
                sink.node(kind, None, id, size, edges);
            }
        }
        if with_edges {
            for i in 0..n {
                let node = (api.snapshot_get_node)(self.ptr, i as c_int);
                if node.is_null() {
                    continue;
                }
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
                        sink.edge(edge_type::WEAK, EdgeName::Index(0), 0);
                        continue;
                    };
                    let kind = (api.edge_type)(edge).clamp(0, 255) as u8;
                    let local = (api.edge_name)(edge);
                    if kind == edge_type::ELEMENT || kind == edge_type::HIDDEN {
                        let index = if local.is_null() {
                            0.0
                        } else {
                            (api.number_value)(local)
                        };
                        sink.edge(kind, EdgeName::Index(index.max(0.0) as u32), to_index);
                    } else {
                        let name = self.utf8(local, &mut buf);
                        sink.edge(kind, EdgeName::Name(name), to_index);
                    }
                    renew(&mut scope, &mut names_in_scope);
                }
            }
        }
        drop(scope);
    }

    unsafe fn utf8<'b>(&self, local: Local, buf: &'b mut [u8]) -> &'b str {
        if local.is_null() {
            return "";
        }
        let written = (self.api.write_utf8)(
            local,
            self.isolate,
            buf.as_mut_ptr() as *mut c_char,
            buf.len() as c_int,
            std::ptr::null_mut(),
            WRITE_UTF8_OPTIONS,
        )
        .clamp(0, buf.len() as c_int) as usize;
        // REPLACE_INVALID_UTF8 makes this valid, but a cut in the middle of a
        // character (never expected at 4 KiB) must not become a panic.
        match std::str::from_utf8(&buf[..written]) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}
