'use strict';
// V8's heap-profiler object ids belong to everyone in the isolate: memwatch
// clears them (to restore GC speed) only when nobody else may depend on them.
// Each case runs in a fresh process: the decision depends on what ran before.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runScenario, ROOT } = require('./helpers');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-ids-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Whether V8's id map was cleared: a long-lived object has no id then. */
const CLEARED = 'memwatch._backend.watcher.objectId(globalThis) === 0';

test('alone in the process, the last HeapDiff clears the id map (GCs back to full speed)', () => {
  const { result, stderr } = runScenario(`
    const hd = new memwatch.HeapDiff();
    const during = !(${CLEARED});
    hd.end({ examples: 1 });
    done({ during, after: ${CLEARED} });
  `);
  assert.deepStrictEqual(result, { during: true, after: true });
  assert.doesNotMatch(stderr, /MEMWATCH_OBJECT_IDS_KEPT/);
});

test('--track-heap-objects: HeapDiffs then allocations do not crash; ids are kept, with a warning', () => {
  const code = `
    const memwatch = require(${JSON.stringify(ROOT)});
    class LeakingClass {}
    const kept = [];
    for (let r = 0; r < 3; r++) {
      const hd = new memwatch.HeapDiff();
      for (let i = 0; i < 1000; i++) kept.push(new LeakingClass());
      const d = hd.end({ examples: 1 });
      if (d.change.details.find((x) => x.what === 'LeakingClass')['+'] !== 1000) throw new Error('miscounted');
      let junk = [];
      for (let i = 0; i < 3e5; i++) { junk.push({ i, s: 'x' + i }); if (junk.length > 1e4) junk = []; }
    }
    memwatch.iterate(() => kept.length, { iterations: 5 });
    console.log('survived', ${CLEARED});
  `;
  for (const how of [{ args: ['--track-heap-objects'] }, { env: { NODE_OPTIONS: '--track-heap-objects' } }]) {
    const r = spawnSync(process.execPath, [...(how.args || []), '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, ...how.env },
      timeout: 120_000,
    });
    assert.strictEqual(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^survived false$/m);
    assert.match(r.stderr, /MEMWATCH_OBJECT_IDS_KEPT/);
  }
});

test('an inspector session tracking allocations: no crash, and its ids stay stable across HeapDiffs', () => {
  const { result } = runScenario(`
    const inspector = require('inspector');
    const session = new inspector.Session();
    session.connect();
    const post = (method, params) => {
      let out;
      session.post(method, params, (err, res) => { if (err) throw err; out = res; });
      return out;
    };
    globalThis.probe = { hello: 'world' };
    const heapId = () => {
      const { result } = post('Runtime.evaluate', { expression: 'globalThis.probe' });
      return post('HeapProfiler.getHeapObjectId', { objectId: result.objectId }).heapSnapshotObjectId;
    };
    post('HeapProfiler.enable');
    post('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
    const idBefore = heapId();
    class LeakingClass {}
    const kept = [];
    const plus = [];
    for (let r = 0; r < 3; r++) {
      const hd = new memwatch.HeapDiff();
      for (let i = 0; i < 500; i++) kept.push(new LeakingClass());
      plus.push(hd.end({ examples: 1 }).change.details.find((x) => x.what === 'LeakingClass')['+']);
      for (let i = 0; i < 2e5; i++) ({ i });
    }
    const idAfter = heapId();
    let chunks = 0;
    session.on('HeapProfiler.addHeapSnapshotChunk', () => chunks++);
    post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    post('HeapProfiler.stopTrackingHeapObjects', {});
    done({ idBefore, idAfter, plus, chunks, cleared: ${CLEARED} });
  `);
  assert.deepStrictEqual(result.plus, [500, 500, 500]);
  assert.ok(Number(result.idBefore) > 0);
  assert.strictEqual(result.idAfter, result.idBefore, 'the session saw its ids reset');
  assert.ok(result.chunks > 0);
  assert.strictEqual(result.cleared, false);
});

test("a user's own snapshots keep comparable ids across a HeapDiff (memwatch diff sees the leak)", () => {
  const a = path.join(dir, 'a.heapsnapshot');
  const b = path.join(dir, 'b.heapsnapshot');
  runScenario(`
    const v8 = require('v8');
    class LeakingClass {}
    v8.writeHeapSnapshot(${JSON.stringify(a)});
    new memwatch.HeapDiff().end();
    globalThis.leak = Array.from({ length: 100 }, () => new LeakingClass());
    v8.writeHeapSnapshot(${JSON.stringify(b)});
    done(${CLEARED});
  `);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'memwatch.js'), 'diff', a, b, '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.strictEqual(r.status, 0, r.stderr);
  const row = JSON.parse(r.stdout).change.details.find((x) => x.what === 'LeakingClass');
  assert.ok(row, 'no LeakingClass row: ids were reset between the two snapshots');
  assert.strictEqual(row['+'], 100);
});

test('two copies of memwatch in one isolate: one ending its diff does not reset the other\'s ids', () => {
  // A real second copy: the same files under another path, so a second
  // instance of the addon (its own statics) and of the JS modules.
  const copy = path.join(dir, 'copy');
  fs.mkdirSync(copy);
  for (const f of ['index.js', 'package.json', 'lib']) fs.cpSync(path.join(ROOT, f), path.join(copy, f), { recursive: true });
  for (const f of fs.readdirSync(ROOT).filter((n) => n.endsWith('.node'))) fs.copyFileSync(path.join(ROOT, f), path.join(copy, f));
  const { result } = runScenario(`
    const other = require(${JSON.stringify(copy)});
    if (other === memwatch) throw new Error('not a second copy');
    class LeakingClass {}
    class Other {}
    const kept = [];
    const outer = new memwatch.HeapDiff();
    for (let i = 0; i < 1000; i++) kept.push(new LeakingClass());
    const inner = new other.HeapDiff();
    for (let i = 0; i < 100; i++) kept.push(new Other());
    const innerDiff = inner.end();
    const outerDiff = outer.end();
    const count = (d, what) => (d.change.details.find((x) => x.what === what) || { '+': 0 })['+'];
    done({ outer: [count(outerDiff, 'LeakingClass'), count(outerDiff, 'Other')],
      inner: [count(innerDiff, 'LeakingClass'), count(innerDiff, 'Other')], cleared: ${CLEARED} });
  `);
  assert.deepStrictEqual(result.outer, [1000, 100]);
  assert.deepStrictEqual(result.inner, [0, 100]);
});
