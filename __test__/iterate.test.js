'use strict';
const test = require('node:test');
const assert = require('node:assert');
const memwatch = require('..');
const { runScenario, runScenarioAsync, inParallel } = require('./helpers');

class Retained {
  constructor(i) {
    this.i = i;
  }
}

test('iterate() throws a MemoryLeakError whose details name the class', () => {
  const kept = [];
  let err;
  try {
    memwatch.iterate(() => kept.push(new Retained(kept.length)));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof memwatch.MemoryLeakError);
  assert.ok(err instanceof Error);
  assert.strictEqual(err.code, 'ERR_MEMORY_LEAK');
  const cls = err.details.classes[0];
  assert.strictEqual(cls.what, 'Retained');
  assert.strictEqual(cls.count, 30);
  assert.ok(cls.size_bytes >= 30 * 16);
  assert.match(cls.path, /^\(GC roots\) → .*Retained @\d+$/);
  assert.strictEqual(err.details.iterations, 30);
  assert.strictEqual(err.details.calls, 30);
  // Two batches of 6 rounds (the growth came back in the second), plus the warm-up's base.
  assert.strictEqual(err.details.bases.length, 13);
  assert.match(err.message, /Retained: \+30 in 30 calls/);
});

test('iterate.async() catches a leak behind an await', async () => {
  const pending = new Map();
  await assert.rejects(
    memwatch.iterate.async(async () => {
      await new Promise((r) => setImmediate(r));
      pending.set(pending.size, new Retained(pending.size));
    }, { iterations: 20, rounds: 5 }),
    (err) => err instanceof memwatch.MemoryLeakError && err.details.classes[0].what === 'Retained'
  );
});

test('a clean small function is not even suspected, 20 runs of 20, from the first call in a process', () => {
  // The cheap check must keep clean functions off the snapshot path; the
  // first call in a process is where memwatch's own code warms up.
  const { result } = runScenario(`
    (async () => {
      const cache = new Map();
      const clean = () => {
        const o = JSON.parse(JSON.stringify({ list: [1, 2, 3], name: 'x' }));
        cache.set(o.name, o); // bounded: always the same key
        return o.list.length;
      };
      const sync = [];
      const async = [];
      for (let run = 0; run < 20; run++) sync.push(memwatch.iterate(clean));
      for (let run = 0; run < 5; run++) async.push(await memwatch.iterate.async(async () => clean()));
      const show = (r) => ({ leaked: r.leaked, suspected: r.suspected, steps: r.bases.slice(1).map((b, i) => b - r.bases[i]) });
      done({ sync: sync.map(show), async: async.map(show) });
    })();
  `);
  for (const [kind, runs] of Object.entries(result)) {
    const suspected = runs.filter((r) => r.suspected);
    assert.strictEqual(suspected.length, 0, `${kind}: ${JSON.stringify(suspected)}`);
    assert.ok(runs.every((r) => r.leaked === false));
  }
});

test('memwatch never reports itself: clean functions with iterations 1 to 10, each the first call in a process', async () => {
  // The first iterate() of a process used to report () => 1 as leaking
  // ("String +3"): memwatch's own code, compiled between its two snapshots.
  // Few iterations make the cheap check suspect growth (V8 still warms up
  // fn), so these runs go through the snapshots: what they must not find is
  // memwatch. A fresh process per case; two at a time.
  // iterate.async's window is checked at 1, 5 and 10 iterations.
  const cases = Array.from({ length: 10 }, (_, i) => i + 1);
  const withAsync = (n) => [1, 5, 10].includes(n);
  const results = await inParallel(cases.map((iterations) => () => runScenarioAsync(`
    const out = { iterations: ${iterations} };
    try { out.sync = memwatch.iterate(() => 1, { iterations: ${iterations} }).leaked; }
    catch (e) { out.sync = e.message; }
    if (!${withAsync(iterations)}) done(out);
    else memwatch.iterate.async(async () => 1, { iterations: ${iterations} }).then(
      (r) => done({ ...out, async: r.leaked }),
      (e) => done({ ...out, async: e.message })
    );
  `)));
  assert.deepStrictEqual(
    results.map((r) => r.result),
    cases.map((iterations) => ({ iterations, sync: false, ...(withAsync(iterations) ? { async: false } : {}) }))
  );
});

test('iterate(asyncFn) is a coded error, and its rejected promises do not crash the process', () => {
  const { result } = runScenario(`
    const out = {};
    try { memwatch.iterate(async () => [1, 2].map((x) => x * 2)); } catch (e) { out.clean = e.code; }
    try { memwatch.iterate(async () => { throw new Error('rejected'); }); } catch (e) { out.rejecting = e.code; out.message = e.message; }
    // An unhandled rejection would have ended the process before this.
    setTimeout(() => done(out), 20);
  `);
  assert.strictEqual(result.clean, 'ERR_ITERATE_ASYNC_FN');
  assert.strictEqual(result.rejecting, 'ERR_ITERATE_ASYNC_FN');
  assert.match(result.message, /use iterate\.async\(fn\) instead/);
});

test('a leak that adds no objects, only grows a backing store, is caught', () => {
  const map = new Map();
  let k = 0;
  assert.throws(
    () => memwatch.iterate(() => map.set(k++, k)),
    (err) => {
      assert.strictEqual(err.code, 'ERR_MEMORY_LEAK');
      const cls = err.details.classes[0];
      assert.ok(cls.size_bytes >= 4 * err.details.calls, JSON.stringify(cls));
      assert.match(cls.path, /Map\.table/);
      assert.match(err.message, /grew by [\d.]+ kB in \d+ calls/);
      return true;
    }
  );
  assert.ok(map.size > 400);
});

test('a user class named Code (or Number) is reported, not taken for V8 code', () => {
  class Code {
    constructor(i) {
      this.i = i;
    }
  }
  const kept = [];
  assert.throws(
    () => memwatch.iterate(() => kept.push(new Code(kept.length))),
    (err) => err.code === 'ERR_MEMORY_LEAK' && err.details.classes[0].what === 'Code' && err.details.classes[0].count === 30
  );
  const Number = class Number {};
  const more = [];
  assert.throws(
    () => memwatch.iterate(() => more.push(new Number())),
    (err) => err.code === 'ERR_MEMORY_LEAK' && err.details.classes[0].what === 'Number'
  );
});

test('overlapping iterate calls are refused with a coded error (they would blame each other)', async () => {
  const kept = [];
  const slowLeak = memwatch.iterate.async(async () => {
    await new Promise((r) => setImmediate(r));
    kept.push(new Retained(kept.length));
  }, { iterations: 10, rounds: 3 });
  await assert.rejects(memwatch.iterate.async(async () => 1), { code: 'ERR_ITERATE_CONCURRENT' });
  assert.throws(() => memwatch.iterate(() => 1), { code: 'ERR_ITERATE_CONCURRENT' });
  // The first one is unaffected, and iterate works again afterwards.
  await assert.rejects(slowLeak, (err) => err.details.classes[0].what === 'Retained');
  assert.strictEqual(memwatch.iterate(() => 1, { iterations: 5, rounds: 2 }).leaked, false);
  // iterate() inside fn is an overlap too.
  assert.throws(() => memwatch.iterate(() => memwatch.iterate(() => 1)), { code: 'ERR_ITERATE_CONCURRENT' });
});

test('options are validated like Node validates arguments', () => {
  assert.throws(() => memwatch.iterate('nope'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => memwatch.iterate(() => {}, 5), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => memwatch.iterate(() => {}, { iterations: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => memwatch.iterate(() => {}, { rounds: 1 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => memwatch.iterate(() => {}, { warmup: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => memwatch.iterate(() => {}, { skipMemoryCheck: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  const r = memwatch.iterate(() => {}, { iterations: 3, rounds: 3, warmup: 0, skipMemoryCheck: true });
  assert.deepStrictEqual(Object.keys(r).sort(), ['bases', 'heapGrowth', 'leaked', 'suspected']);
  // One base per round and the warm-up's; a second batch when the first
  // grew, a third when the second grew in one small step (3 calls a round
  // make the growth threshold small: Node 26 once took all three).
  assert.ok([4, 7, 10].includes(r.bases.length), String(r.bases.length));
});

test('an error thrown by fn propagates unchanged', () => {
  const boom = new Error('boom');
  assert.throws(() => memwatch.iterate(() => { throw boom; }), (e) => e === boom);
});
