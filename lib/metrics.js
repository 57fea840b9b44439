'use strict';
// What memwatch/otel and memwatch/prometheus export, in one table, and the
// listener both use to keep the latest post-GC numbers.
//
// The listener only copies numbers into a plain object (and records the pause
// into a histogram, guarded): a metrics SDK that throws must never break
// `stats` delivery, and a listener that throws would become an uncaught
// exception (index.js rethrows listener errors from process.nextTick).

/**
 * Gauges for the latest `stats` payload. `scale` converts memwatch's unit to
 * the exported one (usage_trend is a percent; both exports use a ratio, as
 * OpenTelemetry's unit "1" and Prometheus' `_ratio` suffix expect).
 * `otelKind: 'updowncounter'` where a semantic convention fixes the
 * instrument (process.memory.usage); memwatch's own names are gauges.
 */
const GAUGES = [
  {
    field: 'current_base',
    otel: 'memwatch.heap.current_base',
    prom: 'memwatch_heap_base_bytes',
    unit: 'By',
    help: 'V8 heap in use right after the last full GC',
  },
  {
    field: 'estimated_base',
    otel: 'memwatch.heap.estimated_base',
    prom: 'memwatch_heap_estimated_base_bytes',
    unit: 'By',
    help: 'Heap in use after full GCs, smoothed over the last ~10 full GCs',
  },
  {
    field: 'usage_trend',
    scale: 0.01,
    otel: 'memwatch.heap.usage_trend',
    prom: 'memwatch_heap_usage_trend_ratio',
    unit: '1',
    help: 'Fraction by which the recent heap base exceeds the long-term base (> 0: growing)',
  },
  {
    field: 'used_heap_size',
    otel: 'memwatch.heap.used',
    prom: 'memwatch_heap_used_bytes',
    unit: 'By',
    help: 'V8 heap in use after the last full GC',
  },
  {
    field: 'total_heap_size',
    otel: 'memwatch.heap.total',
    prom: 'memwatch_heap_total_bytes',
    unit: 'By',
    help: 'V8 heap reserved, after the last full GC',
  },
  {
    field: 'heap_size_limit',
    otel: 'memwatch.heap.limit',
    prom: 'memwatch_heap_limit_bytes',
    unit: 'By',
    help: 'Size V8 will not grow its heap past (out-of-memory)',
  },
  {
    field: 'external_memory',
    otel: 'memwatch.memory.external',
    prom: 'memwatch_external_memory_bytes',
    unit: 'By',
    help: 'Memory outside the V8 heap that V8 accounts for (Buffers, ArrayBuffers), after the last full GC',
  },
  {
    field: 'array_buffers',
    otel: 'memwatch.memory.array_buffers',
    prom: 'memwatch_array_buffers_bytes',
    unit: 'By',
    help: 'Memory of ArrayBuffers and SharedArrayBuffers (incl. Buffers), after the last full GC',
  },
  {
    field: 'rss',
    // OpenTelemetry semantic convention (process metrics): an UpDownCounter in By.
    otel: 'process.memory.usage',
    otelKind: 'updowncounter',
    prom: 'memwatch_rss_bytes',
    unit: 'By',
    help: 'Resident set size of the process, after the last full GC',
  },
];

/** Histogram boundaries for full-GC pauses in seconds (Prometheus); small heaps pause for ~1 ms. */
const PAUSE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const LEAK_KINDS = ['heap', 'external'];

/**
 * Listens to memwatch's `stats` and `leak` events and keeps what the exports
 * read. `onPause(seconds)` is called for each full GC; errors it throws are
 * reported once as a process warning and never reach memwatch.
 *
 * @returns {{ state: { stats: object|null, leaks: Record<string, number> }, stop(): void }}
 */
function track(memwatch, { onPause, name }) {
  const state = { stats: null, leaks: Object.fromEntries(LEAK_KINDS.map((k) => [k, 0])) };
  let warned = false;
  const warn = (err) => {
    if (warned) return;
    warned = true;
    try {
      process.emitWarning(`${name}: recording a metric failed (reported once): ${err && err.message}`, {
        code: 'MEMWATCH_METRICS_ERROR',
      });
    } catch {
      // a warning handler that throws is not memwatch's business
    }
  };
  const onStats = (s) => {
    state.stats = s;
    try {
      onPause(s.gc_pause_ms / 1000);
    } catch (err) {
      warn(err);
    }
  };
  const onLeak = (info) => {
    const kind = info && typeof info.kind === 'string' ? info.kind : 'heap';
    state.leaks[kind] = (state.leaks[kind] || 0) + 1;
  };
  memwatch.on('stats', onStats);
  memwatch.on('leak', onLeak);
  let stopped = false;
  return {
    state,
    warn,
    stop() {
      if (stopped) return;
      stopped = true;
      memwatch.off('stats', onStats);
      memwatch.off('leak', onLeak);
    },
  };
}

module.exports = { GAUGES, PAUSE_BUCKETS, LEAK_KINDS, track };
