//! The V8 binding: the few V8 C++ functions that the `node` binary exports,
//! resolved at load time (dlsym, or GetProcAddress on Windows), no C++
//! toolchain involved.
//!
//! - `symbols`: every function by its mangled names (Itanium and MSVC).
//! - `memwatch_core::layout`: per V8 version range, the struct layouts read
//!   and the symbol variants called (`V8Profile`), checked against each
//!   version's headers by the test suite.
//! - `heap_stats`: `HeapStatistics` read through a buffer V8 fills.
//! - `handles`: handle scopes and V8's UTF-8 writer, for both walks below.
//! - `profiler`: heap snapshots walked into Rust.
//! - `sampling`: the sampling heap profiler (leak sites), its profile
//!   tree walked into Rust.
//!
//! C++ member functions take `this` as their first argument, and C++ enums
//! (`GCType`, `GCCallbackFlags`) are passed as `int`, on every ABI Node runs
//! on. One difference matters: a member function that returns a class type
//! (`Local<T>`) returns it in a register on Itanium, but through a hidden
//! pointer after `this` on MSVC (see `profiler::call_local`).
//!
//! A V8 newer than every table row (a Node released after this build) uses
//! the newest row only after start-up checks pass (`Runtime::verified`):
//! `HeapStatistics` against `v8.getHeapStatistics()` field by field, the GC
//! callbacks against a full GC, the snapshot walk against a canary object.
//! A failed check selects the fallback; it is never a crash.
//!
//! Never resolved here, on purpose: `Isolate::RequestGarbageCollectionForTesting`
//! aborts the process unless node runs with `--expose-gc`.

/// Resolves `$sym` as a function pointer of type `$ty`, or returns
/// `BindingError::MissingSymbol` from the enclosing function.
macro_rules! resolve_fn {
    ($sym:expr, $ty:ty) => {{
        let p = $crate::v8::symbols::lookup($sym).ok_or_else(|| {
            $crate::v8::BindingError::MissingSymbol(
                $crate::v8::symbols::row($sym)
                    .name()
                    .to_str()
                    .unwrap_or("<non-utf8 symbol>"),
            )
        })?;
        // SAFETY: the symbol's C++ signature was checked against the V8
        // headers (see the type alias); a data pointer and a function pointer
        // have the same representation on every platform Node supports.
        unsafe { std::mem::transmute::<*mut std::ffi::c_void, $ty>(p) }
    }};
}

mod handles;
mod heap_stats;
mod profiler;
mod sampling;
pub mod symbols;

pub use handles::{WRITE_UTF8_OPTIONS, WRITE_UTF8_V2_FLAGS};
pub use heap_stats::HeapStatisticsReader;
pub use profiler::{
    edge_type, node_type, EdgeName, NodeDescription, ProfilerApi, Snapshot, SnapshotSink,
};

pub use sampling::{verify_vtable, SamplingApi, VtableCheck, SAMPLING_NO_FLAGS};

use memwatch_core::layout::{self, ProfileChoice, V8Profile, V8_PROFILES};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;
use symbols::Sym;

/// Opaque `v8::Isolate`.
#[repr(C)]
pub struct Isolate {
    _private: [u8; 0],
}

/// `v8::GCType` values (v8-callbacks.h; checked against the headers by the
/// probe test, and against a real full GC on unverified versions).
pub mod gc_type {
    pub const SCAVENGE: i32 = 1 << 0;
    pub const MINOR_MARK_SWEEP: i32 = 1 << 1;
    pub const MARK_SWEEP_COMPACT: i32 = 1 << 2;
    pub const INCREMENTAL_MARKING: i32 = 1 << 3;
    pub const PROCESS_WEAK_CALLBACKS: i32 = 1 << 4;
    pub const ALL: i32 = SCAVENGE
        | MINOR_MARK_SWEEP
        | MARK_SWEEP_COMPACT
        | INCREMENTAL_MARKING
        | PROCESS_WEAK_CALLBACKS;
}

/// `Isolate::GCCallbackWithData`:
/// `void (*)(Isolate*, GCType, GCCallbackFlags, void* data)`.
pub type GcCallback =
    unsafe extern "C" fn(isolate: *mut Isolate, gc_type: c_int, flags: c_int, data: *mut c_void);

type GetCurrentFn = unsafe extern "C" fn() -> *mut Isolate;
/// `void Isolate::AddGC{Prologue,Epilogue}Callback(GCCallbackWithData, void*, GCType)`
type AddGcCallbackFn =
    unsafe extern "C" fn(this: *mut Isolate, cb: GcCallback, data: *mut c_void, filter: c_int);
/// `void Isolate::RemoveGC{Prologue,Epilogue}Callback(GCCallbackWithData, void*)`
type RemoveGcCallbackFn =
    unsafe extern "C" fn(this: *mut Isolate, cb: GcCallback, data: *mut c_void);
/// `void Isolate::GetHeapStatistics(HeapStatistics*)`
type GetHeapStatisticsFn = unsafe extern "C" fn(this: *mut Isolate, out: *mut c_void);
/// `HeapStatistics::HeapStatistics()` (complete-object constructor; MSVC
/// returns `this`, which is ignored).
type HeapStatisticsCtorFn = unsafe extern "C" fn(this: *mut c_void);
/// `void Isolate::LowMemoryNotification()`
type LowMemoryNotificationFn = unsafe extern "C" fn(this: *mut Isolate);
/// `static const char* V8::GetVersion()`
type GetVersionFn = unsafe extern "C" fn() -> *const c_char;

/// Why the native backend is not available (the JS side then uses perf_hooks).
#[derive(Debug, Clone)]
pub enum BindingError {
    MissingSymbol(&'static str),
    UnsupportedVersion(String),
    LayoutMismatch(String),
    CheckFailed(String),
    NoIsolate,
}

impl std::fmt::Display for BindingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindingError::MissingSymbol(s) => {
                write!(f, "V8 symbol not exported by this runtime: {s}")
            }
            BindingError::UnsupportedVersion(v) => {
                let first = V8_PROFILES.first().map(|p| p.first.to_string());
                write!(
                    f,
                    "V8 {v} is older than any version this build knows (from {})",
                    first.unwrap_or_default()
                )
            }
            BindingError::LayoutMismatch(m) => write!(f, "V8 struct layout check failed: {m}"),
            BindingError::CheckFailed(m) => write!(f, "V8 start-up check failed: {m}"),
            BindingError::NoIsolate => write!(f, "no V8 isolate on this thread"),
        }
    }
}

impl std::error::Error for BindingError {}

/// Test hooks, read once from the environment. They exist so the test suite
/// can exercise the "unknown V8" path and failed checks on a known node; a
/// hook can only make memwatch more careful (pick the fallback), never less.
pub mod test_hooks {
    use std::sync::OnceLock;

    /// `MEMWATCH_TEST_V8_VERSION=15.0.0`: treat the runtime as this V8 version.
    pub fn pretend_version() -> Option<&'static str> {
        static V: OnceLock<Option<String>> = OnceLock::new();
        V.get_or_init(|| {
            std::env::var("MEMWATCH_TEST_V8_VERSION")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .as_deref()
    }

    /// `MEMWATCH_TEST_FAIL_CHECK=heap_statistics,gc_callbacks,snapshot_canary`:
    /// make those start-up checks fail.
    pub fn fail(check: &str) -> bool {
        static V: OnceLock<Vec<String>> = OnceLock::new();
        V.get_or_init(|| {
            std::env::var("MEMWATCH_TEST_FAIL_CHECK")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|c| c == check)
    }
}

/// The running V8 and the table row the binding uses for it.
#[derive(Debug)]
pub struct Runtime {
    /// `V8::GetVersion()`, e.g. "14.6.202.34-node.40".
    pub version: String,
    pub profile: &'static V8Profile,
    /// Whether the row was checked against this version's headers; if not,
    /// the start-up checks decide.
    pub verified: bool,
}

fn resolve_runtime() -> Result<Runtime, BindingError> {
    let get_version = resolve_fn!(Sym::GetVersion, GetVersionFn);
    // SAFETY: V8::GetVersion returns a static NUL-terminated string.
    let real = unsafe { CStr::from_ptr(get_version()) }
        .to_string_lossy()
        .into_owned();
    let version = test_hooks::pretend_version().map_or(real, str::to_owned);
    match layout::profile_for(&version) {
        ProfileChoice::Verified(profile) => Ok(Runtime {
            version,
            profile,
            verified: true,
        }),
        ProfileChoice::Unverified(profile) => Ok(Runtime {
            version,
            profile,
            verified: false,
        }),
        ProfileChoice::Unsupported => Err(BindingError::UnsupportedVersion(version)),
    }
}

/// The runtime, resolved once per process.
pub fn runtime() -> Result<&'static Runtime, BindingError> {
    static RT: OnceLock<Result<Runtime, BindingError>> = OnceLock::new();
    RT.get_or_init(resolve_runtime)
        .as_ref()
        .map_err(Clone::clone)
}

/// The GC-side functions. Plain function pointers: `Copy`, `Send`, `Sync`.
#[derive(Clone, Copy)]
pub struct V8Api {
    get_current: GetCurrentFn,
    add_prologue: AddGcCallbackFn,
    add_epilogue: AddGcCallbackFn,
    remove_prologue: RemoveGcCallbackFn,
    remove_epilogue: RemoveGcCallbackFn,
    get_heap_statistics: GetHeapStatisticsFn,
    heap_statistics_ctor: HeapStatisticsCtorFn,
    low_memory_notification: LowMemoryNotificationFn,
    pub runtime: &'static Runtime,
}

fn resolve() -> Result<V8Api, BindingError> {
    let runtime = runtime()?;
    Ok(V8Api {
        get_current: resolve_fn!(Sym::GetCurrent, GetCurrentFn),
        add_prologue: resolve_fn!(Sym::AddGcPrologue, AddGcCallbackFn),
        add_epilogue: resolve_fn!(Sym::AddGcEpilogue, AddGcCallbackFn),
        remove_prologue: resolve_fn!(Sym::RemoveGcPrologue, RemoveGcCallbackFn),
        remove_epilogue: resolve_fn!(Sym::RemoveGcEpilogue, RemoveGcCallbackFn),
        get_heap_statistics: resolve_fn!(Sym::GetHeapStatistics, GetHeapStatisticsFn),
        heap_statistics_ctor: resolve_fn!(Sym::HeapStatisticsCtor, HeapStatisticsCtorFn),
        low_memory_notification: resolve_fn!(Sym::LowMemoryNotification, LowMemoryNotificationFn),
        runtime,
    })
}

/// The heap profiler's functions (HeapDiff), resolved once per process;
/// independent of `api()` so GC events work where only these are missing.
pub fn profiler_api() -> Result<&'static ProfilerApi, BindingError> {
    static API: OnceLock<Result<ProfilerApi, BindingError>> = OnceLock::new();
    API.get_or_init(|| ProfilerApi::resolve(runtime()?))
        .as_ref()
        .map_err(Clone::clone)
}

/// The sampling heap profiler's functions (leak sites), resolved once per
/// process; independent of the others, like `profiler_api`.
pub fn sampling_api() -> Result<&'static SamplingApi, BindingError> {
    static API: OnceLock<Result<SamplingApi, BindingError>> = OnceLock::new();
    API.get_or_init(|| SamplingApi::resolve(runtime()?))
        .as_ref()
        .map_err(Clone::clone)
}

/// Resolves the GC functions once per process (the same for every isolate).
pub fn api() -> Result<&'static V8Api, BindingError> {
    static API: OnceLock<Result<V8Api, BindingError>> = OnceLock::new();
    API.get_or_init(resolve).as_ref().map_err(Clone::clone)
}

impl V8Api {
    /// The isolate of the calling thread (null on threads without one).
    pub fn current_isolate(&self) -> Result<*mut Isolate, BindingError> {
        // SAFETY: no arguments; returns the thread's entered isolate or null.
        let iso = unsafe { (self.get_current)() };
        if iso.is_null() {
            Err(BindingError::NoIsolate)
        } else {
            Ok(iso)
        }
    }

    /// # Safety
    /// `isolate` must be live and the caller on its thread; `data` must stay
    /// valid until the matching `remove_gc_callbacks`.
    pub unsafe fn add_gc_callbacks(
        &self,
        isolate: *mut Isolate,
        prologue: GcCallback,
        epilogue: GcCallback,
        data: *mut c_void,
    ) {
        (self.add_prologue)(isolate, prologue, data, gc_type::ALL);
        (self.add_epilogue)(isolate, epilogue, data, gc_type::ALL);
    }

    /// # Safety
    /// Same isolate, callbacks and data as the `add_gc_callbacks` call.
    pub unsafe fn remove_gc_callbacks(
        &self,
        isolate: *mut Isolate,
        prologue: GcCallback,
        epilogue: GcCallback,
        data: *mut c_void,
    ) {
        (self.remove_prologue)(isolate, prologue, data);
        (self.remove_epilogue)(isolate, epilogue, data);
    }

    /// Full, synchronous collection without `--expose-gc`. V8 runs several
    /// mark-sweeps back to back and calls the GC callbacks for each.
    ///
    /// # Safety
    /// `isolate` must be live and the caller on its thread, outside any GC callback.
    pub unsafe fn low_memory_notification(&self, isolate: *mut Isolate) {
        (self.low_memory_notification)(isolate)
    }
}

/// Every symbol the binding would resolve on this runtime (for the test that
/// checks them against the node binary's exports).
pub fn symbols_for_runtime() -> Result<Vec<&'static CStr>, BindingError> {
    Ok(symbols::rows_for(runtime()?.profile)
        .map(|r| r.name())
        .collect())
}
