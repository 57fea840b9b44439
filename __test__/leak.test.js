'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const { runScenario, ROOT } = require('./helpers');

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

// A flat heap: allocate-and-drop rounds, memwatch listening with listeners
// that keep nothing per event. The first GCs of a process grow by a few bytes
// each (lazy compilation, feedback vectors): memwatch's rule reports that, as
// the old module did, so leaks count from GC WARM on. `trigger` 'gc' drives
// full GCs with gc() (the objects die young); 'natural' lets V8 run them
// (objects live long enough to be promoted, then are replaced).
const WARM = 20;
const COUNTED = 62;
const FLAT = (trigger) => `
  const bases = new Float64Array(${WARM + COUNTED});
  let n = 0;
  let steps = 0;
  const leaks = [];
  const ring = new Array(${trigger === 'gc' ? 500 : 50000}).fill(null);
  let i = 0;
  const churn = (count) => { for (let k = 0; k < count; k++, i++) ring[i % ring.length] = { i, k }; };
  memwatch.on('stats', (s) => { if (n < bases.length) bases[n] = s.current_base; n++; });
  memwatch.on('leak', (l) => { if (n > ${WARM}) leaks.push(l.reason); });
  const finish = () => {
    memwatch.removeAllListeners();
    done({ leaks, n, steps, bases: Array.from(bases.subarray(${WARM})), backend: memwatch.backend });
  };
  ${trigger === 'gc'
    ? `while (n < bases.length) { churn(20000); memwatch.gc(); steps++; } finish();`
    : `(function step() {
         churn(5000);
         if (n >= bases.length || ++steps >= 200000) return finish();
         setImmediate(step);
       })();`}
`;

// Natural GCs with incremental marking keep "floating garbage" (objects that
// died while marking ran) and their bases wander by megabytes: that is V8's
// heap, not memwatch's reading. These runs turn incremental marking off so
// that what is left to see is memwatch's own noise. A 1 MB semi-space
// promotes the churn, and a 16 MB old space makes V8 collect it every ~27
// steps: without that cap, Node 18's V8 ran one full GC in 3000 steps of an
// -e script (the run took minutes); with it every line needs ~2200 steps for
// 82 full GCs.
const NATURAL_FLAGS = ['--max-semi-space-size=1', '--no-incremental-marking', '--max-old-space-size=16'];

// V8 drops the bytecode of functions that have not run for a few full GCs:
// on Node 22 the fallback's gc() (queryObjects: several GCs per call) ages it
// fast enough that ~720 kB of memwatch's load-time code went at GC ~50, a
// one-off fall in the base that is V8 reclaiming code, not memwatch's noise.
// Every flat-heap run keeps bytecode so that the spread measures the reading.
// V8 also installs optimized code from background threads whenever they
// finish: on a loaded machine memwatch's own per-GC code (JavaScript on the
// fallback) tiered up across GCs ~41-47, a few hundred bytes at each of 5
// GCs in a row, and the fallback's 200 back-to-back gc() calls reported a
// leak in 2 of 40 runs beside two busy processes (0 of 80 unloaded; 0 of 40
// loaded with compilation on the main thread). Compiling on the main thread
// ties tier-up to call counts, not to the machine's load.
const FLAT_FLAGS = ['--no-flush-bytecode', '--no-concurrent-recompilation', '--no-concurrent-sparkplug'];

for (const backend of ['v8', 'perf_hooks']) {
  for (const trigger of ['gc', 'natural']) {
    test(`a flat heap raises no leak over ${COUNTED} full GCs (${trigger === 'gc' ? 'gc()' : 'natural GCs'}, ${backend})`, () => {
      const { result } = runScenario(FLAT(trigger), {
        env: { MEMWATCH_BACKEND: backend === 'v8' ? '' : backend },
        execArgv: trigger === 'natural' ? [...FLAT_FLAGS, ...NATURAL_FLAGS] : FLAT_FLAGS,
      });
      assert.strictEqual(result.backend, backend);
      assert.ok(result.n >= WARM + COUNTED, `only ${result.n} full GCs in ${result.steps} steps`);
      assert.deepStrictEqual(result.leaks, [], JSON.stringify(result.bases));
      // A GC that lands while V8's optimizing compilers install code reads
      // 250-400 kB more (old and code space) at that one GC, gone at the
      // next: seen in ~1 in 6 natural runs of Node 26's fallback, whose
      // work is JS, and never with --no-turbofan --no-maglev. That is V8's
      // transient, not a level: the spread is over levels held for two GCs.
      const levels = result.bases.slice(1).map((b, i) => Math.min(b, result.bases[i]));
      const spread = Math.max(...levels) - Math.min(...levels);
      assert.ok(spread < 256 * 1024, `the heap was flat (spread ${spread}): ${JSON.stringify(result.bases)}`);
    });
  }
}

test('the fallback counts back-to-back gc() calls once each (200 calls, no spurious leak)', () => {
  // It used to remember only 64 of its own GCs: their perf_hooks entries,
  // delivered later, came back as 136 more full GCs (and leak reports).
  const { result } = runScenario(`
    const seen = new Float64Array(400);
    let n = 0;
    const leakAt = [];
    memwatch.on('stats', (s) => { if (n < seen.length) seen[n] = s.num_full_gc; n++; });
    memwatch.on('leak', () => leakAt.push(n));
    for (let i = 0; i < 200; i++) memwatch.gc();
    // Entries for those GCs arrive after this turn of the event loop.
    setImmediate(() => setImmediate(() => {
      memwatch.removeAllListeners();
      done({ n, counts: Array.from(seen.subarray(0, Math.min(n, 400))), leakAt, backend: memwatch.backend });
    }));
  `, { env: { MEMWATCH_BACKEND: 'perf_hooks' }, execArgv: ['--expose-gc', ...FLAT_FLAGS] });
  assert.strictEqual(result.backend, 'perf_hooks');
  assert.strictEqual(result.n, 200);
  assert.deepStrictEqual(result.counts, Array.from({ length: 200 }, (_, i) => i + 1));
  // The heap of 200 bare gc() calls is flat once the process has warmed up.
  assert.deepStrictEqual(result.leakAt.filter((at) => at > WARM), []);
});

test('without v8.GCProfiler (Node < 18.15) the fallback still counts each gc() once', () => {
  // There it reads the numbers when perf_hooks delivers the entries, and
  // leaves out its own GCs by their time windows, kept until their entries came.
  const code = `
    delete require('v8').GCProfiler;
    const memwatch = require(${JSON.stringify(ROOT)});
    let n = 0;
    let last = 0;
    memwatch.on('stats', (s) => { n++; last = s.num_full_gc; });
    for (let i = 0; i < 150; i++) memwatch.gc();
    setImmediate(() => setImmediate(() => {
      memwatch.removeAllListeners();
      console.log(JSON.stringify({ n, last, backend: memwatch.backend }));
    }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], {
    env: { ...process.env, MEMWATCH_BACKEND: 'perf_hooks' },
    encoding: 'utf8',
  });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.deepStrictEqual(JSON.parse(r.stdout), { n: 150, last: 150, backend: 'perf_hooks' });
});

test('the fallback gc() flips no V8 flag where another way exists, and prints no warning', () => {
  const { result, stderr } = runScenario(`
    const v8 = require('v8');
    v8.setFlagsFromString = () => { throw new Error('flags are frozen'); };
    let freed = null;
    let error = null;
    try {
      let big = Array.from({ length: 3e5 }, (_, i) => ({ i }));
      const withBig = memwatch.gc().current_base;
      big = null;
      freed = withBig - memwatch.gc().current_base;
    } catch (e) {
      error = e.message;
    }
    done({ freed, error, queryObjects: typeof v8.queryObjects === 'function', exposed: typeof globalThis.gc });
  `, { env: { MEMWATCH_BACKEND: 'perf_hooks' } });
  assert.strictEqual(result.exposed, 'undefined');
  if (!result.queryObjects) {
    // Node 18 and 20 before 20.13: the flag flip is the only way left.
    assert.match(result.error, /flags are frozen/);
    return;
  }
  assert.strictEqual(result.error, null);
  assert.ok(result.freed > 10e6, `freed ${result.freed}`);
  assert.doesNotMatch(stderr, /Warning/);
});

test('an unknown MEMWATCH_BACKEND is reported with a warning, then the default is used', () => {
  const pick = (value) =>
    runScenario(`done({ backend: memwatch.backend, reason: memwatch.backendReason })`, {
      env: { MEMWATCH_BACKEND: value },
    });
  const byDefault = pick('');
  const typo = pick('perf_hook');
  assert.deepStrictEqual(typo.result, byDefault.result);
  assert.match(typo.stderr, /MEMWATCH_BACKEND_UNKNOWN.*MEMWATCH_BACKEND="perf_hook" is not one of v8, perf_hooks/);
  const explicit = pick('v8');
  assert.deepStrictEqual(explicit.result, byDefault.result);
  assert.strictEqual(explicit.stderr, '');
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
