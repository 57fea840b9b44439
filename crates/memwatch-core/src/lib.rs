//! memwatch's engine, in plain Rust: no Node, no V8, testable with `cargo test`.
//!
//! - [`stats`]: memwatch 0.2's `stats`/`leak` arithmetic over full-GC samples.
//! - [`format`]: the size and duration strings memwatch printed.
//! - [`queue`]: the allocation-free queue between the GC callback and JS.
//! - [`layout`]: V8 struct layouts the binding relies on, per V8 major.
//! - [`sites`]: allocation sites from V8's sampling heap profiler: growth
//!   per site over a leak's window, stacks, `.heapprofile` output.
//! - [`heap`]: heap snapshots as flat graphs: streaming parser, dominators,
//!   retained sizes, retainer paths, diffs and leak candidates.

pub mod format;
pub mod heap;
pub mod layout;
pub mod queue;
pub mod sites;
pub mod stats;
