//! The JS-facing classes. Conversion only: the GC work is in `hooks`, the
//! arithmetic in `memwatch_core::stats`.

use crate::convert::{heap_reference, push_outcome, sample_from_js};
use crate::graphs::{release_memory, GraphStore};
use crate::hooks::Hooks;
use crate::notify::{check, Notifier};
use crate::snapshot::graph_from_snapshot;
use crate::v8;
use memwatch_core::stats::{FullGcSample, StatsEngine};
use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use std::ffi::c_void;
use std::sync::Arc;

fn binding_error(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
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

fn events_for<'e>(
    env: &'e Env,
    engine: &mut StatsEngine,
    samples: &[FullGcSample],
) -> Result<Vec<Object<'e>>> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        push_outcome(env, &mut out, &engine.record_full(s))?;
    }
    Ok(out)
}

/// Native backend: V8 GC callbacks on the calling thread's isolate.
#[napi]
pub struct GcWatcher {
    hooks: Arc<Hooks>,
    engine: StatsEngine,
}

#[napi]
impl GcWatcher {
    /// `onWake` is called (later, from the event loop) when samples are
    /// queued; `reference` is `v8.getHeapStatistics()` read just before, to
    /// verify the struct layout. Throws if the V8 binding is unusable here.
    #[napi(constructor, catch_unwind)]
    pub fn new(env: Env, on_wake: Function<(), ()>, reference: Object) -> Result<Self> {
        let reference = heap_reference(&reference)?;
        let api = v8::api().map_err(binding_error)?;
        let isolate = api.current_isolate().map_err(binding_error)?;
        // SAFETY: env and the function are valid for this call.
        let notifier = unsafe { Notifier::new(env.raw(), on_wake.raw()) }?;
        let hooks = Arc::new(Hooks::new(api, isolate, notifier));
        hooks
            .with_fresh_reader(|r| r.verify(&reference))
            .map_err(|e| binding_error(v8::BindingError::LayoutMismatch(e.to_string())))?;
        // Registered after the threadsafe function, so it runs before Node
        // finalizes that function (cleanup hooks run in reverse order).
        let arg = Arc::into_raw(hooks.clone()) as *mut c_void;
        // SAFETY: valid env; `arg` is released by env_cleanup.
        if let Err(e) =
            check(unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(env_cleanup), arg) })
        {
            // SAFETY: not registered, so reclaim the reference here.
            drop(unsafe { Arc::from_raw(arg as *const Hooks) });
            return Err(e);
        }
        Ok(Self {
            hooks,
            engine: StatsEngine::new(),
        })
    }

    /// V8's version string, e.g. "11.3.244.8-node.33".
    #[napi(getter)]
    pub fn v8_version(&self) -> String {
        v8::api().map(|a| a.version.to_string()).unwrap_or_default()
    }

    /// Registers the GC callbacks (idempotent).
    #[napi(catch_unwind)]
    pub fn start(&self) {
        self.hooks.start();
    }

    /// Removes the GC callbacks (idempotent).
    #[napi(catch_unwind)]
    pub fn stop(&self) {
        self.hooks.stop();
    }

    #[napi(getter)]
    pub fn active(&self) -> bool {
        self.hooks.is_registered()
    }

    /// Events for the full GCs seen since the last drain, oldest first:
    /// `[{type:'leak'|'stats', data}]`.
    #[napi(catch_unwind)]
    pub fn drain<'e>(&mut self, env: &'e Env) -> Result<Vec<Object<'e>>> {
        let samples = self.hooks.drain();
        events_for(env, &mut self.engine, &samples)
    }

    /// A full GC now; returns the pending events followed by the events of
    /// this GC (the last one is its `stats`).
    #[napi(catch_unwind)]
    pub fn gc<'e>(&mut self, env: &'e Env) -> Result<Vec<Object<'e>>> {
        let mut samples = self.hooks.drain();
        samples.push(self.hooks.full_gc());
        events_for(env, &mut self.engine, &samples)
    }

    /// Time spent inside memwatch's own GC callbacks: `{ calls, totalNs, droppedSamples }`.
    #[napi(catch_unwind)]
    pub fn callback_cost<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        let c = self.hooks.callback_cost();
        let mut o = Object::new(env)?;
        o.set("calls", c.calls as f64)?;
        o.set("totalNs", c.total_ns as f64)?;
        o.set("droppedSamples", self.hooks.dropped_samples() as f64)?;
        Ok(o)
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

#[napi]
impl JsStatsEngine {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            engine: StatsEngine::new(),
        }
    }

    /// Feeds one full GC described by `sample` (`time_ms`, `used_heap_size`,
    /// `total_heap_size`, `heap_size_limit`, `external_memory`, `gc_pause_ms`,
    /// `incremental_gcs_before`); returns its events.
    #[napi(catch_unwind)]
    pub fn record<'e>(&mut self, env: &'e Env, sample: Object) -> Result<Vec<Object<'e>>> {
        let s = sample_from_js(&sample)?;
        events_for(env, &mut self.engine, &[s])
    }
}

/// Why the native binding cannot be used in this process, or null if it can
/// (symbols and version only; the layout is checked by `GcWatcher`).
#[napi(catch_unwind)]
pub fn native_binding_problem() -> Option<String> {
    v8::api().err().map(|e| e.to_string())
}

/// The mangled V8 symbols the binding resolves (for the cross-version test).
#[napi]
pub fn v8_symbols() -> Vec<String> {
    v8::symbols()
        .map(|s| s.to_string_lossy().into_owned())
        .collect()
}

/// The `HeapStatistics` byte offsets assumed for a V8 major, or null if that
/// major is not supported (for the test that compares them with the headers).
#[napi(catch_unwind)]
pub fn heap_statistics_layout<'e>(env: &'e Env, v8_major: u32) -> Result<Option<Object<'e>>> {
    let Some(l) = memwatch_core::layout::heap_statistics_layout(v8_major) else {
        return Ok(None);
    };
    let mut o = Object::new(env)?;
    for (k, v) in [
        ("size", l.size),
        ("total_heap_size", l.total_heap_size),
        ("total_heap_size_executable", l.total_heap_size_executable),
        ("total_physical_size", l.total_physical_size),
        ("total_available_size", l.total_available_size),
        ("used_heap_size", l.used_heap_size),
        ("heap_size_limit", l.heap_size_limit),
        ("malloced_memory", l.malloced_memory),
        ("external_memory", l.external_memory),
        ("peak_malloced_memory", l.peak_malloced_memory),
        ("number_of_native_contexts", l.number_of_native_contexts),
        ("number_of_detached_contexts", l.number_of_detached_contexts),
    ] {
        o.set(k, v as u32)?;
    }
    Ok(Some(o))
}

#[napi]
impl GcWatcher {
    /// Takes a heap snapshot through V8's profiler (its GCs are not reported
    /// as `stats`), copies it into `store` (nodes; edges too with
    /// `with_edges`), deletes V8's copy at once and returns the graph's id.
    #[napi(catch_unwind)]
    pub fn snapshot_into(&self, store: &mut GraphStore, with_edges: bool) -> Result<u32> {
        let api = v8::profiler_api().map_err(binding_error)?;
        let isolate = self.hooks.isolate();
        // SAFETY: called from JS on the isolate's thread, outside a GC.
        let snap = self
            .hooks
            .without_samples(|| unsafe { api.take_snapshot(isolate) })
            .ok_or_else(|| binding_error("V8 returned no heap snapshot"))?;
        // SAFETY: as above; `snap` is dropped (deleted) right after the walk.
        let graph = unsafe { graph_from_snapshot(&snap, with_edges) };
        drop(snap);
        release_memory();
        let graph = graph.map_err(|e| binding_error(format!("heap snapshot walk: {e}")))?;
        Ok(store.insert(graph))
    }

    /// Forgets V8's object-id map (after the last open HeapDiff ends), which
    /// otherwise keeps every later GC several times slower, and trims malloc.
    #[napi(catch_unwind)]
    pub fn clear_object_ids(&self) -> Result<()> {
        let api = v8::profiler_api().map_err(binding_error)?;
        // SAFETY: called from JS on the isolate's thread, outside a GC.
        unsafe { api.clear_object_ids(self.hooks.isolate()) };
        release_memory();
        Ok(())
    }
}

/// Why native heap snapshots are unavailable here, or null.
#[napi(catch_unwind)]
pub fn profiler_problem() -> Option<String> {
    v8::profiler_api().err().map(|e| e.to_string())
}
