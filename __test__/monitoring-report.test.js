'use strict';
// `memwatch report`: a self-contained page from recordings, good and bad.
// (The page as a browser renders it is checked in once/monitoring-browser.)
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readRecording } = require('../lib/report/read');
const { timeTicks, valueTicks } = require('../lib/report/charts');
const { run } = require('../lib/cli/report');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-report-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (name) => path.join(dir, `${++n}-${name}`);

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const header = (extra = {}) => ({ type: 'header', format: 'memwatch-recording', version: 1, t: T0, part: 0, pid: 4242, node: 'v20.0.0', memwatch: '0.3.0', backend: 'v8', script: '/srv/app/server.js', ...extra });
function stats(i, extra = {}) {
  const base = 10e6 + i * 1e6;
  return {
    type: 'stats', t: T0 + 1000 + i * 2000, num_full_gc: i + 1, num_inc_gc: i * 7, heap_compactions: i + 1,
    usage_trend: i, estimated_base: base - 5e5, current_base: base, min: 0, max: 0, used_heap_size: base,
    total_heap_size: base * 1.5, heap_size_limit: 4e9, external_memory: 1e6, gc_pause_ms: 3 + (i % 4),
    rss: 50e6 + base, external: 1e6, array_buffers: 1e4, ...extra,
  };
}
const leak = (i) => ({ type: 'leak', t: T0 + 1000 + i * 2000, start: new Date(T0 + 1000 + (i - 4) * 2000).toISOString(), end: new Date(T0 + 1000 + i * 2000).toISOString(), growth: 4e6, reason: 'heap growth over 5 consecutive GCs (8s) - 1.72 gb/hr', kind: 'heap' });
const ndjson = (objs) => objs.map((o) => JSON.stringify(o)).join('\n') + '\n';
function recording(objs, name = 'rec.ndjson') {
  const file = tmp(name);
  fs.writeFileSync(file, typeof objs === 'string' ? objs : ndjson(objs));
  return file;
}

async function report(args) {
  let out = '';
  let err = '';
  const status = await run(args, { stdout: { write: (x) => (out += x) }, stderr: { write: (x) => (err += x) } });
  return { status, stdout: out, stderr: err };
}

function basicRun() {
  const objs = [header()];
  for (let i = 0; i < 10; i++) {
    if (i === 6) objs.push(leak(6));
    objs.push(stats(i));
  }
  return objs;
}

test('a report from a recording: self-contained, charts, leak marks, tiles', async () => {
  const file = recording(basicRun());
  const out = tmp('report.html');
  const r = await report([file, '-o', out]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /wrote .*report\.html \(10 full GCs, 1 leak events\)/);
  const html = fs.readFileSync(out, 'utf8');
  // Self-contained: no script, no external resource, a CSP that forbids both.
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
  assert.doesNotMatch(html, /(src|href)=/i);
  assert.doesNotMatch(html, /https?:\/\//i);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
  assert.match(html, /@media \(prefers-color-scheme: dark\)/);
  for (const id of ['heap', 'process', 'pauses']) assert.match(html, new RegExp(`<svg class="chart" data-chart="${id}"`));
  assert.match(html, /<title>memwatch report: server\.js \(pid 4242\)<\/title>/);
  // One leak mark on each time chart, at the leak's time, labelled on the heap chart.
  const marks = [...html.matchAll(/<g class="leak-mark heap" data-time="([^"]+)">/g)].map((m) => m[1]);
  assert.deepStrictEqual(marks, Array(3).fill(new Date(T0 + 13000).toISOString()));
  assert.strictEqual([...html.matchAll(/class="leak-label"[^>]*>leak 1</g)].length, 1);
  // Every series drawn: 10 points each.
  for (const cls of ['rss', 'total', 'base', 'est', 'ext']) {
    const d = new RegExp(`<path class="line ${cls}" data-series="${cls}" d="([^"]+)"`).exec(html);
    assert.ok(d, cls);
    assert.strictEqual(d[1].split(/[ML]/).filter(Boolean).length, 10, cls);
  }
  assert.strictEqual((html.match(/<rect class="bar"/g) || []).length, 10);
  assert.match(html, /Heap after the last full GC<\/div><div class="v">18\.1 MB</);
  assert.match(html, /Change since the first full GC<\/div><div class="v">\+8\.6 MB</);
  assert.match(html, /<table data-table="leaks">/);
  assert.doesNotMatch(html, /class="notes"/);
});

test('-o defaults to the recording name with .html; --help; usage errors exit 2', async () => {
  const file = recording(basicRun(), 'default.ndjson');
  assert.strictEqual((await report([file])).status, 0);
  assert.ok(fs.existsSync(file.replace(/\.ndjson$/, '.html')));
  const help = await report(['--help']);
  assert.strictEqual(help.status, 0);
  assert.match(help.stdout, /usage: memwatch report/);
  assert.strictEqual((await report([])).status, 2);
  assert.strictEqual((await report([file, '--bogus'])).status, 2);
});

test('bad input: empty, not a recording, missing → exit 3 with one line', async () => {
  const cases = [
    [recording('', 'empty.ndjson'), /empty recording \(0 bytes\)/],
    [recording('hello\nworld\n'.repeat(20), 'text.ndjson'), /not a memwatch recording/],
    [recording('{"snapshot":{"meta":{}},"nodes":[1,2,3]}\n', 'snap.heapsnapshot'), /not a memwatch recording/],
    [recording(ndjson([{ type: 'header', format: 'something-else', version: 1 }]), 'other.ndjson'), /not a memwatch recording/],
    [path.join(dir, 'missing.ndjson'), /cannot read \(ENOENT\)/],
  ];
  for (const [file, message] of cases) {
    const out = tmp('bad.html');
    const r = await report([file, '-o', out]);
    assert.strictEqual(r.status, 3, `${file}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^memwatch: [^\n]+\n$/, 'one line');
    assert.ok(!fs.existsSync(out), 'no report written');
  }
});

test('a truncated last line, unreadable lines, a newer format: rendered with notes', async () => {
  const objs = basicRun();
  const text = ndjson(objs.slice(0, 5)) + 'not json at all\n' + ndjson(objs.slice(5)) + JSON.stringify(stats(10)).slice(0, 80);
  const file = recording(text);
  const out = tmp('notes.html');
  const r = await report([file, '-o', out]);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: The last line is incomplete/);
  assert.match(r.stderr, /note: 1 line could not be read and was skipped \(the first is line 6\)/);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /<aside class="notes"/);
  assert.match(html, /The last line is incomplete/);
  assert.match(html, /Full GCs<\/div><div class="v">10</);

  // A future format: the header says version 2, with a line type this version does not know.
  const future = recording([header({ version: 2 }), stats(0), { type: 'allocation-profile', t: T0 + 2000, data: [1] }, stats(1)]);
  const r2 = await report([future, '-o', tmp('future.html')]);
  assert.strictEqual(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /newer memwatch \(format version 2; this one reads version 1\)/);
  assert.match(r2.stderr, /1 line of types this version does not know \(allocation-profile\) skipped/);

  // Only a header (a process that never ran a full GC): a page that says so.
  const quiet = recording([header()]);
  const r3 = await report([quiet, '-o', tmp('quiet.html')]);
  assert.strictEqual(r3.status, 0);
  assert.match(r3.stderr, /No full GC was recorded/);

  // No newline at the very end, but a whole line: read, no note.
  const whole = recording(ndjson(basicRun()).trimEnd());
  const r4 = await report([whole, '-o', tmp('whole.html')]);
  assert.strictEqual(r4.status, 0);
  assert.strictEqual(r4.stderr.includes('note:'), false, r4.stderr);
});

test('text from the recording is escaped, never markup', async () => {
  const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>';
  const objs = [header({ script: `/tmp/${evil}.js` }), stats(0), { ...leak(1), reason: evil }, stats(1)];
  objs.push({ type: 'heapdiff', t: T0 + 5000, change: { size_bytes: 10, details: [{ what: evil, size_bytes: 10, '+': 1, '-': 0 }] } });
  objs.push({ type: 'sites', t: T0 + 6000, sites: [{ function: evil, url: `file:///${evil}`, line: 1, column: 2, growth_bytes: 5, live_bytes: 5, samples: 1, stack: [evil] }] });
  const out = tmp('evil.html');
  assert.strictEqual((await report([recording(objs), '-o', out])).status, 0);
  const html = fs.readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<script|<img/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('top growing classes: from --diff (HeapDiff or `memwatch diff --json`), else the last recorded HeapDiff', async () => {
  const objs = basicRun();
  objs.push({ type: 'heapdiff', t: T0 + 15000, label: 'leak', before: { nodes: 1, size_bytes: 1, time: new Date(T0).toISOString() }, after: { nodes: 2, size_bytes: 2, time: new Date(T0 + 10000).toISOString() }, change: { size_bytes: 3e6, freed_nodes: 0, allocated_nodes: 3, details: [{ what: 'RecordedClass', size_bytes: 3e6, '+': 3000, '-': 0 }] } });
  const file = recording(objs);
  const out = tmp('classes.html');
  assert.strictEqual((await report([file, '-o', out])).status, 0);
  let html = fs.readFileSync(out, 'utf8');
  assert.match(html, /data-chart="classes"/);
  assert.match(html, />RecordedClass</);
  assert.match(html, /from the HeapDiff recorded at \+15s \(over 10s\)/);

  // A HeapDiff result as JSON.stringify(hd.end()) writes it; rows sorted by growth, shrinking ones left out.
  const diff = tmp('heapdiff.json');
  fs.writeFileSync(diff, JSON.stringify({
    before: { nodes: 100, size_bytes: 1000, size: '1000 bytes', time: new Date(T0) },
    after: { nodes: 200, size_bytes: 9000, size: '8.79 kb', time: new Date(T0 + 20000) },
    change: { size_bytes: 8000, size: '7.81 kb', freed_nodes: 5, allocated_nodes: 105, details: [
      { what: 'Small', size_bytes: 100, size: '100 bytes', '+': 5, '-': 0 },
      { what: 'LeakingClass', size_bytes: 7000, size: '6.84 kb', '+': 100, '-': 0, retained_size_bytes: 7000 },
      { what: 'Shrunk', size_bytes: -200, size: '-200 bytes', '+': 0, '-': 5 },
    ] },
  }));
  assert.strictEqual((await report([file, '--diff', diff, '-o', out])).status, 0);
  html = fs.readFileSync(out, 'utf8');
  const rows = [...html.matchAll(/<text class="row-label"[^>]*>([^<]+)</g)].map((m) => m[1]);
  assert.deepStrictEqual(rows, ['LeakingClass', 'Small']);
  assert.match(html, /from \d+-heapdiff\.json, between 2024-01-02 03:04:05 UTC and 2024-01-02 03:04:25 UTC/);
  assert.match(html, /LeakingClass: \+6\.8 kB; 100 allocated, 0 freed, retains 6\.8 kB/);

  // A bad --diff: exit 3, one line.
  const bad = tmp('bad.json');
  fs.writeFileSync(bad, '{"change": {}}');
  const r = await report([file, '--diff', bad, '-o', out]);
  assert.strictEqual(r.status, 3);
  assert.match(r.stderr, /^memwatch: .*bad\.json: not a HeapDiff result/);
  fs.writeFileSync(bad, '{"chan');
  assert.match((await report([file, '--diff', bad])).stderr, /not JSON/);
});

test('allocation sites from a leak event are listed by growth, with their stacks', async () => {
  const objs = basicRun();
  const site = (fn, growth) => ({ function: fn, url: '/srv/app/lib/cache.js', line: 12, column: 5, growth_bytes: growth, live_bytes: growth * 2, samples: 3, stack: [`${fn} (/srv/app/lib/cache.js:12:5)`, 'handle (/srv/app/server.js:40:3)'] });
  objs.push({ ...leak(9), sites: [site('small', 1000), site('addToCache', 5e6)] });
  const out = tmp('sites.html');
  assert.strictEqual((await report([recording(objs), '-o', out])).status, 0);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /<table class="sites" data-table="sites">/);
  const fns = [...html.matchAll(/<td><code>([^<]+)<\/code><br>/g)].map((m) => m[1]);
  assert.deepStrictEqual(fns, ['addToCache', 'small']);
  assert.match(html, /\/srv\/app\/lib\/cache\.js:12:5/);
  assert.match(html, /<summary>2 frames<\/summary>/);
});

test('a long recording is downsampled into bounded points, keeping peaks', async () => {
  const file = tmp('long.ndjson');
  const count = 20000;
  const out = fs.createWriteStream(file);
  out.write(JSON.stringify(header()) + '\n');
  for (let i = 0; i < count; i++) {
    // One pause spike, at GC 12345.
    out.write(JSON.stringify(stats(i, { gc_pause_ms: i === 12345 ? 900 : 2 })) + '\n');
  }
  await new Promise((r) => out.end(r));
  const model = await readRecording([file], { maxPoints: 500 });
  assert.strictEqual(model.counts.stats, count);
  const points = model.series.points();
  assert.ok(points.length >= 500 && points.length < 1000, `${points.length} points`);
  assert.strictEqual(points.reduce((k, p) => k + p.n, 0), count, 'every GC is in one point');
  assert.strictEqual(Math.max(...points.map((p) => p.max.gc_pause_ms)), 900, 'the spike survives');
  assert.strictEqual(points[points.length - 1].last.current_base, 10e6 + (count - 1) * 1e6);
  assert.match(model.notes.join(' '), /20000 full GCs drawn as \d+ points/);
  const r = await report([file, '-o', tmp('long.html')]);
  assert.strictEqual(r.status, 0);
});

test('axis ticks: time steps fit the width, values are nice', () => {
  assert.deepStrictEqual(timeTicks(0, 60, 10), [0, 10, 20, 30, 40, 50, 60]);
  assert.deepStrictEqual(timeTicks(0, 0.05, 10), [0, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05]);
  assert.ok(timeTicks(0, 86400 * 3, 9).length <= 9);
  assert.deepStrictEqual(valueTicks(93, 5).ticks, [0, 20, 40, 60, 80, 100]);
  assert.deepStrictEqual(valueTicks(4, 5).ticks, [0, 1, 2, 3, 4]);
});
