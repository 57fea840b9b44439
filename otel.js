'use strict';
// `require('memwatch/otel')`: memwatch's numbers as OpenTelemetry metrics.
//
//   const { instrument } = require('memwatch/otel');
//   const handle = instrument({ meterProvider });   // default: the global provider
//   ...
//   handle.stop();                                 // unregisters, removes listeners
//
// Names follow the OpenTelemetry semantic conventions where the number is
// what a convention describes: `v8js.gc.duration` (histogram, s, with
// v8js.gc.type=major) for full-GC pauses and `process.memory.usage` (By) for
// the RSS. The heap numbers are not `v8js.memory.heap.*`: those are per heap
// space (v8js.heap.space.name is required) and read at any time, while
// memwatch's are whole-heap values right after a full GC, so they are
// `memwatch.*` (reporting them under the convention's name would double-count
// next to @opentelemetry/instrumentation-runtime-node).

const memwatch = require('.');
const { codedError } = require('./lib/errors');
const { GAUGES, LEAK_KINDS, track } = require('./lib/metrics');
const pkg = require('./package.json');

// @opentelemetry/api's ValueType enum (stable since 1.0), so the api package
// is needed only when no meterProvider is passed.
const INT = 0;
const DOUBLE = 1;
/** Semantic conventions: v8js.gc.duration SHOULD use these boundaries (seconds). */
const GC_DURATION_BUCKETS = [0.01, 0.1, 1, 10];

function globalMeterProvider() {
  let api;
  try {
    api = require('@opentelemetry/api');
  } catch (err) {
    if (err && err.code !== 'MODULE_NOT_FOUND') throw err;
    throw codedError(
      'ERR_MEMWATCH_PEER_MISSING',
      'memwatch/otel: pass { meterProvider } or install @opentelemetry/api (npm install @opentelemetry/api)'
    );
  }
  return api.metrics.getMeterProvider();
}

/**
 * Registers memwatch's instruments on a meter named after this package.
 *
 * @param {{ meterProvider?: { getMeter(name: string, version?: string): any } }} [options]
 * @returns {{ readonly meter: any, stop(): void }}
 */
function instrument(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'memwatch/otel: instrument(options) takes an object', TypeError);
  }
  const provider = options.meterProvider === undefined ? globalMeterProvider() : options.meterProvider;
  if (!provider || typeof provider.getMeter !== 'function') {
    throw codedError(
      'ERR_INVALID_ARG_TYPE',
      'memwatch/otel: options.meterProvider must be an OpenTelemetry MeterProvider (with getMeter())',
      TypeError
    );
  }

  let meter;
  let gauges;
  let gcCount;
  let leaks;
  let pauses;
  try {
    meter = provider.getMeter(pkg.name, pkg.version);
    if (typeof meter.addBatchObservableCallback !== 'function') {
      throw new Error('the meter has no addBatchObservableCallback (needs @opentelemetry/api >= 1.3)');
    }
    gauges = GAUGES.map((g) => {
      const opts = { description: g.help, unit: g.unit, valueType: g.scale ? DOUBLE : INT };
      const inst =
        g.otelKind === 'updowncounter'
          ? meter.createObservableUpDownCounter(g.otel, opts)
          : meter.createObservableGauge(g.otel, opts);
      return { inst, field: g.field, scale: g.scale || 1 };
    });
    gcCount = meter.createObservableCounter('memwatch.gc.collections', {
      description: 'Garbage collections seen by memwatch (full: mark-sweep-compact; incremental: all others)',
      unit: '{collection}',
      valueType: INT,
    });
    leaks = meter.createObservableCounter('memwatch.leaks', {
      description: "memwatch 'leak' events (memory kept growing over 5 consecutive full GCs)",
      unit: '{leak}',
      valueType: INT,
    });
    pauses = meter.createHistogram('v8js.gc.duration', {
      description: 'Garbage collection duration (full GCs, as seen by memwatch).',
      unit: 's',
      valueType: DOUBLE,
      advice: { explicitBucketBoundaries: GC_DURATION_BUCKETS },
    });
  } catch (err) {
    const e = codedError('ERR_MEMWATCH_OTEL', `memwatch/otel: the meter provider failed: ${err && err.message}`);
    e.cause = err;
    throw e;
  }

  const MAJOR = { 'v8js.gc.type': 'major' };
  const tracker = track(memwatch, { name: 'memwatch/otel', onPause: (seconds) => pauses.record(seconds, MAJOR) });
  const observe = (result) => {
    const s = tracker.state.stats;
    if (s) {
      for (const g of gauges) {
        const v = s[g.field];
        if (typeof v === 'number' && Number.isFinite(v)) result.observe(g.inst, v * g.scale);
      }
      result.observe(gcCount, s.num_full_gc, { 'memwatch.gc.type': 'full' });
      result.observe(gcCount, s.num_inc_gc, { 'memwatch.gc.type': 'incremental' });
    }
    for (const kind of new Set([...LEAK_KINDS, ...Object.keys(tracker.state.leaks)])) {
      result.observe(leaks, tracker.state.leaks[kind], { 'memwatch.leak.kind': kind });
    }
  };
  const observables = [...gauges.map((g) => g.inst), gcCount, leaks];
  try {
    meter.addBatchObservableCallback(observe, observables);
  } catch (err) {
    tracker.stop();
    const e = codedError('ERR_MEMWATCH_OTEL', `memwatch/otel: the meter provider failed: ${err && err.message}`);
    e.cause = err;
    throw e;
  }

  let stopped = false;
  return {
    meter,
    /** Stops observing: removes the callback and memwatch's listeners (idempotent). */
    stop() {
      if (stopped) return;
      stopped = true;
      tracker.stop();
      try {
        meter.removeBatchObservableCallback(observe, observables);
      } catch (err) {
        tracker.warn(err);
      }
    },
  };
}

module.exports = { instrument };
