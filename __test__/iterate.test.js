'use strict';
const test = require('node:test');
const assert = require('node:assert');
const memwatch = require('..');

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
  assert.strictEqual(err.details.bases.length, 7);
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

test('no false positives on a clean function across 20 runs', async () => {
  const cache = new Map();
  const clean = () => {
    const o = JSON.parse(JSON.stringify({ list: [1, 2, 3], name: 'x' }));
    cache.set(o.name, o); // bounded: always the same key
    return o.list.length;
  };
  for (let run = 0; run < 20; run++) {
    const r = memwatch.iterate(clean);
    assert.strictEqual(r.leaked, false);
    await memwatch.iterate.async(async () => clean());
  }
});

test('options are validated like Node validates arguments', () => {
  assert.throws(() => memwatch.iterate('nope'), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => memwatch.iterate(() => {}, 5), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => memwatch.iterate(() => {}, { iterations: 0 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => memwatch.iterate(() => {}, { rounds: 1 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => memwatch.iterate(() => {}, { warmup: 1.5 }), { code: 'ERR_OUT_OF_RANGE' });
  const r = memwatch.iterate(() => {}, { iterations: 3, rounds: 3, warmup: 0 });
  assert.deepStrictEqual(Object.keys(r).sort(), ['bases', 'heapGrowth', 'leaked', 'suspected']);
  assert.strictEqual(r.bases.length, 4);
});

test('an error thrown by fn propagates unchanged', () => {
  const boom = new Error('boom');
  assert.throws(() => memwatch.iterate(() => { throw boom; }), (e) => e === boom);
});
