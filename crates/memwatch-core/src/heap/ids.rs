//! Matching nodes across snapshots by V8's object id.
//!
//! Why sorting rather than a hash map: a sorted `Vec<u32>` is 4 bytes a node,
//! sorts in well under a second for millions of nodes, and membership tests
//! are binary searches. (HeapDiff's matching is in `diffbase`.)

use super::graph::HeapGraph;

/// The distinct ids of a graph, sorted, for membership tests.
pub(crate) fn sorted_ids(graph: &HeapGraph) -> Vec<u32> {
    let mut ids = graph.node_ids().to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}
