'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runScenario, ROOT } = require('./helpers');
const memwatch = require('..');

const SIZE = /^-?\d+(\.\d\d)? (mb|kb|bytes)$/;

// Counting LeakingClass exactly: a fresh process, a class defined before the
// first snapshot, N objects added between the snapshots and M of the earlier
// ones freed.
const COUNTED_DIFF = `
  class LeakingClass { constructor(i) { this.i = i; } }
  class Freed { constructor(i) { this.i = i; } }
  let doomed = Array.from({ length: 300 }, (_, i) => new Freed(i));
  const kept = [];
  const hd = new memwatch.HeapDiff();
  for (let i = 0; i < 1234; i++) kept.push(new LeakingClass(i));
  doomed = null;
  const diff = hd.end();
  done({ diff, backend: memwatch.backend, kept: kept.length });
`;

function checkCountedDiff(diff) {
  for (const side of ['before', 'after']) {
    const s = diff[side];
    assert.deepStrictEqual(Object.keys(s).sort(), ['nodes', 'size', 'size_bytes', 'time']);
    assert.ok(Number.isInteger(s.nodes) && s.nodes > 1000);
    assert.ok(Number.isInteger(s.size_bytes) && s.size_bytes > 0);
    assert.match(s.size, SIZE);
    assert.ok(!Number.isNaN(Date.parse(s.time)));
  }
  const c = diff.change;
  assert.deepStrictEqual(
    Object.keys(c).sort(),
    ['allocated_nodes', 'details', 'freed_nodes', 'size', 'size_bytes']
  );
  assert.strictEqual(c.size_bytes, diff.after.size_bytes - diff.before.size_bytes);
  assert.match(c.size, SIZE);
  const leaking = c.details.find((d) => d.what === 'LeakingClass');
  assert.ok(leaking, JSON.stringify(c.details.map((d) => d.what)));
  assert.deepStrictEqual(Object.keys(leaking).sort(), ['+', '-', 'size', 'size_bytes', 'what']);
  assert.strictEqual(leaking['+'], 1234);
  assert.strictEqual(leaking['-'], 0);
  assert.ok(leaking.size_bytes >= 1234 * 16);
  assert.match(leaking.size, SIZE);
  const freed = c.details.find((d) => d.what === 'Freed');
  assert.strictEqual(freed['-'], 300);
  assert.strictEqual(freed['+'], 0);
  assert.ok(freed.size_bytes < 0);
  assert.strictEqual(c.allocated_nodes, c.details.reduce((n, d) => n + d['+'], 0));
  assert.strictEqual(c.freed_nodes, c.details.reduce((n, d) => n + d['-'], 0));
  // The HeapDiff's own bookkeeping is not reported.
  assert.strictEqual(c.details.find((d) => d.what === 'HeapDiff'), undefined);
  const names = c.details.map((d) => d.what);
  assert.deepStrictEqual(names, [...names].sort());
}

test('HeapDiff counts added and freed objects exactly, in memwatch\'s schema', () => {
  const { result } = runScenario(COUNTED_DIFF);
  assert.strictEqual(result.backend, 'v8');
  checkCountedDiff(result.diff);
});

test('the fallback route (v8.writeHeapSnapshot + Rust parser) gives the same counts', () => {
  const { result } = runScenario(COUNTED_DIFF, { env: { MEMWATCH_BACKEND: 'perf_hooks' } });
  assert.strictEqual(result.backend, 'perf_hooks');
  checkCountedDiff(result.diff);
});

test('end({ examples }) names the property that holds the leak', () => {
  const { result } = runScenario(`
    class LeakingClass { constructor(i) { this.i = i; } }
    globalThis.leakyCache = new Map();
    const hd = new memwatch.HeapDiff();
    for (let i = 0; i < 500; i++) globalThis.leakyCache.set('k' + i, new LeakingClass(i));
    done(hd.end({ examples: 3 }));
  `);
  const row = result.change.details.find((d) => d.what === 'LeakingClass');
  assert.strictEqual(row['+'], 500);
  assert.ok(row.retained_size_bytes >= row.size_bytes, JSON.stringify(row));
  assert.match(row.retained_size, SIZE);
  assert.strictEqual(row.examples.length, 3);
  for (const ex of row.examples) {
    assert.ok(ex.id > 0 && ex.self_size > 0 && ex.retained_size >= ex.self_size);
    assert.match(ex.path, /^\(GC roots\) → /);
    assert.match(ex.path, /leakyCache/, ex.path);
    assert.match(ex.path, /LeakingClass @\d+$/, ex.path);
  }
});

test('end() twice is an error with code ERR_HEAPDIFF_ENDED', () => {
  const hd = new memwatch.HeapDiff();
  hd.end();
  assert.throws(() => hd.end(), { code: 'ERR_HEAPDIFF_ENDED', message: /already/ });
  assert.throws(() => new memwatch.HeapDiff(7), { code: 'ERR_INVALID_ARG_TYPE' });
  const hd2 = new memwatch.HeapDiff();
  assert.throws(() => hd2.end({ examples: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => hd2.end('x'), { code: 'ERR_INVALID_ARG_TYPE' });
  hd2.end(); // still usable after a rejected call
});

test('HeapDiff GCs are not reported as stats', () => {
  const { result } = runScenario(`
    const stats = [];
    memwatch.on('stats', (s) => stats.push(s.num_full_gc));
    memwatch.gc();
    const hd = new memwatch.HeapDiff();
    const d = hd.end();
    memwatch.gc();
    done({ stats, d: d.change.details.length });
  `);
  // Only the two gc() calls, numbered 1 and 2; the snapshots' GCs are not counted.
  assert.deepStrictEqual(result.stats, [1, 2]);
});

test('a HeapDiff inside a worker diffs that worker\'s heap', () => {
  const workerCode = `
    const memwatch = require(${JSON.stringify(ROOT)});
    const { parentPort } = require('worker_threads');
    class WorkerLeak { constructor(i) { this.i = i; } }
    const kept = [];
    const hd = new memwatch.HeapDiff();
    for (let i = 0; i < 777; i++) kept.push(new WorkerLeak(i));
    const d = hd.end();
    parentPort.postMessage(d.change.details.filter((r) => r.what === 'WorkerLeak'));
  `;
  const { result } = runScenario(`
    const { Worker } = require('worker_threads');
    const w = new Worker(${JSON.stringify(workerCode)}, { eval: true });
    w.on('message', (rows) => done(rows));
  `);
  assert.strictEqual(result.length, 1);
  assert.strictEqual(result[0]['+'], 777);
});

test('a snapshot that cannot fit in memory is refused with a clear error', () => {
  const { result } = runScenario(`
    // Pretend the machine has 1 MB left: the guard must refuse, not crash.
    // (process.availableMemory() where Node has it, /proc/meminfo elsewhere.)
    const fs = require('fs');
    const real = fs.readFileSync;
    fs.readFileSync = (p, ...a) => String(p) === '/proc/meminfo'
      ? 'MemTotal: 1000 kB\\nMemAvailable:       1024 kB\\n' : real(p, ...a);
    if (process.availableMemory) process.availableMemory = () => 1024 * 1024;
    const out = {};
    try { new memwatch.HeapDiff(); out.thrown = false; }
    catch (e) { Object.assign(out, { thrown: true, code: e.code, message: e.message }); }
    // Skipping the check takes the snapshot anyway.
    const d = new memwatch.HeapDiff({ skipMemoryCheck: true }).end();
    out.skipped = d.after.nodes > 0;
    done(out);
  `);
  assert.strictEqual(result.thrown, true);
  assert.strictEqual(result.code, 'ERR_HEAPDIFF_MEMORY');
  assert.match(result.message, /needs about \d+ MB .* only 1 MB is available/);
  assert.strictEqual(result.skipped, true);
});

// The fallback writes its snapshots to files: never where another local user
// could have planted a file or a symlink, and never left behind.
const TEMP_FILES = (body) => `
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const tmp = os.tmpdir();
  const listing = () => fs.readdirSync(tmp).sort();
  ${body}
`;

function privateTmp() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-test-tmp-'));
}

test('fallback snapshots never follow a planted symlink and leave no files', () => {
  const tmp = privateTmp();
  try {
    const { result } = runScenario(TEMP_FILES(`
      // The old names were memwatch-<pid>-<ms>-<n>.heapsnapshot in the shared
      // temp dir: plant symlinks for the next few seconds' worth of them.
      const victim = path.join(tmp, 'victim');
      fs.writeFileSync(victim, 'precious');
      const now = Date.now();
      for (let ms = now - 100; ms < now + 5000; ms++) {
        for (let n = 0; n < 2; n++) {
          fs.symlinkSync(victim, path.join(tmp, 'memwatch-' + process.pid + '-' + ms + '-' + n + '.heapsnapshot'));
        }
      }
      const planted = listing();
      class LeakingClass {}
      const kept = [];
      const hd = new memwatch.HeapDiff();
      for (let i = 0; i < 50; i++) kept.push(new LeakingClass());
      const row = hd.end().change.details.find((d) => d.what === 'LeakingClass');
      // A snapshot that fails to parse removes its file too.
      const v8 = require('v8');
      const write = v8.writeHeapSnapshot;
      v8.writeHeapSnapshot = (file) => { fs.writeFileSync(file, '{"snapshot":'); return file; };
      let code = null;
      try { new memwatch.HeapDiff(); } catch (e) { code = e.code; }
      v8.writeHeapSnapshot = write;
      done({
        victim: fs.readFileSync(victim, 'utf8'),
        leftover: listing().filter((f) => !planted.includes(f)),
        added: row['+'],
        code,
        backend: memwatch.backend,
      });
    `), { env: { MEMWATCH_BACKEND: 'perf_hooks', TMPDIR: tmp } });
    assert.strictEqual(result.backend, 'perf_hooks');
    assert.strictEqual(result.added, 50);
    assert.strictEqual(result.victim, 'precious', 'a planted symlink was followed');
    assert.deepStrictEqual(result.leftover, []);
    assert.strictEqual(result.code, 'ERR_SNAPSHOT_PARSE');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('process.exit() right after end() leaves no snapshot files (fallback)', () => {
  const tmp = privateTmp();
  try {
    const code = `
      const memwatch = require(${JSON.stringify(ROOT)});
      for (let i = 0; i < 3; i++) new memwatch.HeapDiff().end();
      process.exit(0);
    `;
    const r = spawnSync(process.execPath, ['-e', code], {
      env: { ...process.env, MEMWATCH_BACKEND: 'perf_hooks', TMPDIR: tmp },
      encoding: 'utf8',
    });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(fs.readdirSync(tmp), []);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('fallback and native snapshots of the same heap agree on class counts', () => {
  const { result } = runScenario(`
    const v8 = require('v8');
    const fs = require('fs');
    const path = require('path');
    const b = require(${JSON.stringify(ROOT + '/lib/binding')}).load();
    class Widget { constructor(i) { this.i = i; this.name = 'w' + i; } }
    const keep = Array.from({ length: 5000 }, (_, i) => new Widget(i));
    // A HeapDiff first: the first native snapshot of a process checks the canary.
    new memwatch.HeapDiff().end();
    const store = new b.GraphStore();
    const native = store.classCounts(memwatch._backend.watcher.snapshotInto(store, {}, {}));
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'memwatch-same-heap-'));
    const file = path.join(dir, 'heap.heapsnapshot');
    v8.writeHeapSnapshot(file);
    const parsed = store.classCounts(store.loadFile(file));
    fs.rmSync(dir, { recursive: true });
    done({ native, parsed, kept: keep.length });
  `);
  const { native, parsed } = result;
  assert.strictEqual(native.Widget, 5000);
  assert.strictEqual(parsed.Widget, 5000);
  for (const what of new Set([...Object.keys(native), ...Object.keys(parsed)])) {
    const a = native[what] || 0;
    const b = parsed[what] || 0;
    // The only difference is what writeHeapSnapshot itself allocates in between.
    assert.ok(Math.abs(a - b) <= Math.max(40, 0.005 * a), `${what}: native ${a}, parsed ${b}`);
  }
});
