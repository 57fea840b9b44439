'use strict';
// `node bench/analyze.js` (npm run bench:analyze): what `memwatch analyze`
// costs on a large .heapsnapshot, next to two other heap snapshot analyzers.
//
// The job, for every tool: parse the file, group nodes by class (DevTools'
// Summary view) and compute retained sizes (dominator tree). A child process
// builds a heap of N small objects (`Item`s in an array, plus a Map and
// closures) and writes the fixture with v8.writeHeapSnapshot() into
// bench/.work/ (kept and reused). Each tool then runs in a FRESH child
// (one at a time, never in parallel), so its peak RSS is its own:
//   memwatch      require('memwatch').analyzeSnapshot(file, { top: 20 }): the
//                 CLI's Rust code (streaming parser, class groups, dominators)
//                 in bench/analyze-worker.js
//   memwatch CLI  the real command, for reference:
//                 node bin/memwatch.js analyze <file> --top 20 --json
//                 (peak RSS from a -r preload, bench/analyze-hwm.js)
//   vscode        @vscode/v8-heap-parser (Rust compiled to WASM): readFileSync,
//                 decode_bytes(bytes), graph.get_class_groups(0, 20, false)
//                 (false = with retained sizes), graph.get_class_counts(['Item'])
//   memlab        @memlab/heap-analysis getFullHeapFromFile(file) (parse +
//                 shortest paths + dominators + retained sizes of all nodes),
//                 then class groups with DevTools' retained-size rule, in JS,
//                 from memlab's dominator tree (memlab has no class summary)
// vscode and memlab are installed on first use into bench/third-party/
// (npm install --prefix ...); a tool that fails to install or run is reported
// with the reason and skipped.
//
// Table 1, one row per tool:
//   wall      spawn of the child to its exit (node start-up, module load,
//             file read, everything); the phases line under the table splits
//             the job as the child timed it
//   peak RSS  VmHWM of the child at its end (the whole process)
//   base RSS  VmRSS of the child after loading the tool, before the job
//   nodes     node count (vscode's API does not expose one)
//   top class the largest class by retained size, and the Item count: the
//             sanity check (N Items; the tools name classes slightly
//             differently, e.g. vscode says '(closure)' for 'Function')
// Then the targets, at the fixture size: memwatch wall / vscode wall <= 0.3,
// memwatch peak RSS <= 400 MB ("met" / "NOT met"; exit code 0 either way).
//
// Table 2, linear memory: memwatch at N and at N/4 objects; peak RSS per MB
// of file (MB/MB), and the job's own memory (peak - base) per MB of file. If memory
// grows linearly with the file, the per-MB figures stay about the same (the
// smaller file's peak/MB is a bit higher: node's own ~45 MB weigh more there).
//
// Options:
//   --objects N    fixture size (default 1000000); the small one is N/4
//   --tools LIST   any of memwatch,vscode,memlab (default all three)
//   --runs N       children per tool; medians are shown (default 1). Single
//                  runs vary by 10-20 % in time on a busy machine
// The file is read from the page cache (the fixture was just written or
// read), so times are CPU, not disk. A default run takes ~15 s once the
// fixtures and tools are in place (the first run adds ~15 s of fixture
// writing and ~15 s of npm install); --runs 3 about 40 s. Near a target,
// use --runs 3: on a loaded 2-core machine single runs put the 1M time
// ratio anywhere from 0.28x to 0.31x.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { table } = require('../lib/table');
const { parser } = require('./options');

const ROOT = path.join(__dirname, '..');
const WORK = path.join(__dirname, '.work');
const WORKER = path.join(__dirname, 'analyze-worker.js');
const FIXTURE = path.join(__dirname, 'analyze-fixture.js');
const HWM_PRELOAD = path.join(__dirname, 'analyze-hwm.js');
const CLI = path.join(ROOT, 'bin', 'memwatch.js');
const THIRD_PARTY = path.join(__dirname, 'third-party');
const TOOLS = ['memwatch', 'vscode', 'memlab'];
const PACKAGES = { vscode: '@vscode/v8-heap-parser', memlab: '@memlab/heap-analysis' };
const NODE_FLAGS = ['--max-old-space-size=8192'];
const TOP = 20;
const CHILD_TIMEOUT_MS = 30 * 60 * 1000;
const TARGETS = { timeVsVscode: 0.3, peakRssBytes: 400 * 1024 * 1024 };
const MB = 1024 * 1024;

const WHAT = {
  memwatch: `analyzeSnapshot(file, { top: ${TOP} })`,
  cli: `node bin/memwatch.js analyze <file> --top ${TOP} --json`,
  vscode: `readFileSync + decode_bytes + get_class_groups(0, ${TOP}, false) + get_class_counts`,
  memlab: 'getFullHeapFromFile + class groups from its dominator tree (JS)',
};

// --- options -----------------------------------------------------------------

function parseOptions() {
  const { option, whole, list } = parser(`node bench/analyze.js [--objects N] [--tools ${TOOLS.join(',')}] [--runs N]`);
  const objects = whole(option('objects', '1000000'), 'objects', 40);
  const tools = list('tools', TOOLS);
  const runs = whole(option('runs', '1'), 'runs', 1);
  return { objects, tools, runs };
}

// --- formatting --------------------------------------------------------------

const lastLines = (text, n = 6) => String(text || '').trim().split('\n').slice(-n).join('\n');
const mb = (bytes) => (bytes == null ? '-' : `${(bytes / MB).toFixed(0)} MB`);
const secs = (ms) => (ms == null ? '-' : `${(ms / 1000).toFixed(2)} s`);
const int = (n) => (n == null ? '-' : n.toLocaleString('en-US'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function sizeLabel(n) {
  if (n % 1000000 === 0) return `${n / 1000000}m`;
  if (n % 1000 === 0) return `${n / 1000}k`;
  return String(n);
}


// --- fixture -----------------------------------------------------------------

/** The snapshot of a heap with `objects` Items: reused if present, else written by a child. */
function fixture(objects) {
  // v2: the fixture's shape changed (name + tags per Item); older files are not reused.
  const file = path.join(WORK, `heap-v2-${sizeLabel(objects)}.heapsnapshot`);
  let note = 'reused';
  if (!fs.existsSync(file)) {
    fs.mkdirSync(WORK, { recursive: true });
    const t = Date.now();
    const r = spawnSync(process.execPath, [...NODE_FLAGS, FIXTURE, String(objects), file], {
      encoding: 'utf8',
      timeout: CHILD_TIMEOUT_MS,
    });
    if (r.error || r.status !== 0) {
      throw new Error(`fixture child failed: ${r.error ? r.error.message : lastLines(r.stderr)}`);
    }
    note = `written in ${secs(Date.now() - t)}`;
  }
  const bytes = fs.statSync(file).size;
  console.log(`fixture ${path.relative(ROOT, file)}: ${(bytes / MB).toFixed(1)} MB, ${int(objects)} Items (${note})`);
  return { file, bytes, objects };
}

// --- third-party tools -------------------------------------------------------

const installed = (tool) => fs.existsSync(path.join(THIRD_PARTY, 'node_modules', ...PACKAGES[tool].split('/'), 'package.json'));

/** Installs missing third-party tools; returns { tool: reason } for those still unavailable. */
function prepareThirdParty(tools) {
  const missing = tools.filter((t) => PACKAGES[t] && !installed(t));
  if (missing.length === 0) return {};
  console.log(`installing ${missing.map((t) => PACKAGES[t]).join(', ')} into ${path.relative(ROOT, THIRD_PARTY)} (npm install) ...`);
  const npm = spawnSync('npm', ['install', '--prefix', THIRD_PARTY, '--no-audit', '--no-fund'], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    // memlab depends on puppeteer, whose install script would download a Chrome
    env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1' },
  });
  const unavailable = {};
  for (const t of missing) {
    if (installed(t)) continue;
    const why = npm.error ? npm.error.message : `exit ${npm.status}: ${lastLines(npm.stderr || npm.stdout)}`;
    unavailable[t] = `npm install failed (${why})`;
  }
  return unavailable;
}

// --- children ----------------------------------------------------------------

/** Runs one child to completion; { wallMs, stdout, stderr } or throws with the reason. */
function runChild(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 256 * MB,
  });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.error) throw new Error(r.error.message);
  if (r.status !== 0) throw new Error(`exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${lastLines(r.stderr)}`);
  return { wallMs, stdout: r.stdout, stderr: r.stderr };
}

/** One tool in analyze-worker.js: its RESULT plus the wall time. */
function runWorker(tool, file) {
  const child = runChild([...NODE_FLAGS, WORKER, tool, file, String(TOP)]);
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no RESULT line: ${lastLines(child.stdout)}`);
  return { ...JSON.parse(line.slice(7)), wallMs: child.wallMs };
}

/** The real CLI, with the VmHWM preload; nodes and the sanity fields from its JSON. */
function runCli(file) {
  const child = runChild([...NODE_FLAGS, '-r', HWM_PRELOAD, CLI, 'analyze', file, '--top', String(TOP), '--json']);
  const r = JSON.parse(child.stdout);
  const hwm = /^ANALYZE_HWM (\d+)$/m.exec(child.stderr);
  const g = r.groups[0];
  const item = r.groups.find((x) => x.name === 'Item');
  return {
    wallMs: child.wallMs,
    peakRss: hwm ? Number(hwm[1]) : null,
    baseRss: null,
    nodes: r.nodes,
    edges: r.edges,
    top: g && { name: g.name, count: g.count, retained: g.retained_size },
    item: item ? item.count : null,
    phases: null,
  };
}

/** `runs` fresh children of one tool; the median run by wall time (phases of that run). */
function measure(tool, file, runs) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(tool === 'cli' ? runCli(file) : runWorker(tool, file));
  const byWall = [...results].sort((a, b) => a.wallMs - b.wallMs);
  const pick = byWall[Math.floor((runs - 1) / 2)];
  return { ...pick, peakRss: pick.peakRss == null ? null : median(results.map((r) => r.peakRss)) };
}

// --- report ------------------------------------------------------------------

function printTools(rows) {
  const body = rows.map(({ label, r, error }) =>
    error
      ? [label, 'failed', '-', '-', '-', '-', '-']
      : [
          label,
          secs(r.wallMs),
          mb(r.peakRss),
          mb(r.baseRss),
          int(r.nodes),
          r.top ? `${r.top.name} (${mb(r.top.retained)})` : '-',
          int(r.item),
        ]
  );
  console.log(
    table(['tool', 'wall', 'peak RSS', 'base RSS', 'nodes', 'top class (retained)', 'Item count'], body, [
      'l',
      'r',
      'r',
      'r',
      'r',
      'l',
      'r',
    ])
  );
  console.log('\nwhat each row timed, and its phases as the child measured them:');
  for (const { label, tool, r, error } of rows) {
    console.log(`  ${label.padEnd(12)} ${WHAT[tool]}`);
    if (error) console.log(`  ${''.padEnd(12)} FAILED: ${error.split('\n').join(`\n  ${''.padEnd(12)} `)}`);
    else if (r.phases) {
      const parts = Object.entries(r.phases).map(([k, ms]) => `${k} ${secs(ms)}`);
      console.log(`  ${''.padEnd(12)} ${parts.join(', ')}`);
    }
  }
}

function verdict(ok) {
  return ok ? 'met' : 'NOT met';
}

function printTargets(results, expectedItems) {
  const mw = results.memwatch;
  console.log('\ntargets:');
  if (!mw) {
    console.log('  memwatch did not run: no targets to check');
    return;
  }
  const vs = results.vscode;
  if (vs) {
    const ratio = mw.wallMs / vs.wallMs;
    console.log(
      `  time   memwatch / vscode = ${secs(mw.wallMs)} / ${secs(vs.wallMs)} = ${ratio.toFixed(2)}x ` +
        `(target <= ${TARGETS.timeVsVscode}x): ${verdict(ratio <= TARGETS.timeVsVscode)}`
    );
  } else console.log('  time   memwatch / vscode: vscode did not run, not checked');
  console.log(
    `  memory memwatch peak RSS = ${mb(mw.peakRss)} (target <= ${mb(TARGETS.peakRssBytes)}): ` +
      verdict(mw.peakRss <= TARGETS.peakRssBytes)
  );
  console.log(`  sanity memwatch Item count = ${int(mw.item)} (expected ${int(expectedItems)}): ${mw.item === expectedItems ? 'ok' : 'WRONG'}`);
  const extra = [];
  if (results.cli && vs) extra.push(`CLI / vscode time ${(results.cli.wallMs / vs.wallMs).toFixed(2)}x`);
  if (vs) extra.push(`memwatch / vscode peak RSS ${(mw.peakRss / vs.peakRss).toFixed(2)}x`);
  const ml = results.memlab;
  if (ml) {
    extra.push(`memwatch / memlab time ${(mw.wallMs / ml.wallMs).toFixed(2)}x`);
    extra.push(`peak RSS ${(mw.peakRss / ml.peakRss).toFixed(2)}x`);
  }
  if (extra.length) console.log(`  (for reference: ${extra.join(', ')})`);
}

function printLinear(points) {
  console.log('\nlinear memory check (memwatch analyzeSnapshot, fresh child per file):');
  // MB of RSS per MB of file
  const perMb = (p) => p.r.peakRss / p.fx.bytes;
  const ownPerMb = (p) => (p.r.peakRss - p.r.baseRss) / p.fx.bytes;
  console.log(
    table(
      ['objects', 'file', 'nodes', 'wall', 'peak RSS', 'peak / file', '(peak - base) / file'],
      points.map((p) => [
        int(p.fx.objects),
        mb(p.fx.bytes),
        int(p.r.nodes),
        secs(p.r.wallMs),
        mb(p.r.peakRss),
        perMb(p).toFixed(2),
        ownPerMb(p).toFixed(2),
      ]),
      ['r', 'r', 'r', 'r', 'r', 'r', 'r']
    )
  );
  const [small, large] = points;
  const growth = ownPerMb(large) / ownPerMb(small);
  console.log(
    `  own memory per MB of file, ${sizeLabel(large.fx.objects)} vs ${sizeLabel(small.fx.objects)}: ${growth.toFixed(2)}x ` +
      `(${growth <= 1.2 ? 'roughly constant: memory grows linearly with the file' : 'grows faster than the file'})`
  );
}

// --- main --------------------------------------------------------------------

function tryMeasure(tool, file, runs) {
  try {
    return { r: measure(tool, file, runs) };
  } catch (err) {
    return { error: err.message };
  }
}

function main() {
  const { objects, tools, runs } = parseOptions();
  console.log(`memwatch analyze bench: node ${process.version}, ${int(objects)} objects, tools ${tools.join(',')}, ${runs} run(s) each\n`);
  const fx = fixture(objects);
  const smallFx = tools.includes('memwatch') ? fixture(Math.round(objects / 4)) : null;
  const unavailable = prepareThirdParty(tools);

  const plan = [];
  for (const tool of tools) {
    plan.push({ label: tool, tool });
    if (tool === 'memwatch') plan.push({ label: 'memwatch CLI', tool: 'cli' });
  }
  const rows = [];
  const results = {};
  for (const step of plan) {
    const res = unavailable[step.tool] ? { error: unavailable[step.tool] } : tryMeasure(step.tool, fx.file, runs);
    rows.push({ ...step, ...res });
    if (res.r) results[step.tool] = res.r;
    if (step.tool === 'cli' && res.r) {
      console.log(`fixture graph (memwatch analyze --json): ${int(res.r.nodes)} nodes, ${int(res.r.edges)} edges`);
    }
  }
  console.log('');
  printTools(rows);
  printTargets(results, objects);

  if (results.memwatch) {
    const small = tryMeasure('memwatch', smallFx.file, runs);
    if (small.error) console.log(`\nlinear memory check: memwatch failed on the small file: ${small.error}`);
    else printLinear([{ fx: smallFx, r: small.r }, { fx, r: results.memwatch }]);
  }
}

try {
  main();
} catch (err) {
  console.error(`bench failed: ${err.stack || err}`);
  process.exitCode = 1;
}
