'use strict';
// The two sources of GC events. Both feed the same Rust stats engine and hand
// `[{ type: 'stats' | 'leak', data }]` batches to `deliver`.
//
// - NativeBackend ('v8'): V8's GC callbacks through the addon's V8 binding;
//   numbers are read inside the GC epilogue, right after the collection.
// - PerfHooksBackend ('perf_hooks'): where the binding is unavailable. The
//   post-GC numbers come from v8.GCProfiler, which Node records inside its
//   own GC epilogue (so they are as exact as the native ones); perf_hooks GC
//   entries only say when to read them. Where v8.GCProfiler is missing
//   (Node < 18.15), the numbers are read when the entries are delivered.

const v8 = require('v8');
const vm = require('vm');
const { PerformanceObserver, performance, constants } = require('perf_hooks');

/**
 * The native engine's `{ stats, leaksBefore }` (one entry per full GC) as the
 * `[{ type: 'leak' | 'stats', data }]` events memwatch emits: a GC's leak
 * reports first, then its stats, as memwatch always did.
 */
function toEvents({ stats, leaksBefore }) {
  // Plain loops: a closure here would get its feedback vector on its 8th
  // call, inside a round of iterate()'s measurements.
  const out = [];
  for (let i = 0; i < stats.length; i++) {
    const leaks = leaksBefore[i];
    for (let j = 0; j < leaks.length; j++) {
      const leak = leaks[j];
      out.push({ type: 'leak', data: { ...leak, start: new Date(leak.start), end: new Date(leak.end) } });
    }
    out.push({ type: 'stats', data: stats[i] });
  }
  return out;
}

class NativeBackend {
  constructor(binding, deliver) {
    this.name = 'v8';
    // The layout check reads the native struct, then this, then the struct again.
    const watcher = new binding.GcWatcher(() => deliver(toEvents(watcher.drain())), () => v8.getHeapStatistics());
    this.watcher = watcher;
    this.binding = binding;
    this.v8Version = watcher.v8Version;
  }

  start() {
    this.watcher.start();
  }

  stop() {
    this.watcher.stop();
  }

  gc() {
    return toEvents(this.watcher.gc());
  }

  /** Events of full GCs whose wake-up has not run yet (at exit, it never will). */
  drain() {
    return toEvents(this.watcher.drain());
  }

  /**
   * Runs `fn` with the full GCs it causes kept out of `stats` (a snapshot
   * V8 writes to a file, the inspector's profile reads; native snapshots do
   * this themselves). Its result or its error, as it was.
   */
  quietly(fn) {
    let result;
    let failure = null;
    this.binding.withoutGcSamples(this.watcher, () => {
      try {
        result = fn();
      } catch (err) {
        failure = { err };
      }
    });
    if (failure) throw failure.err;
    return result;
  }

  callbackCost() {
    return this.watcher.callbackCost();
  }
}

// ---- a full GC from JS, without flipping V8 flags where avoidable ----

/** A class with no instances: v8.queryObjects() counts nothing and only collects. */
class NoInstances {}

/**
 * v8.queryObjects() (Node >= 20.13 / 22) starts with the same "collect all
 * available garbage" V8's LowMemoryNotification runs, synchronously. Its
 * first call prints a one-time ExperimentalWarning; memwatch, not the user,
 * made that call, so that one warning is dropped.
 */
function queryObjectsGc() {
  let first = true;
  return () => {
    if (!first) return v8.queryObjects(NoInstances, { format: 'count' });
    first = false;
    const emitWarning = process.emitWarning;
    process.emitWarning = function (warning, ...rest) {
      const text = typeof warning === 'string' ? warning : warning && warning.message;
      if (typeof text === 'string' && text.includes('queryObjects')) return undefined;
      return emitWarning.call(this, warning, ...rest);
    };
    try {
      return v8.queryObjects(NoInstances, { format: 'count' });
    } finally {
      process.emitWarning = emitWarning;
    }
  };
}

/** Last resort: set --expose-gc only long enough to fetch V8's `gc` (aborts where flags are frozen). */
function flagFlipGc() {
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc');
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

let fullGc = null;
/**
 * Picks how the fallback forces a full GC, once: `globalThis.gc` when the
 * process runs with --expose-gc; else v8.queryObjects(); else the flag flip.
 * (The inspector's HeapProfiler.collectGarbage answers asynchronously, so it
 * cannot back a synchronous gc().)
 */
function forceFullGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc();
  if (!fullGc) fullGc = typeof v8.queryObjects === 'function' ? queryObjectsGc() : flagFlipGc();
  return fullGc();
}

// ---- reading post-GC numbers ----

const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;
const FULL_GC = 'MarkSweepCompact';

/**
 * Counts and times (ns) of GCs by kind, as @airbnb/node-memwatch's `gc*`
 * fields: from v8.GCProfiler's `gcType` names or perf_hooks' entry kinds.
 */
class GcTypeTotals {
  constructor() {
    this.scavenge_count = 0;
    this.scavenge_ns = 0;
    this.mark_sweep_compact_count = 0;
    this.mark_sweep_compact_ns = 0;
    this.incremental_marking_count = 0;
    this.incremental_marking_ns = 0;
    this.process_weak_callbacks_count = 0;
    this.process_weak_callbacks_ns = 0;
  }

  /** `kind`: 'scavenge' | 'mark_sweep_compact' | 'incremental_marking' | 'process_weak_callbacks'. */
  add(kind, ns) {
    if (!kind) return;
    this[`${kind}_count`] += 1;
    this[`${kind}_ns`] += Math.max(0, Math.round(ns));
  }
}

/** v8.GCProfiler's gcType -> the kind it counts as. */
const PROFILER_KINDS = {
  Scavenge: 'scavenge',
  MinorMarkSweep: 'scavenge',
  MinorMarkCompact: 'scavenge',
  MarkSweepCompact: 'mark_sweep_compact',
  IncrementalMarking: 'incremental_marking',
  ProcessWeakCallbacks: 'process_weak_callbacks',
};
/** perf_hooks' gc entry kind -> the kind it counts as. */
const ENTRY_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark_sweep_compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental_marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'process_weak_callbacks',
};

function sample(h, pauseMs, timeMs, incrementalBefore, byType) {
  return {
    time_ms: timeMs,
    used_heap_size: h.used_heap_size,
    total_heap_size: h.total_heap_size,
    heap_size_limit: h.heap_size_limit,
    // v8.getHeapStatistics() has external_memory from Node 20.
    external_memory: h.external_memory ?? process.memoryUsage().external,
    gc_pause_ms: pauseMs,
    incremental_gcs_before: incrementalBefore,
    total_heap_size_executable: h.total_heap_size_executable,
    total_physical_size: h.total_physical_size,
    total_available_size: h.total_available_size,
    malloced_memory: h.malloced_memory,
    peak_malloced_memory: h.peak_malloced_memory,
    ...byType,
  };
}

/** v8.GCProfiler's camelCase heap statistics in getHeapStatistics()' names. */
function fromProfiler(h) {
  return {
    used_heap_size: h.usedHeapSize,
    total_heap_size: h.totalHeapSize,
    heap_size_limit: h.heapSizeLimit,
    external_memory: h.externalMemory,
    total_heap_size_executable: h.totalHeapSizeExecutable,
    total_physical_size: h.totalPhysicalSize,
    total_available_size: h.totalAvailableSize,
    malloced_memory: h.mallocedMemory,
    peak_malloced_memory: h.peakMallocedMemory,
  };
}

/**
 * Every GC since the last take(), recorded by v8.GCProfiler inside the GC.
 * Two profilers alternate: the next one starts before the current one stops,
 * so no GC falls between them (stop() parses JSON, which can itself GC).
 */
class GcRecorder {
  constructor() {
    this.current = new v8.GCProfiler();
    this.spare = new v8.GCProfiler();
    this.current.start();
  }

  /** `[{ gcType, cost (µs), afterGC: { heapStatistics } }]`, oldest first. */
  take() {
    const next = this.spare;
    next.start();
    const data = this.current.stop();
    this.spare = this.current;
    this.current = next;
    return (data && data.statistics) || [];
  }

  stop() {
    this.current.stop();
  }
}

const hasGcProfiler = typeof v8.GCProfiler === 'function';

class PerfHooksBackend {
  constructor(binding, deliver) {
    this.name = 'perf_hooks';
    this.v8Version = process.versions.v8;
    this.engine = new binding.StatsEngine();
    this.deliver = deliver;
    this.incremental = 0;
    this.byType = new GcTypeTotals();
    this.observer = null;
    this.recorder = null;
    this.gcProfiler = null;
    // Without v8.GCProfiler: [start, end] of memwatch's own GCs whose
    // entries have not arrived yet (entries arrive in order, later).
    this.quietWindows = [];
  }

  start() {
    if (this.observer) return;
    if (hasGcProfiler) this.recorder = new GcRecorder();
    this.observer = new PerformanceObserver((list) => this.onEntries(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop() {
    if (!this.observer) return;
    this.observer.disconnect();
    this.observer = null;
    if (this.recorder) {
      // GCs not yet delivered still count, as the native hooks would have seen them.
      const events = this.record(this.recorder.take());
      this.recorder.stop();
      this.recorder = null;
      if (events.length) this.deliver(events);
    }
  }

  /** Feeds one full GC to the engine; its events. */
  full(h, pauseMs, timeMs) {
    return toEvents(this.engine.record(sample(h, pauseMs, timeMs, this.incremental, this.byType)));
  }

  /** Turns GC records into stats (one per full GC; the rest are counted). */
  record(records, timeMs = Date.now()) {
    const events = [];
    for (const r of records) {
      this.byType.add(PROFILER_KINDS[r.gcType], r.cost * 1000);
      if (r.gcType !== FULL_GC) {
        this.incremental++;
        continue;
      }
      events.push(...this.full(fromProfiler(r.afterGC.heapStatistics), r.cost / 1000, timeMs));
    }
    return events;
  }

  onEntries(entries, deliver = this.deliver) {
    if (this.recorder) {
      const events = this.record(this.recorder.take());
      if (events.length) deliver(events);
      return;
    }
    const events = [];
    for (const e of entries) {
      const kind = e.detail ? e.detail.kind : e.kind;
      if (this.insideQuietWindow(e.startTime)) continue;
      this.byType.add(ENTRY_KINDS[kind], e.duration * 1e6);
      if (kind !== MAJOR) {
        this.incremental++;
        continue;
      }
      const end = performance.timeOrigin + e.startTime + e.duration;
      events.push(...this.full(v8.getHeapStatistics(), e.duration, end));
    }
    if (events.length) deliver(events);
  }

  /** GCs recorded but not delivered yet, as events (at exit, they never would be). */
  drain() {
    if (!this.observer) return [];
    const events = [];
    this.onEntries(this.observer.takeRecords(), (batch) => events.push(...batch));
    return events;
  }

  /** Whether an entry belongs to memwatch's own GCs; drops windows it has passed. */
  insideQuietWindow(startTime) {
    while (this.quietWindows.length && this.quietWindows[0][1] < startTime) this.quietWindows.shift();
    return this.quietWindows.length > 0 && startTime >= this.quietWindows[0][0];
  }

  /**
   * Runs `fn`, whose GCs (a heap snapshot) are not reported. GCs recorded
   * before it are delivered after it, in order.
   */
  quietly(fn) {
    if (this.recorder) {
      const before = this.recorder.take();
      try {
        return fn();
      } finally {
        this.recorder.take();
        const events = this.record(before);
        if (events.length) this.deliver(events);
      }
    }
    if (!this.observer) return fn();
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.quietWindows.push([t0, performance.now()]);
    }
  }

  /** A full GC now: its stats (after any earlier GCs not yet delivered). */
  gc() {
    if (!hasGcProfiler) return this.gcWithoutProfiler();
    let records;
    let earlier = [];
    if (this.recorder) {
      earlier = this.record(this.recorder.take());
      forceFullGc();
      records = this.recorder.take();
    } else {
      // Not listening: one profiler, kept for these calls, records just this GC.
      this.gcProfiler = this.gcProfiler || new v8.GCProfiler();
      this.gcProfiler.start();
      try {
        forceFullGc();
      } finally {
        const data = this.gcProfiler.stop();
        records = (data && data.statistics) || [];
      }
    }
    // V8 may run several collections for one call: one full GC, numbers after the last.
    let pauseUs = 0;
    let last = null;
    for (const r of records) {
      if (r.gcType !== FULL_GC) continue;
      pauseUs += r.cost;
      last = r;
    }
    for (const r of records) this.byType.add(PROFILER_KINDS[r.gcType], r.cost * 1000);
    const h = last ? fromProfiler(last.afterGC.heapStatistics) : v8.getHeapStatistics();
    return [...earlier, ...this.full(h, pauseUs / 1000, Date.now())];
  }

  gcWithoutProfiler() {
    const t0 = performance.now();
    this.quietly(forceFullGc);
    const ms = performance.now() - t0;
    this.byType.add('mark_sweep_compact', ms * 1e6);
    return this.full(v8.getHeapStatistics(), ms, Date.now());
  }

  callbackCost() {
    return null;
  }
}

const BACKENDS = ['v8', 'perf_hooks'];

/**
 * Picks the backend: MEMWATCH_BACKEND=perf_hooks forces the fallback;
 * otherwise (unset, empty or 'v8') the V8 binding unless it is unusable here
 * (missing symbols, unknown V8, failed layout check). Any other value is a
 * mistake worth saying, but not worth failing `require()` over: a warning
 * (code MEMWATCH_BACKEND_UNKNOWN), then the default.
 */
function createBackend(binding, deliver, env = process.env) {
  const wanted = env.MEMWATCH_BACKEND;
  if (wanted === 'perf_hooks') {
    return { backend: new PerfHooksBackend(binding, deliver), reason: 'MEMWATCH_BACKEND=perf_hooks' };
  }
  if (wanted !== undefined && wanted !== '' && !BACKENDS.includes(wanted)) {
    process.emitWarning(
      `MEMWATCH_BACKEND=${JSON.stringify(wanted)} is not one of ${BACKENDS.join(', ')}; using the default backend`,
      { type: 'MemwatchWarning', code: 'MEMWATCH_BACKEND_UNKNOWN' }
    );
  }
  const problem = binding.nativeBindingProblem();
  if (problem) return { backend: new PerfHooksBackend(binding, deliver), reason: problem };
  try {
    return { backend: new NativeBackend(binding, deliver), reason: null };
  } catch (err) {
    return { backend: new PerfHooksBackend(binding, deliver), reason: err.message };
  }
}

module.exports = { createBackend, NativeBackend, PerfHooksBackend, forceFullGc };
