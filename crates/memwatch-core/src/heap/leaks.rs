//! memlab-style leak candidates from three snapshots: taken before an action
//! (baseline), after it (target), and after undoing it (final). Objects
//! allocated by the action (in target, not in baseline) that survive the
//! undo (still in final) are what leaked.

use super::classes::Classes;
use super::dominators::{dominators, Dominators};
use super::graph::{HeapGraph, Location, NONE};
use super::ids::sorted_ids;
use super::kinds::NodeKind;
use super::paths::{RetainerPath, RootPaths};
use super::toplevel::top_level_retained;

/// Leaked objects of one class (DevTools naming), in the final snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakGroup {
    pub name: String,
    /// Where the class's constructor is, for objects (see [`Classes`]).
    pub location: Option<Location>,
    pub count: u64,
    pub self_size: u64,
    /// Retained sizes of the group's leaked nodes that no other leaked node of
    /// the group dominates.
    pub retained_size: u64,
    /// The group's node with the largest retained size.
    pub sample: u32,
    /// The shortest retainer path of `sample` in the final snapshot.
    pub path: Option<RetainerPath>,
}

/// Leak candidates (computes the final snapshot's dominators).
pub fn leak_candidates(
    baseline: &HeapGraph,
    target: &HeapGraph,
    last: &HeapGraph,
) -> Vec<LeakGroup> {
    leak_candidates_with(baseline, target, last, &dominators(last))
}

/// Leak candidates, given the dominators of the final snapshot `last`.
///
/// A node of `last` is a candidate when its id is in `target` and not in
/// `baseline`, it is reachable from the root (unreachable ones are garbage
/// waiting for a GC), it is not an engine internal (hidden, synthetic, code,
/// object shape), and DevTools would count it (a non-zero self size, as
/// `last_dom` counts sizes). Classes are DevTools' ([`Classes::devtools`]).
/// Groups come sorted by retained size, then count (descending), then name.
///
/// `last_dom` should come from [`dominators`](crate::heap::dominators) (or
/// [`dominators_with_rules`](crate::heap::dominators_with_rules)) on the
/// same graph; if it does not fit, it is recomputed with DevTools' rules.
pub fn leak_candidates_with(
    baseline: &HeapGraph,
    target: &HeapGraph,
    last: &HeapGraph,
    last_dom: &Dominators,
) -> Vec<LeakGroup> {
    let own;
    let last_dom = if last_dom.fits(last) {
        last_dom
    } else {
        own = dominators(last);
        &own
    };
    let before = sorted_ids(baseline);
    let during = sorted_ids(target);
    let (mut group_of, infos) = Classes::devtools(last).into_parts();
    let mut any = false;
    for (node, g) in group_of.iter_mut().enumerate() {
        let node = node as u32;
        let id = last.node_id(node);
        let candidate = during.binary_search(&id).is_ok()
            && before.binary_search(&id).is_err()
            && last_dom.is_reachable(node)
            && !matches!(
                last.node_kind(node),
                NodeKind::Hidden | NodeKind::Synthetic | NodeKind::Code | NodeKind::ObjectShape
            )
            && last_dom.self_size(last, node) > 0;
        if candidate {
            any = true;
        } else {
            *g = NONE;
        }
    }
    drop((before, during));
    if !any {
        return Vec::new();
    }
    let mut groups: Vec<LeakGroup> = infos
        .into_iter()
        .map(|info| LeakGroup {
            name: info.name,
            location: info.location,
            count: 0,
            self_size: 0,
            retained_size: 0,
            sample: NONE,
            path: None,
        })
        .collect();
    for (node, &g) in group_of.iter().enumerate() {
        let Some(group) = groups.get_mut(g as usize) else {
            continue;
        };
        let node = node as u32;
        group.count += 1;
        group.self_size = group
            .self_size
            .saturating_add(last_dom.self_size(last, node));
        if group.sample == NONE
            || last_dom.retained_size(node) > last_dom.retained_size(group.sample)
        {
            group.sample = node;
        }
    }
    let retained = top_level_retained(last_dom, &group_of, groups.len());
    for (group, size) in groups.iter_mut().zip(retained) {
        group.retained_size = size;
    }
    groups.retain(|g| g.count > 0);
    let paths = RootPaths::compute(last);
    for group in &mut groups {
        group.path = paths.path_to(last, group.sample);
    }
    groups.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.name.cmp(&b.name))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::paths::format_path;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    #[test]
    fn finds_what_the_action_left_behind() {
        let root = || Spec::node(K::Synthetic, "", 0).with_id(1);
        let global = || Spec::node(K::Object, "global", 50).with_id(3);
        let baseline = graph(&[root(), global()], &[(0, E::Shortcut, "global", 1)]);
        // The action allocated a cache with two entries, a temp and a string.
        let target = graph(
            &[
                root(),
                global(),
                Spec::node(K::Object, "Cache", 10).with_id(101),
                Spec::node(K::Object, "Entry", 20).with_id(103),
                Spec::node(K::Object, "Entry", 20).with_id(105),
                Spec::node(K::Object, "Temp", 5).with_id(107),
                Spec::node(K::String, "key", 8).with_id(109),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (1, E::Property, "cache", 2),
                (1, E::Property, "tmp", 5),
                (2, E::Element, "0", 3),
                (2, E::Element, "1", 4),
                (3, E::Property, "key", 6),
            ],
        );
        // Undo dropped the temp and the string; the cache and its entries
        // stay, plus an object allocated after the target snapshot (ignored),
        // and one entry now also held from a weak map (weak: no effect).
        let last = graph(
            &[
                root(),
                global(),
                Spec::node(K::Object, "Cache", 10).with_id(101),
                Spec::node(K::Object, "Entry", 20).with_id(103),
                Spec::node(K::Object, "Entry", 20).with_id(105),
                Spec::node(K::Object, "Later", 7).with_id(201),
            ],
            &[
                (0, E::Shortcut, "global", 1),
                (1, E::Property, "cache", 2),
                (1, E::Property, "later", 5),
                (1, E::Weak, "weakRef", 4),
                (2, E::Element, "0", 3),
                (2, E::Element, "1", 4),
            ],
        );
        let leaks = leak_candidates(&baseline, &target, &last);
        let rows: Vec<(&str, u64, u64, u64)> = leaks
            .iter()
            .map(|g| (g.name.as_str(), g.count, g.self_size, g.retained_size))
            .collect();
        assert_eq!(rows, [("Cache", 1, 10, 50), ("Entry", 2, 40, 40)]);
        let cache = &leaks[0];
        assert_eq!(cache.sample, 2);
        let path = cache.path.as_ref().expect("reachable");
        assert_eq!(
            format_path(&last, path),
            "(GC roots) → global.cache (property) → Cache @101"
        );
        let entry = &leaks[1];
        assert_eq!(
            format_path(&last, entry.path.as_ref().expect("reachable")),
            "(GC roots) → global.cache (property) → Cache[0] (element) → Entry @103"
        );
    }

    #[test]
    fn nothing_new_means_no_candidates() {
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "A", 1),
            ],
            &[(0, E::Element, "1", 1)],
        );
        assert!(leak_candidates(&g, &g, &g).is_empty());
    }
}
