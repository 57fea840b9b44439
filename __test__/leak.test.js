'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { runScenario } = require('./helpers');

const REASON = /^heap growth over 5 consecutive GCs \((\d+h )?(\d+m )?\d+s\) - -?\d+(\.\d\d)? (mb|kb|bytes)\/hr$/;

// A loop of "allocate, gc()": the same scenario under both backends.
const LEAKING_LOOP = `
  class LeakingClass { constructor(i) { this.i = i; this.s = 'leak ' + i; } }
  const kept = [];
  const leaks = [];
  const stats = [];
  memwatch.on('leak', (l) => leaks.push({ ...l, start: l.start.toISOString(), end: l.end.toISOString(),
    isDate: l.start instanceof Date && l.end instanceof Date, gcs: stats.length + 1 }));
  memwatch.on('stats', (s) => stats.push(s));
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 20000; i++) kept.push(new LeakingClass(i));
    memwatch.gc();
  }
  done({ leaks, bases: stats.map((s) => s.current_base), backend: memwatch.backend });
`;

function checkLeakingLoop(result) {
  const { leaks, bases } = result;
  // Each base exceeds the previous one, so reports come at GC 5 and GC 10.
  for (let i = 1; i < bases.length; i++) assert.ok(bases[i] > bases[i - 1], `base ${i} grew`);
  assert.deepStrictEqual(leaks.map((l) => l.gcs), [5, 10]);
  for (const l of leaks) {
    assert.strictEqual(l.isDate, true);
    assert.strictEqual(l.kind, 'heap');
    assert.match(l.reason, REASON);
    assert.ok(Date.parse(l.end) >= Date.parse(l.start));
  }
  // Growth runs from the first growing GC of the run to its fifth (4 rounds).
  assert.strictEqual(leaks[0].growth, bases[4] - bases[0]);
  assert.strictEqual(leaks[1].growth, bases[9] - bases[5]);
  // 4 rounds of 20,000 objects of at least 16 bytes each.
  assert.ok(leaks[0].growth > 4 * 20000 * 16, `growth ${leaks[0].growth}`);
}

test('a steadily leaking gc() loop raises leak on the 5th and 10th GC', () => {
  const { result } = runScenario(LEAKING_LOOP);
  assert.strictEqual(result.backend, 'v8');
  checkLeakingLoop(result);
});

test('the perf_hooks fallback raises the same leaks', () => {
  const { result } = runScenario(LEAKING_LOOP, { env: { MEMWATCH_BACKEND: 'perf_hooks' } });
  assert.strictEqual(result.backend, 'perf_hooks');
  checkLeakingLoop(result);
});

test('a flat heap raises no leak', () => {
  const { result } = runScenario(`
    const leaks = [];
    const cache = new Map();
    const round = () => {
      for (let i = 0; i < 20000; i++) cache.set(i % 500, { i, s: 'v' + i });
      return memwatch.gc().current_base;
    };
    // The first GCs of a process grow by a few bytes each (lazy compilation,
    // feedback vectors): memwatch's rule reports that, as the old module did.
    // A warmed-up process whose heap is flat must stay silent.
    for (let i = 0; i < 15; i++) round();
    memwatch.on('leak', (l) => leaks.push(l.reason));
    const bases = [];
    for (let i = 0; i < 40; i++) bases.push(round());
    done({ leaks, bases });
  `);
  assert.deepStrictEqual(result.leaks, [], JSON.stringify(result.bases));
  const spread = Math.max(...result.bases) - Math.min(...result.bases);
  assert.ok(spread < 256 * 1024, `the heap was flat (spread ${spread})`);
});

test('external memory growth (Buffers) raises its own leak', () => {
  const { result } = runScenario(`
    const kept = [];
    const leaks = [];
    memwatch.on('leak', (l) => leaks.push({ kind: l.kind, reason: l.reason, growth: l.growth }));
    for (let round = 0; round < 6; round++) {
      kept.push(Buffer.alloc(4 * 1024 * 1024, 1));
      memwatch.gc();
    }
    done({ leaks, stats: memwatch.gc() });
  `);
  const external = result.leaks.filter((l) => l.kind === 'external');
  assert.strictEqual(external.length, 1, JSON.stringify(result.leaks));
  assert.match(
    external[0].reason,
    /^external memory growth over 5 consecutive GCs \((\d+m )?\d+s\) - [\d.]+ (mb|kb)\/hr$/
  );
  // Four more 4 MiB buffers between the first and fifth growing GC.
  assert.ok(external[0].growth >= 4 * 4 * 1024 * 1024, String(external[0].growth));
  assert.ok(result.stats.external_memory >= 24 * 1024 * 1024);
  assert.ok(result.stats.array_buffers >= 24 * 1024 * 1024);
});
