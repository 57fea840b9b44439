//! The heap graph engine: V8 heap snapshots as flat columns, and the
//! analyses memwatch runs over them (class groups, dominators and retained
//! sizes, retainer paths, diffs, leak candidates).
//!
//! Pure Rust, no V8 or Node: a graph comes either from a `.heapsnapshot`
//! stream ([`parse_heap_snapshot`]) or from a caller walking V8's live
//! snapshot ([`GraphBuilder`]). Every graph is validated once, so the
//! analyses index it without checks and never panic on what a file said.
//!
//! The analyses follow Chrome DevTools' heap snapshot code (`HeapSnapshot.ts`)
//! rule for rule: which edges retain (weak, shortcut, page-owned, WeakMap
//! ephemerons), owned-size attribution, class names and keys, distances.
//! `__test__/once/devtools.test.js` runs DevTools' own code on the same
//! snapshots and compares.
//!
//! Files, one job each: `graph` (columns), `kinds`, `strings`, `builder`
//! (building + validation), `lexer` (incremental JSON), `parse`, `error`,
//! `weakmap` (ephemeron edge names), `essential` (edges that retain),
//! `owned` (owned-size attribution), `dominators` (Semi-NCA + retained
//! sizes), `toplevel` (retained size of a set), `names` (display names),
//! `interfaces` (`{a, b}` classes), `classes` (naming + Summary groups),
//! `paths` (distances, path printing), `retainers` (reverse CSR), `ids`
//! (matching by object id), `diff`, `leaks`.
//!
//! ```
//! use memwatch_core::heap::*;
//!
//! let mut b = GraphBuilder::new();
//! let (empty, global, foo, cache) = (b.intern(""), b.intern("global"), b.intern("Foo"), b.intern("cache"));
//! b.add_node(NodeKind::Synthetic, empty, 1, 0, 1); // node 0: the root
//! b.add_node(NodeKind::Object, global, 3, 16, 1);
//! b.add_node(NodeKind::Object, foo, 5, 64, 0);
//! b.add_edge(EdgeKind::Shortcut, global, 1); // root -> global
//! b.add_edge(EdgeKind::Property, cache, 2); // global.cache -> Foo
//! let g = b.finish()?;
//!
//! let dom = dominators(&g);
//! assert_eq!(dom.retained_size(1), 80);
//! assert_eq!(dom.immediate_dominator(2), Some(1));
//! let path = RootPaths::compute(&g).path_to(&g, 2).expect("reachable");
//! assert_eq!(format_path(&g, &path), "(GC roots) → global.cache (property) → Foo @5");
//! assert_eq!(class_groups_with(&g, &dom)[0].name, "global");
//! # Ok::<(), GraphError>(())
//! ```

#[cfg(test)]
mod bench_tests;
mod builder;
mod classes;
mod diff;
mod diffbase;
mod dominators;
mod error;
mod essential;
mod graph;
mod ids;
mod interfaces;
mod kinds;
mod leaks;
mod lexer;
mod names;
mod owned;
mod parse;
#[cfg(test)]
mod parse_tests;
mod paths;
mod retainers;
mod strings;
#[cfg(test)]
mod testutil;
mod toplevel;
mod weakmap;

pub use builder::{GraphBuilder, GraphError};
pub use classes::{
    class_groups, class_groups_with, memwatch_class, ClassGroup, ClassInfo, Classes,
};
pub use diff::{
    added_nodes, added_samples, added_samples_named, diff, diff_counts, diff_named, diff_with,
    ClassChange, DiffNames, DiffTotals, GraphDiff,
};
pub use diffbase::{DiffBase, DiffBaseBuilder, StreamDiff};
pub use dominators::{dominators, dominators_with_rules, Dominators, RetainRules};
pub use error::ParseError;
pub use graph::{HeapGraph, Location, MAX_EDGES, MAX_NODES, NONE};
pub use kinds::{EdgeKind, NodeKind};
pub use leaks::{leak_candidates, leak_candidates_with, LeakGroup};
pub use names::display_name;
pub(crate) use names::push_json_quoted;
pub use parse::{parse_heap_snapshot, parse_heap_snapshot_with_progress};
pub use paths::{
    edge_accessor, format_path, node_label, PathFormatter, PathStep, RetainerPath, RootPaths,
    DEFAULT_PATH_STEPS,
};
pub use retainers::{shortest_retainer_path, Retainers};
pub use strings::StringTable;
