//! memwatch's Node addon: thin Node-API bindings over `memwatch-core`.
//!
//! - `v8`: the V8 C++ functions node exports, resolved with dlsym.
//! - `hooks`: what runs inside V8's GC callbacks (numbers only).
//! - `notify`: wakes the JS thread after a GC (threadsafe function).
//! - `snapshot`: V8's live heap snapshot -> the core's `HeapGraph`.
//! - `analysis`: `.heapsnapshot` files/streams analyzed off the JS thread (CLI, analyzeSnapshot).
//! - `graphs`: graphs held for open HeapDiffs, and diffs in memwatch's shape.
//! - `sites`: the sampling heap profiler (leak sites) and its site tracker.
//! - `watcher`/`convert`: the JS-facing classes and value conversion.
//! - `errors`: errors with a `code`, and the panic guard every export runs in.

// Under `cargo test` napi-rs registers no exports, so everything reached only
// from JS reads as dead code there; the unit tests cover the symbol table.
#![cfg_attr(test, allow(dead_code))]

#[macro_use]
extern crate napi_derive;

mod analysis;
mod convert;
mod errors;
mod graphs;
mod hooks;
mod notify;
mod sites;
mod snapshot;
mod v8;
mod watcher;
