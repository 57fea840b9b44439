//! The JS-facing classes. Conversion only: the GC work is in `hooks`, the
//! arithmetic in `memwatch_core::stats`, the graphs in `graphs`.

use crate::convert::{heap_reference, DiffResult, GcEvents, SampleInput};
use crate::errors::{self, coded, guard, OrInternal, Result};
use crate::graphs::{
    counts_result, diff_result, naming, release_memory, release_memory_in_background, GraphStore,
};
use crate::hooks::Hooks;
use crate::notify::{check, Notifier};
use crate::snapshot::{
    base_from_snapshot, check_canary, graph_from_snapshot, name_added_objects, stream_diff, Marks,
};
use crate::v8;
use memwatch_core::stats::{FullGcSample, StatsEngine};
use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

fn unavailable(e: impl std::fmt::Display) -> errors::Error {
    coded(errors::NATIVE_UNAVAILABLE, e.to_string())
}

/// Removes the GC hooks when the environment (the main thread at exit, or a
/// worker) is torn down; holds its own reference so the hooks outlive it.
unsafe extern "C" fn env_cleanup(arg: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `arg` came from Arc::into_raw in GcWatcher::new, and Node
        // calls each cleanup hook once.
        let hooks = unsafe { Arc::from_raw(arg as *const Hooks) };
        hooks.stop();
    });
}

fn events(engine: &mut StatsEngine, samples: &[FullGcSample]) -> GcEvents {
    let mut out = GcEvents::new();
    for s in samples {
        out.push(&engine.record_full(s));
    }
    out
}

/// `{ calls, totalNs, droppedSamples }`: time spent inside memwatch's own
/// GC callbacks.
#[napi(object)]
pub struct CallbackCost {
    pub calls: f64,
    pub total_ns: f64,
    pub dropped_samples: f64,
}

/// The snapshot canary's verdict for this process: `None` until a first
/// snapshot checked it.
static CANARY: Mutex<Option<std::result::Result<(), String>>> = Mutex::new(None);

fn canary_verdict() -> Option<std::result::Result<(), String>> {
    CANARY.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Where a HeapDiff's time went, in milliseconds, summed over its two
/// snapshots (`new HeapDiff()` resets it): for the benchmark's per-phase
/// table.
#[napi(object)]
#[derive(Clone, Copy, Default)]
pub struct HeapDiffPhases {
    /// `HeapProfiler::TakeHeapSnapshot` (V8's full GC and its graph).
    pub snapshot: f64,
    /// Copying V8's snapshot into Rust columns.
    pub walk: f64,
    /// `HeapSnapshot::Delete`.
    pub delete: f64,
    /// The diff, and with examples dominators, paths and their names.
    pub diff: f64,
    /// Handing freed memory back to the OS (`malloc_trim`).
    pub trim: f64,
}

fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Native backend: V8 GC callbacks on the calling thread's isolate.
#[napi]
pub struct GcWatcher {
    hooks: Arc<Hooks>,
    engine: StatsEngine,
    phases: std::cell::Cell<HeapDiffPhases>,
}

#[napi]
impl GcWatcher {
    /// `onWake` is called (later, from the event loop) when samples are
    /// queued; `readHeapStatistics` returns `v8.getHeapStatistics()`, called
    /// between two native reads to verify the struct layout. Throws
    /// `ERR_MEMWATCH_NATIVE_UNAVAILABLE` if the V8 binding is unusable here
    /// (the caller then uses the fallback).
    #[napi(constructor)]
    pub fn new(
        env: Env,
        on_wake: Function<(), ()>,
        read_heap_statistics: Function<(), Object>,
    ) -> Result<Self> {
        guard(|| {
            let api = v8::api().map_err(unavailable)?;
            let isolate = api.current_isolate().map_err(unavailable)?;
            // SAFETY: env and the function are valid for this call.
            let notifier =
                unsafe { Notifier::new(env.raw(), on_wake.raw(), false) }.or_internal()?;
            let hooks = Arc::new(Hooks::new(api, isolate, notifier));
            let reference = || {
                let o = read_heap_statistics
                    .call(())
                    .map_err(|e| format!("v8.getHeapStatistics() threw: {}", e.reason))?;
                heap_reference(&o)
            };
            hooks
                .verify_heap_statistics(reference)
                .map_err(|e| unavailable(v8::BindingError::LayoutMismatch(e)))?;
            if v8::test_hooks::fail("heap_statistics") {
                return Err(unavailable(v8::BindingError::LayoutMismatch(
                    "failed by MEMWATCH_TEST_FAIL_CHECK".into(),
                )));
            }
            if !api.runtime.verified {
                hooks
                    .self_test()
                    .map_err(|e| unavailable(v8::BindingError::CheckFailed(e)))?;
            }
            // Registered after the threadsafe function, so it runs before Node
            // finalizes that function (cleanup hooks run in reverse order).
            let arg = Arc::into_raw(hooks.clone()) as *mut c_void;
            // SAFETY: valid env; `arg` is released by env_cleanup.
            if let Err(e) =
                check(unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(env_cleanup), arg) })
            {
                // SAFETY: not registered, so reclaim the reference here.
                drop(unsafe { Arc::from_raw(arg as *const Hooks) });
                return Err(e).or_internal();
            }
            Ok(Self {
                hooks,
                engine: StatsEngine::new(),
                phases: Default::default(),
            })
        })
    }

    /// V8's version string, e.g. "11.3.244.8-node.33".
    #[napi(getter)]
    pub fn v8_version(&self) -> String {
        v8::runtime().map(|r| r.version.clone()).unwrap_or_default()
    }

    /// Whether this V8's layouts were checked against its headers at build
    /// time (false: a newer V8, accepted after the start-up checks).
    #[napi(getter)]
    pub fn verified(&self) -> bool {
        v8::runtime().map(|r| r.verified).unwrap_or(false)
    }

    /// Phase times of the latest HeapDiff (see `HeapDiffPhases`).
    #[napi(getter)]
    pub fn last_phases(&self) -> HeapDiffPhases {
        self.phases.get()
    }

    /// Registers the GC callbacks (idempotent).
    #[napi]
    pub fn start(&self) -> Result<()> {
        guard(|| {
            self.hooks.start();
            Ok(())
        })
    }

    /// Removes the GC callbacks (idempotent).
    #[napi]
    pub fn stop(&self) -> Result<()> {
        guard(|| {
            self.hooks.stop();
            Ok(())
        })
    }

    #[napi(getter)]
    pub fn active(&self) -> bool {
        self.hooks.is_registered()
    }

    /// Events for the full GCs seen since the last drain, oldest first.
    #[napi]
    pub fn drain(&mut self) -> Result<GcEvents> {
        guard(|| Ok(events(&mut self.engine, &self.hooks.drain())))
    }

    /// A full GC now; returns the pending events followed by the events of
    /// this GC (the last `stats` is its own).
    #[napi]
    pub fn gc(&mut self) -> Result<GcEvents> {
        guard(|| {
            let mut samples = self.hooks.drain();
            samples.push(self.hooks.full_gc());
            Ok(events(&mut self.engine, &samples))
        })
    }

    /// Time spent inside memwatch's own GC callbacks.
    #[napi]
    pub fn callback_cost(&self) -> CallbackCost {
        let c = self.hooks.callback_cost();
        CallbackCost {
            calls: c.calls as f64,
            total_ns: c.total_ns as f64,
            dropped_samples: self.hooks.dropped_samples() as f64,
        }
    }

    /// V8's heap-profiler id of `value`: 0 when V8's id map has no entry for
    /// it (see `lib/heapdiff.js` for how memwatch reads that).
    #[napi]
    pub fn object_id(&self, value: Unknown) -> Result<u32> {
        guard(|| {
            let api = v8::profiler_api().map_err(unavailable)?;
            // SAFETY: on the isolate's thread, from JS; `value` is live.
            Ok(unsafe { api.object_id(self.hooks.isolate(), value.raw()) })
        })
    }

    /// Clears V8's object-id map (which otherwise keeps every later GC
    /// several times slower) unless `marker` — an object created right after
    /// memwatch's last snapshot — has an id, which means someone else (a
    /// snapshot, DevTools, an allocation tracker) used the map since. Check
    /// and clear happen in this one call: no JS (and no inspector message)
    /// can run in between. Returns whether it cleared.
    #[napi]
    pub fn clear_object_ids_unless_used(&self, marker: Unknown) -> Result<bool> {
        guard(|| {
            let api = v8::profiler_api().map_err(unavailable)?;
            let isolate = self.hooks.isolate();
            // SAFETY: on the isolate's thread, from JS, outside a GC.
            let cleared = unsafe {
                if api.object_id(isolate, marker.raw()) != 0 {
                    false
                } else {
                    api.clear_object_ids(isolate);
                    true
                }
            };
            release_memory();
            Ok(cleared)
        })
    }

    /// Takes a heap snapshot through V8's profiler (its GCs are not reported
    /// as `stats`), keeps what a diff needs of it in `store` (a `DiffBase`:
    /// id, class and size of each counted node), deletes V8's copy at once
    /// and returns the id in the store. The first snapshot of a process also
    /// checks `canary` (see `snapshot::check_canary`); a V8 that fails it is
    /// refused with `ERR_MEMWATCH_NATIVE_UNAVAILABLE` here and from then on.
    /// `engine_apart`: how the diff names classes (`graphs::naming`).
    #[napi]
    pub fn snapshot_into(
        &self,
        env: &Env,
        store: &mut GraphStore,
        canary: Unknown,
        marker: Unknown,
        engine_apart: Option<bool>,
    ) -> Result<u32> {
        guard(|| {
            let api = v8::profiler_api().map_err(unavailable)?;
            if let Some(Err(why)) = canary_verdict() {
                return Err(unavailable(why));
            }
            let isolate = self.hooks.isolate();
            let mut phases = HeapDiffPhases::default();
            let t = std::time::Instant::now();
            // SAFETY: called from JS on the isolate's thread, outside a GC.
            let snap = self
                .hooks
                .without_samples(|| unsafe { api.take_snapshot(isolate) })
                .ok_or_else(|| coded(errors::INTERNAL, "V8 returned no heap snapshot"))?;
            phases.snapshot = ms_since(t);
            let t = std::time::Instant::now();
            // SAFETY: as above; ids of live values of this isolate.
            let marks = unsafe {
                Marks {
                    canary_id: api.object_id(isolate, canary.raw()),
                    hide_id: api.object_id(isolate, marker.raw()),
                }
            };
            // SAFETY: as above; `snap` is deleted right after.
            let (base, canary_index) =
                unsafe { base_from_snapshot(env.raw(), &snap, marks, naming(engine_apart)) };
            if canary_verdict().is_none() {
                // SAFETY: as above; the snapshot is still alive.
                let found = canary_index.and_then(|i| unsafe { snap.describe(env.raw(), i) });
                let mut verdict = check_canary(found.as_ref(), marks.canary_id);
                if v8::test_hooks::fail("snapshot_canary") {
                    verdict = Err("canary failed by MEMWATCH_TEST_FAIL_CHECK".into());
                }
                *CANARY.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict.clone());
                verdict.map_err(unavailable)?;
            }
            phases.walk = ms_since(t);
            let t = std::time::Instant::now();
            drop(snap);
            phases.delete = ms_since(t);
            self.phases.set(phases);
            Ok(store.insert(base))
        })
    }

    /// Takes the "after" snapshot and diffs the held `before` against it
    /// (releasing `before`). Without examples the snapshot is diffed node by
    /// node as it is read, and V8's copy deleted before anything else; with
    /// examples it is copied as a graph with edges, and V8's copy lives until
    /// the names of the printed retainer paths have been read from it.
    #[napi]
    pub fn end_diff(
        &self,
        env: &Env,
        store: &mut GraphStore,
        before: u32,
        examples: u32,
        marker: Unknown,
    ) -> Result<DiffResult> {
        guard(|| {
            let api = v8::profiler_api().map_err(unavailable)?;
            let b = store.take(before)?;
            let isolate = self.hooks.isolate();
            let mut phases = self.phases.get();
            let t = std::time::Instant::now();
            // SAFETY: called from JS on the isolate's thread, outside a GC.
            let snap = self
                .hooks
                .without_samples(|| unsafe { api.take_snapshot(isolate) })
                .ok_or_else(|| coded(errors::INTERNAL, "V8 returned no heap snapshot"))?;
            phases.snapshot += ms_since(t);
            let t = std::time::Instant::now();
            let marks = Marks {
                // SAFETY: as above.
                hide_id: unsafe { api.object_id(isolate, marker.raw()) },
                canary_id: 0,
            };
            let out = if examples == 0 {
                // SAFETY: as above.
                let d = unsafe { stream_diff(env.raw(), &snap, &b, marks) };
                phases.walk += ms_since(t);
                let t = std::time::Instant::now();
                drop(snap);
                phases.delete += ms_since(t);
                let t = std::time::Instant::now();
                let out = counts_result(&d);
                phases.diff += ms_since(t);
                out
            } else {
                // SAFETY: as above.
                let mut a = unsafe { graph_from_snapshot(env.raw(), &snap, marks) }
                    .map_err(|e| coded(errors::INTERNAL, format!("heap snapshot walk: {e}")))?;
                // SAFETY: as above; `a` was walked from `snap`, which is alive.
                unsafe { name_added_objects(env.raw(), &snap, &b, &mut a) };
                phases.walk += ms_since(t);
                let t = std::time::Instant::now();
                let out = diff_result(&b, &mut a, examples, |g, steps, target| {
                    for step in steps {
                        let first = g.edges(step.node).start;
                        // SAFETY: as above; `snap` is alive until after this.
                        unsafe {
                            g.set_node_name(step.node, &snap.node_name(env.raw(), step.node));
                            let name = snap.edge_name(env.raw(), step.node, step.edge - first);
                            g.set_edge_name(step.edge, &name);
                        }
                    }
                    // SAFETY: as above.
                    let name = unsafe { snap.node_name(env.raw(), target) };
                    g.set_node_name(target, &name);
                });
                phases.diff += ms_since(t);
                let t = std::time::Instant::now();
                drop(snap);
                phases.delete += ms_since(t);
                out
            };
            let t = std::time::Instant::now();
            drop(b);
            phases.diff += ms_since(t);
            // Returning freed pages to the OS is hygiene, not the result:
            // it runs on a thread of its own, after the diff is returned.
            release_memory_in_background();
            self.phases.set(phases);
            Ok(out)
        })
    }
}

impl GcWatcher {
    /// Runs `f` with the full GCs it causes kept out of `stats`/`leak`
    /// (`sites.rs`: a profile read that makes V8 collect first).
    pub(crate) fn without_samples<R>(&self, f: impl FnOnce() -> R) -> R {
        self.hooks.without_samples(f)
    }
}

impl Drop for GcWatcher {
    fn drop(&mut self) {
        self.hooks.stop();
    }
}

/// Fallback backend: the same engine, fed from JS (perf_hooks GC entries and
/// `v8.getHeapStatistics()`).
#[napi(js_name = "StatsEngine")]
pub struct JsStatsEngine {
    engine: StatsEngine,
}

impl Default for JsStatsEngine {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl JsStatsEngine {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            engine: StatsEngine::new(),
        }
    }

    /// Feeds one full GC; returns its events. Throws `ERR_INVALID_ARG_TYPE`
    /// for a field that is not a non-negative number.
    #[napi]
    pub fn record(&mut self, sample: SampleInput) -> Result<GcEvents> {
        guard(|| {
            let s = sample
                .to_sample()
                .map_err(|m| coded(errors::INVALID_ARG_TYPE, m))?;
            Ok(events(&mut self.engine, &[s]))
        })
    }
}

/// Why the native binding cannot be used in this process, or null if it can
/// (symbols and version only; the layout is checked by `GcWatcher`).
#[napi]
pub fn native_binding_problem() -> Option<String> {
    v8::api().err().map(|e| e.to_string())
}

/// Why native heap snapshots are unavailable here, or null.
#[napi]
pub fn profiler_problem() -> Option<String> {
    if let Err(e) = v8::profiler_api() {
        return Some(e.to_string());
    }
    match canary_verdict() {
        Some(Err(why)) => Some(why),
        _ => None,
    }
}

/// The mangled V8 symbols the binding resolves on this runtime (for the
/// test that checks them against this node's exports).
#[napi]
pub fn v8_symbols() -> Result<Vec<String>> {
    guard(|| {
        Ok(v8::symbols_for_runtime()
            .map_err(unavailable)?
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect())
    })
}

/// One row of the binding's symbol table (for the cross-platform test).
#[napi(object)]
pub struct SymbolRow {
    pub itanium: String,
    /// The macOS name (the Itanium name unless they differ).
    pub darwin: String,
    pub msvc: String,
    /// 'gc' | 'snapshot' | 'sampling'
    pub part: String,
    /// The first and last V8 version (major.minor) whose table rows use it.
    pub v8_first: String,
    pub v8_last: String,
}

/// The whole symbol table with the V8 versions that use each row.
#[napi]
pub fn v8_symbol_table() -> Vec<SymbolRow> {
    use memwatch_core::layout::V8_PROFILES;
    use v8::symbols::{used_by, Part, ROWS};
    ROWS.iter()
        .filter_map(|r| {
            let users: Vec<_> = V8_PROFILES.iter().filter(|p| used_by(p, r.sym)).collect();
            let (first, last) = (users.first()?, users.last()?);
            Some(SymbolRow {
                itanium: r.itanium.to_string_lossy().into_owned(),
                darwin: r.darwin.unwrap_or(r.itanium).to_string_lossy().into_owned(),
                msvc: r.msvc.to_string_lossy().into_owned(),
                part: match r.part {
                    Part::Gc => "gc",
                    Part::Snapshot => "snapshot",
                    Part::Sampling => "sampling",
                }
                .to_owned(),
                v8_first: first.first.to_string(),
                v8_last: last.last.to_string(),
            })
        })
        .collect()
}

/// The `HeapStatistics` byte offsets assumed for a V8 version, or null if no
/// table row covers it (for the test that compares them with the headers).
#[napi(object)]
pub struct HeapStatisticsOffsets {
    pub size: u32,
    #[napi(js_name = "total_heap_size")]
    pub total_heap_size: u32,
    #[napi(js_name = "total_heap_size_executable")]
    pub total_heap_size_executable: u32,
    #[napi(js_name = "total_physical_size")]
    pub total_physical_size: u32,
    #[napi(js_name = "total_available_size")]
    pub total_available_size: u32,
    #[napi(js_name = "used_heap_size")]
    pub used_heap_size: u32,
    #[napi(js_name = "heap_size_limit")]
    pub heap_size_limit: u32,
    #[napi(js_name = "malloced_memory")]
    pub malloced_memory: u32,
    #[napi(js_name = "external_memory")]
    pub external_memory: u32,
    #[napi(js_name = "peak_malloced_memory")]
    pub peak_malloced_memory: u32,
    #[napi(js_name = "number_of_native_contexts")]
    pub number_of_native_contexts: u32,
    #[napi(js_name = "number_of_detached_contexts")]
    pub number_of_detached_contexts: u32,
}

#[napi]
pub fn heap_statistics_layout(v8_major: u32, v8_minor: u32) -> Option<HeapStatisticsOffsets> {
    let l = memwatch_core::layout::heap_statistics_layout(memwatch_core::layout::V8Version::new(
        v8_major, v8_minor,
    ))?;
    let o = |v: usize| v as u32;
    Some(HeapStatisticsOffsets {
        size: o(l.size),
        total_heap_size: o(l.total_heap_size),
        total_heap_size_executable: o(l.total_heap_size_executable),
        total_physical_size: o(l.total_physical_size),
        total_available_size: o(l.total_available_size),
        used_heap_size: o(l.used_heap_size),
        heap_size_limit: o(l.heap_size_limit),
        malloced_memory: o(l.malloced_memory),
        external_memory: o(l.external_memory),
        peak_malloced_memory: o(l.peak_malloced_memory),
        number_of_native_contexts: o(l.number_of_native_contexts),
        number_of_detached_contexts: o(l.number_of_detached_contexts),
    })
}

/// The table row the binding uses for a V8 version string: `{ snapshot,
/// utf8, verified }`, or null (for the probe test).
#[napi(object)]
pub struct ProfileInfo {
    /// 'ObjectNameResolver' | 'ContextNameResolver'
    pub snapshot: String,
    /// 'WriteUtf8' | 'WriteUtf8V2'
    pub utf8: String,
    pub verified: bool,
}

#[napi]
pub fn v8_profile(version: String) -> Option<ProfileInfo> {
    use memwatch_core::layout::{profile_for, ProfileChoice};
    let (p, verified) = match profile_for(&version) {
        ProfileChoice::Verified(p) => (p, true),
        ProfileChoice::Unverified(p) => (p, false),
        ProfileChoice::Unsupported => return None,
    };
    Some(ProfileInfo {
        snapshot: format!("{:?}", p.snapshot),
        utf8: format!("{:?}", p.utf8),
        verified,
    })
}

/// The enum values the binding passes to or compares with V8, as JSON (for
/// the test that compares them with each version's headers):
/// `{ gc_type, node_type, edge_type, utf8 }`.
#[napi]
pub fn v8_assumptions() -> String {
    use memwatch_core::heap::{EdgeKind, NodeKind};
    use v8::gc_type as g;
    let nodes: Vec<String> = (0..=14u8)
        .map(|i| format!("{:?}:{i}", NodeKind::from_u8(i).name()))
        .collect();
    let edges: Vec<String> = (0..=6u8)
        .map(|i| format!("{:?}:{i}", EdgeKind::from_u8(i).name()))
        .collect();
    format!(
        "{{\"gc_type\":{{\"scavenge\":{},\"minor_mark_sweep\":{},\"mark_sweep_compact\":{},\
         \"incremental_marking\":{},\"process_weak_callbacks\":{}}},\
         \"node_type\":{{{}}},\"edge_type\":{{{}}},\
         \"utf8\":{{\"write_utf8_options\":{},\"write_utf8_v2_flags\":{}}}}}",
        g::SCAVENGE,
        g::MINOR_MARK_SWEEP,
        g::MARK_SWEEP_COMPACT,
        g::INCREMENTAL_MARKING,
        g::PROCESS_WEAK_CALLBACKS,
        nodes.join(","),
        edges.join(","),
        v8::WRITE_UTF8_OPTIONS,
        v8::WRITE_UTF8_V2_FLAGS,
    )
}
