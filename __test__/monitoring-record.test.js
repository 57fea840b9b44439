'use strict';
// memwatch.record() and `memwatch record`: what lands in the NDJSON file,
// rotation, the bounded queue, no synchronous I/O while events are delivered,
// errors with a code, and the CLI preload under both package names.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { Writable } = require('node:stream');
const memwatch = require('..');
const { runScenario, ROOT } = require('./helpers');

const CLI = path.join(ROOT, 'bin', 'memwatch.js');
const LEAKY_APP = path.join(__dirname, 'fixtures', 'leaky-app.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-record-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name = 'rec.ndjson') => path.join(dir, `${++n}-${name}`);
const lines = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('writes a header, then one line per stats and leak event, with every field', async () => {
  const file = tmp();
  const seen = [];
  const onStats = (s) => seen.push({ type: 'stats', data: s });
  const onLeak = (l) => seen.push({ type: 'leak', data: l });
  memwatch.on('stats', onStats);
  memwatch.on('leak', onLeak);
  const rec = memwatch.record(file);
  const hold = [];
  for (let i = 0; i < 12; i++) {
    hold.push(new Array(10000).fill(i)); // growth: leak events among the stats
    memwatch.gc();
  }
  const summary = await rec.stop();
  memwatch.off('stats', onStats);
  memwatch.off('leak', onLeak);

  const got = lines(file);
  assert.strictEqual(got[0].type, 'header');
  assert.strictEqual(got[0].format, 'memwatch-recording');
  assert.strictEqual(got[0].version, 1);
  assert.strictEqual(got[0].pid, process.pid);
  assert.strictEqual(got[0].node, process.version);
  assert.strictEqual(got[0].backend, memwatch.backend);
  const events = got.slice(1);
  assert.strictEqual(events.length, seen.length);
  assert.ok(seen.some((e) => e.type === 'leak'), 'the growth raised a leak event');
  events.forEach((line, i) => {
    const { type, t, ...fields } = line;
    assert.strictEqual(type, seen[i].type);
    assert.ok(Number.isFinite(t) && Math.abs(t - Date.now()) < 600_000);
    // Exactly the payload, as JSON has it (Dates as ISO strings), every field kept.
    assert.deepStrictEqual(fields, JSON.parse(JSON.stringify(seen[i].data)));
  });
  assert.deepStrictEqual(summary, { lines: got.length, bytes: fs.statSync(file).size, dropped: 0, rotations: 0 });
  assert.ok(hold.length === 12);
});

test('stop() removes the listeners, is idempotent, and nothing is written after it', async () => {
  const file = tmp();
  const before = [memwatch.listenerCount('stats'), memwatch.listenerCount('leak')];
  const rec = memwatch.record(file);
  assert.strictEqual(memwatch.listenerCount('stats'), before[0] + 1);
  memwatch.gc();
  const p1 = rec.stop();
  assert.strictEqual(rec.close(), p1);
  assert.deepStrictEqual([memwatch.listenerCount('stats'), memwatch.listenerCount('leak')], before);
  await p1;
  memwatch.on('stats', () => {});
  memwatch.gc();
  memwatch.removeAllListeners('stats');
  await new Promise((r) => setImmediate(r));
  assert.deepStrictEqual(lines(file).map((l) => l.type), ['header', 'stats']);
});

test('no synchronous file I/O while events are delivered', async () => {
  const file = tmp();
  const rec = memwatch.record(file);
  const syncCalls = [];
  const originals = {};
  for (const name of Object.keys(fs)) {
    if (!/Sync$/.test(name) || typeof fs[name] !== 'function') continue;
    originals[name] = fs[name];
    fs[name] = function (...args) {
      syncCalls.push(name);
      return originals[name].apply(this, args);
    };
  }
  try {
    for (let i = 0; i < 5; i++) memwatch.gc(); // delivers 5 stats events synchronously
  } finally {
    Object.assign(fs, originals);
  }
  assert.deepStrictEqual(syncCalls, []);
  await rec.stop();
  assert.strictEqual(lines(file).filter((l) => l.type === 'stats').length, 5);
});

test('rotates at maxBytes: every part starts with a header, none is lost with enough parts kept', async () => {
  const file = tmp();
  const rec = memwatch.record(file, { maxBytes: 1500, keep: 50 });
  const gcs = 16;
  for (let i = 0; i < gcs; i++) {
    memwatch.gc();
    if (i % 5 === 4) await new Promise((r) => setImmediate(r)); // let some writes happen between
  }
  const summary = await rec.stop();
  const parts = fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith(path.basename(file)));
  assert.ok(summary.rotations >= 3, `rotations ${summary.rotations}`);
  assert.strictEqual(parts.length, summary.rotations + 1);
  let stats = 0;
  const nums = [];
  for (const part of parts) {
    const full = path.join(path.dirname(file), part);
    assert.ok(fs.statSync(full).size <= 1500, `${part}: ${fs.statSync(full).size} bytes`);
    const got = lines(full);
    assert.strictEqual(got[0].type, 'header', part);
    for (const l of got.slice(1)) {
      assert.ok(l.type === 'stats' || l.type === 'leak', l.type);
      if (l.type !== 'stats') continue;
      nums.push(l.num_full_gc);
      stats++;
    }
  }
  assert.strictEqual(stats, gcs);
  nums.sort((a, b) => a - b);
  for (let i = 1; i < nums.length; i++) assert.strictEqual(nums[i], nums[i - 1] + 1);

  // With keep: 1 only the newest part and one older part remain.
  const small = tmp();
  const rec2 = memwatch.record(small, { maxBytes: 1500, keep: 1 });
  for (let i = 0; i < 10; i++) {
    memwatch.gc();
    await new Promise((r) => setImmediate(r));
  }
  await rec2.stop();
  const left = fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(small)));
  assert.deepStrictEqual(left.sort(), [path.basename(small), `${path.basename(small)}.1`]);
});

test('a stream that does not keep up: bounded queue, dropped lines counted, then written', async () => {
  const written = [];
  let release = null;
  const slow = new Writable({
    highWaterMark: 1,
    write(chunk, _enc, cb) {
      written.push(chunk.toString());
      release = cb; // held until the test lets it go
    },
  });
  let events = 0;
  const count = () => events++;
  memwatch.on('stats', count);
  memwatch.on('leak', count);
  const rec = memwatch.record(slow, { maxQueueBytes: 2048 });
  for (let i = 0; i < 24; i++) memwatch.gc(); // ~450 bytes a line: most cannot be queued
  memwatch.off('stats', count);
  memwatch.off('leak', count);
  await new Promise((r) => setImmediate(r));
  assert.ok(rec._queuedBytes <= 2048, `queued ${rec._queuedBytes}`);
  assert.ok(rec.written.dropped > 12, `dropped ${rec.written.dropped}`);
  const stopped = rec.stop();
  while (release) {
    const cb = release;
    release = null;
    cb();
    await new Promise((r) => setImmediate(r));
  }
  const summary = await stopped;
  const got = written.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const dropped = got.filter((l) => l.type === 'dropped');
  assert.strictEqual(dropped.reduce((k, l) => k + l.count, 0), summary.dropped);
  assert.strictEqual(got.filter((l) => l.type === 'stats' || l.type === 'leak').length + summary.dropped, events);
  assert.strictEqual(slow.writableEnded, false, 'a stream is not ended without end: true');
});

test('errors carry a code: bad arguments, unopenable file, failing stream', async () => {
  assert.throws(() => memwatch.record(42), { code: 'ERR_INVALID_ARG_TYPE', name: 'TypeError' });
  assert.throws(() => memwatch.record(''), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => memwatch.record(tmp(), { maxBytes: -1 }), { code: 'ERR_INVALID_ARG_VALUE', name: 'RangeError' });
  assert.throws(() => memwatch.record(tmp(), { keep: 1.5 }), { code: 'ERR_INVALID_ARG_VALUE' });
  assert.throws(() => memwatch.record(tmp(), { heapDiff: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  const before = memwatch.listenerCount('stats');
  assert.throws(() => memwatch.record(path.join(dir, 'no', 'such', 'dir.ndjson')), {
    code: 'ERR_RECORD_OPEN',
    message: /ENOENT/,
  });
  assert.strictEqual(memwatch.listenerCount('stats'), before, 'no listener left by a failed record()');

  const failing = new Writable({
    write(_c, _e, cb) {
      cb(new Error('disk on fire'));
    },
  });
  failing.on('error', () => {});
  const rec = memwatch.record(failing);
  const errors = [];
  rec.on('error', (e) => errors.push(e));
  memwatch.gc();
  await new Promise((r) => setTimeout(r, 10));
  assert.strictEqual(errors.length, 1);
  assert.strictEqual(errors[0].code, 'ERR_RECORD_WRITE');
  assert.match(errors[0].message, /disk on fire/);
  assert.strictEqual(memwatch.listenerCount('stats'), before, 'a failed recording stops listening');
  await assert.rejects(rec.stop(), { code: 'ERR_RECORD_WRITE' });
});

test('a failing recording without an error listener warns and never crashes the process', () => {
  const { result } = runScenario(`
    const { Writable } = require('stream');
    const failing = new Writable({ write(_c, _e, cb) { cb(new Error('disk on fire')); } });
    failing.on('error', () => {});
    const warnings = [];
    process.on('warning', (w) => warnings.push(w.code));
    const rec = memwatch.record(failing);
    const a = memwatch.gc();
    setTimeout(() => {
      const b = memwatch.gc();
      rec.stop(); // rejected, caught by the recording itself
      setTimeout(() => done({ warnings, n: b.num_full_gc - a.num_full_gc }), 10);
    }, 10);
  `);
  assert.deepStrictEqual(result.warnings, ['ERR_RECORD_WRITE']);
  assert.strictEqual(result.n, 1);
});

test('what is queued at process.exit() is written', () => {
  const file = tmp();
  runScenario(`
    memwatch.record(${JSON.stringify(file)});
    for (let i = 0; i < 3; i++) memwatch.gc();
    done(true);
    process.exit(0);
  `);
  assert.deepStrictEqual(lines(file).map((l) => l.type), ['header', 'stats', 'stats', 'stats']);
});

test('HeapDiff and sites summaries: by hand, and a HeapDiff after each leak with heapDiff: true', async () => {
  const file = tmp();
  const rec = memwatch.record(file, { top: 3 });
  // A HeapDiff result's shape (a real one is taken in the fresh process below).
  const row = (what, size_bytes, plus, minus) => ({ what, size_bytes, size: `${size_bytes} bytes`, '+': plus, '-': minus });
  const result = {
    before: { nodes: 10, size_bytes: 100, size: '100 bytes', time: new Date(0) },
    after: { nodes: 2010, size_bytes: 64100, size: '62.6 kb', time: new Date(1000) },
    change: {
      size_bytes: 64000, size: '62.5 kb', freed_nodes: 3, allocated_nodes: 2003,
      details: [row('Array', 800, 2, 1), row('Shrinking', -500, 0, 2), row('String', 1200, 1, 0), row('Summarized', 64000, 2000, 0), row('Tiny', 8, 1, 0)],
    },
  };
  rec.heapDiff(result, { label: 'by hand' });
  const sites = Array.from({ length: 5 }, (_, i) => ({ function: `f${i}`, url: 'file:///app.js', line: i, column: 1, growth_bytes: 100 - i, live_bytes: 10, samples: 1, stack: ['f (app.js:1:1)'] }));
  rec.sites(sites, { label: 'manual' });
  await rec.stop();
  const [, diff, siteLine] = lines(file);
  assert.strictEqual(diff.type, 'heapdiff');
  assert.strictEqual(diff.label, 'by hand');
  // The `top` classes that grew most, largest first.
  assert.deepStrictEqual(diff.change.details, [
    { what: 'Summarized', size_bytes: 64000, '+': 2000, '-': 0 },
    { what: 'String', size_bytes: 1200, '+': 1, '-': 0 },
    { what: 'Array', size_bytes: 800, '+': 2, '-': 1 },
  ]);
  assert.strictEqual(diff.change.classes, 5);
  assert.deepStrictEqual(diff.before, { nodes: 10, size_bytes: 100, time: new Date(0).toISOString() });
  assert.deepStrictEqual(siteLine.sites, sites.slice(0, 3));
  assert.throws(() => rec.heapDiff({}), { code: 'ERR_INVALID_ARG_TYPE' });

  // heapDiff option, in a fresh process: a leak starts a HeapDiff that ends 2 full GCs
  // later, so it sees the 2 rounds of 3000 objects allocated in between. The
  // first leak comes at the 5th growing GC, which is not always the 5th GC
  // (one of the first may not grow): the loop runs until 2 GCs after it.
  const auto = tmp();
  runScenario(`
    class LeakingClass {}
    const rec = memwatch.record(${JSON.stringify(auto)}, { heapDiff: { gcs: 2, top: 5 } });
    const hold = [];
    let round = 0;
    let leakAt = null;
    memwatch.once('leak', () => { leakAt = round + 1; });
    (function step() {
      for (let i = 0; i < 3000; i++) hold.push(new LeakingClass());
      memwatch.gc();
      round++;
      if ((leakAt === null || round < leakAt + 2) && round < 30) setImmediate(step);
      // After the HeapDiff's end, which the last GC queued as an immediate.
      else setImmediate(() => rec.stop().then(() => done(hold.length)));
    })();
  `);
  const got = lines(auto);
  const firstLeak = got.findIndex((l) => l.type === 'leak');
  const heapdiff = got.findIndex((l) => l.type === 'heapdiff');
  assert.ok(firstLeak > 0 && heapdiff > firstLeak, got.map((l) => l.type).join(','));
  const top = got[heapdiff].change.details;
  assert.ok(top.length <= 5);
  assert.strictEqual(top.find((d) => d.what === 'LeakingClass')['+'], 2 * 3000, JSON.stringify(top));
  // The leak's own stats line, then the 2 full GCs the HeapDiff spans.
  assert.strictEqual(got.slice(firstLeak, heapdiff).filter((l) => l.type === 'stats').length, 1 + 2);
});

// ---- the CLI ----

function cli(args, opts = {}) {
  const r = spawnSync(process.execPath, [opts.cli || CLI, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    cwd: opts.cwd || dir,
    env: { ...process.env, ...opts.env },
  });
  assert.strictEqual(r.signal, null, r.stderr);
  return r;
}

test('memwatch record runs a node app with a preload and records it, passing its exit code on', () => {
  const file = tmp();
  const r = cli(['record', '-o', file, '--', process.execPath, '--expose-gc', LEAKY_APP], {
    env: { ROUNDS: '8', EXIT_CODE: '7' },
  });
  assert.strictEqual(r.status, 7, r.stderr);
  assert.match(r.stderr, /memwatch record: recorded .*rec\.ndjson/);
  const got = lines(file);
  assert.strictEqual(got[0].type, 'header');
  assert.strictEqual(got[0].recorder, 'memwatch record');
  assert.strictEqual(got[0].script, LEAKY_APP);
  assert.strictEqual(got.filter((l) => l.type === 'stats').length, 8);
  assert.ok(got.some((l) => l.type === 'leak' && l.kind === 'heap'), 'the leak was recorded');
});

test('memwatch record: usage errors exit 2, an unknown command 127, an unwritable output 3', async () => {
  const { run } = require('../lib/cli/record');
  const call = async (args) => {
    let err = '';
    const stderr = { write: (x) => (err += x) };
    return { status: await run(args, { stderr, stdout: stderr }), stderr: err };
  };
  assert.strictEqual((await call(['--', 'node'])).status, 2);
  assert.strictEqual((await call(['-o', tmp()])).status, 2);
  assert.strictEqual((await call(['-o', tmp(), '--max-size', 'lots', '--', 'node'])).status, 2);
  assert.strictEqual((await call(['-o', tmp(), '--keep', '0', '--', 'node'])).status, 2);
  const r = await call(['-o', tmp(), 'node', '--expose-gc', 'x.js']);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /put the command after --/);
  const missing = await call(['-o', tmp(), '--', path.join(dir, 'no-such-command')]);
  assert.strictEqual(missing.status, 127);
  assert.match(missing.stderr, /cannot run .*no-such-command/);
  const unwritable = await call(['-o', path.join(dir, 'no', 'dir.ndjson'), '--', 'node']);
  assert.strictEqual(unwritable.status, 3);
  assert.match(unwritable.stderr, /^memwatch: .*dir\.ndjson: cannot write \(ENOENT\)\n$/);
});

test('node processes the command starts record into <file>.<pid>.ndjson', () => {
  const file = tmp('tree.ndjson');
  const parent = `
    const { spawnSync } = require('child_process');
    const r = spawnSync(process.execPath, ['--expose-gc', ${JSON.stringify(LEAKY_APP)}], { env: { ...process.env, ROUNDS: '3' }, stdio: 'inherit' });
    console.log('CHILD_PID ' + r.pid);
  `;
  const r = cli(['record', '-o', file, '--', process.execPath, '-e', parent]);
  assert.strictEqual(r.status, 0, r.stderr);
  const pid = /CHILD_PID (\d+)/.exec(r.stdout)[1];
  const childFile = file.replace(/\.ndjson$/, `.${pid}.ndjson`);
  const got = lines(childFile);
  assert.strictEqual(got[0].pid, Number(pid));
  assert.strictEqual(got.filter((l) => l.type === 'stats').length, 3);
  assert.match(r.stderr, new RegExp(`tree\\.${pid}\\.ndjson`));
});
