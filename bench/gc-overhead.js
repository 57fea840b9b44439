'use strict';
// `npm run bench`: what memwatch's GC hooks cost a GC-heavy process.
//   1. wall time of the same churn with no listener and with a `stats`
//      listener, alternating runs in fresh processes, as a ratio of medians
//      (target <= 1.01);
//   2. time spent inside memwatch's own GC callbacks per GC (target <= 2 us).
//   3. with --callgrind: the same churn (2e6 allocations) under valgrind's
//      callgrind, both sides, as an instruction-count ratio: independent of
//      other load on the machine, unlike wall time on 2 busy cores (V8 itself
//      still varies by up to ~0.7 % between identical runs, seen here).
// Options: --runs N (pairs, default 9), --iterations N (default 2e7), --callgrind.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const runs = arg('runs', 9);
const iterations = arg('iterations', 2e7);
const churn = path.join(__dirname, 'gc-churn.js');

function once(mode) {
  const r = spawnSync(process.execPath, ['--max-semi-space-size=1', churn, mode, String(iterations)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${mode} run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`memwatch GC overhead: node ${process.version}, ${runs} run pairs of ${iterations} allocations, --max-semi-space-size=1`);
once('none'); // warm the file cache
const none = [];
const stats = [];
let last = null;
for (let i = 0; i < runs; i++) {
  // Alternate the order so drift (thermal, other load) hits both sides alike.
  const pair = i % 2 ? ['stats', 'none'] : ['none', 'stats'];
  for (const mode of pair) {
    const r = once(mode);
    (mode === 'none' ? none : stats).push(r.ms);
    if (mode === 'stats') last = r;
  }
}
const ratio = median(stats) / median(none);
// The fastest run of each side is the least disturbed by other load.
const minRatio = Math.min(...stats) / Math.min(...none);
const gcs = last.cost.calls / 2; // a prologue and an epilogue per GC
const nsPerGc = last.cost.totalNs / gcs;
console.log(`no listener:     median ${median(none).toFixed(1)} ms  (runs: ${none.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`stats listener:  median ${median(stats).toFixed(1)} ms  (runs: ${stats.map((x) => x.toFixed(0)).join(' ')})`);
console.log(`GCs per run: ${gcs} (${last.statsEvents} full GCs delivered as stats events)`);
console.log(`wall ratio (stats / none): median ${ratio.toFixed(4)}, fastest runs ${minRatio.toFixed(4)}   target <= 1.01: ${ratio <= 1.01 ? 'met' : 'NOT met'}`);
console.log(`hook time as a share of a run: ${((last.cost.totalNs / 1e6 / median(stats)) * 100).toFixed(3)} %`);
console.log(`in-callback cost: ${(nsPerGc / 1000).toFixed(3)} us per GC   target <= 2 us: ${nsPerGc <= 2000 ? 'met' : 'NOT met'}`);

/** Instructions executed by one churn run under callgrind (single-threaded V8, so they are repeatable). */
function instructions(mode) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-cg-')), 'callgrind.out');
  const r = spawnSync('valgrind', [
    '--tool=callgrind', `--callgrind-out-file=${out}`,
    process.execPath, '--max-semi-space-size=1', '--single-threaded', churn, mode, '2000000',
  ], { encoding: 'utf8' });
  const m = /Collected : (\d+)/.exec(r.stderr || '');
  if (r.status !== 0 || !m) throw new Error(`callgrind run (${mode}) failed: ${r.error || r.stderr}`);
  return { count: Number(m[1]), result: JSON.parse(r.stdout.trim().split('\n').pop()) };
}

if (process.argv.includes('--callgrind')) {
  const none = instructions('none');
  const stats = instructions('stats');
  const gcs = stats.result.cost.calls / 2;
  console.log(`callgrind: no listener ${none.count} instructions, stats listener ${stats.count} ` +
    `(ratio ${(stats.count / none.count).toFixed(6)}; ${((stats.count - none.count) / gcs).toFixed(0)} instructions per GC over ${gcs} GCs)`);
}
