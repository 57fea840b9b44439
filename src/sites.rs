//! Leak sites: V8's sampling heap profiler behind two small classes.
//!
//! - `SiteSampler` (native route): starts, stops and reads the profiler of
//!   the calling thread's isolate through the V8 binding (`v8::sampling`),
//!   straight into a tracker. Never stops a profiler it did not start.
//! - `SiteTracker`: `memwatch_core::sites::SiteTracker` for JS: reads in
//!   (native, or the inspector's profile as columns), sites out.
//!
//! The JS side (`lib/sites.js`) decides when to read (after full-GC
//! deliveries, never in a GC callback) and which route to use; the native
//! route is used only after the canary (`SiteSampler::canary`) passed.

use crate::errors::{self, coded, guard, Code, OrInternal, Result};
use crate::notify::check;
use crate::v8;
use crate::watcher::GcWatcher;
use memwatch_core::sites::{
    CanaryExpectation, SiteOrder, SiteRecord, SiteTracker as CoreTracker, MAX_NODES,
};
use napi::bindgen_prelude::*;
use napi::sys;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A number outside its range (Node's code for the same check).
pub const OUT_OF_RANGE: Code = Code("ERR_OUT_OF_RANGE");
/// The profile V8 returned does not read as the layout table says.
pub const SAMPLING_READ: Code = Code("ERR_MEMWATCH_SAMPLING_READ");

/// The sampling interval accepted, in bytes (V8 aborts on 0; a huge one
/// would sample nothing).
pub const MIN_INTERVAL: f64 = 256.0;
pub const MAX_INTERVAL: f64 = (1u64 << 30) as f64;
/// Frames kept per sample (DevTools uses 128).
pub const MAX_STACK_DEPTH: u32 = 128;

fn unavailable(e: impl std::fmt::Display) -> errors::Error {
    coded(errors::NATIVE_UNAVAILABLE, e.to_string())
}

/// The native route's verdict for this process (the layout is the same for
/// every isolate): `None` until a canary ran.
static VERDICT: Mutex<Option<std::result::Result<(), String>>> = Mutex::new(None);

fn verdict() -> Option<std::result::Result<(), String>> {
    VERDICT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn set_verdict(v: std::result::Result<(), String>) {
    *VERDICT.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
}

/// Why the native route cannot read profiles in this process, or null
/// (also null before the canary ran: see `samplingVerified`).
#[napi]
pub fn sampling_problem() -> Result<Option<String>> {
    guard(|| {
        if let Err(e) = v8::sampling_api() {
            return Ok(Some(e.to_string()));
        }
        Ok(match verdict() {
            Some(Err(why)) => Some(why),
            _ => None,
        })
    })
}

/// Whether the canary passed in this process.
#[napi]
pub fn sampling_verified() -> bool {
    matches!(verdict(), Some(Ok(())))
}

/// One allocation site (`leak.sites`, `memwatch.sites()`).
#[napi(object)]
pub struct Site {
    pub function: String,
    pub url: String,
    pub line: u32,
    pub column: u32,
    #[napi(js_name = "growth_bytes")]
    pub growth_bytes: f64,
    #[napi(js_name = "live_bytes")]
    pub live_bytes: f64,
    pub samples: u32,
    pub stack: Vec<String>,
}

impl From<SiteRecord> for Site {
    fn from(r: SiteRecord) -> Self {
        Self {
            function: r.function,
            url: r.url,
            line: r.line,
            column: r.column,
            // Heap sizes stay far below 2^53.
            growth_bytes: r.growth_bytes as f64,
            live_bytes: r.live_bytes as f64,
            samples: r.samples,
            stack: r.stack,
        }
    }
}

/// What the canary allocated (see `CanaryExpectation`).
#[napi(object)]
pub struct CanaryInput {
    pub function: String,
    pub caller: String,
    pub url: String,
    pub line: u32,
    pub column: u32,
    pub retained_bytes: f64,
}

/// The inspector's `SamplingHeapProfile` as columns (lib/sites.js flattens
/// the tree in pre-order): strings by index, numbers as float64.
#[napi(object)]
pub struct ProfileColumns {
    pub strings: Vec<String>,
    /// Per node: index into `strings` of the function name and URL.
    pub function: Float64Array,
    pub url: Float64Array,
    pub script_id: Float64Array,
    /// 1-based (the inspector's 0-based numbers plus one).
    pub line: Float64Array,
    pub column: Float64Array,
    /// Index of the parent node, -1 for the root.
    pub parent: Float64Array,
    pub node_id: Float64Array,
    pub self_size: Float64Array,
    pub sample_node: Float64Array,
    pub sample_size: Float64Array,
    pub sample_ordinal: Float64Array,
}

fn invalid(message: impl AsRef<str>) -> errors::Error {
    coded(errors::INVALID_ARG_TYPE, message)
}

/// A JS number as a non-negative integer below `max`, or an error.
fn whole(v: f64, max: f64, what: &str) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v <= max && v.fract() == 0.0 {
        Ok(v as u64)
    } else {
        Err(invalid(format!("profile columns: bad {what} {v}")))
    }
}

fn int(v: f64, what: &str) -> Result<i32> {
    if v.is_finite() && v.fract() == 0.0 && v >= i32::MIN as f64 && v <= i32::MAX as f64 {
        Ok(v as i32)
    } else {
        Err(invalid(format!("profile columns: bad {what} {v}")))
    }
}

/// Sites over time for one isolate.
#[napi(js_name = "SiteTracker")]
pub struct JsSiteTracker {
    inner: CoreTracker,
}

impl Default for JsSiteTracker {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl JsSiteTracker {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            inner: CoreTracker::new(),
        }
    }

    /// Forgets earlier reads (the profiler restarted).
    #[napi]
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Records the inspector's profile (as columns); with `key` (the number
    /// of the full GC it followed) it can be a leak window's baseline.
    /// Returns false when it is not a later read of the profiler read
    /// before (one started since: the earlier reads are forgotten).
    #[napi]
    pub fn ingest(&mut self, columns: ProfileColumns, key: Option<f64>) -> Result<bool> {
        guard(|| {
            let c = &columns;
            let n = c.function.len();
            let same = [
                c.url.len(),
                c.script_id.len(),
                c.line.len(),
                c.column.len(),
                c.parent.len(),
                c.node_id.len(),
                c.self_size.len(),
            ];
            let m = c.sample_node.len();
            if same.iter().any(|&l| l != n)
                || c.sample_size.len() != m
                || c.sample_ordinal.len() != m
                || n > MAX_NODES
            {
                return Err(invalid("profile columns: lengths differ"));
            }
            let string = |i: f64| -> Result<&str> {
                let i = whole(i, u32::MAX as f64, "string index")? as usize;
                c.strings
                    .get(i)
                    .map(String::as_str)
                    .ok_or_else(|| invalid("profile columns: string index out of range"))
            };
            let mut b = self.inner.builder();
            for i in 0..n {
                let script_id = int(c.script_id[i], "script id")?;
                let frame = b.frame(
                    script_id,
                    None,
                    string(c.function[i])?,
                    string(c.url[i])?,
                    int(c.line[i], "line")?,
                    int(c.column[i], "column")?,
                );
                let parent = match int(c.parent[i], "parent")? {
                    -1 => None,
                    p if p >= 0 => Some(p as u32),
                    p => return Err(invalid(format!("profile columns: bad parent {p}"))),
                };
                let node_id = whole(c.node_id[i], u32::MAX as f64, "node id")? as u32;
                let bytes = whole(c.self_size[i], 2f64.powi(53), "self size")?;
                b.node(parent, frame, node_id, bytes)
                    .map_err(|e| invalid(format!("profile columns: {e}")))?;
            }
            for i in 0..m {
                b.sample(
                    whole(c.sample_node[i], u32::MAX as f64, "sample node")? as u32,
                    whole(c.sample_size[i], 2f64.powi(53), "sample size")?,
                    whole(c.sample_ordinal[i], 2f64.powi(53), "sample ordinal")?,
                )
                .map_err(|e| invalid(format!("profile columns: {e}")))?;
            }
            let profile = b.finish();
            let key = key.map(|k| whole(k, 2f64.powi(53), "key")).transpose()?;
            Ok(self.inner.record(profile, key))
        })
    }

    /// The `top` sites that grew most since full GC `start_gc` (its read,
    /// or the latest before it).
    #[napi]
    pub fn window(&self, start_gc: f64, top: u32) -> Result<Vec<Site>> {
        guard(|| {
            let start = if start_gc.is_finite() && start_gc > 0.0 {
                start_gc as u64
            } else {
                0
            };
            Ok(self
                .inner
                .window(start, top as usize)
                .into_iter()
                .map(Site::from)
                .collect())
        })
    }

    /// The latest read by site, `order` 'live' or 'growth' (since the
    /// previous call).
    #[napi]
    pub fn current(&mut self, top: u32, order: String) -> Result<Vec<Site>> {
        guard(|| {
            let order = match order.as_str() {
                "live" => SiteOrder::Live,
                "growth" => SiteOrder::Growth,
                _ => {
                    return Err(invalid(format!(
                        "order must be 'live' or 'growth': {order}"
                    )))
                }
            };
            Ok(self
                .inner
                .current(top as usize, order)
                .into_iter()
                .map(Site::from)
                .collect())
        })
    }

    /// The latest profile as `.heapprofile` JSON, or null before any read.
    #[napi]
    pub fn inspector_json(&self) -> Result<Option<String>> {
        guard(|| Ok(self.inner.inspector_json()))
    }

    /// Nodes of the latest profile (0 before any read).
    #[napi(getter)]
    pub fn nodes(&self) -> u32 {
        self.inner.latest().map_or(0, |p| p.nodes.len() as u32)
    }

    /// Checks the latest read against the canary; null when it passed.
    #[napi]
    pub fn check_canary(&self, expect: CanaryInput) -> Result<Option<String>> {
        guard(|| {
            Ok(self
                .inner
                .check_canary(&CanaryExpectation {
                    function: expect.function,
                    caller: expect.caller,
                    url: expect.url,
                    line: expect.line,
                    column: expect.column,
                    retained_bytes: expect.retained_bytes.max(0.0) as u64,
                })
                .err())
        })
    }
}

/// What the environment cleanup hook needs: the profiler is stopped before
/// the isolate is torn down. V8 (Node 24, 26) crashes at a natural exit if
/// a sampling profiler still holds live samples then ("Check failed:
/// node->IsInUse()", or a bad free), as the global handles of its samples
/// are released before the profiler; Node's own --heap-prof stops first too.
struct SamplerState {
    api: &'static v8::SamplingApi,
    isolate: *mut v8::Isolate,
    /// Whether the profiler running now was started here (and may be stopped).
    owned: AtomicBool,
}

// The isolate pointer is only used on the isolate's own thread: from JS
// calls and from its environment's cleanup hook.
unsafe impl Send for SamplerState {}
unsafe impl Sync for SamplerState {}

impl SamplerState {
    /// Stops the profiler if it is ours.
    fn stop_owned(&self) -> bool {
        if !self.owned.swap(false, Ordering::SeqCst) {
            return false;
        }
        // SAFETY: on the isolate's thread (a JS call or its environment's
        // cleanup, while the isolate lives), outside a GC; the running
        // profiler is ours.
        unsafe { self.api.stop(self.isolate) };
        true
    }
}

/// Stops our profiler when the environment (the main thread at exit, or a
/// worker, however it ends) is torn down.
unsafe extern "C" fn env_cleanup(arg: *mut c_void) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: `arg` came from Arc::into_raw in SiteSampler::new; Node
        // calls each cleanup hook once.
        let state = unsafe { Arc::from_raw(arg as *const SamplerState) };
        state.stop_owned();
    });
}

/// V8's sampling heap profiler of the calling thread's isolate.
#[napi]
pub struct SiteSampler {
    state: Arc<SamplerState>,
}

fn check_options(interval: f64, stack_depth: u32) -> Result<(u64, i32)> {
    if !(interval.is_finite()
        && interval.fract() == 0.0
        && (MIN_INTERVAL..=MAX_INTERVAL).contains(&interval))
    {
        return Err(coded(
            OUT_OF_RANGE,
            format!("sampling interval must be a whole number of bytes from {MIN_INTERVAL} to {MAX_INTERVAL}: {interval}"),
        ));
    }
    if !(1..=MAX_STACK_DEPTH).contains(&stack_depth) {
        return Err(coded(
            OUT_OF_RANGE,
            format!("stack depth must be from 1 to {MAX_STACK_DEPTH}: {stack_depth}"),
        ));
    }
    Ok((interval as u64, stack_depth as i32))
}

#[napi]
impl SiteSampler {
    /// Throws `ERR_MEMWATCH_NATIVE_UNAVAILABLE` where the binding cannot
    /// reach the profiler (the JS side then uses the inspector).
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self> {
        guard(|| {
            let api = v8::sampling_api().map_err(unavailable)?;
            let isolate = v8::api()
                .map_err(unavailable)?
                .current_isolate()
                .map_err(unavailable)?;
            let state = Arc::new(SamplerState {
                api,
                isolate,
                owned: AtomicBool::new(false),
            });
            let arg = Arc::into_raw(state.clone()) as *mut c_void;
            // SAFETY: valid env; `arg` is released by env_cleanup.
            if let Err(e) =
                check(unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(env_cleanup), arg) })
            {
                // SAFETY: not registered, so reclaim the reference here.
                drop(unsafe { Arc::from_raw(arg as *const SamplerState) });
                return Err(e).or_internal();
            }
            Ok(Self { state })
        })
    }

    /// Starts the profiler. Returns true if this call started it; false if
    /// one was running already (someone else's: it is read, never stopped).
    #[napi]
    pub fn start(&mut self, interval: f64, stack_depth: u32) -> Result<bool> {
        guard(|| {
            let (interval, depth) = check_options(interval, stack_depth)?;
            let s = &self.state;
            if s.owned.load(Ordering::SeqCst) {
                return Ok(true);
            }
            // SAFETY: on the isolate's thread (JS called us), outside a GC;
            // interval and depth are positive (checked above).
            let started = unsafe { s.api.start(s.isolate, interval, depth) };
            s.owned.store(started, Ordering::SeqCst);
            Ok(started)
        })
    }

    /// Starts the profiler again if none runs (someone stopped ours, or the
    /// one we read ended); returns whether it did. A cheap check: V8 returns
    /// at once when one is running, which it leaves alone.
    #[napi]
    pub fn restart_if_stopped(&mut self, interval: f64, stack_depth: u32) -> Result<bool> {
        guard(|| {
            let (interval, depth) = check_options(interval, stack_depth)?;
            let s = &self.state;
            // SAFETY: as in `start`.
            let started = unsafe { s.api.start(s.isolate, interval, depth) };
            if started {
                s.owned.store(true, Ordering::SeqCst);
            }
            Ok(started)
        })
    }

    /// Stops the profiler if it is ours; returns whether it stopped one.
    #[napi]
    pub fn stop(&mut self) -> Result<bool> {
        guard(|| Ok(self.state.stop_owned()))
    }

    /// Whether the running profiler was started here.
    #[napi(getter)]
    pub fn owned(&self) -> bool {
        self.state.owned.load(Ordering::SeqCst)
    }

    /// Forgets that the profiler was ours (someone stopped it: reading
    /// found none running).
    #[napi]
    pub fn disown(&mut self) {
        self.state.owned.store(false, Ordering::SeqCst);
    }

    /// Reads the profile into `tracker` (keyed by `key`, the full GC it
    /// follows). GCs V8 runs for the read (a foreign profiler that asked for
    /// them) are kept out of `stats`. Returns false when no profiler runs.
    #[napi]
    pub fn read(
        &self,
        env: &Env,
        watcher: &GcWatcher,
        tracker: &mut JsSiteTracker,
        key: Option<f64>,
    ) -> Result<bool> {
        guard(|| {
            let key = key.filter(|k| k.is_finite() && *k >= 0.0).map(|k| k as u64);
            let mut builder = tracker.inner.builder();
            let s = &self.state;
            // SAFETY: on the isolate's thread, from JS, outside a GC.
            let read = watcher
                .without_samples(|| unsafe { s.api.read(env.raw(), s.isolate, &mut builder) });
            match read {
                Ok(true) => {
                    let profile = builder.finish();
                    if !tracker.inner.record(profile, key) {
                        // Not the profiler read before: someone stopped ours
                        // and started theirs in between. Theirs is read,
                        // never stopped.
                        s.owned.store(false, Ordering::SeqCst);
                    }
                    Ok(true)
                }
                Ok(false) => Ok(false),
                Err(e) => {
                    // What V8 returned does not match the layout table: no
                    // isolate of this process reads natively again.
                    let why = format!("reading V8's allocation profile: {e}");
                    set_verdict(Err(why.clone()));
                    Err(coded(SAMPLING_READ, why))
                }
            }
        })
    }

    /// The canary, once per process: with this sampler's profiler running
    /// (ours, at a small interval) and `allocate` having just allocated and
    /// kept what `expect` describes, reads the profile into `tracker` and
    /// checks it (and, where node exports them, the vtable against V8's
    /// own symbols). Returns null when the native route may be used, else
    /// why not; the verdict holds for the whole process.
    #[napi]
    pub fn canary(
        &self,
        env: &Env,
        watcher: &GcWatcher,
        tracker: &mut JsSiteTracker,
        expect: CanaryInput,
    ) -> Result<Option<String>> {
        guard(|| {
            if let Some(v) = verdict() {
                return Ok(v.err());
            }
            let verdict = self.run_canary(env, watcher, tracker, expect);
            let verdict = if v8::test_hooks::fail("sampling_canary") {
                Err("sampling canary failed by MEMWATCH_TEST_FAIL_CHECK".to_owned())
            } else {
                verdict
            };
            set_verdict(verdict.clone());
            Ok(verdict.err())
        })
    }
}

impl SiteSampler {
    fn run_canary(
        &self,
        env: &Env,
        watcher: &GcWatcher,
        tracker: &mut JsSiteTracker,
        expect: CanaryInput,
    ) -> std::result::Result<(), String> {
        // SAFETY: on the isolate's thread, from JS, outside a GC; nothing is
        // called through the vtable here, only compared.
        let s = &self.state;
        let vtable = unsafe { v8::verify_vtable(s.api, env.raw(), s.isolate) }
            .map_err(|e| format!("sampling canary: {e}"))?;
        if !s.api.verified && vtable != v8::VtableCheck::Confirmed {
            return Err(format!(
                "sampling canary: V8 {} is newer than the layout table and node does not export the symbols that would confirm its AllocationProfile vtable",
                v8::runtime().map(|r| r.version.as_str()).unwrap_or("?")
            ));
        }
        match self.read(env, watcher, tracker, None) {
            Ok(true) => {}
            Ok(false) => return Err("sampling canary: no profile while sampling".into()),
            Err(e) => return Err(format!("sampling canary: {}", e.reason)),
        }
        match tracker.check_canary(expect) {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(format!("sampling canary: {e}")),
            Err(e) => Err(format!("sampling canary: {}", e.reason)),
        }
    }
}

/// Runs `f` with the full GCs it causes kept out of `stats`/`leak` (the
/// inspector's `getSamplingProfile` collects garbage first).
#[napi]
pub fn without_gc_samples(watcher: &GcWatcher, f: Function<(), ()>) -> Result<()> {
    guard(|| watcher.without_samples(|| f.call(())).or_internal())
}

/// The `AllocationProfile` layout the binding assumes for a V8 version, or
/// null (for the test that compares it with each version's headers), as
/// JSON in the probe's shape.
#[napi]
pub fn allocation_profile_layout(v8_major: u32, v8_minor: u32) -> Result<Option<String>> {
    guard(|| Ok(layout_json(v8_major, v8_minor)))
}

fn layout_json(v8_major: u32, v8_minor: u32) -> Option<String> {
    use memwatch_core::layout::{allocation_profile_layout, V8Version};
    let a = allocation_profile_layout(V8Version::new(v8_major, v8_minor))?;
    let (n, v, al, s) = (a.node, a.vector, a.allocation, a.sample);
    Some(format!(
        "{{\"vtable\":{{\"get_root_node\":{},\"get_samples\":{},\"itanium_complete_dtor\":{},\
         \"itanium_deleting_dtor\":{}}},\"vector\":{{\"size\":{},\"begin\":{},\"end\":{}}},\
         \"node\":{{\"size\":{},\"name\":{},\"script_name\":{},\"script_id\":{},\"start_position\":{},\
         \"line_number\":{},\"column_number\":{},\"node_id\":{},\"children\":{},\"allocations\":{}}},\
         \"allocation\":{{\"size\":{},\"size_field\":{},\"count\":{}}},\
         \"sample\":{{\"size\":{},\"node_id\":{},\"size_field\":{},\"count\":{},\"sample_id\":{},\
         \"is_live\":{}}},\"msvc_deleting_dtor\":{},\"sampling_flags\":{{\"no_flags\":{}}}}}",
        a.vtable.get_root_node,
        a.vtable.get_samples,
        // Itanium puts the complete-object destructor right before the deleting one.
        a.vtable.itanium_deleting_dtor - 1,
        a.vtable.itanium_deleting_dtor,
        v.size,
        v.begin,
        v.end,
        n.size,
        n.name,
        n.script_name,
        n.script_id,
        n.start_position,
        n.line_number,
        n.column_number,
        n.node_id,
        n.children,
        n.allocations,
        al.size,
        al.size_field,
        al.count,
        s.size,
        s.node_id,
        s.size_field,
        s.count,
        s.sample_id,
        s.is_live.map_or("null".to_owned(), |o| o.to_string()),
        a.vtable.msvc_deleting_dtor,
        v8::SAMPLING_NO_FLAGS,
    ))
}

/// Full GCs in a `leak` event's run of growing GCs (its window).
#[napi]
pub fn leak_gc_count() -> u32 {
    memwatch_core::stats::LEAK_GC_COUNT
}
