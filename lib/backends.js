'use strict';
// The two sources of GC events. Both feed the same Rust stats engine and hand
// `[{ type: 'stats' | 'leak', data }]` batches to `deliver`.
//
// - NativeBackend ('v8'): V8's GC callbacks through the addon's V8 binding;
//   numbers are read inside the GC epilogue, right after the collection.
// - PerfHooksBackend ('perf_hooks'): where the binding is unavailable, GC
//   entries from perf_hooks plus v8.getHeapStatistics() read when the entries
//   are delivered (a few ms after the GC, so a little less exact).

const v8 = require('v8');
const vm = require('vm');
const { PerformanceObserver, performance, constants } = require('perf_hooks');

/**
 * The native engine's `{ stats, leaksBefore }` (one entry per full GC) as the
 * `[{ type: 'leak' | 'stats', data }]` events memwatch emits: a GC's leak
 * reports first, then its stats, as memwatch always did.
 */
function toEvents({ stats, leaksBefore }) {
  const out = [];
  stats.forEach((data, i) => {
    for (const leak of leaksBefore[i]) {
      out.push({ type: 'leak', data: { ...leak, start: new Date(leak.start), end: new Date(leak.end) } });
    }
    out.push({ type: 'stats', data });
  });
  return out;
}

class NativeBackend {
  constructor(binding, deliver) {
    this.name = 'v8';
    // The layout check reads the native struct, then this, then the struct again.
    const watcher = new binding.GcWatcher(() => deliver(toEvents(watcher.drain())), () => v8.getHeapStatistics());
    this.watcher = watcher;
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

  /** Runs `fn`; the hooks are not told to ignore its GCs (native snapshots do that themselves). */
  quietly(fn) {
    return fn();
  }

  callbackCost() {
    return this.watcher.callbackCost();
  }
}

const MAJOR = constants.NODE_PERFORMANCE_GC_MAJOR;
// gc() windows remembered so their perf_hooks entries (delivered later) are not counted twice.
const FORCED_WINDOWS_KEPT = 64;

let exposedGc = null;
/** A full GC without --expose-gc: the flag is set only long enough to fetch `gc`. */
function forceFullGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc();
  if (!exposedGc) {
    v8.setFlagsFromString('--expose-gc');
    try {
      exposedGc = vm.runInNewContext('gc');
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
  return exposedGc();
}

function heapSample(pauseMs, timeMs, incrementalBefore) {
  const hs = v8.getHeapStatistics();
  return {
    time_ms: timeMs,
    used_heap_size: hs.used_heap_size,
    total_heap_size: hs.total_heap_size,
    heap_size_limit: hs.heap_size_limit,
    // v8.getHeapStatistics() has external_memory from Node 20.
    external_memory: hs.external_memory ?? process.memoryUsage().external,
    gc_pause_ms: pauseMs,
    incremental_gcs_before: incrementalBefore,
  };
}

class PerfHooksBackend {
  constructor(binding, deliver) {
    this.name = 'perf_hooks';
    this.v8Version = process.versions.v8;
    this.engine = new binding.StatsEngine();
    this.deliver = deliver;
    this.incremental = 0;
    this.forcedWindows = [];
    this.observer = null;
  }

  start() {
    if (this.observer) return;
    this.observer = new PerformanceObserver((list) => this.onEntries(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop() {
    if (!this.observer) return;
    this.observer.disconnect();
    this.observer = null;
  }

  /** GC entries perf_hooks holds but has not delivered yet, as events. */
  drain() {
    if (!this.observer) return [];
    const events = [];
    this.onEntries(this.observer.takeRecords(), (batch) => events.push(...batch));
    return events;
  }

  insideForcedGc(startTime) {
    return this.forcedWindows.some(([t0, t1]) => startTime >= t0 && startTime <= t1);
  }

  onEntries(entries, deliver = this.deliver) {
    const events = [];
    for (const e of entries) {
      const kind = e.detail ? e.detail.kind : e.kind;
      if (kind !== MAJOR) {
        this.incremental++;
        continue;
      }
      if (this.insideForcedGc(e.startTime)) continue;
      const end = performance.timeOrigin + e.startTime + e.duration;
      events.push(...toEvents(this.engine.record(heapSample(e.duration, end, this.incremental))));
    }
    if (events.length) deliver(events);
  }

  /** Runs `fn`, whose GCs (a forced GC, a heap snapshot) are not reported. */
  quietly(fn) {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.forcedWindows.push([t0, performance.now()]);
      if (this.forcedWindows.length > FORCED_WINDOWS_KEPT) this.forcedWindows.shift();
    }
  }

  gc() {
    const t0 = performance.now();
    this.quietly(forceFullGc);
    return toEvents(this.engine.record(heapSample(performance.now() - t0, Date.now(), this.incremental)));
  }

  callbackCost() {
    return null;
  }
}

/**
 * Picks the backend: the V8 binding unless MEMWATCH_BACKEND=perf_hooks, or
 * the binding is unusable here (missing symbols, unknown V8, layout check).
 */
function createBackend(binding, deliver) {
  const wanted = process.env.MEMWATCH_BACKEND;
  if (wanted === 'perf_hooks') {
    return { backend: new PerfHooksBackend(binding, deliver), reason: 'MEMWATCH_BACKEND=perf_hooks' };
  }
  const problem = binding.nativeBindingProblem();
  if (problem) return { backend: new PerfHooksBackend(binding, deliver), reason: problem };
  try {
    return { backend: new NativeBackend(binding, deliver), reason: null };
  } catch (err) {
    return { backend: new PerfHooksBackend(binding, deliver), reason: err.message };
  }
}

module.exports = { createBackend, NativeBackend, PerfHooksBackend };
