'use strict';
// One timed run of a workload for bench/sites.js.
// Usage: node bench/sites-workload.js <churn|requests> <mode> <iterations>
//   mode: none           no listener (no GC hooks, no sampling)
//         stats          a `stats` listener (GC hooks, no sampling)
//         leak-nosample  a `leak` listener, sampling turned off
//         leak           a `leak` listener, sampling at the default interval
//         leak-128k      a `leak` listener, sampling every 128 KiB
// The work runs in chunks with the event loop turning between them, so the
// timed region includes the deliveries after full GCs (and the profile reads
// they make), not only the hooks. Prints one JSON line.
const memwatch = require('..');

const [workload, mode] = process.argv.slice(2, 4);
const iterations = Number(process.argv[4] || 2e7);
let leaks = 0;
if (mode === 'stats') memwatch.on('stats', () => {});
else if (mode !== 'none') {
  if (mode === 'leak-nosample') memwatch.configure({ sampling: false });
  if (mode === 'leak-128k') memwatch.configure({ sampling: { interval: 128 * 1024 } });
  memwatch.on('leak', () => leaks++);
}

const CHUNK = 250000;
let sink = 0;
let done = 0;

// GC-heavy churn (bench/gc-churn.js's): short-lived objects plus a steadily
// replaced survivor set that is promoted and dies in old space.
const survivors = new Array(400000);
function churn(from, to) {
  for (let i = from; i < to; i++) {
    const o = { i, s: i & 1 ? 'odd' : 'even', a: [i, i + 1] };
    if ((i & 7) === 0) survivors[(i >> 3) % survivors.length] = o;
    sink += o.a.length;
  }
}

// Request-shaped: a router, three handlers, a session table with a fixed
// number of entries (an LRU's steady state: old sessions are replaced, so
// they die in old space), responses serialized and dropped.
const sessions = new Map();
const SESSIONS = 50000;
function handleLogin(id) {
  sessions.set(id % SESSIONS, { id, user: { name: `user-${id}`, roles: ['reader'] }, token: `t${id}`.padEnd(32, '.') });
  return 'ok';
}
function handleSearch(id) {
  const results = [];
  for (let i = 0; i < 8; i++) results.push({ id: id + i, score: i / 8 });
  return JSON.stringify(results);
}
function handleStatic(id) {
  return `<li>${id}</li>`.repeat(4);
}
const handlers = [handleLogin, handleSearch, handleStatic];
function requests(from, to) {
  for (let i = from; i < to; i++) sink += handlers[i % 3](i).length;
}

const work = workload === 'requests' ? requests : churn;
const t0 = process.hrtime.bigint();
function chunk() {
  const end = Math.min(done + CHUNK, iterations);
  work(done, end);
  done = end;
  if (done < iterations) return setImmediate(chunk);
  setImmediate(() => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const s = memwatch.sampling;
    const cost = memwatch.callbackCost();
    process.stdout.write(JSON.stringify({
      workload, mode, ms, sink, leaks,
      gcs: cost ? cost.calls / 2 : null,
      reads: s.reads, skipped: s.skippedReads, readMs: s.readMs, route: s.route,
    }) + '\n');
  });
}
chunk();
