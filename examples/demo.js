'use strict';
// `npm run demo`: a small service that leaks. It prints a line per `stats`
// event (one per full GC) and stops at the first `leak` event.
//
// The leak: every request's session is pushed into a module-level array and
// never removed. A health check calls memwatch.gc() every 2 seconds, as some
// services do; V8 also runs full GCs on its own as the heap grows.

const memwatch = require('..');

const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const sessions = []; // the leak
class Session {
  constructor(id) {
    this.id = id;
    this.user = `user-${id}`;
    this.payload = new Array(20).fill(id);
  }
}

console.log(`memwatch demo (backend: ${memwatch.backend}${memwatch.backendReason ? `, ${memwatch.backendReason}` : ''})`);
console.log('gc#   base        estimated    trend   heap total   external    rss        pause');

memwatch.on('stats', (s) => {
  console.log(
    `${String(s.num_full_gc).padEnd(5)} ${mb(s.current_base).padEnd(11)} ${mb(s.estimated_base).padEnd(12)} ` +
      `${(s.usage_trend.toFixed(1) + '%').padEnd(7)} ${mb(s.total_heap_size).padEnd(12)} ` +
      `${mb(s.external).padEnd(11)} ${mb(s.rss).padEnd(10)} ${s.gc_pause_ms.toFixed(1)} ms`
  );
});

const started = Date.now();
memwatch.once('leak', (info) => {
  console.log(`\nleak after ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  console.log(info);
  setImmediate(stop, 0); // after the stats line of the same GC
});

let id = 0;
const traffic = setInterval(() => {
  for (let i = 0; i < 2000; i++) {
    const s = new Session(id++);
    if (i % 4 === 0) sessions.push(s); // a quarter of the sessions are never released
    JSON.stringify(s); // request work: garbage
  }
}, 20);
const health = setInterval(() => memwatch.gc(), 2000);
const deadline = setTimeout(() => {
  console.error('no leak reported within 60 s');
  stop(1);
}, 60_000);

function stop(code) {
  clearInterval(traffic);
  clearInterval(health);
  clearTimeout(deadline);
  memwatch.removeAllListeners();
  process.exitCode = code;
}
