//! Errors that reach JS with a `code`, set by napi-rs.
//!
//! napi-rs turns an `Error<S>` into a JS `Error` whose `code` is
//! `S::as_ref()`, so a native error is `Error<Code>` and JS reads
//! `err.code === 'ERR_SNAPSHOT_PARSE'` directly (no message parsing).
//! Every exported function runs its body through [`guard`], which also turns
//! a panic into `ERR_MEMWATCH_INTERNAL` instead of letting it reach the host.

use std::panic::{catch_unwind, AssertUnwindSafe};

/// A Node-style error code (`ERR_…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

pub const INTERNAL: Code = Code("ERR_MEMWATCH_INTERNAL");
pub const NATIVE_UNAVAILABLE: Code = Code("ERR_MEMWATCH_NATIVE_UNAVAILABLE");
pub const INVALID_ARG_TYPE: Code = Code("ERR_INVALID_ARG_TYPE");
pub const HEAPDIFF_ENDED: Code = Code("ERR_HEAPDIFF_ENDED");
pub const SNAPSHOT_READ: Code = Code("ERR_SNAPSHOT_READ");
pub const SNAPSHOT_PARSE: Code = Code("ERR_SNAPSHOT_PARSE");
pub const SNAPSHOT_USED: Code = Code("ERR_SNAPSHOT_USED");
pub const ABORT: Code = Code("ABORT_ERR");

pub type Error = napi::Error<Code>;
pub type Result<T> = std::result::Result<T, Error>;

/// An error with `code` and a one-line message (newlines would break the
/// CLI's one-line reports).
pub fn coded(code: Code, message: impl AsRef<str>) -> Error {
    let one_line = message.as_ref().replace(['\n', '\r'], " ");
    napi::Error::new(code, one_line)
}

/// Node-API calls fail only when the environment is unusable (shutting
/// down, an exception already pending): reported as internal errors.
pub trait OrInternal<T> {
    fn or_internal(self) -> Result<T>;
}

impl<T> OrInternal<T> for napi::Result<T> {
    fn or_internal(self) -> Result<T> {
        self.map_err(|e| coded(INTERNAL, format!("Node-API: {}", e.reason)))
    }
}

/// Runs an exported function's body; a panic becomes `ERR_MEMWATCH_INTERNAL`.
pub fn guard<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(coded(
                INTERNAL,
                format!("memwatch hit an internal error (a bug, please report it): {what}"),
            ))
        }
    }
}
