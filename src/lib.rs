//! memwatch's Node addon: thin Node-API bindings over `memwatch-core`.
//!
//! - `v8`: the V8 C++ functions node exports, resolved with dlsym.
//! - `hooks`: what runs inside V8's GC callbacks (numbers only).
//! - `notify`: wakes the JS thread after a GC (threadsafe function).
//! - `watcher`/`convert`: the JS-facing classes and value conversion.

#[macro_use]
extern crate napi_derive;

mod convert;
mod hooks;
mod notify;
mod v8;
mod watcher;
