//! "Retained size of a set": the sum over members that no other member
//! dominates, so nothing is counted twice.
//!
//! Why a walk of the dominator tree: a member's retained size already
//! includes every node below it, so a member under another member of the
//! same group must be skipped. DevTools' class totals do
//! exactly this with per-class "seen on the current path" flags during a
//! depth-first walk of the dominator tree; this is the same walk, iterative.

use super::dominators::Dominators;
use super::graph::NONE;

/// `group_of[node]` is the node's group, or `NONE` if not a member. Returns
/// per group the summed retained sizes of its top-most members (those no
/// other member of the same group dominates: DevTools' class totals).
pub(crate) fn top_level_retained(
    dom: &Dominators,
    group_of: &[u32],
    group_count: usize,
) -> Vec<u64> {
    let n = group_of.len();
    let idom = dom.idoms();
    let retained = dom.retained_sizes();
    let root = dom.root() as usize;
    let mut sums = vec![0u64; group_count];

    // Children of each node in the dominator tree, as CSR.
    let mut start = vec![0u32; n + 1];
    for (v, &d) in idom.iter().enumerate() {
        if d != NONE && v != root {
            start[d as usize + 1] += 1;
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut cursor = start[..n].to_vec();
    let mut children = vec![0u32; start[n] as usize];
    for (v, &d) in idom.iter().enumerate() {
        if d != NONE && v != root {
            children[cursor[d as usize] as usize] = v as u32;
            cursor[d as usize] += 1;
        }
    }
    drop(cursor);

    // Members on the current root-to-node path, per group.
    let mut active = vec![0u32; group_count];
    let mut enter = |v: u32, active: &mut Vec<u32>| {
        let g = group_of[v as usize];
        if g == NONE {
            return;
        }
        if active[g as usize] == 0 {
            sums[g as usize] = sums[g as usize].saturating_add(retained[v as usize]);
        }
        active[g as usize] += 1;
    };

    if root < n {
        enter(root as u32, &mut active);
        let mut stack: Vec<(u32, u32)> = vec![(root as u32, start[root])];
        while let Some(top) = stack.last_mut() {
            let v = top.0;
            if top.1 < start[v as usize + 1] {
                let child = children[top.1 as usize];
                top.1 += 1;
                enter(child, &mut active);
                stack.push((child, start[child as usize]));
            } else {
                stack.pop();
                let g = group_of[v as usize];
                if g != NONE {
                    active[g as usize] -= 1;
                }
            }
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::dominators::dominators;
    use crate::heap::testutil::{graph, Spec};
    use crate::heap::{EdgeKind as E, NodeKind as K};

    #[test]
    fn nested_members_are_counted_once() {
        // root -> a(g0) -> b(g0) -> c(g1) ; root -> d(g1) ; e(g0) unreachable
        let g = graph(
            &[
                Spec::node(K::Synthetic, "", 0),
                Spec::node(K::Object, "a", 1),
                Spec::node(K::Object, "b", 2),
                Spec::node(K::Object, "c", 4),
                Spec::node(K::Object, "d", 8),
                Spec::node(K::Object, "e", 16),
            ],
            &[
                (0, E::Element, "1", 1),
                (0, E::Element, "2", 4),
                (1, E::Property, "b", 2),
                (2, E::Property, "c", 3),
            ],
        );
        let d = dominators(&g);
        let groups = [NONE, 0, 0, 1, 1, 0];
        assert_eq!(top_level_retained(&d, &groups, 2), vec![7 + 16, 4 + 8]);
    }
}
