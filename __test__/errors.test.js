'use strict';
// Every error that reaches a user has a `code` (set by napi-rs for native
// errors, not parsed back out of a message) and a one-line message.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Readable } = require('node:stream');
const memwatch = require('..');
const { load } = require('../lib/binding');

const binding = load();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-errors-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` (sync or async) and returns what it threw. */
async function caught(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}

function wellFormed(err, code) {
  assert.ok(err instanceof Error, String(err));
  assert.strictEqual(err.code, code, `${err.code}: ${err.message}`);
  assert.ok(!err.message.includes('\n'), `multi-line message: ${JSON.stringify(err.message)}`);
  assert.ok(!/^\[/.test(err.message), `code left in the message: ${err.message}`);
  assert.ok(err.message.length > 10);
}

test('native errors carry their code: snapshots, graphs, engine', async () => {
  const garbage = path.join(dir, 'garbage.heapsnapshot');
  fs.writeFileSync(garbage, '{"snapshot": nope');
  const missing = path.join(dir, 'missing.heapsnapshot');
  const store = new binding.GraphStore();
  const cases = [
    ['ERR_SNAPSHOT_READ', () => store.loadFile(missing)],
    ['ERR_SNAPSHOT_PARSE', () => store.loadFile(garbage)],
    ['ERR_HEAPDIFF_ENDED', () => store.diffFile(12345, garbage, 0)],
    ['ERR_HEAPDIFF_ENDED', () => store.classCounts(999)],
    ['ERR_SNAPSHOT_READ', () => binding.SnapshotSource.fromFile(missing)],
    ['ERR_INVALID_ARG_TYPE', () => new binding.StatsEngine().record({ time_ms: -1, used_heap_size: 1, total_heap_size: 1, heap_size_limit: 1 })],
    ['ERR_INVALID_ARG_TYPE', () => new binding.StatsEngine().record({ time_ms: 1, used_heap_size: NaN, total_heap_size: 1, heap_size_limit: 1 })],
    ['ERR_MEMWATCH_NATIVE_UNAVAILABLE', () => new binding.GcWatcher(() => {}, () => { throw new Error('no stats'); })],
    ['ERR_MEMWATCH_NATIVE_UNAVAILABLE', () => new binding.GcWatcher(() => {}, () => ({}))],
  ];
  for (const [code, fn] of cases) wellFormed(await caught(fn), code);
});

test('analyzeSnapshot() rejects with codes for every way a source can fail', async () => {
  const garbage = path.join(dir, 'garbage2.heapsnapshot');
  fs.writeFileSync(garbage, 'not a snapshot at all');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(path.join(dir, 'nope'))), 'ERR_SNAPSHOT_READ');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(garbage)), 'ERR_SNAPSHOT_PARSE');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(fs.createReadStream(garbage))), 'ERR_SNAPSHOT_PARSE');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(Readable.from([{ not: 'bytes' }]))), 'ERR_INVALID_ARG_TYPE');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(42)), 'ERR_INVALID_ARG_TYPE');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(garbage, { signal: 'x' })), 'ERR_INVALID_ARG_TYPE');
  wellFormed(await caught(() => memwatch.analyzeSnapshot(garbage, { signal: AbortSignal.abort() })), 'ABORT_ERR');
});

test('HeapDiff errors carry their code', async () => {
  const hd = new memwatch.HeapDiff();
  hd.end();
  wellFormed(await caught(() => hd.end()), 'ERR_HEAPDIFF_ENDED');
  wellFormed(await caught(() => new memwatch.HeapDiff(7)), 'ERR_INVALID_ARG_TYPE');
  const hd2 = new memwatch.HeapDiff();
  wellFormed(await caught(() => hd2.end({ examples: 1e9 })), 'ERR_OUT_OF_RANGE');
  hd2.end();
});
