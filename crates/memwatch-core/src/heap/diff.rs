//! What changed between two snapshots of one process, per class, matched by
//! object id: the numbers behind memwatch's `HeapDiff`.
//!
//! Classes use memwatch's names ([`memwatch_class`](crate::heap::memwatch_class)); hidden, synthetic and
//! object-shape nodes are left out of every count and total.

use super::diffbase::DiffBase;
use super::dominators::{dominators, Dominators};
use super::graph::HeapGraph;

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
    /// is not mixed with them (memwatch.iterate discounts the engine's own).
    EngineApart,
}

/// Diffs two snapshots of one process (computes `after`'s dominators).
pub fn diff(before: &HeapGraph, after: &HeapGraph) -> GraphDiff {
    diff_with(before, after, &dominators(after))
}

/// Diffs two snapshots, given the dominators of `after` (see
/// [`DiffBase`](crate::heap::DiffBase), which does the work).
///
/// `after_dom` should come from [`dominators`](crate::heap::dominators) or
/// [`dominators_with_rules`](crate::heap::dominators_with_rules) on the
/// same graph; if its node count does not match, it is recomputed.
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
    DiffBase::from_graph_named(before, names).diff(after, Some(after_dom))
}

/// Diffs two snapshots by class counts and sizes only: every
/// `retained_added` is 0. What a HeapDiff without `examples` needs, without
/// the cost of dominators (or of edges: the graphs may have none).
pub fn diff_counts(before: &HeapGraph, after: &HeapGraph) -> GraphDiff {
    DiffBase::from_graph(before).diff(after, None)
}

/// The nodes of `after` whose id is not in `before` (counted nodes), in
/// node order: the objects allocated between two snapshots.
pub fn added_nodes(before: &HeapGraph, after: &HeapGraph) -> Vec<u32> {
    DiffBase::from_graph(before).added_nodes(after)
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
    DiffBase::from_graph_named(before, names).added_samples(after, classes, k)
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
