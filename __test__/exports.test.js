'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { EventEmitter } = require('node:events');
const memwatch = require('..');

const STATS_FIELDS = [
  'num_full_gc', 'num_inc_gc', 'heap_compactions', 'usage_trend', 'estimated_base',
  'current_base', 'min', 'max', 'used_heap_size', 'total_heap_size', 'heap_size_limit',
  'external_memory', 'gc_pause_ms', 'rss', 'external', 'array_buffers',
  // @airbnb/node-memwatch's
  'total_heap_size_executable', 'total_physical_size', 'total_available_size', 'malloced_memory',
  'peak_malloced_memory', 'gc_time', 'gc_ts', 'gcScavengeCount', 'gcScavengeTime',
  'gcMarkSweepCompactCount', 'gcMarkSweepCompactTime', 'gcIncrementalMarkingCount',
  'gcIncrementalMarkingTime', 'gcProcessWeakCallbacksCount', 'gcProcessWeakCallbacksTime',
];

test('exports an EventEmitter with the memwatch API', () => {
  assert.ok(memwatch instanceof EventEmitter);
  for (const fn of ['on', 'once', 'removeListener', 'removeAllListeners', 'gc']) {
    assert.strictEqual(typeof memwatch[fn], 'function', fn);
  }
});

test('the native V8 backend is used on this Node', () => {
  assert.strictEqual(memwatch.backend, 'v8', `fell back: ${memwatch.backendReason}`);
  assert.strictEqual(memwatch.backendReason, null);
});

test('gc() runs a full GC, emits one stats event and returns the same object', () => {
  const seen = [];
  const onStats = (s) => seen.push(s);
  memwatch.on('stats', onStats);
  const before = seen.length;
  const s = memwatch.gc();
  memwatch.removeListener('stats', onStats);
  assert.strictEqual(seen.length, before + 1);
  assert.strictEqual(seen[seen.length - 1], s);
  for (const f of STATS_FIELDS) {
    assert.strictEqual(typeof s[f], 'number', f);
    assert.ok(Number.isFinite(s[f]) && (f === 'usage_trend' || s[f] >= 0), `${f}=${s[f]}`);
  }
  assert.ok(s.num_full_gc >= 1);
  assert.strictEqual(s.heap_compactions, s.num_full_gc);
  assert.strictEqual(s.current_base, s.used_heap_size);
  assert.ok(s.used_heap_size > 0 && s.used_heap_size <= s.total_heap_size);
  assert.ok(s.heap_size_limit > s.total_heap_size);
  assert.ok(s.gc_pause_ms > 0, 'a full GC takes time');
  assert.ok(s.rss > s.used_heap_size);
});

test('each gc() counts as exactly one full GC', () => {
  const a = memwatch.gc();
  const b = memwatch.gc();
  const c = memwatch.gc();
  assert.strictEqual(b.num_full_gc, a.num_full_gc + 1);
  assert.strictEqual(c.num_full_gc, b.num_full_gc + 1);
});

test('gc() frees unreachable objects', () => {
  memwatch.gc();
  let big = new Array(2e6).fill(0).map((_, i) => ({ i }));
  const withBig = memwatch.gc().current_base;
  big = null;
  const without = memwatch.gc().current_base;
  assert.strictEqual(big, null);
  assert.ok(withBig - without > 20e6, `freed ${withBig - without} bytes`);
});

test('non-function listeners throw like EventEmitter does', () => {
  for (const bad of [undefined, null, 42, 'stats', {}]) {
    assert.throws(() => memwatch.on('stats', bad), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
    assert.throws(() => memwatch.once('leak', bad), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  assert.strictEqual(memwatch.listenerCount('stats'), 0);
});

test('hooks are installed only while a stats or leak listener exists', () => {
  const churn = () => {
    let garbage = [];
    for (let i = 0; i < 3e5; i++) {
      garbage.push({ i, s: String(i) });
      if (garbage.length > 1e4) garbage = [];
    }
  };
  memwatch.removeAllListeners();
  const idle = memwatch.callbackCost().calls;
  churn();
  assert.strictEqual(memwatch.callbackCost().calls, idle, 'no callbacks without listeners');

  const fn = () => {};
  memwatch.on('leak', fn);
  churn();
  const active = memwatch.callbackCost().calls;
  assert.ok(active > idle, 'scavenges reach the hook while listening');

  memwatch.removeListener('leak', fn);
  churn();
  assert.strictEqual(memwatch.callbackCost().calls, active, 'removed with the last listener');

  memwatch.once('stats', fn);
  memwatch.gc(); // fires and removes the once-listener
  const afterOnce = memwatch.callbackCost().calls;
  churn();
  assert.strictEqual(memwatch.callbackCost().calls, afterOnce);
  assert.strictEqual(memwatch.listenerCount('stats'), 0);
});

test('adding and removing listeners in a loop leaves no hooks behind', () => {
  const fns = Array.from({ length: 10 }, () => () => {});
  for (let round = 0; round < 500; round++) {
    for (const f of fns) memwatch.on(round % 2 ? 'stats' : 'leak', f);
    if (round % 50 === 0) memwatch.gc();
    if (round % 3 === 0) memwatch.removeAllListeners(round % 2 ? 'stats' : 'leak');
    else for (const f of fns) memwatch.off(round % 2 ? 'stats' : 'leak', f);
  }
  memwatch.removeAllListeners();
  const calls = memwatch.callbackCost().calls;
  let garbage = [];
  for (let i = 0; i < 3e5; i++) {
    garbage.push({ i });
    if (garbage.length > 1e4) garbage = [];
  }
  memwatch.gc();
  assert.strictEqual(memwatch.callbackCost().calls, calls);
});

test('in-callback cost is recorded for every GC callback', () => {
  // How small it is is a speed target, measured by `npm run bench`
  // (bench/gc-overhead.js), not asserted here: this checks the accounting.
  const fn = () => {};
  memwatch.on('stats', fn);
  const s0 = memwatch.gc();
  const c0 = memwatch.callbackCost();
  let garbage = [];
  for (let i = 0; i < 1e6; i++) {
    garbage.push({ i });
    if (garbage.length > 1e4) garbage = [];
  }
  const s1 = memwatch.gc();
  const c1 = memwatch.callbackCost();
  memwatch.off('stats', fn);
  const scavenges = s1.num_inc_gc - s0.num_inc_gc;
  assert.ok(scavenges > 0, 'the churn ran young-generation GCs');
  // A prologue and an epilogue per collection: two per scavenge, and two per
  // collection that the final gc() ran (V8 runs one or more for it).
  const forGc = c1.calls - c0.calls - 2 * scavenges;
  assert.ok(forGc >= 2 && forGc % 2 === 0, `calls ${c0.calls} -> ${c1.calls}, ${scavenges} scavenges`);
  assert.ok(c1.totalNs > c0.totalNs);
  assert.strictEqual(c1.droppedSamples, 0);
});

for (const backend of ['v8', 'perf_hooks']) {
  test(`events of the last GCs before a natural exit are delivered (${backend})`, () => {
    const { spawnSync } = require('node:child_process');
    const path = require('node:path');
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', `
      const memwatch = require(${JSON.stringify(path.join(__dirname, '..'))});
      let n = 0;
      memwatch.on('stats', () => n++);
      process.on('exit', () => console.log('stats', n));
      for (let i = 0; i < 4; i++) global.gc(); // nobody waits: the process ends right after
    `], { encoding: 'utf8', env: { ...process.env, MEMWATCH_BACKEND: backend === 'v8' ? '' : backend }, timeout: 60_000 });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^stats 4$/m);
  });
}
