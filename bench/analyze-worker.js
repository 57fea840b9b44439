'use strict';
// Child of bench/analyze.js: `node bench/analyze-worker.js <tool> <file> <top>`.
// Does ONE tool's "parse + class groups + retained sizes" job on a
// .heapsnapshot, then prints one line `RESULT {json}` on stdout with
//   phases   ms per phase (load = require of the tool; the phases sum to the
//            job; the parent also measures wall time from spawn to exit)
//   baseRss  VmRSS (bytes) after the tool's require, before any work
//   peakRss  VmHWM (bytes) of this process at the end (the whole process)
//   nodes    node count, where the tool exposes it
//   top      largest class by retained size { name, count, self, retained }
//   item     count of class `Item` (the fixture's 1 object per N)
// Anything the tools print themselves (memlab logs progress) is ignored by
// the parent, which only reads the RESULT line.

const fs = require('fs');
const path = require('path');

const THIRD_PARTY_MODULES = path.join(__dirname, 'third-party', 'node_modules');
const MEMWATCH = path.join(__dirname, '..');

function procStatus(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

function thirdParty(name) {
  return require(require.resolve(name, { paths: [THIRD_PARTY_MODULES] }));
}

/** Runs fn, records its duration under phases[name], returns its result. */
async function phase(phases, name, fn) {
  const t = process.hrtime.bigint();
  const r = await fn();
  phases[name] = Number(process.hrtime.bigint() - t) / 1e6;
  return r;
}

// --- memwatch: require('memwatch').analyzeSnapshot (the CLI's Rust code) -----

async function runMemwatch(file, top, phases) {
  const memwatch = await phase(phases, 'load', () => require(MEMWATCH));
  const baseRss = procStatus('VmRSS');
  const r = await phase(phases, 'parse+groups', () => memwatch.analyzeSnapshot(file, { top }));
  const item = r.groups.find((g) => g.name === 'Item');
  const g = r.groups[0];
  return {
    baseRss,
    nodes: r.nodes,
    top: g && { name: g.name, count: g.count, self: g.self_size, retained: g.retained_size },
    item: item ? item.count : null,
  };
}

// --- @vscode/v8-heap-parser: decode_bytes + Graph.get_class_groups ----------

async function runVscode(file, top, phases) {
  const parser = await phase(phases, 'load', () => thirdParty('@vscode/v8-heap-parser'));
  const baseRss = procStatus('VmRSS');
  let bytes = await phase(phases, 'read', () => fs.readFileSync(file));
  const graph = await phase(phases, 'parse', () => parser.decode_bytes(bytes));
  bytes = null;
  // no_retained = false: the groups' retained sizes (dominator tree) are computed.
  // children_len is the group's node count.
  const groups = await phase(phases, 'groups', () =>
    graph.get_class_groups(0, top, false).map((g) => {
      const out = { name: g.name(), count: g.children_len, self: Number(g.self_size), retained: Number(g.retained_size) };
      g.free();
      return out;
    })
  );
  // (get_class_counts counts a name listed twice only at its first position: ask for Item alone)
  const counts = await phase(phases, 'count', () => graph.get_class_counts(['Item']));
  return { baseRss, nodes: null, top: groups[0], item: counts[0] };
}

// --- @memlab/heap-analysis: getFullHeapFromFile + class groups in JS ---------

const MEMLAB_LABELS = {
  hidden: '(system)',
  closure: 'Function',
  code: '(compiled code)',
  string: '(string)',
  'concatenated string': '(string)',
  'sliced string': '(string)',
  array: '(array)',
  regexp: '(regexp)',
  number: '(number)',
  synthetic: '(synthetic)',
  symbol: '(symbol)',
  bigint: '(bigint)',
  'object shape': '(object shape)',
};

function memlabClass(node) {
  const t = node.type;
  if (t === 'object' || t === 'native') return node.name;
  return MEMLAB_LABELS[t] || `(${t})`;
}

/**
 * DevTools' Summary from memlab's dominators: count and self size per class;
 * a class's retained size sums its nodes that no other node of the class
 * dominates (a DFS of the dominator tree with a per-class "on the path" count).
 * Like DevTools (and memwatch), nodes of size 0 that are not native (the
 * synthetic roots, mostly) are in no class.
 */
function memlabGroups(snapshot) {
  const n = snapshot.nodes.length;
  const classOf = new Int32Array(n);
  const dom = new Int32Array(n).fill(-1);
  const retained = new Float64Array(n);
  const names = [];
  const ids = new Map();
  const groups = [];
  snapshot.nodes.forEach((node) => {
    const i = node.nodeIndex;
    const d = node.dominatorNode;
    if (d && d.nodeIndex !== i) dom[i] = d.nodeIndex;
    retained[i] = node.retainedSize || 0;
    if (node.self_size === 0 && node.type !== 'native') {
      classOf[i] = -1;
      return;
    }
    const name = memlabClass(node);
    let c = ids.get(name);
    if (c === undefined) {
      c = names.length;
      ids.set(name, c);
      names.push(name);
      groups.push({ name, count: 0, self: 0, retained: 0 });
    }
    classOf[i] = c;
    groups[c].count++;
    groups[c].self += node.self_size;
  });
  // children lists of the dominator tree (CSR)
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) if (dom[i] >= 0) start[dom[i] + 1]++;
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const kids = new Int32Array(start[n]);
  for (let i = 0; i < n; i++) if (dom[i] >= 0) kids[fill[dom[i]]++] = i;
  // iterative DFS from every dominator-tree root
  const onPath = new Int32Array(names.length);
  const enter = (v) => {
    const c = classOf[v];
    if (c >= 0 && onPath[c]++ === 0) groups[c].retained += retained[v];
  };
  const leave = (v) => {
    if (classOf[v] >= 0) onPath[classOf[v]]--;
  };
  const stack = new Int32Array(n);
  const next = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    if (dom[r] >= 0) continue;
    let sp = 0;
    stack[0] = r;
    next[r] = start[r];
    enter(r);
    while (sp >= 0) {
      const v = stack[sp];
      if (next[v] < start[v + 1]) {
        const w = kids[next[v]++];
        stack[++sp] = w;
        next[w] = start[w];
        enter(w);
      } else {
        leave(v);
        sp--;
      }
    }
  }
  return groups.sort((a, b) => b.retained - a.retained);
}

async function runMemlab(file, top, phases) {
  const memlab = await phase(phases, 'load', () => thirdParty('@memlab/heap-analysis'));
  const baseRss = procStatus('VmRSS');
  // parse + shortest paths + dominators + retained sizes (+ React Fiber marks)
  const snapshot = await phase(phases, 'parse+dominators', () => memlab.getFullHeapFromFile(file));
  const groups = await phase(phases, 'groups', () => memlabGroups(snapshot));
  const item = groups.find((g) => g.name === 'Item');
  return { baseRss, nodes: snapshot.nodes.length, top: groups[0], item: item ? item.count : null };
}

const TOOLS = { memwatch: runMemwatch, vscode: runVscode, memlab: runMemlab };

async function main() {
  const [tool, file, topText] = process.argv.slice(2);
  if (!TOOLS[tool] || !file) throw new Error(`usage: analyze-worker.js <${Object.keys(TOOLS).join('|')}> <file> [top]`);
  const phases = {};
  const r = await TOOLS[tool](path.resolve(file), Number(topText) || 20, phases);
  r.phases = phases;
  r.peakRss = procStatus('VmHWM');
  process.stdout.write(`\nRESULT ${JSON.stringify(r)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err && err.stack) || err}\n`);
    process.exit(1);
  }
);
