'use strict';
// The `memwatch` CLI and memwatch.analyzeSnapshot() on snapshots generated
// here, checked against a plain JS reference computation; bad files must
// give one line naming what and where, exit code 3, never a crash or a hang.
const test = require('node:test');
const assert = require('node:assert');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const memwatch = require('..');

const CLI = path.join(__dirname, '..', 'bin', 'memwatch.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-cli-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Three snapshots of a child process with a known leak: 3000 LeakingClass
// objects added between a and b, 1000 of them released before c.
const snap = (name) => path.join(dir, `${name}.heapsnapshot`);
execFileSync(process.execPath, ['-e', `
  const v8 = require('v8');
  class LeakingClass { constructor(i) { this.i = i; } }
  globalThis.cache = [];
  v8.writeHeapSnapshot(${JSON.stringify(snap('a'))});
  for (let i = 0; i < 3000; i++) globalThis.cache.push(new LeakingClass(i));
  v8.writeHeapSnapshot(${JSON.stringify(snap('b'))});
  globalThis.cache.length = 2000;
  v8.writeHeapSnapshot(${JSON.stringify(snap('c'))});
`]);

function cli(...args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.strictEqual(r.signal, null, `killed: ${r.stderr}`);
  return r;
}

/** DevTools' Summary rules, computed the obvious way from the parsed JSON. */
function referenceGroups(file) {
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const types = meta.node_types[0];
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => meta.node_fields.indexOf(f));
  const fixed = {
    hidden: '(system)', closure: 'Function', code: '(compiled code)', string: '(string)',
    'concatenated string': '(string)', 'sliced string': '(string)', array: '(array)',
    regexp: '(regexp)', number: '(number)', synthetic: '(synthetic)', symbol: '(symbol)',
    bigint: '(bigint)', 'object shape': '(object shape)',
  };
  const groups = new Map();
  for (let i = 0; i < s.nodes.length; i += nf) {
    const type = types[s.nodes[i + ti]];
    const size = s.nodes[i + si];
    if (size === 0 && type !== 'native') continue;
    const name = type === 'object' || type === 'native' ? s.strings[s.nodes[i + ni]] : fixed[type] || `(${type})`;
    const g = groups.get(name) || { count: 0, self_size: 0 };
    g.count++;
    g.self_size += size;
    groups.set(name, g);
  }
  return { groups, nodes: s.nodes.length / nf, edges: s.edges.length / meta.edge_fields.length };
}

test('analyze: class counts and self sizes equal a reference computation', () => {
  const r = cli('analyze', snap('b'), '--top', '1000000', '--json');
  assert.strictEqual(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const ref = referenceGroups(snap('b'));
  assert.strictEqual(got.nodes, ref.nodes);
  assert.strictEqual(got.edges, ref.edges);
  assert.strictEqual(got.class_count, ref.groups.size);
  assert.strictEqual(got.groups.length, ref.groups.size);
  for (const g of got.groups) {
    const want = ref.groups.get(g.name);
    assert.ok(want, `unexpected class ${g.name}`);
    assert.deepStrictEqual({ count: g.count, self_size: g.self_size }, want, g.name);
    assert.ok(g.retained_size >= g.self_size || g.name === '(system)', `${g.name} retained < self`);
  }
  assert.strictEqual(got.groups.find((g) => g.name === 'LeakingClass').count, 3000);
  // Sorted by retained size, largest first.
  const retained = got.groups.map((g) => g.retained_size);
  assert.deepStrictEqual(retained, [...retained].sort((a, b) => b - a));
});

test('analyze: human output is a table; --top limits the rows', () => {
  const r = cli('analyze', snap('b'), '--top', '3');
  assert.strictEqual(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /nodes, \d+ edges/);
  assert.match(lines[1], /^Class\s+Count\s+Self size\s+Retained size$/);
  assert.strictEqual(lines.length, 3 + 3);
  assert.strictEqual(r.stderr, '', 'no progress bar when stderr is not a terminal');
});

test('diff: the known leak, in memwatch\'s details schema', () => {
  const r = cli('diff', snap('a'), snap('b'), '--json');
  assert.strictEqual(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  const row = d.change.details.find((x) => x.what === 'LeakingClass');
  assert.deepStrictEqual([row['+'], row['-']], [3000, 0]);
  assert.ok(row.size_bytes >= 3000 * 16 && row.retained_size_bytes >= row.size_bytes);
  assert.strictEqual(d.change.allocated_nodes, d.change.details.reduce((n, x) => n + x['+'], 0));
  const back = JSON.parse(cli('diff', snap('b'), snap('c'), '--json').stdout);
  assert.deepStrictEqual(
    [back.change.details.find((x) => x.what === 'LeakingClass')['-']],
    [1000]
  );
});

test('leaks: survivors of target in final, with a path naming the holder; exit 1', () => {
  const r = cli('leaks', snap('a'), snap('b'), snap('c'), '--json');
  assert.strictEqual(r.status, 1, r.stderr);
  const { leaks } = JSON.parse(r.stdout);
  const g = leaks.find((x) => x.name === 'LeakingClass');
  assert.strictEqual(g.count, 2000);
  assert.match(g.path, /^\(GC roots\) → global\.cache \(property\) → .*LeakingClass @\d+$/);
  const same = cli('leaks', snap('a'), snap('a'), snap('a'));
  assert.strictEqual(same.status, 0, same.stdout);
  assert.match(same.stdout, /no leak candidates/);
});

test('paths: --class and --limit', () => {
  const r = cli('paths', snap('c'), '--class', 'LeakingClass', '--limit', '2', '--json');
  assert.strictEqual(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout);
  assert.strictEqual(p.count, 2000);
  assert.strictEqual(p.paths.length, 2);
  for (const x of p.paths) assert.match(x.path, /global\.cache/);
});

test('usage errors exit 2', () => {
  for (const args of [[], ['frob'], ['analyze'], ['analyze', 'a', 'b'], ['paths', snap('a')],
    ['analyze', snap('a'), '--top', '0'], ['analyze', snap('a'), '--bogus'], ['diff', snap('a')]]) {
    const r = cli(...args);
    assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr + r.stdout, /usage:/);
  }
  assert.strictEqual(cli('--help').status, 0);
});

test('options are parsed by util.parseArgs and checked: ranges, values, per command', () => {
  const cases = [
    [['analyze', snap('a'), '--top', '4294967296'], /--top must be a whole number from 1 to 1000000, got 4294967296/],
    [['analyze', snap('a'), '--top', '1e3'], /--top must be a whole number/],
    [['analyze', snap('a'), '--top'], /argument missing/],
    [['analyze', snap('a'), '--json=yes'], /does not take an argument/],
    [['analyze', snap('a'), '--limit', '3'], /analyze does not take --limit/],
    [['paths', snap('a'), '--class', 'X', '--limit', '-1'], /./],
    [['paths', snap('a'), '--class', 'X', '--limit', '1000001'], /--limit must be a whole number from 1 to 1000000/],
  ];
  for (const [args, message] of cases) {
    const r = cli(...args);
    assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.strictEqual(r.stdout, '');
  }
  assert.strictEqual(cli('-h').status, 0);
  const big = cli('analyze', snap('a'), '--top', '1000000');
  assert.strictEqual(big.status, 0, big.stderr);
  assert.ok(big.stdout.split('\n').length > 100, 'the largest --top prints every class');
});

test('piped into a reader that stops early (| head), it exits quietly with its own code', async () => {
  // 2000 retainer paths: far more than a pipe buffer holds.
  for (const [args, code] of [
    [['paths', snap('c'), '--class', 'LeakingClass', '--limit', '2000'], 0],
    [['leaks', snap('a'), snap('b'), snap('c'), '--json'], 1],
  ]) {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const [status, signal] = await new Promise((resolve) => child.on('close', (...a) => resolve(a)));
    assert.strictEqual(signal, null);
    assert.strictEqual(stderr, '', 'no stack trace');
    assert.strictEqual(status, code, args[0]);
  }
});

test('names from a hostile snapshot cannot drive the terminal (escaped in human output)', () => {
  const evil = 'Evil\x1b[2J\x1b]0;pwned\x07\nFAKE LINE\u202eesrever\\';
  const copy = JSON.parse(fs.readFileSync(snap('c'), 'utf8'));
  const at = copy.strings.indexOf('LeakingClass');
  assert.ok(at > 0);
  copy.strings[at] = evil;
  const file = path.join(dir, 'hostile.heapsnapshot');
  fs.writeFileSync(file, JSON.stringify(copy));
  const escaped = 'Evil\\x1b[2J\\x1b]0;pwned\\x07\\nFAKE LINE\\u202eesrever\\\\';
  for (const args of [['analyze', file, '--top', '1000'], ['paths', file, '--class', evil, '--limit', '2'], ['diff', snap('a'), file]]) {
    const r = cli(...args);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f\u202e]/, `${args[0]}: raw control characters`);
    assert.ok(r.stdout.includes(escaped.slice(0, 40)), `${args[0]}:\n${r.stdout.slice(0, 2000)}`);
    assert.ok(!r.stdout.split('\n').some((l) => l.startsWith('FAKE LINE')), 'no injected line');
  }
  // --json stays exact (JSON escapes what needs escaping).
  const json = JSON.parse(cli('analyze', file, '--top', '1000', '--json').stdout);
  assert.ok(json.groups.some((g) => g.name === evil));
});

test('bad files: one line naming what and where, exit 3', () => {
  const good = fs.readFileSync(snap('a'), 'utf8');
  const s = JSON.parse(good);
  const variant = (name, text) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const mutated = (fn) => {
    const copy = JSON.parse(good);
    fn(copy);
    return JSON.stringify(copy);
  };
  const cases = {
    truncated: variant('truncated', good.slice(0, Math.floor(good.length / 2))),
    empty: variant('empty', ''),
    'not json': variant('notjson', 'this is not a heap snapshot'),
    'binary garbage': variant('garbage', Buffer.from([0xff, 0x00, 0x7b, 0x22, 0xfe]).toString('latin1')),
    'wrong meta': variant('meta', mutated((x) => { x.snapshot.meta.node_fields = ['nope']; })),
    'node index out of range': variant('toindex', mutated((x) => {
      const ef = x.snapshot.meta.edge_fields.length;
      x.edges[ef - 1] = x.nodes.length * 10;
    })),
    'string index out of range': variant('strindex', mutated((x) => {
      x.nodes[x.snapshot.meta.node_fields.indexOf('name')] = x.strings.length + 5;
    })),
    'absurd size': variant('absurd', mutated((x) => {
      x.nodes[x.snapshot.meta.node_fields.indexOf('self_size')] = -5;
    })),
    'missing file': path.join(dir, 'does-not-exist.heapsnapshot'),
  };
  assert.ok(s.nodes.length > 0);
  for (const [what, file] of Object.entries(cases)) {
    const r = cli('analyze', file);
    assert.strictEqual(r.status, 3, `${what}: status ${r.status}\n${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.strictEqual(lines.length, 1, `${what}: ${r.stderr}`);
    assert.ok(lines[0].startsWith('memwatch: ') && lines[0].includes(path.basename(file)), `${what}: ${lines[0]}`);
    if (what !== 'missing file') assert.match(lines[0], /at byte \d+/, `${what}: ${lines[0]}`);
  }
});

test('analyzeSnapshot() takes a path or a stream and keeps the event loop free', async () => {
  const fromPath = await memwatch.analyzeSnapshot(snap('b'), { top: 1000 });
  assert.strictEqual(fromPath.groups.find((g) => g.name === 'LeakingClass').count, 3000);
  const fromStream = await memwatch.analyzeSnapshot(fs.createReadStream(snap('b')), { top: 1000 });
  assert.deepStrictEqual(fromStream, fromPath);

  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const live = await memwatch.analyzeSnapshot(v8.getHeapSnapshot());
  clearInterval(timer);
  assert.ok(live.nodes > 1000 && live.groups.length === 20);
  assert.ok(ticks > 0, 'timers ran while the snapshot was analyzed');

  await assert.rejects(memwatch.analyzeSnapshot(path.join(dir, 'nope')), { code: 'ERR_SNAPSHOT_READ' });
  await assert.rejects(
    memwatch.analyzeSnapshot(fs.createReadStream(path.join(dir, 'truncated'))),
    { code: 'ERR_SNAPSHOT_PARSE', message: /at byte \d+/ }
  );
  await assert.rejects(memwatch.analyzeSnapshot(42), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(memwatch.analyzeSnapshot(snap('a'), { top: 0 }), { code: 'ERR_OUT_OF_RANGE' });
});
