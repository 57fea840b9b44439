'use strict';
// One measurement for bench/heapdiff.js, in a fresh process so that its peak
// RSS belongs to one route alone.
//
// Usage: node --max-old-space-size=8192 bench/heapdiff-worker.js <route> <objects> <gcIterations> [airbnbPath]
//   route: memwatch | memwatch-examples | airbnb | v8 | floor; gcIterations: allocations per GC-loop round (0: no loop)
//
// 1. builds a heap of <objects> small `Item`s held in an array;
// 2. times a GC-heavy loop (5 rounds of <gcIterations> allocations; 0 skips it);
// 3. times a heap diff around a 10 % leak (<objects>/10 `LeakingClass`es
//    allocated between the two snapshots; the leak itself is not timed);
// 4. drops the leak and times the same GC-heavy loop again (same heap as in 2);
// 5. prints one JSON line: times, RSS before the diff, peak RSS (VmHWM, read
//    here at the end), and the `+` count the route reports for LeakingClass.

const fs = require('fs');
const v8 = require('v8');

class Item {
  constructor(i) {
    this.i = i;
    this.s = 'x';
  }
}

class LeakingClass {
  constructor(i) {
    this.i = i;
    this.s = 'leak';
  }
}

// Everything the measurement keeps alive hangs off this module-level object.
const held = { items: null, leak: null };

function buildHeap(n) {
  const items = new Array(n);
  for (let i = 0; i < n; i++) items[i] = new Item(i);
  held.items = items;
}

function leak(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(new LeakingClass(i));
  held.leak = out;
}

/** kB fields of /proc/self/status, in bytes. */
function procStatus(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// The GC loop runs in rounds; the parent compares the fastest round of each
// side (GC scheduling makes single rounds vary by +-15 %).
const GC_ROUNDS = 5;

/**
 * GC-heavy work: short-lived objects, every 8th kept for a while in a ring of
 * survivors, so scavenges copy (and partly promote) objects. Every object a
 * GC moves is reported to V8's heap profiler while it tracks object ids,
 * which is what a lingering id map slows down.
 */
function gcRound(iterations) {
  const survivors = new Array(5000);
  let sink = 0;
  const t0 = nowMs();
  for (let i = 0; i < iterations; i++) {
    const o = { i, s: i & 1 ? 'odd' : 'even', a: [i, i + 1] };
    if ((i & 7) === 0) survivors[(i >> 3) % survivors.length] = o;
    sink += o.a.length;
  }
  const ms = nowMs() - t0;
  if (sink !== iterations * 2) throw new Error('gc loop miscounted');
  return ms;
}

/** GC_ROUNDS rounds of the loop; round times in ms (null when skipped). */
function gcLoop(iterations) {
  if (iterations <= 0) return null;
  const times = [];
  for (let r = 0; r < GC_ROUNDS; r++) times.push(gcRound(iterations));
  return times;
}

// --- route 1 and 2: memwatch's API ------------------------------------------

function memwatchRoute(memwatch, leakCount, examples) {
  const t0 = nowMs();
  const hd = new memwatch.HeapDiff();
  const t1 = nowMs();
  leak(leakCount);
  const t2 = nowMs();
  const diff = hd.end({ examples });
  const t3 = nowMs();
  // Where the time went, from the addon's own clock (native backend only).
  const watcher = memwatch._backend && memwatch._backend.watcher; // none in @airbnb/node-memwatch
  const phases = (watcher && watcher.lastPhases) || {};
  const row = diff.change.details.find((d) => d.what === 'LeakingClass');
  return {
    phase1Ms: t1 - t0,
    phase2Ms: t3 - t2,
    leakingPlus: row ? row['+'] : 0,
    nodesBefore: diff.before.nodes,
    nodesAfter: diff.after.nodes,
    allocatedNodes: diff.change.allocated_nodes,
    freedNodes: diff.change.freed_nodes,
    v8SnapshotMs: phases.snapshot,
    v8DeleteMs: phases.delete,
    walkMs: phases.walk,
    analysisMs: phases.diff,
  };
}

// --- route 3: v8.getHeapSnapshot(), as a user writes it ---------------------

/**
 * Streams one snapshot into memory, parses it and reduces it to id -> class
 * (inside the 'end' handler, so that neither the chunks nor the parsed JSON
 * stay reachable from the stream or the promise while the next snapshot is
 * taken: they would be counted in it).
 */
function readSnapshotClasses() {
  return new Promise((resolve, reject) => {
    let chunks = [];
    const stream = v8.getHeapSnapshot();
    stream.on('data', (c) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        chunks = null;
        resolve(classById(JSON.parse(text)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

// memwatch's labels for nodes that are not plain objects.
const TYPE_LABELS = {
  hidden: 'Hidden',
  array: 'Array',
  string: 'String',
  code: 'Code',
  closure: 'Closure',
  regexp: 'RegExp',
  number: 'Number',
  native: 'Native',
  synthetic: 'Synthetic',
  'concatenated string': 'String',
  'sliced string': 'String',
  symbol: 'Symbol',
  bigint: 'BigInt',
  'object shape': 'Hidden',
};

/** id -> class label of every node of a parsed snapshot. */
function classById(snapshot) {
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const idAt = fields.indexOf('id');
  const types = meta.node_types[typeAt];
  const { nodes, strings } = snapshot;
  const out = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const label = type === 'object' ? strings[nodes[i + nameAt]] : TYPE_LABELS[type] || type;
    out.set(nodes[i + idAt], label);
  }
  return out;
}

/** Per-class '+' and '-' counts between two id -> class maps. */
function diffClasses(before, after) {
  const details = new Map();
  const row = (what) => {
    let r = details.get(what);
    if (!r) details.set(what, (r = { what, '+': 0, '-': 0 }));
    return r;
  };
  for (const [id, what] of after) if (!before.has(id)) row(what)['+']++;
  for (const [id, what] of before) if (!after.has(id)) row(what)['-']++;
  return details;
}

/**
 * Both snapshots, each reduced to id -> class, then the diff. The first map
 * is in the JS heap while the second snapshot is taken, so the second also
 * counts a few thousand nodes of it (not LeakingClass): a cost of this route.
 */
async function v8Route(leakCount) {
  const t0 = nowMs();
  let before = await readSnapshotClasses();
  const t1 = nowMs();
  leak(leakCount);
  const t2 = nowMs();
  const after = await readSnapshotClasses();
  const details = diffClasses(before, after);
  const t3 = nowMs();
  const nodesBefore = before.size;
  before = null;
  const row = details.get('LeakingClass');
  let allocated = 0;
  let freed = 0;
  for (const r of details.values()) {
    allocated += r['+'];
    freed += r['-'];
  }
  return {
    phase1Ms: t1 - t0,
    phase2Ms: t3 - t2,
    leakingPlus: row ? row['+'] : 0,
    nodesBefore,
    nodesAfter: after.size,
    allocatedNodes: allocated,
    freedNodes: freed,
  };
}

// --- reference: V8's two snapshots alone ------------------------------------

/** Destroys a snapshot stream unread (its native snapshot is deleted with it). */
function discard(stream) {
  return new Promise((resolve) => {
    stream.on('close', resolve);
    stream.destroy();
  }).then(() => new Promise((resolve) => setImmediate(resolve)));
}

/**
 * Times only the two HeapProfiler::TakeHeapSnapshot calls (v8.getHeapSnapshot()
 * takes the snapshot synchronously; the stream is then destroyed unread): what
 * any diff built on V8's HeapProfiler pays at least, in time and peak memory.
 */
async function floorRoute(leakCount) {
  const t0 = nowMs();
  const first = v8.getHeapSnapshot();
  const t1 = nowMs();
  await discard(first);
  leak(leakCount);
  const t2 = nowMs();
  const second = v8.getHeapSnapshot();
  const t3 = nowMs();
  await discard(second);
  return { phase1Ms: t1 - t0, phase2Ms: t3 - t2, leakingPlus: null };
}

// -----------------------------------------------------------------------------

function loadRoute(route, modulePath) {
  if (route === 'memwatch' || route === 'memwatch-examples') return require('..');
  if (route === 'airbnb') return require(modulePath);
  if (route === 'v8' || route === 'floor') return null;
  throw new Error(`unknown route ${route}`);
}

async function main() {
  const [route, objectsArg, gcArg, modulePath] = process.argv.slice(2);
  const objects = Number(objectsArg);
  const gcIterations = Number(gcArg || 0);
  let mod;
  try {
    mod = loadRoute(route, modulePath);
  } catch (err) {
    process.stdout.write(JSON.stringify({ route, objects, loadError: String(err && err.message) }) + '\n');
    return;
  }
  buildHeap(objects);
  if (gcIterations > 0) gcRound(gcIterations); // warm-up: optimized code, grown young generation
  const gcBeforeMs = gcLoop(gcIterations);
  const rssBefore = procStatus('VmRSS');
  const leakCount = Math.round(objects / 10);
  let r;
  if (route === 'v8') r = await v8Route(leakCount);
  else if (route === 'floor') r = await floorRoute(leakCount);
  else r = memwatchRoute(mod, leakCount, route === 'memwatch-examples' ? 3 : 0);
  const heldObjects = held.items.length + held.leak.length;
  // The second loop runs on the same heap as the first (the leak would add
  // 10 % to every full GC's marking), so it shows the id map's cost alone.
  if (gcIterations > 0) held.leak = null;
  const gcAfterMs = gcLoop(gcIterations);
  const result = {
    route,
    objects,
    leakCount,
    ...r,
    totalMs: r.phase1Ms + r.phase2Ms,
    gcBeforeMs,
    gcAfterMs,
    rssBefore,
    peakRss: procStatus('VmHWM'),
    heldObjects,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack}\n`);
  process.exit(1);
});
