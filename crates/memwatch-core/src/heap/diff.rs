//! What changed between two snapshots of one process, per class, matched by
//! object id: the numbers behind memwatch's `HeapDiff`.
//!
//! Classes use memwatch's names ([`memwatch_class`](crate::heap::memwatch_class)); hidden, synthetic and
//! object-shape nodes are left out of every count and total.

use super::classes::{
    engine_apart_source, memwatch_source, name_by, ClassIndex, ClassSource, Classifier,
};
use super::dominators::{dominators, Dominators};
use super::graph::{HeapGraph, NONE};
use super::ids::{merge_unmatched, sorted_id_pairs, Side};
use super::kinds::NodeKind;
use super::toplevel::top_level_retained;

/// Node count and total self size of one snapshot (classified nodes only):
/// memwatch's `before` / `after` (`nodes`, `size_bytes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffTotals {
    pub nodes: u64,
    pub size_bytes: u64,
}

/// One class's change: a row of memwatch's `change.details`
/// (`what`, `size_bytes`, `size`, `+`, `-`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassChange {
    pub what: String,
    /// Nodes of this class only in the later snapshot (`+`).
    pub added: u64,
    /// Nodes of this class only in the earlier snapshot (`-`).
    pub deleted: u64,
    pub size_added: u64,
    pub size_deleted: u64,
    /// Retained size (in the later snapshot) of the added nodes of this class
    /// that no other added node of this class dominates.
    pub retained_added: u64,
}

impl ClassChange {
    /// `size_added - size_deleted`: memwatch's `size_bytes` (`size` is its
    /// human-readable form, see [`crate::format::nice_size`]).
    pub fn size_bytes(&self) -> i64 {
        let net = i128::from(self.size_added) - i128::from(self.size_deleted);
        net.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// The whole diff; `details` holds only classes with additions or deletions,
/// sorted by name (as memwatch's map of classes was).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphDiff {
    pub before: DiffTotals,
    pub after: DiffTotals,
    /// Classified nodes only in `after` / only in `before`.
    pub allocated_nodes: u64,
    pub freed_nodes: u64,
    pub details: Vec<ClassChange>,
}

/// How a diff names classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiffNames {
    /// memwatch's `what` ([`memwatch_class`](crate::heap::memwatch_class)).
    #[default]
    Memwatch,
    /// The same, except V8's compiled code is `(compiled code)` and heap
    /// numbers are `(number)`, so a user's class named `Code` or `Number`
    /// is not mixed with them.
    EngineApart,
}

impl DiffNames {
    fn source(self) -> fn(NodeKind) -> ClassSource {
        match self {
            DiffNames::Memwatch => memwatch_source,
            DiffNames::EngineApart => engine_apart_source,
        }
    }
}

/// Diffs two snapshots of one process (computes `after`'s dominators).
pub fn diff(before: &HeapGraph, after: &HeapGraph) -> GraphDiff {
    diff_with(before, after, &dominators(after))
}

/// Diffs two snapshots, given the dominators of `after`. O(n log n): ids
/// are sorted once per graph and merged.
///
/// `after_dom` should come from [`dominators`](crate::heap::dominators) or
/// [`dominators_with_rules`](crate::heap::dominators_with_rules) on the
/// same graph (pick [`RetainRules::DevTools`](crate::heap::RetainRules::DevTools) for DevTools' numbers); if its
/// node count does not match, it is recomputed with the basic rules.
pub fn diff_with(before: &HeapGraph, after: &HeapGraph, after_dom: &Dominators) -> GraphDiff {
    diff_named(before, after, after_dom, DiffNames::Memwatch)
}

/// [`diff_with`], naming classes by `names`.
pub fn diff_named(
    before: &HeapGraph,
    after: &HeapGraph,
    after_dom: &Dominators,
    names: DiffNames,
) -> GraphDiff {
    let own;
    let after_dom = if after_dom.fits(after) {
        after_dom
    } else {
        own = dominators(after);
        &own
    };
    let mut index = ClassIndex::default();
    let mut classes_before = Classifier::new(before, names.source());
    let mut classes_after = Classifier::new(after, names.source());
    let mut out = GraphDiff {
        before: totals(before, &mut classes_before, &mut index),
        after: totals(after, &mut classes_after, &mut index),
        ..GraphDiff::default()
    };
    // `totals` classified every node of both graphs, so every class has its
    // id already and the rows can be sized once.
    let mut rows = vec![ClassChange::default(); index.len()];
    let mut added_group = vec![NONE; after.node_count()];
    let pairs_before = sorted_id_pairs(before);
    let pairs_after = sorted_id_pairs(after);
    merge_unmatched(&pairs_before, &pairs_after, |side| match side {
        Side::Before(node) => {
            if let Some(r) = classes_before
                .class_of(&mut index, node)
                .and_then(|id| rows.get_mut(id as usize))
            {
                r.deleted += 1;
                r.size_deleted = r.size_deleted.saturating_add(before.self_size(node));
            }
        }
        Side::After(node) => {
            if let Some(id) = classes_after.class_of(&mut index, node) {
                if let Some(r) = rows.get_mut(id as usize) {
                    r.added += 1;
                    r.size_added = r.size_added.saturating_add(after.self_size(node));
                    added_group[node as usize] = id;
                }
            }
        }
    });
    drop((pairs_before, pairs_after));
    // Per class, like DevTools' class totals: an added object counts unless an
    // added object of the same class retains it. (Attributing to the top-most
    // added object of any class credited a leak's objects to the new backing
    // array that happened to hold them, and the leaking class got 0.)
    let retained = top_level_retained(after_dom, &added_group, index.len());
    for (id, (row, size)) in rows.iter_mut().zip(retained).enumerate() {
        row.what = index.names[id].clone();
        row.retained_added = size;
    }
    out.allocated_nodes = rows.iter().map(|r| r.added).sum();
    out.freed_nodes = rows.iter().map(|r| r.deleted).sum();
    rows.retain(|r| r.added > 0 || r.deleted > 0);
    rows.sort_by(|a, b| a.what.cmp(&b.what));
    out.details = rows;
    out
}

/// Up to `k` nodes of `after` per class in `classes` (memwatch names) whose
/// id is not in `before`: the sample objects HeapDiff's `examples` explain.
/// Returned in the order of `classes`, each list in increasing id order (the
/// oldest allocations first).
pub fn added_samples(
    before: &HeapGraph,
    after: &HeapGraph,
    classes: &[&str],
    k: usize,
) -> Vec<Vec<u32>> {
    added_samples_named(before, after, classes, k, DiffNames::Memwatch)
}

/// [`added_samples`], with classes named by `names`.
pub fn added_samples_named(
    before: &HeapGraph,
    after: &HeapGraph,
    classes: &[&str],
    k: usize,
    names: DiffNames,
) -> Vec<Vec<u32>> {
    let source = names.source();
    let mut out = vec![Vec::new(); classes.len()];
    if k == 0 || classes.is_empty() {
        return out;
    }
    let pairs_before = sorted_id_pairs(before);
    let pairs_after = sorted_id_pairs(after);
    let mut remaining = classes.len();
    merge_unmatched(&pairs_before, &pairs_after, |side| {
        let Side::After(node) = side else { return };
        if remaining == 0 {
            return;
        }
        let Some(what) = name_by(source(after.node_kind(node)), after, node) else {
            return;
        };
        if let Some(i) = classes.iter().position(|c| *c == what) {
            if out[i].len() < k {
                out[i].push(node);
                if out[i].len() == k {
                    remaining -= 1;
                }
            }
        }
    });
    out
}

fn totals(graph: &HeapGraph, classes: &mut Classifier<'_>, index: &mut ClassIndex) -> DiffTotals {
    let mut t = DiffTotals::default();
    for node in 0..graph.node_count() as u32 {
        if classes.class_of(index, node).is_some() {
            t.nodes += 1;
            t.size_bytes = t.size_bytes.saturating_add(graph.self_size(node));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    #[test]
    fn samples_are_added_nodes_of_the_asked_classes() {
        let before = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Foo", 10).with_id(11),
            ],
            &[],
        );
        let after = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Foo", 10).with_id(11),
                Spec::node(K::Object, "Foo", 10).with_id(21),
                Spec::node(K::Object, "Bar", 10).with_id(23),
                Spec::node(K::Object, "Foo", 10).with_id(25),
                Spec::node(K::Object, "Foo", 10).with_id(27),
            ],
            &[],
        );
        let s = added_samples(&before, &after, &["Foo", "Baz", "Bar"], 2);
        // Node 1 (id 11) existed before; ids 21 and 25 are the first added Foos.
        assert_eq!(s, vec![vec![2, 4], vec![], vec![3]]);
        assert_eq!(
            added_samples(&before, &after, &["Foo"], 0),
            vec![Vec::<u32>::new()]
        );
    }

    #[test]
    fn counts_added_and_deleted_by_class() {
        let before = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Foo", 10).with_id(11),
                Spec::node(K::Object, "Foo", 10).with_id(13),
                Spec::node(K::String, "s", 5).with_id(15),
                Spec::node(K::Hidden, "system", 7).with_id(17),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 2),
                (0, E::Element, "3", 3),
            ],
        );
        // Foo 13 and the string died; a Bar holding two new Foos and a new
        // array appeared; the hidden node was replaced (not counted).
        let after = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Foo", 10).with_id(11),
                Spec::node(K::Object, "Bar", 20).with_id(21),
                Spec::node(K::Object, "Foo", 30).with_id(23),
                Spec::node(K::Object, "Foo", 40).with_id(25),
                Spec::node(K::Array, "", 8).with_id(27),
                Spec::node(K::Hidden, "system", 7).with_id(29),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 2),
                (2, E::Property, "a", 3),
                (2, E::Property, "b", 4),
                (4, E::Property, "items", 5),
                (1, E::Property, "items", 5),
            ],
        );
        let d = diff(&before, &after);
        assert_eq!(
            d.before,
            DiffTotals {
                nodes: 3,
                size_bytes: 25
            }
        );
        assert_eq!(
            d.after,
            DiffTotals {
                nodes: 5,
                size_bytes: 108
            }
        );
        assert_eq!((d.allocated_nodes, d.freed_nodes), (4, 2));
        let whats: Vec<&str> = d.details.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(whats, ["Array", "Bar", "Foo", "String"]);
        let foo = &d.details[2];
        assert_eq!(
            (foo.added, foo.deleted, foo.size_added, foo.size_deleted),
            (2, 1, 70, 10)
        );
        assert_eq!(foo.size_bytes(), 60);
        // Both new Foos sit under the new Bar: Bar's retained covers them, and
        // they still count for their own class (no other Foo retains them).
        assert_eq!(foo.retained_added, 30 + 40);
        assert_eq!(d.details[1].retained_added, 20 + 30 + 40);
        // The array is shared with the old Foo: dominated by the root only.
        assert_eq!(d.details[0].retained_added, 8);
        assert_eq!(d.details[3].size_bytes(), -5);
    }

    #[test]
    fn engine_apart_names_keep_a_user_class_named_code_apart() {
        let before = graph(&[Spec::node(K::Synthetic, "", 0).with_id(1)], &[]);
        let after = graph(
            &[
                Spec::node(K::Synthetic, "", 0).with_id(1),
                Spec::node(K::Object, "Code", 24).with_id(3),
                Spec::node(K::Code, "bytecode", 100).with_id(5),
                Spec::node(K::Number, "heap number", 16).with_id(7),
                Spec::node(K::Object, "Number", 24).with_id(9),
            ],
            &[],
        );
        let rows = |names| {
            let d = diff_named(&before, &after, &dominators(&after), names);
            d.details
                .iter()
                .map(|r| (r.what.clone(), r.added))
                .collect::<Vec<_>>()
        };
        // memwatch's schema merges them, as memwatch 0.2 did.
        assert_eq!(
            rows(DiffNames::Memwatch),
            [("Code".to_string(), 2), ("Number".to_string(), 2)]
        );
        assert_eq!(
            rows(DiffNames::EngineApart),
            [
                ("(compiled code)".to_string(), 1),
                ("(number)".to_string(), 1),
                ("Code".to_string(), 1),
                ("Number".to_string(), 1)
            ]
        );
        let s = added_samples_named(
            &before,
            &after,
            &["Code", "(compiled code)"],
            5,
            DiffNames::EngineApart,
        );
        assert_eq!(s, vec![vec![1], vec![2]]);
    }

    #[test]
    fn identical_graphs_have_no_details() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "Foo", 10),
            ],
            &[(0, E::Element, "1", 1)],
        );
        let d = diff(&g, &g);
        assert!(d.details.is_empty());
        assert_eq!(d.before, d.after);
    }
}
