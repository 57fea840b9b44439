'use strict';
// `node bench/heapdiff.js` (npm run bench:heapdiff): what a heap diff costs,
// by three routes plus a floor.
//
// A child process builds a heap of N small objects (`Item`s in an array), then
// diffs it around a 10 % leak: N/10 objects of class `LeakingClass` allocated
// between the two snapshots. Each route is measured in a FRESH child
// (`process.execPath bench/heapdiff-worker.js`), one at a time, so that a
// child's peak RSS is that route's alone:
//   memwatch  this module:  new memwatch.HeapDiff() ... hd.end()
//   memwatch-examples       the same with hd.end({ examples: 3 })
//   airbnb    @airbnb/node-memwatch (the C++ module, same API), installed on
//             first use into bench/third-party/ (npm install --prefix ...;
//             node-gyp build); if it cannot be built or loaded, the bench says
//             why and goes on with the other routes
//   v8        no native module: v8.getHeapSnapshot() streamed twice, each
//             collected and JSON.parse'd, nodes grouped by class (constructor
//             name for objects, else a type label), diffed by node id
//   floor     a reference, not a diff: only the two HeapProfiler::TakeHeapSnapshot
//             calls (v8.getHeapSnapshot() takes the snapshot synchronously; the
//             stream is destroyed unread). What any route built on V8's heap
//             profiler pays at least; "floor / airbnb" shows how far below
//             airbnb such a route can get at all
//
// Table 1, per heap size and route:
//   phase 1     new HeapDiff()  (v8: first snapshot, streamed + parsed)
//   phase 2     hd.end()        (v8: second snapshot + parse + diff)
//   total       phase 1 + phase 2 (the leak itself is not timed)
//   RSS before  VmRSS of the child just before phase 1
//   peak RSS    VmHWM of the child, read at its end (whole process: heap + diff)
//   diff's own  peak RSS - RSS before
//   Leaking +   the '+' count the route reports for LeakingClass; must be N/10
// then where memwatch's time goes (V8's TakeHeapSnapshot and Delete, the walk,
// the diff; the addon's own clock), then ratios of memwatch to the floor, to
// airbnb and to the v8 route (< 1: memwatch is cheaper; "diff's own memory"
// compares peak - before). Targets at 1M objects, vs the floor: without
// examples time <= 1.10x and peak RSS <= 1.02x; with examples: 3 time <= 1.4x.
// Single runs of
// a route vary by ~10-15 % in time (more on a busy machine): use --runs 3 for
// medians before reading much into a ratio near its target.
//
// Table 2, at the largest size: a GC-heavy loop (short-lived allocations, every
// 8th kept a while in a ring, so scavenges copy and promote objects) timed in
// 5 rounds of a fixed count before the diff and 5 after it, in the same child;
// the fastest round of each side is compared (single rounds vary by +-15 %
// with GC scheduling). After a snapshot V8 keeps an object-id map and reports
// every object a GC moves to it; memwatch clears that map when its last
// HeapDiff ends, airbnb and v8.getHeapSnapshot() do not. Target for memwatch:
// after / before <= 1.1. The leak is dropped before the second loop, so both
// run on the same heap. These are separate children from table 1, so the
// loops do not inflate table 1's RSS or disturb its times.
//
// Options:
//   --sizes 100000,1000000          heap sizes (objects)
//   --routes memwatch,memwatch-examples,airbnb,v8,floor  routes to run
//   --runs N                        children per route and size; medians are shown (default 1)
//   --gc-iterations N               allocations per GC-loop round (default 3e7; 0 skips table 2)
// Exit code 0 whether or not a target is met ("met" / "NOT met" is printed).
// Children run with --max-old-space-size=8192; 1M objects take a few GB for a
// snapshot (the v8 route the most: 3+ GB). A default run takes about 2
// minutes, --runs 3 about 5.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { table } = require('../lib/table');
const { parser } = require('./options');

const WORKER = path.join(__dirname, 'heapdiff-worker.js');
const THIRD_PARTY = path.join(__dirname, 'third-party');
const AIRBNB_DIR = path.join(THIRD_PARTY, 'node_modules', '@airbnb', 'node-memwatch');
const ROUTES = ['memwatch', 'memwatch-examples', 'airbnb', 'v8', 'floor'];
const NODE_FLAGS = ['--max-old-space-size=8192'];
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;
const TARGET_AT = 1000000;
// At 1M objects, against the floor (V8's two TakeHeapSnapshot calls, same
// child setup): HeapDiff without examples <= 1.10x its time and <= 1.02x its
// peak RSS; with examples: 3 <= 1.4x its time. GC loop after/before <= 1.1.
const TARGETS = { time: 1.1, rss: 1.02, examplesTime: 1.4, gc: 1.1 };

// --- options -----------------------------------------------------------------

function parseOptions() {
  const { option, whole, list } = parser(
    `node bench/heapdiff.js [--sizes 100000,1000000] [--routes ${ROUTES.join(',')}] [--runs N] [--gc-iterations N]`
  );
  const sizes = option('sizes', '100000,1000000').split(',').map((s) => whole(s.trim(), 'sizes', 10));
  const routes = list('routes', ROUTES);
  const runs = whole(option('runs', '1'), 'runs', 1);
  const gcIterations = whole(option('gc-iterations', String(3e7)), 'gc-iterations', 0);
  return { sizes, routes, runs, gcIterations };
}

// --- @airbnb/node-memwatch ---------------------------------------------------

const lastLines = (text, n = 15) => String(text || '').trim().split('\n').slice(-n).join('\n');

/** Installs (if missing) and probes airbnb's module; { ok, version } or { ok: false, reason }. */
function prepareAirbnb() {
  if (!fs.existsSync(AIRBNB_DIR)) {
    console.log(`installing @airbnb/node-memwatch into ${path.relative(process.cwd(), THIRD_PARTY) || '.'} (npm install, node-gyp build) ...`);
    const npm = spawnSync('npm', ['install', '--prefix', THIRD_PARTY, '--no-audit', '--no-fund'], {
      encoding: 'utf8',
      timeout: CHILD_TIMEOUT_MS,
    });
    if (npm.error || npm.status !== 0) {
      const why = npm.error ? npm.error.message : `exit ${npm.status}\n${lastLines(npm.stderr || npm.stdout)}`;
      return { ok: false, reason: `npm install failed: ${why}` };
    }
  }
  const probe = spawnSync(process.execPath, ['-e', `
    try {
      const m = require(${JSON.stringify(AIRBNB_DIR)});
      if (typeof m.HeapDiff !== 'function') throw new Error('it has no HeapDiff export');
      console.log(require(${JSON.stringify(path.join(AIRBNB_DIR, 'package.json'))}).version);
    } catch (err) {
      console.error(String(err && err.message).split('\\n')[0]);
      process.exit(1);
    }
  `], { encoding: 'utf8', timeout: 60000 });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? probe.error.message : lastLines(probe.stderr, 3) || `exit ${probe.status}`;
    return { ok: false, reason: `it does not load on node ${process.version}: ${why}` };
  }
  return { ok: true, version: probe.stdout.trim() };
}

// --- children ----------------------------------------------------------------

/** One measurement in a fresh process: the worker's JSON, or { error }. */
function runChild(route, objects, gcIterations) {
  const args = [...NODE_FLAGS, WORKER, route, String(objects), String(gcIterations), AIRBNB_DIR];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 1 << 24 });
  if (r.error) return { error: r.error.message };
  if (r.status !== 0) {
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    return { error: `${how}: ${lastLines(r.stderr, 6) || '(no stderr)'}` };
  }
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    return out.loadError ? { error: `load failed: ${out.loadError}` } : out;
  } catch {
    return { error: `unreadable output: ${lastLines(r.stdout, 3)}` };
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Medians over runs of the numeric fields; the first run's other fields; any error wins. */
function combine(results) {
  const failed = results.find((r) => r.error);
  if (failed) return failed;
  const out = { ...results[0], runs: results.length };
  for (const key of Object.keys(out)) {
    if (typeof out[key] === 'number' && key !== 'runs') out[key] = median(results.map((r) => r[key]));
  }
  // The correctness check must hold in every run, not only in the median.
  out.leakingPlusAll = results.map((r) => r.leakingPlus);
  return out;
}

/** Runs every route `runs` times for one size, interleaving routes so drift hits all alike. */
function measureSize(objects, routes, runs, gcIterations, progress) {
  const raw = Object.fromEntries(routes.map((r) => [r, []]));
  for (let i = 0; i < runs; i++) {
    for (const route of routes) {
      // A route that failed is not run again; the others go on.
      if (raw[route].some((r) => r.error)) continue;
      progress(`${route}, ${fmtCount(objects)} objects${runs > 1 ? `, run ${i + 1}/${runs}` : ''}${gcIterations ? ', with GC loop' : ''}`);
      raw[route].push(runChild(route, objects, gcIterations));
    }
  }
  return Object.fromEntries(routes.map((r) => [r, combine(raw[r])]));
}

// --- output ------------------------------------------------------------------

const fmtCount = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
const fmtMs = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const fmtMb = (bytes) => (bytes / 1048576).toFixed(0);
const fmtRatio = (x) => (Number.isFinite(x) ? `${x.toFixed(3)}x` : '-');

/** Prints rows under headers; text columns left-aligned, numbers right-aligned. */
const printTable = (headers, rows) => console.log(table(headers, rows));

const LABELS = {
  memwatch: 'memwatch (this module)',
  'memwatch-examples': 'memwatch, end({ examples: 3 })',
  airbnb: '@airbnb/node-memwatch',
  v8: 'v8.getHeapSnapshot()',
  floor: 'V8 snapshots only (floor)',
};

function leakCheck(r) {
  if (r.route === 'floor') return 'n/a (reference, no diff)';
  const exact = r.leakingPlusAll.every((n) => n === r.leakCount);
  return exact ? 'exact' : `WRONG (expected ${r.leakCount}; got ${r.leakingPlusAll.join(', ')})`;
}

function diffRows(bySize) {
  const rows = [];
  for (const [objects, byRoute] of bySize) {
    for (const [route, r] of Object.entries(byRoute)) {
      if (r.error) {
        rows.push([fmtCount(objects), LABELS[route], '-', '-', '-', '-', '-', '-', '-', 'failed (see below)']);
        continue;
      }
      rows.push([
        fmtCount(objects),
        LABELS[route],
        fmtMs(r.phase1Ms),
        fmtMs(r.phase2Ms),
        fmtMs(r.totalMs),
        fmtMb(r.rssBefore),
        fmtMb(r.peakRss),
        fmtMb(r.peakRss - r.rssBefore),
        r.leakingPlus === null ? '-' : String(r.leakingPlus),
        leakCheck(r),
      ]);
    }
  }
  return rows;
}

const verdict = (ok) => (ok ? 'met' : 'NOT met');

/** One ratio line: a / b in time and peak RSS; `targets` { time, rss } where judged. */
function ratioLine(objects, a, b, what, targets) {
  const time = a.totalMs / b.totalMs;
  const rss = a.peakRss / b.peakRss;
  const own = (a.peakRss - a.rssBefore) / (b.peakRss - b.rssBefore);
  const judge = (x, target) => (target ? ` (target <= ${target}x: ${verdict(x <= target)})` : '');
  return `  ${fmtCount(objects).padStart(5)}  ${what.padEnd(28)}  time ${fmtRatio(time)}${judge(time, targets && targets.time)}` +
    `   peak RSS ${fmtRatio(rss)}${judge(rss, targets && targets.rss)}   diff's own memory ${fmtRatio(own)}`;
}

function printRatios(bySize) {
  const ok = (r) => r && !r.error;
  for (const [objects, byRoute] of bySize) {
    const atTarget = objects === TARGET_AT;
    for (const [mine, targets] of [
      ['memwatch', { time: TARGETS.time, rss: TARGETS.rss }],
      ['memwatch-examples', { time: TARGETS.examplesTime }],
    ]) {
      if (!ok(byRoute[mine])) continue;
      for (const other of ['floor', 'airbnb', 'v8']) {
        if (!ok(byRoute[other])) continue;
        console.log(ratioLine(objects, byRoute[mine], byRoute[other], `${mine} / ${other}`, other === 'floor' && atTarget ? targets : null));
      }
    }
    if (ok(byRoute.floor) && ok(byRoute.airbnb)) {
      console.log(`${ratioLine(objects, byRoute.floor, byRoute.airbnb, 'floor / airbnb', null)}   <- V8's two snapshots alone`);
    }
  }
}

/** Where memwatch's time goes, from the addon's own clock (medians). */
function phaseRows(bySize) {
  const rows = [];
  for (const [objects, byRoute] of bySize) {
    for (const route of ['memwatch', 'memwatch-examples']) {
      const r = byRoute[route];
      if (!r || r.error || r.v8SnapshotMs === undefined) continue;
      const ours = r.walkMs + r.analysisMs;
      rows.push([
        fmtCount(objects),
        LABELS[route],
        fmtMs(r.v8SnapshotMs),
        fmtMs(r.v8DeleteMs),
        fmtMs(r.walkMs),
        fmtMs(r.analysisMs),
        fmtRatio((r.v8SnapshotMs + r.v8DeleteMs + ours) / (r.v8SnapshotMs + r.v8DeleteMs)),
      ]);
    }
  }
  return rows;
}

function gcRows(byRoute) {
  const min = (xs) => Math.min(...xs);
  return Object.entries(byRoute).map(([route, r]) => {
    if (r.error) return [LABELS[route], '-', '-', '-', '-', '-', 'failed (see below)'];
    const ratio = min(r.gcAfterMs) / min(r.gcBeforeMs);
    const target = route.startsWith('memwatch') ? `<= ${TARGETS.gc}: ${verdict(ratio <= TARGETS.gc)}` : '(contrast, no target)';
    return [
      LABELS[route],
      fmtMs(min(r.gcBeforeMs)),
      fmtMs(min(r.gcAfterMs)),
      fmtRatio(ratio),
      fmtMs(median(r.gcBeforeMs)),
      fmtMs(median(r.gcAfterMs)),
      target,
    ];
  });
}

function printFailures(title, byRoute, objects) {
  for (const [route, r] of Object.entries(byRoute)) {
    if (r.error) console.log(`  ${title}: ${LABELS[route]} at ${fmtCount(objects)} objects failed: ${r.error}`);
  }
}

// --- main --------------------------------------------------------------------

function main() {
  const { sizes, routes: wanted, runs, gcIterations } = parseOptions();
  const progress = (what) => process.stderr.write(`  measuring: ${what} ...\n`);
  const v8Version = process.versions.v8;
  const memwatch = require('..');
  console.log(`heap diff benchmark: node ${process.version} (V8 ${v8Version}), memwatch backend '${memwatch.backend}', ` +
    `${runs} run(s) per route and size, children with ${NODE_FLAGS.join(' ')}`);

  let routes = wanted;
  const skipped = [];
  if (routes.includes('airbnb')) {
    const airbnb = prepareAirbnb();
    if (airbnb.ok) {
      console.log(`@airbnb/node-memwatch ${airbnb.version} from ${path.relative(process.cwd(), AIRBNB_DIR)}`);
    } else {
      skipped.push(`@airbnb/node-memwatch skipped: ${airbnb.reason}`);
      console.log(skipped[skipped.length - 1]);
      routes = routes.filter((r) => r !== 'airbnb');
    }
  }
  const started = Date.now();

  const bySize = new Map();
  for (const objects of sizes) bySize.set(objects, measureSize(objects, routes, runs, 0, progress));

  const largest = Math.max(...sizes);
  let gc = null;
  // The floor route leaves V8's id map behind exactly as the v8 route does: not repeated here.
  const gcRoutes = routes.filter((r) => r !== 'floor' && r !== 'memwatch-examples');
  if (gcIterations > 0 && gcRoutes.length) gc = measureSize(largest, gcRoutes, 1, gcIterations, progress);

  console.log('');
  console.log(`Table 1: heap diff around a 10 % leak (times in ms, memory in MB${runs > 1 ? `; medians of ${runs} runs` : ''})`);
  printTable(
    ['objects', 'route', 'phase 1', 'phase 2', 'total', 'RSS before', 'peak RSS', "diff's own", 'Leaking +', 'check'],
    diffRows(bySize)
  );
  console.log('  phase 1: new HeapDiff() (v8: 1st snapshot + parse; floor: 1st TakeHeapSnapshot only)');
  console.log('  phase 2: hd.end()      (v8: 2nd snapshot + parse + diff; floor: 2nd TakeHeapSnapshot only)');
  for (const [objects, byRoute] of bySize) printFailures('table 1', byRoute, objects);
  for (const s of skipped) console.log(`  ${s}`);

  console.log('');
  console.log('Table 3: where a HeapDiff\'s time goes, per HeapDiff (ms, both snapshots; the addon\'s own clock)');
  printTable(['objects', 'route', 'V8 TakeHeapSnapshot', 'V8 Delete', 'walk', 'diff + paths', 'all / V8 take+delete'], phaseRows(bySize));
  console.log('  walk: copying what the diff needs out of V8\'s snapshot; diff + paths: matching by id, and with');
  console.log('  examples dominators, retainer paths and their names. malloc_trim runs in the background afterwards.');

  console.log('');
  console.log(`Ratios (memwatch / other; < 1 means memwatch is cheaper; targets at ${fmtCount(TARGET_AT)} objects vs the floor):`);
  printRatios(bySize);
  if (!routes.includes('memwatch') || routes.length < 2) console.log('  (needs memwatch and at least one other route)');
  if (!sizes.includes(TARGET_AT)) console.log(`  (no ${fmtCount(TARGET_AT)}-object run: targets not judged)`);

  if (gc) {
    console.log('');
    console.log(`Table 2: GC-heavy loop, 5 rounds of ${fmtCount(gcIterations)} allocations each, while the ${fmtCount(largest)}-object heap ` +
      'is alive: before the diff and after it, same child (ms; ratio of the fastest rounds)');
    printTable(['route', 'before', 'after', 'after/before', 'median before', 'median after', 'target'], gcRows(gc));
    printFailures('table 2', gc, largest);
  }
  console.log('');
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main();
