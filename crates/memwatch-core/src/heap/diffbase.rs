//! The first snapshot of a heap diff, kept small, and the diff of a second
//! snapshot against it, whole or node by node.
//!
//! Why not keep the first snapshot as a [`HeapGraph`]: a HeapDiff holds it
//! while the user's code runs and while V8 builds the second snapshot, whose
//! own memory is the peak. A diff without retained sizes needs, per counted
//! node, only its id, memwatch class and self size: 12 bytes, sorted by id.
//! And the second snapshot need not be a graph at all: [`StreamDiff`] takes
//! its nodes one by one as they are read from V8, asks for the names of the
//! added objects only, and never holds a column of them.
//!
//! Matching is by V8's object id; duplicate ids are matched one to one, in
//! order. Classes use memwatch's names ([`memwatch_class`]); hidden,
//! synthetic and object-shape nodes are not counted.
//!
//! [`memwatch_class`]: crate::heap::memwatch_class

use rustc_hash::FxHashMap as HashMap;

use super::classes::{engine_apart_source, memwatch_source, ClassIndex, ClassSource};
use super::diff::{ClassChange, DiffNames, DiffTotals, GraphDiff};
use super::dominators::Dominators;
use super::graph::{HeapGraph, NONE};
use super::kinds::NodeKind;
use super::toplevel::top_level_retained;

/// One counted node of the first snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    id: u32,
    class: u32,
    /// The self size, or `u32::MAX` when it is in `DiffBase::large`.
    size: u32,
}

impl DiffNames {
    fn source(self, kind: NodeKind) -> ClassSource {
        match self {
            DiffNames::Memwatch => memwatch_source(kind),
            DiffNames::EngineApart => engine_apart_source(kind),
        }
    }
}

/// Class ids of the fixed labels, by node kind (objects' classes come from
/// their names).
struct Namer {
    names: DiffNames,
    by_kind: [Option<u32>; 256],
}

impl Namer {
    fn new(names: DiffNames) -> Self {
        Self {
            names,
            by_kind: [None; 256],
        }
    }

    /// The class of a counted node; `None` for kinds memwatch does not count.
    /// `name` is asked for only for objects.
    fn class<'n>(
        &mut self,
        index: &mut ClassIndex,
        kind: NodeKind,
        name: impl FnOnce() -> &'n str,
    ) -> Option<u32> {
        match self.names.source(kind) {
            ClassSource::Skip => None,
            ClassSource::Name => Some(index.id(name())),
            ClassSource::Fixed(label) => {
                let slot = &mut self.by_kind[kind as u8 as usize];
                Some(*slot.get_or_insert_with(|| index.id(label)))
            }
        }
    }
}

/// Builds a [`DiffBase`] from nodes in any order.
pub struct DiffBaseBuilder {
    entries: Vec<Entry>,
    /// Every node seen, counted or not.
    snapshot_nodes: u64,
    large: HashMap<u32, u64>,
    names: ClassIndex,
    namer: Namer,
    totals: DiffTotals,
}

impl DiffBaseBuilder {
    /// `names`: how classes are named, for this snapshot and every one
    /// diffed against it.
    pub fn new(nodes: usize, names: DiffNames) -> Self {
        Self {
            entries: Vec::with_capacity(nodes),
            snapshot_nodes: 0,
            large: HashMap::default(),
            names: ClassIndex::default(),
            namer: Namer::new(names),
            totals: DiffTotals::default(),
        }
    }

    /// Whether a node of `kind` needs its name (objects: their constructor's).
    pub fn wants_name(&self, kind: NodeKind) -> bool {
        matches!(self.namer.names.source(kind), ClassSource::Name)
    }

    /// Records one node; `name` is read for objects only (`wants_name`).
    pub fn node(&mut self, kind: NodeKind, name: Option<&str>, id: u32, size: u64) {
        self.snapshot_nodes += 1;
        let Some(class) = self
            .namer
            .class(&mut self.names, kind, || name.unwrap_or(""))
        else {
            return;
        };
        self.totals.nodes += 1;
        self.totals.size_bytes = self.totals.size_bytes.saturating_add(size);
        let small = match u32::try_from(size) {
            Ok(s) if s != u32::MAX => s,
            _ => {
                self.large.insert(id, size);
                u32::MAX
            }
        };
        self.entries.push(Entry {
            id,
            class,
            size: small,
        });
    }

    pub fn finish(mut self) -> DiffBase {
        // Stable: equal ids keep their order, and match one to one in it.
        self.entries.sort_by_key(|e| e.id);
        self.entries.shrink_to_fit();
        DiffBase {
            entries: self.entries,
            large: self.large,
            names: self.names,
            naming: self.namer.names,
            totals: self.totals,
            snapshot_nodes: self.snapshot_nodes,
        }
    }
}

/// The counted nodes of a first snapshot, sorted by id: 12 bytes each.
pub struct DiffBase {
    entries: Vec<Entry>,
    /// Self sizes of `u32::MAX` bytes or more, by id (rare: V8's objects are
    /// far smaller; a native node may report more).
    large: HashMap<u32, u64>,
    names: ClassIndex,
    naming: DiffNames,
    totals: DiffTotals,
    snapshot_nodes: u64,
}

impl DiffBase {
    /// The counted nodes of a whole graph (a parsed `.heapsnapshot`), with
    /// memwatch's class names.
    pub fn from_graph(graph: &HeapGraph) -> Self {
        Self::from_graph_named(graph, DiffNames::Memwatch)
    }

    /// The same, with classes named by `names`.
    pub fn from_graph_named(graph: &HeapGraph, names: DiffNames) -> Self {
        let mut b = DiffBaseBuilder::new(graph.node_count(), names);
        for node in 0..graph.node_count() as u32 {
            let kind = graph.node_kind(node);
            let name = b.wants_name(kind).then(|| graph.node_name(node));
            b.node(kind, name, graph.node_id(node), graph.self_size(node));
        }
        b.finish()
    }

    /// memwatch's `before` numbers: counted nodes and their total size.
    pub fn totals(&self) -> DiffTotals {
        self.totals
    }

    /// Every node the snapshot had, counted or not (for estimating the
    /// memory of the next snapshot of the same heap).
    pub fn snapshot_nodes(&self) -> u64 {
        self.snapshot_nodes
    }

    /// Counted nodes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held (capacity not counted beyond the entries).
    pub fn memory_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<Entry>()
            + self.large.len() * 16
            + self.names.names.iter().map(|n| n.len() + 24).sum::<usize>()
    }

    /// Nodes per class name.
    pub fn class_counts(&self) -> Vec<(&str, u64)> {
        let mut counts = vec![0u64; self.names.len()];
        for e in &self.entries {
            counts[e.class as usize] += 1;
        }
        self.names
            .names
            .iter()
            .map(String::as_str)
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .collect()
    }

    fn size_of(&self, e: &Entry) -> u64 {
        if e.size == u32::MAX {
            self.large
                .get(&e.id)
                .copied()
                .unwrap_or(u64::from(u32::MAX))
        } else {
            u64::from(e.size)
        }
    }

    /// Starts a diff of a second snapshot fed node by node.
    pub fn stream(&self) -> StreamDiff<'_> {
        StreamDiff {
            base: self,
            matched: vec![0; self.entries.len().div_ceil(64)],
            names: self.names.clone(),
            namer: Namer::new(self.naming),
            added_by_class: Vec::new(),
            added: Vec::new(),
            after: DiffTotals::default(),
            cursor: 0,
            pending: None,
        }
    }

    /// The diff against a whole second graph. With `after_dom` (dominators
    /// of `after`), each row gets the retained size of its added objects.
    pub fn diff(&self, after: &HeapGraph, after_dom: Option<&Dominators>) -> GraphDiff {
        let s = self.stream_graph(after);
        let group_of = after_dom.map(|_| s.added_groups(after.node_count()));
        let groups = s.names.len();
        let retained = match (after_dom, group_of) {
            (Some(dom), Some(g)) if dom.fits(after) => top_level_retained(dom, &g, groups),
            _ => vec![0; groups],
        };
        s.finish_with(&retained)
    }

    fn stream_graph(&self, after: &HeapGraph) -> StreamDiff<'_> {
        let mut s = self.stream();
        for node in 0..after.node_count() as u32 {
            if s.node_at(
                node,
                after.node_kind(node),
                after.node_id(node),
                after.self_size(node),
            ) {
                s.added_name(after.node_name(node));
            }
        }
        s
    }

    /// The nodes of `after` that are counted and not in this snapshot, in
    /// node order.
    pub fn added_nodes(&self, after: &HeapGraph) -> Vec<u32> {
        let mut nodes: Vec<u32> = self.stream_graph(after).added.iter().map(|a| a.0).collect();
        nodes.sort_unstable();
        nodes
    }

    /// Up to `k` added nodes of `after` per class in `classes` (memwatch
    /// names), in the order of `classes`, each list in increasing id order
    /// (the oldest allocations first): the sample objects of HeapDiff's
    /// `examples`.
    pub fn added_samples(&self, after: &HeapGraph, classes: &[&str], k: usize) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); classes.len()];
        if k == 0 || classes.is_empty() {
            return out;
        }
        let s = self.stream_graph(after);
        let mut added = s.added.clone();
        added.sort_by_key(|&(node, _)| (after.node_id(node), node));
        for (node, class) in added {
            let name = &s.names.names[class as usize];
            if let Some(i) = classes.iter().position(|c| *c == name) {
                if out[i].len() < k {
                    out[i].push(node);
                }
            }
        }
        out
    }
}

/// A second snapshot diffed against a [`DiffBase`] node by node.
pub struct StreamDiff<'b> {
    base: &'b DiffBase,
    /// One bit per base entry: matched by a node of the second snapshot.
    matched: Vec<u64>,
    /// The base's classes, then new ones.
    names: ClassIndex,
    namer: Namer,
    /// Per class: added count and size.
    added_by_class: Vec<(u64, u64)>,
    /// Added nodes whose index was given (`node_at`), with their class.
    added: Vec<(u32, u32)>,
    after: DiffTotals,
    /// Where the last id was found: V8 lists a snapshot's nodes roughly in
    /// id order, so the next one is usually near.
    cursor: usize,
    /// An added object waiting for its name: (node index or NONE, size).
    pending: Option<(u32, u64)>,
}

impl StreamDiff<'_> {
    fn is_matched(&self, i: usize) -> bool {
        self.matched[i / 64] & (1 << (i % 64)) != 0
    }

    fn set_matched(&mut self, i: usize) {
        self.matched[i / 64] |= 1 << (i % 64);
    }

    /// The first base entry with `id` that is not matched yet.
    fn find_unmatched(&mut self, id: u32) -> Option<usize> {
        let entries = &self.base.entries;
        let n = entries.len();
        // Gallop from the cursor to a window holding the first entry >= id,
        // then binary-search it.
        let c = self.cursor.min(n);
        let (lo, hi) = if c < n && entries[c].id < id {
            let (mut lo, mut step) = (c, 1);
            while lo + step < n && entries[lo + step].id < id {
                lo += step;
                step *= 2;
            }
            (lo, (lo + step + 1).min(n))
        } else if c > 0 && entries[c - 1].id >= id {
            let (mut hi, mut step) = (c, 1);
            while hi > step && entries[hi - step - 1].id >= id {
                hi -= step;
                step *= 2;
            }
            (hi.saturating_sub(step + 1), hi)
        } else {
            (c, c)
        };
        let mut p = lo + entries[lo..hi].partition_point(|e| e.id < id);
        while p < n && entries[p].id == id {
            if !self.is_matched(p) {
                self.cursor = p + 1;
                return Some(p);
            }
            p += 1;
        }
        self.cursor = p;
        None
    }

    /// One node of the second snapshot. Returns true when it is an added
    /// object: the caller then passes its constructor name to `added_name`
    /// before the next node.
    pub fn node(&mut self, kind: NodeKind, id: u32, size: u64) -> bool {
        self.node_at(NONE, kind, id, size)
    }

    /// `node`, with the node's index in its graph (for samples and
    /// retained sizes).
    pub fn node_at(&mut self, index: u32, kind: NodeKind, id: u32, size: u64) -> bool {
        if self.pending.take().is_some() {
            // A previous added object never got its name: count it nameless.
            self.added_name("");
        }
        let source = self.namer.names.source(kind);
        if matches!(source, ClassSource::Skip) {
            return false;
        }
        self.after.nodes += 1;
        self.after.size_bytes = self.after.size_bytes.saturating_add(size);
        if let Some(i) = self.find_unmatched(id) {
            self.set_matched(i);
            return false;
        }
        match source {
            ClassSource::Name => {
                self.pending = Some((index, size));
                true
            }
            _ => {
                let class = self
                    .namer
                    .class(&mut self.names, kind, || "")
                    .unwrap_or(NONE);
                self.count_added(index, class, size);
                false
            }
        }
    }

    /// The constructor name of the added object `node` just reported.
    pub fn added_name(&mut self, name: &str) {
        if let Some((index, size)) = self.pending.take() {
            let class = self.names.id(name);
            self.count_added(index, class, size);
        }
    }

    fn count_added(&mut self, index: u32, class: u32, size: u64) {
        let c = class as usize;
        if self.added_by_class.len() <= c {
            self.added_by_class.resize(c + 1, (0, 0));
        }
        let row = &mut self.added_by_class[c];
        row.0 += 1;
        row.1 = row.1.saturating_add(size);
        if index != NONE {
            self.added.push((index, class));
        }
    }

    /// Per node of a graph of `nodes` nodes: the class of the added ones.
    fn added_groups(&self, nodes: usize) -> Vec<u32> {
        let mut group_of = vec![NONE; nodes];
        for &(node, class) in &self.added {
            if let Some(g) = group_of.get_mut(node as usize) {
                *g = class;
            }
        }
        group_of
    }

    /// The diff, without retained sizes (a stream has no graph).
    pub fn finish(mut self) -> GraphDiff {
        if self.pending.is_some() {
            self.added_name("");
        }
        let zeros = vec![0; self.names.len()];
        self.finish_with(&zeros)
    }

    fn finish_with(self, retained: &[u64]) -> GraphDiff {
        let base = self.base;
        let mut rows: Vec<ClassChange> = self
            .names
            .names
            .iter()
            .enumerate()
            .map(|(c, what)| {
                let (added, size_added) = self.added_by_class.get(c).copied().unwrap_or((0, 0));
                ClassChange {
                    what: what.clone(),
                    added,
                    size_added,
                    retained_added: retained.get(c).copied().unwrap_or(0),
                    ..ClassChange::default()
                }
            })
            .collect();
        for (i, e) in base.entries.iter().enumerate() {
            if !self.is_matched(i) {
                let row = &mut rows[e.class as usize];
                row.deleted += 1;
                row.size_deleted = row.size_deleted.saturating_add(base.size_of(e));
            }
        }
        let allocated_nodes = rows.iter().map(|r| r.added).sum();
        let freed_nodes = rows.iter().map(|r| r.deleted).sum();
        rows.retain(|r| r.added > 0 || r.deleted > 0);
        rows.sort_by(|a, b| a.what.cmp(&b.what));
        GraphDiff {
            before: base.totals,
            after: self.after,
            allocated_nodes,
            freed_nodes,
            details: rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::NodeKind as K;

    fn sample() -> (HeapGraph, HeapGraph) {
        let before = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Foo", 10).with_id(3),
                Spec::node(K::Object, "Foo", 10).with_id(5),
                Spec::node(K::String, "x", 4).with_id(7),
                Spec::node(K::Hidden, "system", 8).with_id(9),
            ],
            &[],
        );
        let after = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Foo", 10).with_id(5),
                Spec::node(K::Object, "Bar", 20).with_id(11),
                Spec::node(K::Object, "Bar", 20).with_id(13),
                Spec::node(K::String, "x", 4).with_id(7),
                Spec::node(K::String, "y", 6).with_id(15),
                Spec::node(K::Hidden, "system", 8).with_id(17),
            ],
            &[],
        );
        (before, after)
    }

    #[test]
    fn whole_graph_and_stream_give_the_same_diff() {
        let (before, after) = sample();
        let base = DiffBase::from_graph(&before);
        assert_eq!(base.len(), 3);
        assert_eq!(
            base.totals(),
            DiffTotals {
                nodes: 3,
                size_bytes: 24
            }
        );
        let whole = base.diff(&after, None);
        let mut s = base.stream();
        // In another order than the graph's: the stream takes any order.
        for node in (0..after.node_count() as u32).rev() {
            if s.node(
                after.node_kind(node),
                after.node_id(node),
                after.self_size(node),
            ) {
                s.added_name(after.node_name(node));
            }
        }
        assert_eq!(s.finish(), whole);
        let rows: Vec<(&str, u64, u64, i64)> = whole
            .details
            .iter()
            .map(|r| (r.what.as_str(), r.added, r.deleted, r.size_bytes()))
            .collect();
        assert_eq!(
            rows,
            [("Bar", 2, 0, 40), ("Foo", 0, 1, -10), ("String", 1, 0, 6)]
        );
        assert_eq!(
            whole.after,
            DiffTotals {
                nodes: 5,
                size_bytes: 60
            }
        );
        assert_eq!((whole.allocated_nodes, whole.freed_nodes), (3, 1));
        assert_eq!(base.added_nodes(&after), vec![2, 3, 5]);
        assert_eq!(
            base.added_samples(&after, &["Bar", "Nope"], 1),
            vec![vec![2], vec![]]
        );
    }

    #[test]
    fn duplicate_ids_match_one_to_one_and_large_sizes_survive() {
        let big = u64::from(u32::MAX) + 7;
        let before = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Native, "n", big).with_id(3),
                Spec::node(K::Object, "Dup", 1).with_id(5),
                Spec::node(K::Object, "Dup", 1).with_id(5),
            ],
            &[],
        );
        let after = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Dup", 1).with_id(5),
            ],
            &[],
        );
        let d = DiffBase::from_graph(&before).diff(&after, None);
        let rows: Vec<(&str, u64, u64, u64)> = d
            .details
            .iter()
            .map(|r| (r.what.as_str(), r.added, r.deleted, r.size_deleted))
            .collect();
        assert_eq!(rows, [("Dup", 0, 1, 1), ("Native", 0, 1, big)]);
    }

    #[test]
    fn galloping_finds_ids_in_any_order() {
        let mut b = DiffBaseBuilder::new(1000, DiffNames::Memwatch);
        for id in (0..1000u32).map(|i| i * 2 + 1) {
            b.node(K::Number, None, id, 16);
        }
        let base = b.finish();
        let mut s = base.stream();
        // Forward, backward and random jumps all match every id once.
        let mut order: Vec<u32> = (0..1000u32).map(|i| i * 2 + 1).collect();
        order[100..600].reverse();
        order.swap(3, 990);
        for id in &order {
            assert!(!s.node(K::Number, *id, 16));
        }
        assert!(!s.node(K::Number, 5, 16)); // a second node with id 5: added
        let d = s.finish();
        assert_eq!((d.allocated_nodes, d.freed_nodes), (1, 0));
    }
}
