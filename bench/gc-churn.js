'use strict';
// One timed run of a GC-heavy workload, for bench/gc-overhead.js.
// Usage: node --max-semi-space-size=1 bench/gc-churn.js <none|stats> <iterations>
// The work runs in chunks with the event loop turning between them, so the
// timed region includes delivering the `stats` events, not only the hooks.
const memwatch = require('..');
const mode = process.argv[2];
const iterations = Number(process.argv[3] || 2e7);
const CHUNK = 250000;
let statsEvents = 0;
if (mode === 'stats') memwatch.on('stats', () => statsEvents++);

// Short-lived objects (scavenges) plus a steadily replaced survivor set that
// is promoted and then dies in old space (full GCs).
const survivors = new Array(400000);
let sink = 0;
let done = 0;
const t0 = process.hrtime.bigint();
function chunk() {
  const end = Math.min(done + CHUNK, iterations);
  for (let i = done; i < end; i++) {
    const o = { i, s: i & 1 ? 'odd' : 'even', a: [i, i + 1] };
    if ((i & 7) === 0) survivors[(i >> 3) % survivors.length] = o;
    sink += o.a.length;
  }
  done = end;
  if (done < iterations) return setImmediate(chunk);
  setImmediate(() => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cost = memwatch.callbackCost();
    process.stdout.write(JSON.stringify({ mode, ms, sink, statsEvents, cost }) + '\n');
  });
}
chunk();
