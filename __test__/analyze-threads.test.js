'use strict';
// analyzeSnapshot() never waits on libuv's pool and never holds a process:
// its parser and analysis run on memwatch's own threads. Each scenario runs
// in a child process; a hang there is a failure (the child is killed after a
// generous limit that no passing run comes near).
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { Readable } = require('node:stream');
const memwatch = require('..');

const ROOT = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-threads-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const SNAP = v8.writeHeapSnapshot(path.join(dir, 'small.heapsnapshot'));

/** Runs `code` in a fresh node with `env`; returns { status, signal, stdout, stderr }. */
function child(code, env = {}) {
  const r = spawnSync(process.execPath, ['-e', `const memwatch = require(${JSON.stringify(ROOT)});\n${code}`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.strictEqual(r.signal, null, `the child hung and was killed:\n${r.stderr}`);
  return r;
}

for (const pool of [1, 4]) {
  test(`8 concurrent fs stream analyses with UV_THREADPOOL_SIZE=${pool}, then process.exit()`, () => {
    const r = child(`
      const fs = require('fs');
      const runs = Array.from({ length: 8 }, () =>
        memwatch.analyzeSnapshot(fs.createReadStream(${JSON.stringify(SNAP)}), { top: 5 }));
      Promise.all(runs).then((all) => {
        // fs work still gets the pool while analyses run.
        return fs.promises.readFile(${JSON.stringify(SNAP)}).then(() => all);
      }).then((all) => {
        const nodes = new Set(all.map((a) => a.nodes));
        console.log('ok', all.length, nodes.size);
        process.exit(0);
      }, (e) => { console.error(e); process.exit(1); });
    `, { UV_THREADPOOL_SIZE: String(pool) });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok 8 1$/m);
  });
}

test('slow streams leave libuv pool free for fs, crypto and dns work', () => {
  const r = child(`
    const { Readable } = require('stream');
    const crypto = require('crypto');
    const fs = require('fs');
    // Four streams that deliver a prefix and then nothing: their analyses wait.
    const streams = Array.from({ length: 4 }, () => {
      const s = new Readable({ read() {} });
      s.push('{"snapshot":{"meta":');
      return s;
    });
    const ac = new AbortController();
    const pending = streams.map((s) => memwatch.analyzeSnapshot(s, { signal: ac.signal }).catch((e) => e.code));
    Promise.all([
      fs.promises.readFile(${JSON.stringify(SNAP)}),
      new Promise((res, rej) => crypto.pbkdf2('a', 'b', 1000, 32, 'sha256', (e) => (e ? rej(e) : res()))),
      require('dns').promises.lookup('localhost'),
    ]).then(() => {
      ac.abort();
      return Promise.all(pending);
    }).then((codes) => console.log('codes', codes.join(',')));
  `, { UV_THREADPOOL_SIZE: '4' });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^codes ABORT_ERR,ABORT_ERR,ABORT_ERR,ABORT_ERR$/m);
});

test('a stream that never ends: aborting rejects with ABORT_ERR, stops the threads, and the process ends by itself', {
  skip: process.platform !== 'linux' && 'reads thread names from /proc',
}, () => {
  const r = child(`
    const { Readable } = require('stream');
    const fs = require('fs');
    const threads = () => fs.readdirSync('/proc/self/task')
      .map((t) => { try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim(); } catch { return ''; } })
      .filter((n) => n.startsWith('memwatch-'));
    const text = fs.readFileSync(${JSON.stringify(SNAP)}, 'utf8');
    const stream = new Readable({ read() {} });
    stream.push(text.slice(0, text.length >> 1)); // half a snapshot, and never the rest
    const ac = new AbortController();
    const p = memwatch.analyzeSnapshot(stream, { signal: ac.signal });
    let turns = 0;
    (function spin() {
      // The parser works on its own thread while the event loop turns (a new
      // thread takes its name once it first runs: on a loaded machine that
      // can take a while, so wait for it, for at most a count of turns).
      const during = threads();
      if (!during.includes('memwatch-parse') && ++turns < 100000) return setImmediate(spin);
      ac.abort(new Error('enough'));
      p.then(() => console.log('resolved?!'), (e) => {
        let polls = 0;
        (function wait() {
          const after = threads();
          if (after.length && ++polls < 2000) return setTimeout(wait, 1);
          console.log(JSON.stringify({ code: e.code, name: e.name, cause: e.cause && e.cause.message,
            during, after, destroyed: stream.destroyed, turns }));
          // No process.exit(): nothing may keep the process alive now.
        })();
      });
    })();
  `);
  assert.strictEqual(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.strictEqual(out.code, 'ABORT_ERR');
  assert.strictEqual(out.name, 'AbortError');
  assert.strictEqual(out.cause, 'enough');
  assert.ok(out.during.includes('memwatch-parse'), `threads while parsing: ${out.during}`);
  assert.deepStrictEqual(out.after, [], 'memwatch threads still running after the abort');
  assert.strictEqual(out.destroyed, true);
});

test('a stream that never ends does not keep a process alive, and process.exit() exits', () => {
  const idle = child(`
    const { Readable } = require('stream');
    memwatch.analyzeSnapshot(new Readable({ read() {} })).then(() => console.log('settled?!'));
    console.log('started');
  `);
  assert.strictEqual(idle.status, 0, idle.stderr);
  assert.match(idle.stdout, /^started$/m);
  const exiting = child(`
    const { Readable } = require('stream');
    const s = new Readable({ read() {} });
    s.push('{"snapshot":');
    memwatch.analyzeSnapshot(s);
    setInterval(() => {}, 1000); // a live loop: only process.exit() ends it
    setImmediate(() => process.exit(0));
  `);
  assert.strictEqual(exiting.status, 0, exiting.stderr);
});

test('exit during an analysis of a large live snapshot', () => {
  const r = child(`
    const v8 = require('v8');
    const keep = Array.from({ length: 5e4 }, (_, i) => ({ i }));
    memwatch.analyzeSnapshot(v8.getHeapSnapshot());
    memwatch.analyzeSnapshot(${JSON.stringify(SNAP)});
    setImmediate(() => process.exit(keep.length > 0 ? 0 : 1));
  `);
  assert.strictEqual(r.status, 0, r.stderr);
});

test('streams that error, are destroyed, have ended or give objects reject with a code', async () => {
  const text = fs.readFileSync(SNAP);
  const failing = new Readable({ read() {} });
  failing.push(text.subarray(0, 1000));
  const p1 = memwatch.analyzeSnapshot(failing);
  setImmediate(() => failing.destroy(new Error('disk on fire')));
  await assert.rejects(p1, (e) => e.code === 'ERR_SNAPSHOT_READ' && /disk on fire/.test(e.message) && e.cause.message === 'disk on fire');

  const destroyed = new Readable({ read() {} });
  destroyed.push(text.subarray(0, 1000));
  const p2 = memwatch.analyzeSnapshot(destroyed);
  setImmediate(() => destroyed.destroy());
  await assert.rejects(p2, { code: 'ERR_SNAPSHOT_READ', message: /closed before it ended/ });

  const ended = Readable.from([text]);
  await memwatch.analyzeSnapshot(ended); // consumes it
  assert.strictEqual(ended.readableEnded, true);
  await assert.rejects(memwatch.analyzeSnapshot(ended), { code: 'ERR_SNAPSHOT_PARSE' });

  const gone = new Readable({ read() {} });
  gone.destroy();
  await assert.rejects(memwatch.analyzeSnapshot(gone), { code: 'ERR_SNAPSHOT_READ' });

  await assert.rejects(memwatch.analyzeSnapshot(Readable.from([text.subarray(0, 10), 42])), { code: 'ERR_INVALID_ARG_TYPE' });

  // An async iterable that is not a stream works too.
  async function* chunks() {
    yield text.subarray(0, 5000);
    yield text.subarray(5000);
  }
  const fromIterable = await memwatch.analyzeSnapshot(chunks(), { top: 3 });
  assert.strictEqual(fromIterable.groups.length, 3);
});

test('a worker terminated while it analyzes leaves the process healthy', async () => {
  const { Worker } = require('node:worker_threads');
  for (let i = 0; i < 3; i++) {
    const w = new Worker(`
      const memwatch = require(${JSON.stringify(ROOT)});
      const { parentPort } = require('worker_threads');
      const v8 = require('v8');
      memwatch.analyzeSnapshot(v8.getHeapSnapshot());
      memwatch.analyzeSnapshot(${JSON.stringify(SNAP)});
      parentPort.postMessage('started');
      setInterval(() => {}, 1000);
    `, { eval: true });
    await new Promise((resolve) => w.once('message', resolve));
    assert.strictEqual(await w.terminate(), 1);
  }
  const live = await memwatch.analyzeSnapshot(SNAP, { top: 1 });
  assert.strictEqual(live.groups.length, 1);
});
