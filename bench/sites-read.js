'use strict';
// How long one read of the sampling heap profile takes on a big heap:
// 1M live objects allocated by 10k distinct functions (one script), sampled
// every 1 KiB so that the profile holds ~10k sites (target: a read within
// 5 ms on the native route); then the same heap at the default interval
// (512 KiB: a few hundred samples), and the inspector route for comparison.
// Each case runs in a fresh process; the first read (names of every
// function read from V8) is shown apart from the steady state (names cached
// by script position). A native read is mostly V8's own work: building the
// AllocationProfile tree (GetAllocationProfile) and deleting it.
// Usage: node bench/sites-read.js [--reads 20]
//   (a case: --route native|inspector --interval N)
const { spawnSync } = require('child_process');
const path = require('path');
const vm = require('vm');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SITES = 10000;
const OBJECTS = 1e6;

if (!arg('route')) {
  const reads = arg('reads', '20');
  for (const [route, interval] of [['native', 1024], ['native', 512 * 1024], ['inspector', 1024]]) {
    const env = { ...process.env, ...(route === 'inspector' ? { MEMWATCH_BACKEND: 'perf_hooks' } : {}) };
    if (route === 'native') delete env.MEMWATCH_BACKEND;
    const args = [__filename, '--route', route, '--interval', String(interval), '--reads', reads];
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(r.stderr);
      process.exit(1);
    }
    process.stdout.write(r.stdout);
  }
  process.exit(0);
}

const memwatch = require('..');
const route = arg('route');
const reads = Number(arg('reads', '20'));
const interval = Number(arg('interval', '1024'));
memwatch.configure({ sampling: { interval } });
memwatch.on('leak', () => {});
const status = memwatch.sampling;
if (status.route !== route) throw new Error(`wanted the ${route} route, got ${status.route}: ${status.reason}`);

// 10k functions, each keeping OBJECTS / SITES objects.
const per = OBJECTS / SITES;
let src = '';
for (let s = 0; s < SITES; s++) src += `function site${s}(kept) { for (let i = 0; i < ${per}; i++) kept.push({ s: ${s}, i }); }\n`;
src += `(function (kept) { ${Array.from({ length: SITES }, (_, s) => `site${s}(kept);`).join(' ')} })`;
const kept = [];
vm.runInThisContext(src, { filename: 'bench-sites.js' })(kept);
memwatch.gc();

const sampling = memwatch._sampling;
const time = (fn) => {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
let key = 1e6;
const first = time(() => sampling.read(key++));
const times = [];
for (let i = 0; i < reads; i++) times.push(time(() => sampling.read(key++)));
const windowMs = time(() => sampling.tracker.window(0, 10));
const all = memwatch.sites({ top: 100000 });
const samples = all.reduce((n, s) => n + s.samples, 0);
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const heap = memwatch.gc().current_base;
const target = route === 'native' && all.length >= SITES * 0.9;
console.log(
  `${route.padEnd(9)} interval ${String(interval).padStart(6)}: read first ${first.toFixed(2)} ms, then median ${median.toFixed(2)} ms (min ${times[0].toFixed(2)}, max ${times[times.length - 1].toFixed(2)}) ` +
    `over ${reads} reads; profile: ${sampling.tracker.nodes} nodes, ${all.length} sites with samples, ${samples} samples; ` +
    `heap ${(heap / 1048576).toFixed(0)} MiB, ${kept.length} objects; leak-window ranking ${windowMs.toFixed(2)} ms` +
    (target ? `   target <= 5 ms: ${median <= 5 ? 'met' : 'NOT met'}` : route === 'inspector' ? ' (includes the full GC V8 runs for each inspector read)' : '')
);
