'use strict';
// memwatch/prometheus against the real prom-client: the registry's text
// exposition, next to collectDefaultMetrics() on the same registry.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const client = require('prom-client');
const memwatch = require('..');
const { register } = require('../prometheus');
const { runScenario, ROOT } = require('./helpers');

/** Parses Prometheus text exposition: { samples: Map<'name{labels}', number>, types: Map<name, type> }. */
function parse(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      types.set(m[1], m[2]);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    samples.set(m[1] + (m[2] || ''), Number(m[3]));
  }
  return { samples, types };
}

test('registers next to collectDefaultMetrics() with unit-suffixed names and exact values', async (t) => {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const defaults = registry.getMetricsAsArray().map((m) => m.name);
  const before = memwatch.listenerCount('stats');
  const handle = register(registry);
  t.after(() => handle.stop());

  // No clash, and every name says its unit.
  for (const name of handle.names) {
    assert.ok(name.startsWith('memwatch_'), name);
    assert.ok(!defaults.includes(name), `${name} clashes with a default metric`);
    assert.match(name, /_(bytes|ratio|total|seconds)$/, name);
  }

  // Before the first full GC the gauges have no sample (not a made-up 0); counters start at 0.
  let { samples, types } = parse(await registry.metrics());
  assert.strictEqual(samples.has('memwatch_heap_base_bytes'), false);
  assert.strictEqual(types.get('memwatch_heap_base_bytes'), 'gauge');
  assert.strictEqual(samples.get('memwatch_leaks_total{kind="heap"}'), 0);
  assert.strictEqual(samples.get('memwatch_leaks_total{kind="external"}'), 0);

  const runs = [memwatch.gc(), memwatch.gc(), memwatch.gc()];
  const last = runs[2];
  ({ samples, types } = parse(await registry.metrics()));
  const expect = {
    memwatch_heap_base_bytes: last.current_base,
    memwatch_heap_estimated_base_bytes: last.estimated_base,
    memwatch_heap_used_bytes: last.used_heap_size,
    memwatch_heap_total_bytes: last.total_heap_size,
    memwatch_heap_limit_bytes: last.heap_size_limit,
    memwatch_external_memory_bytes: last.external_memory,
    memwatch_array_buffers_bytes: last.array_buffers,
    memwatch_rss_bytes: last.rss,
    memwatch_gc_full_total: last.num_full_gc,
    memwatch_gc_incremental_total: last.num_inc_gc,
  };
  for (const [name, value] of Object.entries(expect)) assert.strictEqual(samples.get(name), value, name);
  assert.ok(Math.abs(samples.get('memwatch_heap_usage_trend_ratio') - last.usage_trend / 100) < 1e-12);
  assert.strictEqual(types.get('memwatch_gc_full_total'), 'counter');
  assert.strictEqual(types.get('memwatch_gc_full_duration_seconds'), 'histogram');
  assert.strictEqual(samples.get('memwatch_gc_full_duration_seconds_count'), 3);
  const sum = runs.reduce((n, r) => n + r.gc_pause_ms / 1000, 0);
  assert.ok(Math.abs(samples.get('memwatch_gc_full_duration_seconds_sum') - sum) < 1e-9);
  const longest = Math.max(...runs.map((r) => r.gc_pause_ms / 1000));
  for (const [key, n] of samples) {
    const m = /^memwatch_gc_full_duration_seconds_bucket\{le="([^"]+)"\}$/.exec(key);
    if (m && Number(m[1]) >= longest) assert.strictEqual(n, 3, key);
  }
  // The default metrics are still there, unchanged in kind.
  assert.strictEqual(types.get('process_resident_memory_bytes'), 'gauge');
  assert.strictEqual(types.get('nodejs_gc_duration_seconds'), 'histogram');

  // Counters do not move between scrapes without GCs, and follow memwatch after.
  ({ samples } = parse(await registry.metrics()));
  assert.strictEqual(samples.get('memwatch_gc_full_total'), last.num_full_gc);
  const next = memwatch.gc();
  ({ samples } = parse(await registry.metrics()));
  assert.strictEqual(samples.get('memwatch_gc_full_total'), next.num_full_gc);

  handle.stop();
  handle.stop();
  assert.strictEqual(memwatch.listenerCount('stats'), before);
  const after = await registry.metrics();
  assert.ok(!after.includes('memwatch_'), 'unregistered');
  assert.ok(after.includes('process_resident_memory_bytes'), 'defaults stay');
});

test('counts leak events by kind', async (t) => {
  const registry = new client.Registry();
  const handle = register(registry);
  t.after(() => handle.stop());
  let leaks = 0;
  const onLeak = () => leaks++;
  memwatch.on('leak', onLeak);
  const hold = [];
  for (let i = 0; i < 30 && leaks === 0; i++) {
    hold.push(new Array(20000).fill(i));
    memwatch.gc();
  }
  memwatch.off('leak', onLeak);
  assert.ok(leaks >= 1);
  const { samples } = parse(await registry.metrics());
  assert.strictEqual(samples.get('memwatch_leaks_total{kind="heap"}'), leaks);
  assert.strictEqual(samples.get('memwatch_leaks_total{kind="external"}'), 0);
  assert.ok(hold.length > 0);
});

test('the default registry, a second registration, and bad arguments', async (t) => {
  const handle = register();
  t.after(() => handle.stop());
  assert.ok(client.register.getSingleMetric('memwatch_heap_base_bytes'));
  assert.throws(() => register(client.register), { code: 'ERR_MEMWATCH_METRICS_REGISTERED' });
  // The first registration is intact.
  assert.ok(client.register.getSingleMetric('memwatch_gc_full_total'));
  handle.stop();
  assert.strictEqual(client.register.getSingleMetric('memwatch_heap_base_bytes'), undefined);

  assert.throws(() => register({}), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
  assert.throws(() => register(new client.Registry(), { buckets: [0, -1] }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => register(new client.Registry(), null), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('a metric that throws never breaks stats delivery (warned once, no uncaught error)', () => {
  const { result, stderr } = runScenario(`
    const client = require(${JSON.stringify(require.resolve('prom-client'))});
    class Histogram extends client.Histogram {
      constructor(config) {
        super(config);
        this.observe = () => { throw new Error('observe exploded'); };
      }
    }
    const { register } = require(${JSON.stringify(path.join(ROOT, 'prometheus.js'))});
    const registry = new client.Registry();
    const handle = register(registry, { client: { ...client, Histogram } });
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code + ': ' + w.message));
    const seen = [];
    memwatch.on('stats', (s) => seen.push(s.num_full_gc));
    const returned = [memwatch.gc(), memwatch.gc()].map((s) => s.num_full_gc);
    registry.metrics().then((text) => {
      handle.stop();
      setTimeout(() => done({ seen, returned, warnings, full: /memwatch_gc_full_total (\\d+)/.exec(text)[1] }), 20);
    });
  `);
  assert.deepStrictEqual(result.seen, result.returned);
  assert.strictEqual(result.full, String(result.returned[1]));
  assert.strictEqual(result.warnings.length, 1, stderr);
  assert.match(result.warnings[0], /^MEMWATCH_METRICS_ERROR: memwatch\/prometheus: .*observe exploded/);
});
