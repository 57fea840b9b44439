'use strict';
// memwatch/otel against the real OpenTelemetry SDK (@opentelemetry/sdk-metrics)
// and its in-memory exporter: names, units, instrument types and values as
// exported; stop(); and metrics code that throws never breaking `stats`.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const {
  MeterProvider,
  PeriodicExportingMetricReader,
  InMemoryMetricExporter,
  AggregationTemporality,
  DataPointType,
} = require('@opentelemetry/sdk-metrics');
const memwatch = require('..');
const { instrument } = require('../otel');
const { runScenario, ROOT } = require('./helpers');

/** A provider whose metrics are exported only when flush() is called (no timer fires in a test). */
function sdk(exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)) {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    exporter,
    async flush() {
      exporter.reset();
      await reader.forceFlush();
      const byName = new Map();
      for (const rm of exporter.getMetrics()) {
        for (const sm of rm.scopeMetrics) for (const m of sm.metrics) byName.set(m.descriptor.name, { ...m, scope: sm.scope });
      }
      return byName;
    },
    shutdown: () => provider.shutdown(),
  };
}

const GAUGE_FIELDS = {
  'memwatch.heap.current_base': 'current_base',
  'memwatch.heap.estimated_base': 'estimated_base',
  'memwatch.heap.used': 'used_heap_size',
  'memwatch.heap.total': 'total_heap_size',
  'memwatch.heap.limit': 'heap_size_limit',
  'memwatch.memory.external': 'external_memory',
  'memwatch.memory.array_buffers': 'array_buffers',
};

test('exports the latest post-GC numbers with semantic-convention names and units', async (t) => {
  const s = sdk();
  t.after(() => s.shutdown());
  const listenersBefore = memwatch.listenerCount('stats');
  const handle = instrument({ meterProvider: s.provider });
  t.after(() => handle.stop());

  let metrics = await s.flush();
  // Before any full GC: no gauge values (no made-up zeros), leak counters at 0.
  assert.strictEqual(metrics.get('memwatch.heap.current_base')?.dataPoints.length ?? 0, 0);

  const runs = [memwatch.gc(), memwatch.gc(), memwatch.gc()];
  const last = runs[2];
  metrics = await s.flush();

  const scope = metrics.get('memwatch.heap.current_base').scope;
  assert.strictEqual(scope.name, require('../package.json').name);
  for (const [name, field] of Object.entries(GAUGE_FIELDS)) {
    const m = metrics.get(name);
    assert.ok(m, `${name} exported`);
    assert.strictEqual(m.descriptor.unit, 'By', name);
    assert.strictEqual(m.dataPointType, DataPointType.GAUGE, name);
    assert.strictEqual(m.dataPoints.length, 1, name);
    assert.strictEqual(m.dataPoints[0].value, last[field], name);
  }
  const trend = metrics.get('memwatch.heap.usage_trend');
  assert.strictEqual(trend.descriptor.unit, '1');
  assert.ok(Math.abs(trend.dataPoints[0].value - last.usage_trend / 100) < 1e-12);

  // process.memory.usage: the process semantic convention (UpDownCounter, By).
  const rss = metrics.get('process.memory.usage');
  assert.strictEqual(rss.descriptor.unit, 'By');
  assert.strictEqual(rss.dataPointType, DataPointType.SUM);
  assert.strictEqual(rss.isMonotonic, false);
  assert.strictEqual(rss.dataPoints[0].value, last.rss);

  // v8js.gc.duration: the V8 semantic convention (histogram, s, v8js.gc.type, advised buckets).
  const gc = metrics.get('v8js.gc.duration');
  assert.strictEqual(gc.descriptor.unit, 's');
  assert.strictEqual(gc.dataPointType, DataPointType.HISTOGRAM);
  assert.strictEqual(gc.dataPoints.length, 1);
  assert.deepStrictEqual(gc.dataPoints[0].attributes, { 'v8js.gc.type': 'major' });
  assert.strictEqual(gc.dataPoints[0].value.count, 3);
  assert.deepStrictEqual(gc.dataPoints[0].value.buckets.boundaries, [0.01, 0.1, 1, 10]);
  const pauseSum = runs.reduce((n, r) => n + r.gc_pause_ms / 1000, 0);
  assert.ok(Math.abs(gc.dataPoints[0].value.sum - pauseSum) < 1e-9, `${gc.dataPoints[0].value.sum} vs ${pauseSum}`);
  assert.strictEqual(gc.dataPoints[0].value.max, Math.max(...runs.map((r) => r.gc_pause_ms / 1000)));

  const counts = metrics.get('memwatch.gc.collections');
  assert.strictEqual(counts.dataPointType, DataPointType.SUM);
  assert.strictEqual(counts.isMonotonic, true);
  assert.strictEqual(counts.descriptor.unit, '{collection}');
  const byType = Object.fromEntries(counts.dataPoints.map((p) => [p.attributes['memwatch.gc.type'], p.value]));
  assert.deepStrictEqual(byType, { full: last.num_full_gc, incremental: last.num_inc_gc });

  const leaks = metrics.get('memwatch.leaks');
  assert.deepStrictEqual(
    leaks.dataPoints.map((p) => [p.attributes['memwatch.leak.kind'], p.value]).sort(),
    [['external', 0], ['heap', 0]]
  );

  handle.stop();
  handle.stop(); // idempotent
  assert.strictEqual(memwatch.listenerCount('stats'), listenersBefore, 'listeners removed');
  memwatch.gc();
  metrics = await s.flush();
  assert.strictEqual(metrics.get('v8js.gc.duration').dataPoints[0].value.count, 3, 'no pause recorded after stop()');
});

test('counts leak events by kind', async (t) => {
  const s = sdk();
  t.after(() => s.shutdown());
  const handle = instrument({ meterProvider: s.provider });
  t.after(() => handle.stop());
  let leaks = 0;
  const onLeak = () => leaks++;
  memwatch.on('leak', onLeak);
  const hold = [];
  // The heap grows at every full GC: a leak event within 5 growing GCs (bounded by count).
  for (let i = 0; i < 30 && leaks === 0; i++) {
    hold.push(new Array(20000).fill(i));
    memwatch.gc();
  }
  memwatch.off('leak', onLeak);
  assert.ok(leaks >= 1, 'a leak event');
  const metrics = await s.flush();
  const byKind = Object.fromEntries(metrics.get('memwatch.leaks').dataPoints.map((p) => [p.attributes['memwatch.leak.kind'], p.value]));
  assert.strictEqual(byKind.heap, leaks);
  assert.strictEqual(byKind.external, 0);
  assert.ok(hold.length > 0);
});

test('uses the global meter provider of @opentelemetry/api by default', async (t) => {
  const api = require('@opentelemetry/api');
  const s = sdk();
  api.metrics.setGlobalMeterProvider(s.provider);
  t.after(() => {
    api.metrics.disable();
    return s.shutdown();
  });
  const handle = instrument();
  t.after(() => handle.stop());
  const last = memwatch.gc();
  const metrics = await s.flush();
  assert.strictEqual(metrics.get('memwatch.heap.current_base').dataPoints[0].value, last.current_base);
});

test('bad arguments and a failing provider throw errors with a code and leave no listener', () => {
  const before = memwatch.listenerCount('stats');
  assert.throws(() => instrument({ meterProvider: {} }), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
  assert.throws(() => instrument('x'), { code: 'ERR_INVALID_ARG_TYPE' });
  const broken = { getMeter() { throw new Error('no meters today'); } };
  assert.throws(() => instrument({ meterProvider: broken }), { code: 'ERR_MEMWATCH_OTEL', message: /no meters today/ });
  assert.strictEqual(memwatch.listenerCount('stats'), before);
});

test('an exporter that throws does not disturb stats delivery', async (t) => {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  exporter.export = () => {
    throw new Error('collector down');
  };
  const s = sdk(exporter);
  t.after(() => s.shutdown().catch(() => {}));
  const handle = instrument({ meterProvider: s.provider });
  t.after(() => handle.stop());
  const seen = [];
  const onStats = (x) => seen.push(x);
  memwatch.on('stats', onStats);
  const a = memwatch.gc();
  await s.flush().catch(() => {}); // the SDK's problem, not memwatch's
  const b = memwatch.gc();
  memwatch.off('stats', onStats);
  assert.deepStrictEqual(seen, [a, b]);
  assert.strictEqual(b.num_full_gc, a.num_full_gc + 1);
});

test('instruments that throw never break stats delivery (warned once, no uncaught error)', () => {
  // In a fresh process: a listener error would surface as an uncaught exception there.
  const { result, stderr } = runScenario(`
    const { instrument } = require(${JSON.stringify(path.join(ROOT, 'otel.js'))});
    const boom = () => { throw new Error('exporter exploded'); };
    const meter = {
      createObservableGauge: () => ({}), createObservableUpDownCounter: () => ({}),
      createObservableCounter: () => ({}), createHistogram: () => ({ record: boom }),
      addBatchObservableCallback: () => {}, removeBatchObservableCallback: boom,
    };
    const handle = instrument({ meterProvider: { getMeter: () => meter } });
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code + ': ' + w.message));
    const seen = [];
    memwatch.on('stats', (s) => seen.push(s.num_full_gc));
    const returned = [memwatch.gc(), memwatch.gc(), memwatch.gc()].map((s) => s.num_full_gc);
    handle.stop();
    setTimeout(() => done({ seen, returned, warnings }), 20);
  `);
  assert.deepStrictEqual(result.seen, result.returned);
  assert.strictEqual(result.returned.length, 3);
  assert.strictEqual(result.warnings.length, 1, stderr);
  assert.match(result.warnings[0], /^MEMWATCH_METRICS_ERROR: memwatch\/otel: .*exporter exploded/);
});

test('without a meterProvider and without @opentelemetry/api: ERR_MEMWATCH_PEER_MISSING', () => {
  const { result } = runScenario(`
    const Module = require('module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === '@opentelemetry/api') {
        const e = new Error("Cannot find module '@opentelemetry/api'");
        e.code = 'MODULE_NOT_FOUND';
        throw e;
      }
      return load.call(this, request, ...rest);
    };
    const { instrument } = require(${JSON.stringify(path.join(ROOT, 'otel.js'))});
    try { instrument(); done({ threw: false }); } catch (e) { done({ code: e.code, message: e.message }); }
  `);
  assert.strictEqual(result.code, 'ERR_MEMWATCH_PEER_MISSING');
  assert.match(result.message, /npm install @opentelemetry\/api/);
});
