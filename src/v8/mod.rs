//! The V8 binding: the few V8 C++ functions that the `node` binary exports,
//! resolved with `dlsym` at load time, no C++ toolchain involved.
//!
//! Every signature below was checked against `include/node/v8-isolate.h`,
//! `v8-callbacks.h`, `v8-statistics.h` and `v8-initialization.h` of Node 18,
//! 20, 22 and 24 (V8 10.2, 11.3, 12.4, 13.6): the mangled names are the same
//! in all four. C++ member functions take `this` as the first argument in the
//! Itanium ABI, and C++ enums (`GCType`, `GCCallbackFlags`) are passed as
//! `int`. Struct layouts come from `memwatch_core::layout`, and the one we
//! read (`HeapStatistics`) is verified against `v8.getHeapStatistics()`
//! before the binding is used (see `verify_heap_statistics`).
//!
//! Never resolved here, on purpose: `Isolate::RequestGarbageCollectionForTesting`
//! aborts the process unless node runs with `--expose-gc`.

mod heap_stats;
mod profiler;

pub use heap_stats::HeapStatisticsReader;
pub use profiler::{node_type, EdgeName, ProfilerApi, Snapshot, SnapshotSink};

use memwatch_core::layout::{self, HeapStatisticsLayout};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// Opaque `v8::Isolate`.
#[repr(C)]
pub struct Isolate {
    _private: [u8; 0],
}

/// `v8::GCType` values (v8-callbacks.h).
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
/// `HeapStatistics::HeapStatistics()` (complete-object constructor, C1)
type HeapStatisticsCtorFn = unsafe extern "C" fn(this: *mut c_void);
/// `void Isolate::LowMemoryNotification()`
type LowMemoryNotificationFn = unsafe extern "C" fn(this: *mut Isolate);
/// `static const char* V8::GetVersion()`
type GetVersionFn = unsafe extern "C" fn() -> *const c_char;

const SYM_GET_CURRENT: &CStr = c"_ZN2v87Isolate10GetCurrentEv";
const SYM_ADD_PROLOGUE: &CStr =
    c"_ZN2v87Isolate21AddGCPrologueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_S2_";
const SYM_ADD_EPILOGUE: &CStr =
    c"_ZN2v87Isolate21AddGCEpilogueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_S2_";
const SYM_REMOVE_PROLOGUE: &CStr =
    c"_ZN2v87Isolate24RemoveGCPrologueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_";
const SYM_REMOVE_EPILOGUE: &CStr =
    c"_ZN2v87Isolate24RemoveGCEpilogueCallbackEPFvPS0_NS_6GCTypeENS_15GCCallbackFlagsEPvES4_";
const SYM_GET_HEAP_STATISTICS: &CStr = c"_ZN2v87Isolate17GetHeapStatisticsEPNS_14HeapStatisticsE";
const SYM_HEAP_STATISTICS_CTOR: &CStr = c"_ZN2v814HeapStatisticsC1Ev";
const SYM_LOW_MEMORY_NOTIFICATION: &CStr = c"_ZN2v87Isolate21LowMemoryNotificationEv";
const SYM_GET_VERSION: &CStr = c"_ZN2v82V810GetVersionEv";

/// Every symbol the binding resolves, for the test that checks them against
/// each supported node binary (the heap profiler's are in `profiler::SYMBOLS`).
pub const GC_SYMBOLS: &[&CStr] = &[
    SYM_GET_CURRENT,
    SYM_ADD_PROLOGUE,
    SYM_ADD_EPILOGUE,
    SYM_REMOVE_PROLOGUE,
    SYM_REMOVE_EPILOGUE,
    SYM_GET_HEAP_STATISTICS,
    SYM_HEAP_STATISTICS_CTOR,
    SYM_LOW_MEMORY_NOTIFICATION,
    SYM_GET_VERSION,
];

/// Why the native backend is not available (the JS side then uses perf_hooks).
#[derive(Debug, Clone)]
pub enum BindingError {
    MissingSymbol(&'static str),
    UnsupportedVersion(String),
    LayoutMismatch(String),
    NoIsolate,
}

impl std::fmt::Display for BindingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BindingError::MissingSymbol(s) => {
                write!(f, "V8 symbol not exported by this runtime: {s}")
            }
            BindingError::UnsupportedVersion(v) => write!(
                f,
                "V8 {v} has no verified struct layouts (supported majors: {:?})",
                layout::SUPPORTED_V8_MAJORS
            ),
            BindingError::LayoutMismatch(m) => write!(f, "V8 struct layout check failed: {m}"),
            BindingError::NoIsolate => write!(f, "no V8 isolate on this thread"),
        }
    }
}

impl std::error::Error for BindingError {}

/// The resolved functions. Plain function pointers: `Copy`, `Send`, `Sync`.
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
    pub heap_statistics_layout: HeapStatisticsLayout,
    pub version: &'static str,
}

fn lookup(name: &'static CStr) -> Result<*mut c_void, BindingError> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        Err(BindingError::MissingSymbol(
            name.to_str().unwrap_or("<non-utf8 symbol>"),
        ))
    } else {
        Ok(p)
    }
}

macro_rules! resolve_fn {
    ($name:expr, $ty:ty) => {{
        let p = lookup($name)?;
        // SAFETY: the symbol's C++ signature was checked against the V8 headers
        // (see the type alias); a data pointer and a function pointer have the
        // same representation on every platform Node supports.
        unsafe { std::mem::transmute::<*mut c_void, $ty>(p) }
    }};
}

fn resolve() -> Result<V8Api, BindingError> {
    let get_version = resolve_fn!(SYM_GET_VERSION, GetVersionFn);
    // SAFETY: V8::GetVersion returns a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(get_version()) }
        .to_string_lossy()
        .into_owned();
    let major = layout::parse_v8_major(&version);
    let heap_statistics_layout = major
        .and_then(layout::heap_statistics_layout)
        .ok_or_else(|| BindingError::UnsupportedVersion(version.clone()))?;
    Ok(V8Api {
        get_current: resolve_fn!(SYM_GET_CURRENT, GetCurrentFn),
        add_prologue: resolve_fn!(SYM_ADD_PROLOGUE, AddGcCallbackFn),
        add_epilogue: resolve_fn!(SYM_ADD_EPILOGUE, AddGcCallbackFn),
        remove_prologue: resolve_fn!(SYM_REMOVE_PROLOGUE, RemoveGcCallbackFn),
        remove_epilogue: resolve_fn!(SYM_REMOVE_EPILOGUE, RemoveGcCallbackFn),
        get_heap_statistics: resolve_fn!(SYM_GET_HEAP_STATISTICS, GetHeapStatisticsFn),
        heap_statistics_ctor: resolve_fn!(SYM_HEAP_STATISTICS_CTOR, HeapStatisticsCtorFn),
        low_memory_notification: resolve_fn!(SYM_LOW_MEMORY_NOTIFICATION, LowMemoryNotificationFn),
        heap_statistics_layout,
        // Leaked once per process: the version string lives as long as V8.
        version: Box::leak(version.into_boxed_str()),
    })
}

/// The heap profiler's functions (HeapDiff), resolved once per process;
/// independent of `api()` so GC events work where only these are missing.
pub fn profiler_api() -> Result<&'static ProfilerApi, BindingError> {
    static API: OnceLock<Result<ProfilerApi, BindingError>> = OnceLock::new();
    API.get_or_init(ProfilerApi::resolve)
        .as_ref()
        .map_err(Clone::clone)
}

/// All symbols the binding may resolve.
pub fn symbols() -> impl Iterator<Item = &'static CStr> {
    GC_SYMBOLS.iter().chain(profiler::SYMBOLS.iter()).copied()
}

/// Resolves the symbols once per process (they are the same for every isolate).
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
