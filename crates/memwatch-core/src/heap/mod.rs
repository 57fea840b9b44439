//! The heap graph engine: V8 heap snapshots as flat columns, and the
//! analyses memwatch runs over them (class groups, dominators and retained
//! sizes, retainer paths, diffs, leak candidates).
//!
//! Pure Rust, no V8 or Node: a graph comes either from a `.heapsnapshot`
//! stream ([`parse_heap_snapshot`]) or from a caller walking V8's live
//! snapshot ([`GraphBuilder`]). Every graph is validated once, so the
//! analyses index it without checks and never panic on what a file said.
//!
//! Files, one job each: `graph` (columns), `kinds`, `strings`, `builder`
//! (building + validation), `lexer` (incremental JSON), `parse`, `error`,
//! `dominators` (Semi-NCA + retained sizes), `toplevel` (retained size of a
//! set), `classes` (naming + Summary groups), `paths` (BFS paths, printing),
//! `retainers` (reverse CSR), `ids` (matching by object id), `diff`, `leaks`.
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
mod dominators;
mod error;
mod graph;
mod ids;
mod kinds;
mod leaks;
mod lexer;
mod parse;
#[cfg(test)]
mod parse_tests;
mod paths;
mod retainers;
mod strings;
#[cfg(test)]
mod testutil;
mod toplevel;

pub use builder::{GraphBuilder, GraphError};
pub use classes::{class_groups, class_groups_with, class_name, memwatch_class, ClassGroup};
pub use diff::{
    added_samples, added_samples_named, diff, diff_named, diff_with, ClassChange, DiffNames,
    DiffTotals, GraphDiff,
};
pub use dominators::{dominators, dominators_with_rules, Dominators, RetainRules};
pub use error::ParseError;
pub use graph::{HeapGraph, NONE};
pub use kinds::{EdgeKind, NodeKind};
pub use leaks::{leak_candidates, leak_candidates_with, LeakGroup};
pub use parse::{parse_heap_snapshot, parse_heap_snapshot_with_progress};
pub use paths::{edge_accessor, format_path, node_label, PathStep, RetainerPath, RootPaths};
pub use retainers::{shortest_retainer_path, Retainers};
pub use strings::StringTable;
