//! Wakes the JS thread after a GC, through a Node-API threadsafe function.
//!
//! Why a threadsafe function although the GC callback runs on the JS thread:
//! no JS may run inside a GC callback, and this is the one Node-API call that
//! only queues work (a mutex, a queue node and `uv_async_send`) and runs the
//! JS callback later from the event loop. The function is unref'd so an idle
//! watcher never keeps a process alive.

use napi::sys;
use std::ffi::c_void;
use std::ptr;

pub struct Notifier {
    tsfn: sys::napi_threadsafe_function,
}

// The handle is only used from the isolate's own thread, but Node documents
// napi_call_threadsafe_function as callable from any thread.
unsafe impl Send for Notifier {}
unsafe impl Sync for Notifier {}

/// Calls the thread-safe function's JS callback with no arguments (shared
/// by the GC notifier and analysis completions).
pub(crate) unsafe extern "C" fn call_js(
    env: sys::napi_env,
    js_callback: sys::napi_value,
    _context: *mut c_void,
    _data: *mut c_void,
) {
    // env/js_callback are null while the environment is being torn down.
    if env.is_null() || js_callback.is_null() {
        return;
    }
    let mut undefined = ptr::null_mut();
    if sys::napi_get_undefined(env, &mut undefined) != sys::Status::napi_ok {
        return;
    }
    // A listener that throws surfaces as an uncaught exception, as with any
    // EventEmitter listener called from the event loop.
    let mut result = ptr::null_mut();
    sys::napi_call_function(env, undefined, js_callback, 0, ptr::null(), &mut result);
}

impl Notifier {
    /// With `keep_alive` false the function is unref'd: a pending wake-up
    /// never keeps the process alive.
    ///
    /// # Safety
    /// `env` and `callback` must be valid for the current call into the addon.
    pub unsafe fn new(
        env: sys::napi_env,
        callback: sys::napi_value,
        keep_alive: bool,
    ) -> napi::Result<Self> {
        let mut name = ptr::null_mut();
        let label = "memwatch.gc";
        check(sys::napi_create_string_utf8(
            env,
            label.as_ptr() as *const _,
            label.len() as isize,
            &mut name,
        ))?;
        let mut tsfn = ptr::null_mut();
        check(sys::napi_create_threadsafe_function(
            env,
            callback,
            ptr::null_mut(),
            name,
            // A small queue is enough: the GC callback only calls when no wake-up
            // is pending, so at most one call is ever queued.
            16,
            1,
            ptr::null_mut(),
            None,
            ptr::null_mut(),
            Some(call_js),
            &mut tsfn,
        ))?;
        if !keep_alive {
            check(sys::napi_unref_threadsafe_function(env, tsfn))?;
        }
        Ok(Self { tsfn })
    }

    /// Queues one call of the JS callback; never blocks and never runs JS.
    /// Returns false if Node refused (queue full or the environment closing).
    pub fn notify(&self) -> bool {
        // SAFETY: the handle stays valid until Node finalizes it at environment
        // teardown, and the GC hooks that call this are removed before that
        // (their cleanup hook is registered after this function was created,
        // so it runs first).
        let status = unsafe {
            sys::napi_call_threadsafe_function(
                self.tsfn,
                ptr::null_mut(),
                sys::ThreadsafeFunctionCallMode::nonblocking,
            )
        };
        status == sys::Status::napi_ok
    }
}

pub fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::from(status),
            format!("Node-API call failed with status {status}"),
        ))
    }
}
