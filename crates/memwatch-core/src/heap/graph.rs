//! The heap graph in Chrome DevTools' flat-column layout.
//!
//! Why columns and not a `Vec<Node>` of structs with `Vec<Edge>` inside: a
//! snapshot has millions of nodes and tens of millions of edges. One small
//! array per field, with edges in CSR form (each node owns the contiguous
//! range `first_edge[n]..first_edge[n + 1]`), costs ~22 bytes a node and
//! 9 bytes an edge, and no allocation per node.

use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;

use super::kinds::{EdgeKind, NodeKind};
use super::strings::StringTable;

/// Marks "no node / no edge" in `u32` columns computed from a graph.
pub const NONE: u32 = u32::MAX;

/// Most nodes a graph can hold: node indices are `u32`, and `NONE` is kept
/// free. A snapshot with more is refused with an error that says so.
pub const MAX_NODES: u64 = u32::MAX as u64 - 1;

/// Most edges a graph can hold: edge indices are `u32` (as in DevTools'
/// typed arrays), with `u32::MAX` and `u32::MAX - 1` kept as markers.
pub const MAX_EDGES: u64 = u32::MAX as u64 - 2;

/// Self sizes, 4 bytes a node: V8's objects are far below 4 GiB (DevTools
/// keeps sizes in 32 bits), and the rare larger one is kept aside, so sizes
/// stay exact to 64 bits at half the memory of a `u64` column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sizes {
    small: Vec<u32>,
    /// Sizes of `u32::MAX` or more, by node (`small` holds `u32::MAX`).
    large: HashMap<u32, u64>,
}

impl Sizes {
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.small.reserve(additional);
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.small.shrink_to_fit();
    }

    pub(crate) fn len(&self) -> usize {
        self.small.len()
    }

    #[inline]
    pub(crate) fn push(&mut self, size: u64) {
        match u32::try_from(size) {
            Ok(s) if s != u32::MAX => self.small.push(s),
            _ => {
                self.large.insert(self.small.len() as u32, size);
                self.small.push(u32::MAX);
            }
        }
    }

    #[inline]
    pub(crate) fn get(&self, node: u32) -> u64 {
        match self.small.get(node as usize) {
            Some(&u32::MAX) => self.large.get(&node).copied().unwrap_or(0),
            Some(&s) => u64::from(s),
            None => 0,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.small.len() as u32).map(|v| self.get(v))
    }

    pub(crate) fn from_sizes(sizes: &[u64]) -> Self {
        let mut out = Sizes {
            small: Vec::with_capacity(sizes.len()),
            large: HashMap::default(),
        };
        for &size in sizes {
            out.push(size);
        }
        out
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.small.len() * 4 + self.large.len() * 16
    }
}

/// Where a node's code is, from the snapshot's `locations`: for a closure its
/// function, for an object its constructor. DevTools keeps objects of
/// same-named classes apart by it. Line and column are 0-based, as V8 writes
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// Node -> location, for the nodes that have one.
///
/// Why packed pairs and not a column: only JS objects and functions have a
/// location, and most share a few (one per constructor), so a sorted list of
/// `(node << 32) | location index` costs 8 bytes a located node and a table of
/// the distinct locations, instead of 12 bytes for every node.
#[derive(Clone, Debug, Default)]
pub(crate) struct Locations {
    /// Sorted by node; one entry per node (the file's last one wins, as in
    /// DevTools' map).
    pub(crate) by_node: Vec<u64>,
    pub(crate) table: Vec<Location>,
}

impl Locations {
    /// Sorts and de-duplicates entries added in any order.
    pub(crate) fn seal(&mut self) {
        // Stable, so equal nodes stay in file order and the last one is kept.
        self.by_node.sort_by_key(|&p| p >> 32);
        let mut out: Vec<u64> = Vec::with_capacity(self.by_node.len());
        for &p in &self.by_node {
            match out.last_mut() {
                Some(last) if *last >> 32 == p >> 32 => *last = p,
                _ => out.push(p),
            }
        }
        out.shrink_to_fit();
        self.by_node = out;
    }
}

/// A heap snapshot as flat columns. The synthetic root is [`root`](Self::root)
/// (node 0 unless the snapshot says otherwise).
///
/// Built by [`super::parse::parse_heap_snapshot`] or [`super::GraphBuilder`],
/// both of which validate it: every edge target is a node, every string
/// index is in the table, `first_edge` is non-decreasing and ends at the
/// number of edges, and there is at least one node.
#[derive(Clone, Debug)]
pub struct HeapGraph {
    pub(crate) node_type: Vec<u8>,
    pub(crate) node_name: Vec<u32>,
    pub(crate) node_id: Vec<u32>,
    pub(crate) node_self_size: Sizes,
    /// V8's `detachedness` (0 unknown, 1 attached, 2 detached), when recorded.
    pub(crate) node_detachedness: Option<Vec<u8>>,
    /// CSR offsets into the edge columns; `node_count() + 1` entries.
    pub(crate) first_edge: Vec<u32>,
    pub(crate) edge_type: Vec<u8>,
    /// String index for named edges, plain index for element/hidden edges.
    pub(crate) edge_name: Vec<u32>,
    /// Target node index (not V8's `to_node` field offset).
    pub(crate) edge_to: Vec<u32>,
    pub(crate) strings: StringTable,
    /// The synthetic root (`snapshot.root_index`; node 0 in V8's snapshots).
    pub(crate) root: u32,
    pub(crate) locations: Locations,
}

impl HeapGraph {
    /// No nodes yet; only builders hold such a graph (it fails validation),
    /// which is why `HeapGraph` has no public constructor or `Default`.
    pub(crate) fn empty() -> Self {
        Self {
            node_type: Vec::new(),
            node_name: Vec::new(),
            node_id: Vec::new(),
            node_self_size: Sizes::default(),
            node_detachedness: None,
            first_edge: vec![0],
            edge_type: Vec::new(),
            edge_name: Vec::new(),
            edge_to: Vec::new(),
            strings: StringTable::new(),
            root: 0,
            locations: Locations::default(),
        }
    }

    /// The synthetic root: the node the GC roots and the global objects hang
    /// from (`snapshot.root_index`, node 0 in every V8 snapshot).
    pub fn root(&self) -> u32 {
        self.root
    }

    /// The location of a closure's function or an object's constructor, when
    /// the snapshot records one.
    pub fn location(&self, node: u32) -> Option<Location> {
        let by_node = &self.locations.by_node;
        let i = by_node
            .binary_search_by_key(&node, |&p| (p >> 32) as u32)
            .ok()?;
        self.locations
            .table
            .get(by_node[i] as u32 as usize)
            .copied()
    }

    /// `(node, location index)` for every located node, by node.
    pub(crate) fn located_nodes(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.locations
            .by_node
            .iter()
            .map(|&p| ((p >> 32) as u32, p as u32))
    }

    /// Distinct locations, addressed by [`located_nodes`](Self::located_nodes)' index.
    pub(crate) fn location_table(&self) -> &[Location] {
        &self.locations.table
    }

    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_to.len()
    }

    pub fn strings(&self) -> &StringTable {
        &self.strings
    }

    // Per-node accessors. `node` must be `< node_count()`; the graph's own
    // invariants guarantee that for every index it hands out.

    pub fn node_kind(&self, node: u32) -> NodeKind {
        NodeKind::from_u8(self.node_type[node as usize])
    }

    /// The node's name: constructor name for objects, text for strings, ...
    pub fn node_name(&self, node: u32) -> &str {
        self.strings
            .get(self.node_name[node as usize])
            .unwrap_or("")
    }

    pub fn node_name_index(&self, node: u32) -> u32 {
        self.node_name[node as usize]
    }

    /// V8's SnapshotObjectId: stable across snapshots of one process.
    pub fn node_id(&self, node: u32) -> u32 {
        self.node_id[node as usize]
    }

    pub fn self_size(&self, node: u32) -> u64 {
        self.node_self_size.get(node)
    }

    /// `None` when the snapshot has no `detachedness` field.
    pub fn detachedness(&self, node: u32) -> Option<u8> {
        self.node_detachedness.as_ref().map(|d| d[node as usize])
    }

    /// Indices of the node's outgoing edges.
    pub fn edges(&self, node: u32) -> Range<u32> {
        let n = node as usize;
        self.first_edge[n]..self.first_edge[n + 1]
    }

    // Per-edge accessors. `edge` must be `< edge_count()`.

    pub fn edge_kind(&self, edge: u32) -> EdgeKind {
        EdgeKind::from_u8(self.edge_type[edge as usize])
    }

    /// Raw `name_or_index`: a string index or an element index, by kind.
    pub fn edge_name_or_index(&self, edge: u32) -> u32 {
        self.edge_name[edge as usize]
    }

    /// The edge's name for named kinds; `None` for element/hidden edges.
    pub fn edge_name(&self, edge: u32) -> Option<&str> {
        if self.edge_kind(edge).has_string_name() {
            self.strings.get(self.edge_name[edge as usize])
        } else {
            None
        }
    }

    /// The node the edge points to.
    pub fn edge_to(&self, edge: u32) -> u32 {
        self.edge_to[edge as usize]
    }

    /// The node that owns `edge`, by binary search over the CSR offsets.
    /// Why not a column: it is only needed when printing paths, so 4 bytes
    /// an edge would be wasted.
    pub fn edge_source(&self, edge: u32) -> u32 {
        let starts = &self.first_edge[..self.node_count()];
        // The last node whose range starts at or before `edge` owns it
        // (nodes with no edges share their start with the next node).
        let after = starts.partition_point(|&start| start <= edge);
        after.saturating_sub(1) as u32
    }

    /// Whether `edge`, owned by `source`, can keep its target alive: weak
    /// edges never; shortcut edges only from the root (they mark the user's
    /// globals). DevTools drops a few more for dominators (see
    /// [`RetainRules::DevTools`](super::RetainRules::DevTools)).
    pub fn is_retaining_edge(&self, source: u32, edge: u32) -> bool {
        match self.edge_kind(edge) {
            EdgeKind::Weak => false,
            EdgeKind::Shortcut => source == self.root,
            _ => true,
        }
    }

    /// Names `node` after the fact (the native walk reads the names of a
    /// printed path's nodes only when it prints them). Out of range: ignored.
    pub fn set_node_name(&mut self, node: u32, name: &str) {
        if (node as usize) < self.node_count() {
            self.node_name[node as usize] = self.strings.push(name) as u32;
        }
    }

    /// Appends a string to the table and returns its index, for callers that
    /// name many nodes with few distinct names (see `set_node_name_index`).
    pub fn add_string(&mut self, s: &str) -> u32 {
        self.strings.push(s) as u32
    }

    /// Names `node` with string `index` (from `add_string`); ignored when
    /// either is out of range.
    pub fn set_node_name_index(&mut self, node: u32, index: u32) {
        if (node as usize) < self.node_count() && (index as usize) < self.strings.len() {
            self.node_name[node as usize] = index;
        }
    }

    /// Names `edge` after the fact: a string for named kinds, the index for
    /// element and hidden edges. Out of range: ignored.
    pub fn set_edge_name(&mut self, edge: u32, name: &str) {
        let e = edge as usize;
        if e >= self.edge_count() {
            return;
        }
        self.edge_name[e] = if self.edge_kind(edge).has_string_name() {
            self.strings.push(name) as u32
        } else {
            name.parse().unwrap_or(0)
        };
    }

    // Raw columns, for callers that want to scan without per-call checks.

    pub fn node_types(&self) -> &[u8] {
        &self.node_type
    }

    pub fn node_names(&self) -> &[u32] {
        &self.node_name
    }

    pub fn node_ids(&self) -> &[u32] {
        &self.node_id
    }

    /// Every node's self size, in node order.
    pub fn self_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.node_self_size.iter()
    }

    pub fn first_edges(&self) -> &[u32] {
        &self.first_edge
    }

    pub fn edge_types(&self) -> &[u8] {
        &self.edge_type
    }

    pub fn edge_names(&self) -> &[u32] {
        &self.edge_name
    }

    pub fn edge_targets(&self) -> &[u32] {
        &self.edge_to
    }

    /// Bytes held by the columns and strings (capacity not counted).
    pub fn memory_bytes(&self) -> usize {
        let n = self.node_count();
        let m = self.edge_count();
        n * (1 + 4 + 4)
            + self.node_self_size.memory_bytes()
            + (n + 1) * 4
            + m * (1 + 4 + 4)
            + self.node_detachedness.as_ref().map_or(0, Vec::len)
            + self.strings.text_bytes()
            + self.strings.len() * std::mem::size_of::<usize>()
            + self.locations.by_node.len() * 8
            + self.locations.table.len() * std::mem::size_of::<Location>()
    }
}
