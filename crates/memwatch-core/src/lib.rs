//! memwatch's engine, in plain Rust: no Node, no V8, testable with `cargo test`.
//!
//! - [`stats`]: memwatch 0.2's `stats`/`leak` arithmetic over full-GC samples.
//! - [`format`]: the size and duration strings memwatch printed.
//! - [`queue`]: the allocation-free queue between the GC callback and JS.
//! - [`layout`]: V8 struct layouts the binding relies on, per V8 major.

pub mod format;
pub mod layout;
pub mod queue;
pub mod stats;
