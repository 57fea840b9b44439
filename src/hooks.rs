//! Per-isolate GC hooks: what runs inside V8's GC prologue/epilogue.
//!
//! The callbacks only record numbers into preallocated Rust state: no JS, no
//! JS objects, no heap allocation, no blocking lock, no panic escaping. Full
//! GCs become `FullGcSample`s in a bounded queue and one wake-up is queued for
//! the JS thread; other GCs are only counted.

use crate::notify::Notifier;
use crate::v8::{gc_type, HeapStatisticsReader, Isolate, V8Api};
use memwatch_core::layout::HeapStatisticsReference;
use memwatch_core::queue::BoundedQueue;
use memwatch_core::stats::{FullGcSample, GcTypeTotals, HeapExtras};
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Full-GC samples kept while JS has not drained them; older ones are dropped.
const QUEUE_CAPACITY: usize = 256;
/// One slot per `GCType` bit, to time each kind from prologue to epilogue.
const GC_KINDS: usize = 5;

/// Numbers gathered while `gc()` runs its back-to-back collections.
#[derive(Default, Clone, Copy)]
struct ForcedGc {
    pause_ms: f64,
    full_gcs: u32,
    /// Whether these GCs count in the per-type totals: yes for `gc()`, no
    /// for a heap snapshot's (as @airbnb/node-memwatch skipped HeapDiff's).
    counted: bool,
}

/// Time spent inside our own callbacks, for the overhead benchmark.
#[derive(Default, Clone, Copy, Debug)]
pub struct CallbackCost {
    pub calls: u64,
    pub total_ns: u64,
}

struct HookState {
    reader: HeapStatisticsReader,
    queue: BoundedQueue<FullGcSample>,
    incremental_gcs: u64,
    started: [Option<Instant>; GC_KINDS],
    forced: Option<ForcedGc>,
    by_type: GcTypeTotals,
    wake_pending: bool,
    cost: CallbackCost,
}

pub struct Hooks {
    api: &'static V8Api,
    isolate: *mut Isolate,
    state: Mutex<HookState>,
    notifier: Notifier,
    registered: AtomicBool,
}

// The isolate pointer is only dereferenced by V8 on the isolate's own thread,
// which is the only thread that calls into `Hooks`.
unsafe impl Send for Hooks {}
unsafe impl Sync for Hooks {}

fn wall_clock_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn kind_slot(gc: c_int) -> Option<usize> {
    let bits = gc as u32;
    (bits.count_ones() == 1)
        .then(|| bits.trailing_zeros() as usize)
        .filter(|i| *i < GC_KINDS)
}

unsafe extern "C" fn on_gc_prologue(_: *mut Isolate, gc: c_int, _: c_int, data: *mut c_void) {
    // A panic must not unwind into V8 (that aborts the process).
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `data` is the `Hooks` registered with this callback; it is
        // kept alive until the callback is removed.
        let hooks = &*(data as *const Hooks);
        hooks.prologue(gc);
    }));
}

unsafe extern "C" fn on_gc_epilogue(_: *mut Isolate, gc: c_int, _: c_int, data: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in `on_gc_prologue`.
        let hooks = &*(data as *const Hooks);
        hooks.epilogue(gc);
    }));
}

impl Hooks {
    pub fn new(api: &'static V8Api, isolate: *mut Isolate, notifier: Notifier) -> Self {
        Self {
            api,
            isolate,
            state: Mutex::new(HookState {
                reader: HeapStatisticsReader::new(api),
                queue: BoundedQueue::with_capacity(QUEUE_CAPACITY),
                incremental_gcs: 0,
                started: [None; GC_KINDS],
                forced: None,
                by_type: GcTypeTotals::default(),
                wake_pending: false,
                cost: CallbackCost::default(),
            }),
            notifier,
            registered: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HookState> {
        // A poisoned lock only means an earlier panic was caught; the numbers are still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inside a GC the lock can only be held by our own thread outside a GC
    /// (never across a call into V8), so `try_lock` failing means "skip this
    /// one" instead of a deadlock.
    fn try_lock(&self) -> Option<MutexGuard<'_, HookState>> {
        match self.state.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    fn prologue(&self, gc: c_int) {
        let t0 = Instant::now();
        if let (Some(mut s), Some(slot)) = (self.try_lock(), kind_slot(gc)) {
            s.started[slot] = Some(t0);
            s.cost.calls += 1;
            s.cost.total_ns += t0.elapsed().as_nanos() as u64;
        }
    }

    fn epilogue(&self, gc: c_int) {
        let t0 = Instant::now();
        let Some(mut s) = self.try_lock() else { return };
        let pause = kind_slot(gc)
            .and_then(|slot| s.started[slot].take())
            .map(|start| t0.duration_since(start))
            .unwrap_or_default();
        let pause_ms = pause.as_secs_f64() * 1000.0;
        if s.forced.is_none_or(|f| f.counted) {
            count_by_type(&mut s.by_type, gc, pause.as_nanos() as u64);
        }
        if gc == gc_type::MARK_SWEEP_COMPACT {
            if let Some(forced) = s.forced.as_mut() {
                forced.pause_ms += pause_ms;
                forced.full_gcs += 1;
            } else {
                let sample = self.sample_now(&mut s, pause_ms);
                s.queue.push(sample);
                if !s.wake_pending {
                    s.wake_pending = self.notifier.notify();
                }
            }
        } else {
            s.incremental_gcs += 1;
        }
        s.cost.calls += 1;
        s.cost.total_ns += t0.elapsed().as_nanos() as u64;
    }

    fn sample_now(&self, s: &mut HookState, pause_ms: f64) -> FullGcSample {
        // SAFETY: we are on the isolate's thread (in its GC callback or in a
        // call from its JS).
        unsafe { s.reader.refresh(self.isolate) };
        let n = s.reader.numbers();
        FullGcSample {
            time_ms: wall_clock_ms(),
            used_heap_size: n.used_heap_size,
            total_heap_size: n.total_heap_size,
            heap_size_limit: n.heap_size_limit,
            external_memory: n.external_memory,
            gc_pause_ms: pause_ms,
            incremental_gcs_before: s.incremental_gcs,
            heap: HeapExtras {
                total_heap_size_executable: n.total_heap_size_executable,
                total_physical_size: n.total_physical_size,
                total_available_size: n.total_available_size,
                malloced_memory: n.malloced_memory,
                peak_malloced_memory: n.peak_malloced_memory,
            },
            by_type: s.by_type,
        }
    }

    /// Registers the callbacks (idempotent). `self` must not move while
    /// registered: it lives in an `Arc` that outlives the registration.
    pub fn start(&self) {
        if !self.registered.swap(true, Ordering::SeqCst) {
            // SAFETY: on the isolate's thread; `self` outlives the registration
            // (`stop` runs before the Arc is dropped: Drop and the cleanup hook).
            unsafe {
                self.api.add_gc_callbacks(
                    self.isolate,
                    on_gc_prologue,
                    on_gc_epilogue,
                    self as *const Hooks as *mut c_void,
                )
            };
        }
    }

    /// Removes the callbacks (idempotent).
    pub fn stop(&self) {
        if self.registered.swap(false, Ordering::SeqCst) {
            // SAFETY: same arguments as the registration.
            unsafe {
                self.api.remove_gc_callbacks(
                    self.isolate,
                    on_gc_prologue,
                    on_gc_epilogue,
                    self as *const Hooks as *mut c_void,
                )
            };
            let mut s = self.lock();
            s.started = [None; GC_KINDS];
        }
    }

    pub fn is_registered(&self) -> bool {
        self.registered.load(Ordering::SeqCst)
    }

    /// Takes the queued samples (oldest first) and re-arms the wake-up.
    pub fn drain(&self) -> Vec<FullGcSample> {
        let mut s = self.lock();
        s.wake_pending = false;
        let mut out = Vec::with_capacity(s.queue.len());
        while let Some(x) = s.queue.pop() {
            out.push(x);
        }
        out
    }

    pub fn dropped_samples(&self) -> u64 {
        self.lock().queue.dropped()
    }

    pub fn callback_cost(&self) -> CallbackCost {
        self.lock().cost
    }

    /// Runs `f` (which makes V8 collect: `LowMemoryNotification`, a heap
    /// snapshot) with the epilogue accumulating instead of queueing, so the
    /// collections it causes do not reach `stats`/`leak` on their own.
    /// Must not be called from inside a GC callback.
    fn quietly<R>(&self, counted: bool, f: impl FnOnce() -> R) -> (R, ForcedGc) {
        let outer = self.lock().forced.replace(ForcedGc {
            counted,
            ..ForcedGc::default()
        });
        // The lock is released here: V8 calls our callbacks during `f`.
        let r = f();
        let mut s = self.lock();
        let inner = s.forced.take().unwrap_or_default();
        s.forced = outer;
        (r, inner)
    }

    /// Runs a full collection now (`LowMemoryNotification`, no --expose-gc)
    /// and returns one sample for all the mark-sweeps it ran: they count as
    /// one full GC.
    pub fn full_gc(&self) -> FullGcSample {
        self.full_gc_counted().0
    }

    /// `full_gc`, and how many mark-sweep-compact epilogues V8 reported for it.
    fn full_gc_counted(&self) -> (FullGcSample, u32) {
        let t0 = Instant::now();
        // SAFETY: called from JS on the isolate's thread.
        let ((), forced) = self.quietly(true, || unsafe {
            self.api.low_memory_notification(self.isolate)
        });
        let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
        // Without hooks nothing was timed inside V8; the call is (almost) all GC.
        let pause_ms = if forced.full_gcs > 0 {
            forced.pause_ms
        } else {
            wall_ms
        };
        let mut s = self.lock();
        (self.sample_now(&mut s, pause_ms), forced.full_gcs)
    }

    /// Runs `f` so that the GCs it causes are not reported (HeapDiff's snapshots).
    pub fn without_samples<R>(&self, f: impl FnOnce() -> R) -> R {
        self.quietly(false, f).0
    }

    /// The start-up check of the GC callbacks on a V8 no table row was
    /// verified on: a full GC must reach the epilogue as a
    /// mark-sweep-compact, with plausible heap numbers read inside it.
    /// Restores the registration as it was.
    pub fn self_test(&self) -> Result<(), String> {
        let was = self.is_registered();
        self.start();
        let (sample, full_gcs) = self.full_gc_counted();
        if !was {
            self.stop();
        }
        if crate::v8::test_hooks::fail("gc_callbacks") {
            return Err("GC callbacks: failed by MEMWATCH_TEST_FAIL_CHECK".into());
        }
        if full_gcs == 0 {
            return Err("a full GC did not reach the GC epilogue as a mark-sweep-compact".into());
        }
        if sample.used_heap_size == 0 || sample.used_heap_size > sample.total_heap_size {
            return Err(format!(
                "heap numbers read in the GC callback are implausible (used {}, total {})",
                sample.used_heap_size, sample.total_heap_size
            ));
        }
        Ok(())
    }

    pub fn isolate(&self) -> *mut Isolate {
        self.isolate
    }

    /// Checks the `HeapStatistics` layout against `reference` (JS's
    /// `v8.getHeapStatistics()`); see `HeapStatisticsReader::verify`.
    pub fn verify_heap_statistics(
        &self,
        reference: impl Fn() -> Result<HeapStatisticsReference, String>,
    ) -> Result<(), String> {
        let mut s = self.lock();
        // SAFETY: called from JS on the isolate's thread, outside a GC.
        unsafe { s.reader.verify(self.isolate, reference) }
    }
}

/// Adds one GC to its kind's count and time.
fn count_by_type(t: &mut GcTypeTotals, gc: c_int, ns: u64) {
    let (count, time) = match gc {
        gc_type::SCAVENGE | gc_type::MINOR_MARK_SWEEP => {
            (&mut t.scavenge_count, &mut t.scavenge_ns)
        }
        gc_type::MARK_SWEEP_COMPACT => (
            &mut t.mark_sweep_compact_count,
            &mut t.mark_sweep_compact_ns,
        ),
        gc_type::INCREMENTAL_MARKING => (
            &mut t.incremental_marking_count,
            &mut t.incremental_marking_ns,
        ),
        gc_type::PROCESS_WEAK_CALLBACKS => (
            &mut t.process_weak_callbacks_count,
            &mut t.process_weak_callbacks_ns,
        ),
        _ => return,
    };
    *count += 1;
    *time += ns;
}
