'use strict';
// `npm run bench:iterate`: how long a default memwatch.iterate() takes on a
// small function (target: under 5 s), clean and leaking, each in a fresh
// process, 3 runs. Inside jest the process heap is larger, so a suspected
// leak's HeapDiff takes longer (see __test__/runners.test.js).
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const scenarios = {
  'clean small function': 'memwatch.iterate(() => JSON.parse(JSON.stringify({ a: [1, 2, 3] })));',
  'clean async function': 'await memwatch.iterate.async(async () => { await null; return [1, 2].map((x) => x * 2); });',
  'leaking small function':
    'const kept = []; try { memwatch.iterate(() => kept.push({ x: kept.length })); } catch (e) { if (e.code !== "ERR_MEMORY_LEAK") throw e; }',
};

console.log(`memwatch.iterate() with default options (30 iterations, 6 rounds, 1 warm-up round), node ${process.version}`);
for (const [name, body] of Object.entries(scenarios)) {
  const code = `(async () => { const memwatch = require(${JSON.stringify(root)});
    const t0 = process.hrtime.bigint(); ${body}
    console.log(Number(process.hrtime.bigint() - t0) / 1e6); })();`;
  const times = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  const worst = Math.max(...times);
  console.log(`${name.padEnd(24)} ${times.map((t) => `${t.toFixed(0)} ms`).join('  ')}   target < 5000 ms: ${worst < 5000 ? 'met' : 'NOT met'}`);
}
