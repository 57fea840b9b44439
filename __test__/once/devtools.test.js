'use strict';
// DevTools as the oracle. Chrome DevTools' own heap snapshot code (the npm
// package chrome-devtools-frontend: HeapSnapshotLoader.ts, HeapSnapshot.ts
// and what they import) is bundled for Node by esbuild into a temporary
// directory, and runs in a child process on the same .heapsnapshot files as
// memwatch's engine (the `memwatch` CLI). Every class row of DevTools' Summary
// (name, count, self size, retained size) must equal a row of `memwatch
// analyze`, and for sampled objects (`memwatch paths`) the self size, retained
// size, immediate dominator and distance must equal DevTools'.
//
// Files: a generated snapshot with every kind of object the rules treat
// specially (plain objects, two classes both called Item, closures, arrays,
// Maps, Sets, WeakMaps holding a leak and WeakMaps whose keys died, RegExps,
// every string kind, Buffers, a 5,000-deep list), rewritten variants of it
// (fields in another order, an extra node field, no trace_function_infos,
// the root moved to the end), and the 1M-object fixture of `npm run
// bench:analyze`. Run once, under the system node (`npm test` step 4).
//
// The only stand-ins: DevTools' i18n module (UI strings for progress
// messages; its locale tables are generated at DevTools' build time) and a
// Promise.withResolvers polyfill for Node 20.

const test = require('node:test');
const assert = require('node:assert');
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'memwatch.js');
const BENCH_FIXTURE = path.join(ROOT, 'bench', 'analyze-fixture.js');
const BIG_OBJECTS = 1_000_000;
const MB = 1024 * 1024;

// ---- the DevTools side (this file, run as a child with --devtools) --------

/** Loads one snapshot with DevTools' loader; its Summary and facts about `ids`. */
async function devtoolsOnFile(bundle, file, ids) {
  const { HeapSnapshotLoader, HeapSnapshot } = await import(require('node:url').pathToFileURL(bundle).href);
  const loader = new HeapSnapshotLoader.HeapSnapshotLoader(undefined);
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: MB })) loader.write(chunk);
  loader.close();
  const { port1, port2 } = new MessageChannel();
  new HeapSnapshot.SecondaryInitManager(port2);
  const snapshot = await loader.buildSnapshot(port1);
  port1.close();
  port2.close();
  const aggregates = snapshot.getAggregatesByClassKey(false, 'allObjects');
  const rows = Object.entries(aggregates).map(([key, a]) => ({
    key,
    name: a.name,
    count: a.count,
    self_size: a.self,
    retained_size: a.maxRet,
  }));
  const wanted = new Set(ids);
  const samples = {};
  const node = snapshot.createNode(0);
  for (let i = 0; i < snapshot.nodeCount; i++) {
    node.nodeIndex = i * snapshot.nodeFieldCount;
    const id = node.id();
    if (!wanted.has(id)) continue;
    const dominator = snapshot.createNode(node.dominatorIndex());
    samples[id] = {
      class_name: node.className(),
      self_size: node.selfSize(),
      retained_size: node.retainedSize(),
      dominator_id: node.isRoot() ? null : dominator.id(),
      distance: node.distance(),
    };
  }
  return {
    nodes: snapshot.nodeCount,
    edges: snapshot.containmentEdges.length / snapshot.edgeFieldsCount,
    rows,
    samples,
  };
}

if (require.main === module && process.argv[2] === '--devtools') {
  // node devtools.test.js --devtools <bundle> <jobs.json> <out.json>
  const [bundle, jobsFile, outFile] = process.argv.slice(3);
  (async () => {
    const out = [];
    for (const { file, ids } of JSON.parse(fs.readFileSync(jobsFile, 'utf8'))) {
      out.push(await devtoolsOnFile(bundle, file, ids));
    }
    fs.writeFileSync(outFile, JSON.stringify(out));
  })().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err && err.stack) || err}\n`);
      process.exit(1);
    }
  );
  return;
}

// ---- set-up -----------------------------------------------------------------

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-devtools-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** DevTools' snapshot code as one ES module for Node, built into `dir`. */
async function buildDevtools() {
  const esbuild = require('esbuild');
  const frontEnd = path.join(path.dirname(require.resolve('chrome-devtools-frontend/package.json')), 'front_end');
  const worker = path.join(frontEnd, 'entrypoints', 'heap_snapshot_worker');
  const entry = path.join(dir, 'entry.mjs');
  fs.writeFileSync(
    entry,
    `export * as HeapSnapshotLoader from ${JSON.stringify(path.join(worker, 'HeapSnapshotLoader.js'))};\n` +
      `export * as HeapSnapshot from ${JSON.stringify(path.join(worker, 'HeapSnapshot.js'))};\n`
  );
  const i18n = path.join(frontEnd, 'core', 'i18n', 'i18n.js');
  // UI strings only: each call answers with the English text it was given.
  const i18nStub = `
    const text = (...a) => String(a.find((x) => typeof x === 'string') ?? '');
    const fn = (name) => name === 'serializeUIString' ? (s, v) => JSON.stringify({ string: s, values: v })
      : name.includes('Lazy') ? (...a) => () => text(...a) : (...a) => text(...a);
    export const i18n = new Proxy({}, { get: (_, k) => fn(String(k)) });`;
  const bundle = path.join(dir, 'devtools.mjs');
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
    banner: {
      js: 'Promise.withResolvers ??= function () { let resolve, reject; const promise = new this((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };',
    },
    plugins: [
      {
        name: 'devtools-i18n-stub',
        setup(b) {
          b.onResolve({ filter: /i18n\.js$/ }, (a) =>
            path.resolve(a.resolveDir, a.path) === i18n ? { path: 'i18n', namespace: 'i18n-stub' } : undefined
          );
          b.onLoad({ filter: /.*/, namespace: 'i18n-stub' }, () => ({ contents: i18nStub, loader: 'js' }));
        },
      },
    ],
  });
  return bundle;
}

/** Runs DevTools on each `{ file, ids }` in a child; its results, in order. */
function devtools(bundle, jobs) {
  const jobsFile = path.join(dir, `jobs-${process.hrtime.bigint()}.json`);
  const outFile = `${jobsFile}.out`;
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  const r = spawnSync(process.execPath, ['--max-old-space-size=6144', __filename, '--devtools', bundle, jobsFile, outFile], {
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  assert.strictEqual(r.status, 0, `DevTools child failed: ${r.stderr}`);
  return JSON.parse(fs.readFileSync(outFile, 'utf8'));
}

function cli(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 5 * 60_000, maxBuffer: 256 * MB });
  assert.strictEqual(r.signal, null, `killed: ${r.stderr}`);
  return r;
}

function cliJson(...args) {
  const r = cli(...args, '--json');
  assert.strictEqual(r.status, 0, `memwatch ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// A heap with every kind of object DevTools' rules treat specially.
const RICH_FIXTURE = `
  const v8 = require('v8');
  class LeakingClass { constructor(i) { this.i = i; this.payload = 'leak-' + i; } }
  class WeakKey { constructor(id) { this.id = id; } }
  class LeakValue { constructor(n) { this.items = Array.from({ length: n }, (_, i) => ({ i, s: 'v' + i })); } }
  class Link { constructor(next, i) { this.next = next; this.i = i; } }
  // Two classes named Item, defined in two places (V8 records each one's location).
  const ItemA = eval('(class Item { constructor(i) { this.a = i; this.tag = "one" + i; } })');
  const ItemB = new Function('return class Item { constructor(i) { this.b = [i, i + 1]; } }')();

  const plain = [];
  // (Small integers are not objects: V8 writes no edge for them, so every
  // property here holds one.)
  for (let i = 0; i < 300; i++) plain.push({ x: 'x' + i, y: 'y' + i, z: [i] });
  for (let i = 0; i < 40; i++) plain.push({ 'a,b': 'c' + i, 'q"uote': 'q' + i, '{brace}': { i } });
  for (let i = 0; i < 30; i++) plain.push({ y: 'only' + i, x: 'x' + i });
  for (let i = 0; i < 10; i++) plain.push(Object.assign(Object.create(null), { nullProto: 'n' + i }));

  const text = 'the quick brown fox jumps over the lazy dog, '.repeat(20);
  const strings = { cons: [], sliced: [], flat: [], internalized: [] };
  for (let i = 0; i < 200; i++) {
    strings.cons.push(text + i);
    strings.sliced.push(text.slice(i, i + 120));
    strings.flat.push((text + i).toUpperCase());
    strings.internalized.push('literal-' + (i % 10));
  }
  strings.internalized.push(...Object.keys(plain[0]));

  const wmLeak = new WeakMap();
  const keys = [];
  for (let i = 0; i < 20; i++) {
    const k = new WeakKey(i);
    keys.push(k);
    wmLeak.set(k, new LeakValue(200));
  }
  const wmDying = new WeakMap();
  for (let i = 0; i < 50; i++) wmDying.set(new WeakKey(1000 + i), new LeakValue(5));
  const weakSet = new WeakSet(keys);
  const weakRef = new WeakRef(keys[0]);

  const map = new Map();
  const set = new Set();
  for (let i = 0; i < 500; i++) {
    map.set('k' + i, new LeakingClass(i));
    set.add(new ItemA(i));
  }
  const itemsB = Array.from({ length: 100 }, (_, i) => new ItemB(i));
  const closures = Array.from({ length: 100 }, (_, i) => { const captured = { i }; return () => captured.i; });
  const regexps = Array.from({ length: 30 }, (_, i) => new RegExp('a' + i + 'b+', 'g'));
  const buffers = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1024 + i, i));
  const typed = new Float64Array(1000);
  const others = [Symbol('one'), Symbol.for('two'), 2n ** 100n, new Error('kept'), Promise.resolve(1), new Date(0)];
  let list = null;
  for (let i = 0; i < 5000; i++) list = new Link(list, i);

  globalThis.fixture = { plain, strings, wmLeak, wmDying, weakSet, weakRef, keys, map, set, itemsB,
    closures, regexps, buffers, typed, others, list };
  v8.writeHeapSnapshot(process.argv[1]);
`;

/** Classes whose first objects are sampled in the rich snapshot. */
const RICH_CLASSES = [
  'LeakingClass', 'Item', 'WeakKey', 'LeakValue', 'Link', '{x, y, z}', '(array)', 'Map', 'WeakMap',
  'Function', '(string)', '(concatenated string)', '(sliced string)', 'RegExp', 'ArrayBuffer', 'Object',
];
/** Fewer for the rewritten variants: each class is one more CLI run. */
const VARIANT_CLASSES = ['Item', 'WeakKey', 'Link'];
const BIG_CLASSES = ['Item', 'Array', '{tag}'];

let richFile;
/** The rich snapshot, written once. */
function rich() {
  if (!richFile) {
    richFile = path.join(dir, 'rich.heapsnapshot');
    execFileSync(process.execPath, ['-e', RICH_FIXTURE, richFile]);
  }
  return richFile;
}

// ---- rewriting a snapshot (bad-input variants) --------------------------------

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function writeJson(file, s) {
  fs.writeFileSync(file, JSON.stringify(s));
  return file;
}

/** Node and edge fields listed in reverse, meta keys in another order. */
function reorderFields(s) {
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodes = [];
  for (let i = 0; i < s.nodes.length; i += nf) nodes.push(...s.nodes.slice(i, i + nf).reverse());
  const edges = [];
  for (let i = 0; i < s.edges.length; i += ef) edges.push(...s.edges.slice(i, i + ef).reverse());
  const reversed = {};
  for (const key of Object.keys(meta).reverse()) reversed[key] = meta[key];
  reversed.node_fields = [...meta.node_fields].reverse();
  reversed.node_types = [...meta.node_types].reverse();
  reversed.edge_fields = [...meta.edge_fields].reverse();
  reversed.edge_types = [...meta.edge_types].reverse();
  return { ...s, snapshot: { ...s.snapshot, meta: reversed }, nodes, edges };
}

/** One more node field ("extra", a number) at the front of every node. */
function extraNodeField(s) {
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const nodes = [];
  for (let i = 0; i < s.nodes.length; i += nf) nodes.push((i / nf) % 7, ...s.nodes.slice(i, i + nf));
  const ef = meta.edge_fields.length;
  const to = meta.edge_fields.indexOf('to_node');
  const edges = s.edges.slice();
  for (let i = to; i < edges.length; i += ef) edges[i] = (edges[i] / nf) * (nf + 1);
  const lf = meta.location_fields.length;
  const at = meta.location_fields.indexOf('object_index');
  const locations = s.locations.slice();
  for (let i = at; i < locations.length; i += lf) locations[i] = (locations[i] / nf) * (nf + 1);
  const withExtra = {
    ...meta,
    node_fields: ['extra', ...meta.node_fields],
    node_types: ['number', ...meta.node_types],
  };
  return { ...s, snapshot: { ...s.snapshot, meta: withExtra }, nodes, edges, locations };
}

/** No trace_function_infos (nor trace_tree). */
function withoutTraces(s) {
  const copy = { ...s };
  delete copy.trace_function_infos;
  delete copy.trace_tree;
  return copy;
}

/** The root moved from the first node to the last, with snapshot.root_index saying so. */
function rootLast(s) {
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const count = meta.node_fields.indexOf('edge_count');
  const n = s.nodes.length / nf;
  const newOrdinal = (old) => (old === 0 ? n - 1 : old - 1);
  const rootEdges = s.nodes[count] * ef;
  const nodes = [...s.nodes.slice(nf), ...s.nodes.slice(0, nf)];
  const edges = [...s.edges.slice(rootEdges), ...s.edges.slice(0, rootEdges)];
  const to = meta.edge_fields.indexOf('to_node');
  for (let i = to; i < edges.length; i += ef) edges[i] = newOrdinal(edges[i] / nf) * nf;
  const lf = meta.location_fields.length;
  const at = meta.location_fields.indexOf('object_index');
  const locations = s.locations.slice();
  for (let i = at; i < locations.length; i += lf) locations[i] = newOrdinal(locations[i] / nf) * nf;
  return { ...s, snapshot: { ...s.snapshot, root_index: (n - 1) * nf }, nodes, edges, locations };
}

// ---- comparing ----------------------------------------------------------------

const rowKey = (r) => `${r.name}\u0000${r.count}\u0000${r.self_size}\u0000${r.retained_size}`;

/** memwatch's rows and DevTools' rows are the same multiset. */
function assertSameRows(label, mine, theirs) {
  const a = mine.map(rowKey).sort();
  const b = theirs.map(rowKey).sort();
  if (a.length === b.length && a.every((k, i) => k === b[i])) return;
  const inB = new Set(b);
  const inA = new Set(a);
  const show = (k) => k.split('\u0000').join(' | ');
  assert.fail(
    `${label}: class rows differ from DevTools' (name | count | self | retained)\n` +
      `  memwatch only:\n    ${a.filter((k) => !inB.has(k)).slice(0, 15).map(show).join('\n    ')}\n` +
      `  DevTools only:\n    ${b.filter((k) => !inA.has(k)).slice(0, 15).map(show).join('\n    ')}`
  );
}

/** Steps a printed path stands for (elided steps included). */
function pathSteps(p) {
  const arrows = p.split(' → ').length - 1;
  const elided = /… ([\d,]+) more steps …/.exec(p);
  return elided ? arrows - 1 + Number(elided[1].replace(/,/g, '')) : arrows;
}

const BASE_SYSTEM_DISTANCE = 100_000_000;

/** Sampled objects: self and retained size, dominator and distance as DevTools has them. */
function assertSamples(label, sampled, theirs) {
  let checked = 0;
  for (const { cls, row } of sampled) {
    const want = theirs[row.id];
    assert.ok(want, `${label}: DevTools has no node @${row.id}`);
    const where = `${label}: ${cls} @${row.id}`;
    assert.strictEqual(want.class_name, cls, `${where}: class`);
    assert.strictEqual(row.self_size, want.self_size, `${where}: self size`);
    assert.strictEqual(row.retained_size, want.retained_size, `${where}: retained size`);
    assert.strictEqual(row.dominator_id, want.dominator_id, `${where}: dominator`);
    if (want.distance >= 0 && want.distance < BASE_SYSTEM_DISTANCE) {
      assert.ok(row.path, `${where}: DevTools reaches it at distance ${want.distance}, memwatch has no path`);
      assert.strictEqual(pathSteps(row.path), want.distance, `${where}: path ${row.path}`);
    } else if (want.distance < 0) {
      assert.strictEqual(row.path, null, `${where}: DevTools does not reach it`);
    } else {
      assert.ok(row.path, `${where}: DevTools reaches it from the GC roots`);
    }
    checked++;
  }
  return checked;
}

/** memwatch's side of one file: the Summary and `paths` samples of `classes`. */
function memwatch(file, classes, limit) {
  const summary = cliJson('analyze', file, '--top', '1000000');
  const sampled = [];
  for (const cls of classes) {
    const p = cliJson('paths', file, '--class', cls, '--limit', String(limit));
    const row = summary.groups.filter((g) => g.name === cls);
    assert.strictEqual(p.count, row.reduce((n, g) => n + g.count, 0), `paths --class ${cls} counts the Summary's objects`);
    for (const r of p.paths) sampled.push({ cls, row: r });
  }
  return { summary, sampled };
}

// ---- the tests ----------------------------------------------------------------

let bundle;
test.before(async () => {
  bundle = await buildDevtools();
});

test('rich snapshot and its rewritten variants: every class row, dominator and distance equals DevTools\'', () => {
  const original = readJson(rich());
  const files = {
    rich: rich(),
    'fields in another order': writeJson(path.join(dir, 'reordered.heapsnapshot'), reorderFields(original)),
    'an extra node field': writeJson(path.join(dir, 'extra-field.heapsnapshot'), extraNodeField(original)),
    'no trace_function_infos': writeJson(path.join(dir, 'no-traces.heapsnapshot'), withoutTraces(original)),
    'root_index at the last node': writeJson(path.join(dir, 'root-last.heapsnapshot'), rootLast(original)),
  };
  const mine = {};
  for (const [label, file] of Object.entries(files)) {
    mine[label] = memwatch(file, label === 'rich' ? RICH_CLASSES : VARIANT_CLASSES, 6);
  }
  const theirs = devtools(
    bundle,
    Object.values(files).map((file, i) => ({ file, ids: mine[Object.keys(files)[i]].sampled.map((s) => s.row.id) }))
  );
  let samples = 0;
  Object.keys(files).forEach((label, i) => {
    const { summary, sampled } = mine[label];
    const dt = theirs[i];
    assert.strictEqual(summary.nodes, dt.nodes, `${label}: nodes`);
    assert.strictEqual(summary.edges, dt.edges, `${label}: edges`);
    assert.strictEqual(summary.class_count, dt.rows.length, `${label}: classes`);
    assertSameRows(label, summary.groups, dt.rows);
    samples += assertSamples(label, sampled, dt.samples);
    // The variants say the same heap in other words. (Except with the root
    // last: DevTools names plain objects by their properties only from the
    // root on, so there they all stay "Object", in memwatch as in DevTools.)
    if (label !== 'root_index at the last node') {
      assertSameRows(`${label} vs the original`, summary.groups, mine.rich.summary.groups);
    }
  });
  assert.ok(samples >= 80, `only ${samples} objects sampled`);

  const { summary, sampled } = mine.rich;
  const rows = (name) => summary.groups.filter((g) => g.name === name);
  // What the rules are about, beyond "equal": the two Item classes stay two
  // rows; string kinds and RegExp are DevTools' classes; plain objects are
  // named by their properties; a WeakMap value is retained by its key.
  assert.deepStrictEqual(rows('Item').map((g) => g.count).sort((a, b) => a - b), [100, 500]);
  for (const name of ['(concatenated string)', '(sliced string)', 'RegExp', '{x, y, z}', '{"a,b", "q\\"uote", "{brace}"}']) {
    assert.ok(rows(name).length === 1, `no ${name} row`);
  }
  const key = sampled.find((s) => s.cls === 'WeakKey' && s.row.retained_size > 200 * 32);
  assert.ok(key, 'a WeakMap key retains its value (DevTools\' ephemeron rule)');
  assert.ok(sampled.some((s) => s.cls === 'Link' && /more steps/.test(s.row.path)), 'deep list paths are elided');
});

test('1M-object bench fixture: every class row, dominator and distance equals DevTools\'', () => {
  const big = path.join(dir, 'big.heapsnapshot');
  execFileSync(process.execPath, ['--max-old-space-size=8192', BENCH_FIXTURE, String(BIG_OBJECTS), big]);
  const { summary, sampled } = memwatch(big, BIG_CLASSES, 8);
  const [dt] = devtools(bundle, [{ file: big, ids: sampled.map((s) => s.row.id) }]);
  assert.strictEqual(summary.nodes, dt.nodes);
  assert.strictEqual(summary.edges, dt.edges);
  assertSameRows('1M fixture', summary.groups, dt.rows);
  assert.strictEqual(assertSamples('1M fixture', sampled, dt.samples), sampled.length);
  assert.strictEqual(summary.groups.find((g) => g.name === 'Item').count, BIG_OBJECTS);
});

test('bad root_index: one line naming it, exit 3', () => {
  const s = readJson(rich());
  const nf = s.snapshot.meta.node_fields.length;
  for (const [name, rootIndex] of [['misaligned', 1], ['past the end', s.nodes.length + nf]]) {
    const file = writeJson(path.join(dir, `root-${name.replace(/ /g, '-')}.heapsnapshot`), {
      ...s,
      snapshot: { ...s.snapshot, root_index: rootIndex },
    });
    const r = cli('analyze', file);
    assert.strictEqual(r.status, 3, `${name}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.strictEqual(lines.length, 1, r.stderr);
    assert.match(lines[0], /snapshot\.root_index \d+ is not the offset of a node .* at byte \d+$/);
  }
});
