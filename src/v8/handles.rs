//! What the snapshot walk and the sampling-profile walk share: a Node-API
//! handle scope for the `Local`s V8 hands back, and V8's string-to-UTF-8
//! writer in whichever overload this V8 exports.
//!
//! - `int String::WriteUtf8(Isolate*, char*, int length, int* nchars, int options) const`
//!   (gone in V8 14.6, Node 26).
//! - `size_t String::WriteUtf8V2(Isolate*, char*, size_t capacity, int flags, size_t* processed) const`
//!   (from Node 24).

use super::symbols::Sym;
use super::{BindingError, Isolate, Runtime};
use memwatch_core::layout::Utf8Writer;
use napi::sys;
use std::ffi::{c_char, c_int};

/// The target of a `Local<T>`: `Local<T>` is a pointer to this. A
/// `napi_value` is the same pointer (Node converts between them by cast).
#[repr(C)]
pub struct LocalTarget {
    _private: [u8; 0],
}
pub type Local = *const LocalTarget;

/// `String::WriteOptions` (old): NO_NULL_TERMINATION | REPLACE_INVALID_UTF8.
pub const WRITE_UTF8_OPTIONS: c_int = 2 | 8;
/// `String::WriteFlags` (V2): kReplaceInvalidUtf8; no terminator by default.
pub const WRITE_UTF8_V2_FLAGS: c_int = 2;

type WriteUtf8Fn =
    unsafe extern "C" fn(Local, *mut Isolate, *mut c_char, c_int, *mut c_int, c_int) -> c_int;
type WriteUtf8V2Fn =
    unsafe extern "C" fn(Local, *mut Isolate, *mut c_char, usize, c_int, *mut usize) -> usize;

/// V8's UTF-8 writer, in the overload this V8 has.
#[derive(Clone, Copy)]
pub enum Utf8 {
    Legacy(WriteUtf8Fn),
    V2(WriteUtf8V2Fn),
}

impl Utf8 {
    /// A verified row names its overload; for a newer V8 the one node
    /// exports is taken (the start-up canaries check that it reads right).
    pub fn resolve(runtime: &Runtime) -> Result<Self, BindingError> {
        let writer = if runtime.verified {
            runtime.profile.utf8
        } else if super::symbols::lookup(Sym::WriteUtf8V2).is_some() {
            Utf8Writer::WriteUtf8V2
        } else {
            Utf8Writer::WriteUtf8
        };
        Ok(match writer {
            Utf8Writer::WriteUtf8 => Utf8::Legacy(resolve_fn!(Sym::WriteUtf8, WriteUtf8Fn)),
            Utf8Writer::WriteUtf8V2 => Utf8::V2(resolve_fn!(Sym::WriteUtf8V2, WriteUtf8V2Fn)),
        })
    }

    /// The string `local` as UTF-8 in `buf`, cut at `buf`'s length; "" for
    /// a null handle.
    ///
    /// # Safety
    /// On `isolate`'s thread, inside a handle scope that holds `local`.
    pub unsafe fn write(self, isolate: *mut Isolate, local: Local, buf: &mut [u8]) -> &str {
        if local.is_null() {
            return "";
        }
        let written = match self {
            Utf8::Legacy(f) => f(
                local,
                isolate,
                buf.as_mut_ptr() as *mut c_char,
                buf.len() as c_int,
                std::ptr::null_mut(),
                WRITE_UTF8_OPTIONS,
            )
            .max(0) as usize,
            Utf8::V2(f) => f(
                local,
                isolate,
                buf.as_mut_ptr() as *mut c_char,
                buf.len(),
                WRITE_UTF8_V2_FLAGS,
                std::ptr::null_mut(),
            ),
        }
        .min(buf.len());
        // Replacing invalid UTF-8 makes this valid, but a cut in the middle
        // of a character (the buffer was too short) must not become a panic.
        match std::str::from_utf8(&buf[..written]) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

/// A Node-API handle scope (a real V8 HandleScope on the current isolate),
/// closed on drop.
pub struct Scope {
    env: sys::napi_env,
    scope: sys::napi_handle_scope,
}

impl Scope {
    /// # Safety
    /// `env` is the current Node-API environment, on its thread.
    pub unsafe fn open(env: sys::napi_env) -> Option<Self> {
        let mut scope = std::ptr::null_mut();
        (sys::napi_open_handle_scope(env, &mut scope) == sys::Status::napi_ok)
            .then_some(Self { env, scope })
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once; callers keep scopes nested
        // (one of theirs open at a time, dropped in reverse order).
        unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
    }
}
