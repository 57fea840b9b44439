'use strict';
// `npm run bench:sites`: what leak sites cost a process, and how fast a
// profile read is.
//   1. Two workloads — GC-heavy churn (bench/gc-churn.js's) and a
//      request-shaped one (router, handlers, a session table in steady
//      state) — each with no listener and with a `leak` listener (the
//      sampling heap profiler on, at the default interval and at 128 KiB;
//      and, to separate its share, sampling off), alternating fresh
//      processes: wall-time ratios of the medians against no listener
//      (target <= 1.02 at the default interval).
//   2. With --callgrind: the same runs (smaller) under valgrind's callgrind,
//      as instruction-count ratios: independent of other load on a shared
//      machine, unlike wall time.
//   3. bench/sites-read.js: one profile read on a heap of 1M objects with
//      about 10k sites (target <= 5 ms), native and inspector routes.
// Options: --runs N (rounds, default 7), --iterations N (default 2e7 for the
// churn; a fifth of it for the requests, which are ~5x as much work each),
// --workloads churn,requests, --callgrind [--seeds 3], --skip-read.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parser } = require('./options');

const { option, whole, list } = parser(
  'node bench/sites.js [--runs 7] [--iterations 2e7] [--workloads churn,requests] [--callgrind [--seeds 3]] [--skip-read]'
);
const runs = whole(option('runs', '7'), 'runs', 1);
const iterations = whole(Number(option('iterations', '2e7')), 'iterations', 1000);
const workloads = list('workloads', ['churn', 'requests']);
const MODES = ['none', 'leak', 'leak-128k', 'leak-nosample'];
const script = path.join(__dirname, 'sites-workload.js');
const NODE_ARGS = ['--max-semi-space-size=1'];

/** Iterations of a workload: a request costs about five churn iterations. */
const scaled = (workload, n) => (workload === 'requests' ? Math.round(n / 5) : n);

function once(workload, mode, n = scaled(workload, iterations)) {
  const r = spawnSync(process.execPath, [...NODE_ARGS, script, workload, mode, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${workload}/${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`memwatch leak sites: node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}; ` +
  `${runs} rounds of ${iterations} iterations per mode, ${NODE_ARGS.join(' ')}`);
for (const workload of workloads) {
  once(workload, 'none'); // warm the file cache
  const times = Object.fromEntries(MODES.map((m) => [m, []]));
  const last = {};
  for (let i = 0; i < runs; i++) {
    // Rotate the order so drift (other load, thermal) hits every mode alike.
    const order = MODES.map((_, k) => MODES[(i + k) % MODES.length]);
    for (const mode of order) {
      const r = once(workload, mode);
      times[mode].push(r.ms);
      last[mode] = r;
    }
  }
  const base = median(times.none);
  console.log(`\n${workload} (${scaled(workload, iterations)} iterations): no listener median ${base.toFixed(0)} ms (runs ${times.none.map((x) => x.toFixed(0)).join(' ')})`);
  for (const mode of MODES.slice(1)) {
    const ratio = median(times[mode]) / base;
    const fastest = Math.min(...times[mode]) / Math.min(...times.none);
    const r = last[mode];
    const target = mode === 'leak' ? `   target <= 1.02: ${ratio <= 1.02 ? 'met' : 'NOT met'}` : '';
    console.log(`  ${mode.padEnd(14)} median ${median(times[mode]).toFixed(0)} ms, ratio ${ratio.toFixed(4)} (fastest runs ${fastest.toFixed(4)}); ` +
      `${r.reads} reads (${r.skipped} skipped by the budget) taking ${r.readMs.toFixed(1)} ms, route ${r.route}${target}`);
  }
}

/**
 * V8 flags that make a run repeat to within a few thousand instructions:
 * one thread, fixed seeds (the sampling profiler draws its intervals from
 * V8's random number generator) and a GC schedule that does not depend on
 * the clock. Without them identical runs differ by ~0.3%, with them by
 * ~0.0001%. What remains is chaotic: a few KB more or less on the heap can
 * move a full GC, and one more mark-compact of this churn's survivors is
 * ~5% of a run whoever caused it; so each ratio is the median over seeds,
 * and the full GCs of each run are counted (--trace-gc).
 */
const repeatable = (seed) => ['--single-threaded', `--random-seed=${seed}`, `--hash-seed=${seed}`, '--predictable-gc-schedule', '--trace-gc'];

/** Instructions and full GCs of one run under callgrind. */
function instructions(workload, mode, n, seed) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-cg-')), 'callgrind.out');
  const r = spawnSync('valgrind', [
    '--tool=callgrind', `--callgrind-out-file=${out}`,
    process.execPath, ...NODE_ARGS, ...repeatable(seed), script, workload, mode, String(n),
  ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  const m = /Collected : (\d+)/.exec(r.stderr || '');
  if (r.status !== 0 || !m) throw new Error(`callgrind ${workload}/${mode} failed: ${r.error || r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const fullGcs = lines.filter((l) => /Mark-Compact|Mark-sweep/i.test(l)).length;
  const json = lines.filter((l) => l.startsWith('{')).pop();
  return { count: Number(m[1]), fullGcs, result: JSON.parse(json) };
}

if (process.argv.includes('--callgrind')) {
  const seeds = whole(option('seeds', '3'), 'seeds', 1);
  const [small, big] = [1e3, 2e6];
  console.log(`\ncallgrind (${repeatable('N').join(' ')}, seeds 1..${seeds}; ${big} iterations; start-up: runs of ${small}):`);
  for (const workload of workloads) {
    const n = scaled(workload, big);
    const noneSmall = instructions(workload, 'none', scaled(workload, small), 1).count;
    const none = Array.from({ length: seeds }, (_, k) => instructions(workload, 'none', n, k + 1));
    let plain = null; // leak-nosample runs: the listener without sampling
    for (const mode of ['leak-nosample', 'leak', 'leak-128k']) {
      const startUp = instructions(workload, mode, scaled(workload, small), 1).count - noneSmall;
      const runs = Array.from({ length: seeds }, (_, k) => instructions(workload, mode, n, k + 1));
      if (mode === 'leak-nosample') plain = runs;
      const ratios = runs.map((r, k) => r.count / none[k].count);
      const ratio = median(ratios);
      const own = mode === 'leak-nosample' ? '' : `; vs the listener without sampling ${median(runs.map((r, k) => r.count / plain[k].count)).toFixed(4)}`;
      const gcs = runs.map((r, k) => `${r.fullGcs}/${none[k].fullGcs}`).join(' ');
      console.log(`  ${workload.padEnd(9)} ${mode.padEnd(14)} vs no listener: median ${ratio.toFixed(4)} (seeds ${ratios.map((x) => x.toFixed(4)).join(' ')}; ` +
        `full GCs ${gcs})${own}; start-up ${(startUp / 1e6).toFixed(1)}M instructions; ${runs[0].result.reads} reads` +
        `${mode === 'leak' ? `   target <= 1.02: ${ratio <= 1.02 ? 'met' : 'NOT met'}` : ''}`);
    }
  }
}

if (!process.argv.includes('--skip-read')) {
  console.log('');
  const r = spawnSync(process.execPath, [path.join(__dirname, 'sites-read.js')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status || 1);
}
