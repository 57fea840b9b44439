'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { Worker } = require('node:worker_threads');
const path = require('node:path');
const memwatch = require('..');

const ROOT = path.join(__dirname, '..');

function runWorker(code, workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(`const memwatch = require(${JSON.stringify(ROOT)});\n${code}`, {
      eval: true,
      workerData,
    });
    let msg;
    w.on('message', (m) => (msg = m));
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker exit ${code}`))));
  });
}

test('inside a worker, memwatch reports that worker\'s heap', async () => {
  const mainStats = memwatch.gc();
  const mainBase = mainStats.current_base;
  const result = await runWorker(`
    const { parentPort } = require('worker_threads');
    const stats = [];
    memwatch.on('stats', (s) => stats.push(s));
    const big = Array.from({ length: 1e6 }, (_, i) => ({ i }));
    const s = memwatch.gc();
    parentPort.postMessage({ backend: memwatch.backend, base: s.current_base, events: stats.length,
      full: s.num_full_gc, kept: big.length });
  `);
  assert.strictEqual(result.backend, 'v8');
  assert.ok(result.events >= 1);
  // The worker's own counters: every full GC it saw, none of the main thread's.
  assert.strictEqual(result.full, result.events);
  // 1M small objects are well over 20 MB in the worker's heap, not in ours.
  assert.ok(result.base > 20e6, `worker base ${result.base}`);
  const after = memwatch.gc();
  // ... and the worker's GCs did not reach the main thread's counters.
  assert.strictEqual(after.num_full_gc, mainStats.num_full_gc + 1);
  const mainAfter = after.current_base;
  assert.ok(mainAfter < mainBase + 10e6, `main base ${mainBase} -> ${mainAfter}`);
});

test('workers that exit while listening leave the process healthy', async () => {
  const seen = [];
  const onStats = (s) => seen.push(s.num_full_gc);
  memwatch.on('stats', onStats);
  for (let i = 0; i < 6; i++) {
    await runWorker(`
      const { workerData } = require('worker_threads');
      memwatch.on('stats', () => {});
      memwatch.on('leak', () => {});
      const junk = [];
      for (let i = 0; i < 2e5; i++) junk.push({ i });
      memwatch.gc();
      // Exit with the hooks still installed: the environment cleanup removes them.
      if (workerData % 2) process.exit(0);
    `, i);
  }
  // The main thread's hooks and counters are untouched by the workers.
  const before = seen.length;
  memwatch.gc();
  for (let i = 0; i < 5e5; i++) ({ i });
  memwatch.gc();
  memwatch.off('stats', onStats);
  assert.strictEqual(seen.length, before + 2);
  assert.strictEqual(seen[seen.length - 1], seen[seen.length - 2] + 1);
});

test('a worker terminated from outside while GC-ing does not crash the process', async () => {
  // The worker says when its GC loop is running (after its first gc());
  // it is terminated at once, in the middle of that loop: no sleep.
  const w = new Worker(`
    const memwatch = require(${JSON.stringify(ROOT)});
    const { parentPort } = require('worker_threads');
    memwatch.on('stats', () => {});
    let hold = [];
    let told = false;
    for (;;) {
      for (let i = 0; i < 1e5; i++) hold.push({ i });
      if (hold.length > 1e6) {
        hold = [];
        memwatch.gc();
        if (!told) { parentPort.postMessage('gc-ing'); told = true; }
      }
    }
  `, { eval: true });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  const code = await w.terminate();
  assert.strictEqual(code, 1);
  assert.ok(memwatch.gc().num_full_gc > 0);
});
