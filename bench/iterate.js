'use strict';
// `npm run bench:iterate`: how long a default memwatch.iterate() takes on a
// small function, each run in a fresh process (so every run is the first
// iterate of its process, where memwatch's own code warms up), 3 runs.
// Targets: a clean function stays off the snapshot path (not suspected) and
// takes at most 0.5 s; a leaking one is caught, with its class and a retainer
// path. Inside jest the process heap is larger, so a suspected leak's
// snapshots take longer (see __test__/runners.test.js).
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const CLEAN_TARGET_MS = 500;
const RUNS = 3;

const scenarios = {
  'clean small function': {
    clean: true,
    body: 'const r = memwatch.iterate(() => JSON.parse(JSON.stringify({ a: [1, 2, 3] }))); out.suspected = r.suspected;',
  },
  'clean async function': {
    clean: true,
    body: 'const r = await memwatch.iterate.async(async () => { await null; return [1, 2].map((x) => x * 2); }); out.suspected = r.suspected;',
  },
  'leaking small function': {
    clean: false,
    body:
      'class LeakingClass { constructor(i) { this.i = i; } } const kept = [];' +
      'try { memwatch.iterate(() => kept.push(new LeakingClass(kept.length))); } catch (e) {' +
      '  if (e.code !== "ERR_MEMORY_LEAK") throw e; const c = e.details.classes[0]; out.caught = { what: c.what, path: c.path }; }',
  },
};

console.log(`memwatch.iterate() with default options (30 iterations, 6 rounds, 1 warm-up round), node ${process.version}`);
for (const [name, { clean, body }] of Object.entries(scenarios)) {
  const code = `(async () => { const memwatch = require(${JSON.stringify(root)}); const out = {};
    const t0 = process.hrtime.bigint(); ${body}
    out.ms = Number(process.hrtime.bigint() - t0) / 1e6; out.backend = memwatch.backend;
    console.log(JSON.stringify(out)); })();`;
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    runs.push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
  const times = runs.map((r) => `${r.ms.toFixed(0)} ms`).join('  ');
  let verdict;
  if (clean) {
    const worst = Math.max(...runs.map((r) => r.ms));
    const suspected = runs.filter((r) => r.suspected).length;
    const met = worst <= CLEAN_TARGET_MS && suspected === 0;
    verdict = `suspected ${suspected}/${RUNS}; target <= ${CLEAN_TARGET_MS} ms, not suspected: ${met ? 'met' : 'NOT met'}`;
  } else {
    const caught = runs.every((r) => r.caught && r.caught.what === 'LeakingClass' && /^\(GC roots\) → .*LeakingClass @\d+$/.test(r.caught.path));
    verdict = `caught with class and path: ${caught ? 'met' : 'NOT met'}${runs[0].caught ? ` (${runs[0].caught.what}: ${runs[0].caught.path})` : ''}`;
  }
  console.log(`${name.padEnd(24)} ${times}   ${verdict}   [${runs[0].backend}]`);
}
