'use strict';
// The `memwatch` CLI and memwatch.analyzeSnapshot() on snapshots generated
// here; bad files must give one line naming what and where, exit code 3,
// never a crash or a hang. (The numbers themselves are checked against
// Chrome DevTools' own code in __test__/once/devtools.test.js.)
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

test('analyze: the whole snapshot in classes, largest retained size first', () => {
  const r = cli('analyze', snap('b'), '--top', '1000000', '--json');
  assert.strictEqual(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const s = JSON.parse(fs.readFileSync(snap('b'), 'utf8'));
  const meta = s.snapshot.meta;
  assert.strictEqual(got.nodes, s.nodes.length / meta.node_fields.length);
  assert.strictEqual(got.edges, s.edges.length / meta.edge_fields.length);
  const sizeAt = meta.node_fields.indexOf('self_size');
  let total = 0;
  for (let i = sizeAt; i < s.nodes.length; i += meta.node_fields.length) total += s.nodes[i];
  assert.strictEqual(got.self_size, total);
  assert.strictEqual(got.class_count, got.groups.length);
  // DevTools moves owned sizes between nodes but loses none: the classes
  // hold every byte, and only zero-size nodes are in none.
  assert.strictEqual(got.groups.reduce((n, g) => n + g.self_size, 0), total);
  assert.ok(got.groups.reduce((n, g) => n + g.count, 0) < got.nodes);
  for (const g of got.groups) assert.ok(g.count > 0 && g.self_size > 0 && g.retained_size >= g.self_size, g.name);
  assert.strictEqual(got.groups.find((g) => g.name === 'LeakingClass').count, 3000);
  const retained = got.groups.map((g) => g.retained_size);
  assert.deepStrictEqual(retained, [...retained].sort((a, b) => b - a));
});

test('analyze: sizes past 2^64 in a crafted snapshot saturate, never wrap to 0', () => {
  const s = JSON.parse(fs.readFileSync(snap('a'), 'utf8'));
  const nf = s.snapshot.meta.node_fields.length;
  const at = s.snapshot.meta.node_fields.indexOf('self_size');
  const huge = '9223372036854775808'; // 2^63: three of them pass 2^64
  const text = JSON.stringify(s).replace(/"nodes":\[(.*?)\]/, (all, list) => {
    const nums = list.split(',');
    for (const node of [1, 2, 3]) nums[node * nf + at] = huge;
    return `"nodes":[${nums.join(',')}]`;
  });
  const file = path.join(dir, 'huge-sizes.heapsnapshot');
  fs.writeFileSync(file, text);
  const r = cli('analyze', file, '--json', '--top', '1000000');
  assert.strictEqual(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.strictEqual(got.self_size, 2 ** 64);
  assert.strictEqual(got.groups[0].retained_size, 2 ** 64);
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
  // V8 14.6 (Node 26) reaches the global object through its native context:
  // '(GC roots) → system / NativeContext.global_object (internal) → global (global*).cache ...'.
  assert.match(g.path, /^\(GC roots\) → (.* → )?global( \(global\*\))?\.cache \(property\) → .*LeakingClass @\d+$/);
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
  for (const x of p.paths) assert.match(x.path, /global( \(global\*\))?\.cache/);
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

// Off-thread parsing, aborts, stream failures, exit: analyze-threads.test.js.
test('analyzeSnapshot() takes a path, a file stream or a live snapshot stream', async () => {
  const fromPath = await memwatch.analyzeSnapshot(snap('b'), { top: 1000 });
  assert.strictEqual(fromPath.groups.find((g) => g.name === 'LeakingClass').count, 3000);
  const fromStream = await memwatch.analyzeSnapshot(fs.createReadStream(snap('b')), { top: 1000 });
  assert.deepStrictEqual(fromStream, fromPath);

  const live = await memwatch.analyzeSnapshot(v8.getHeapSnapshot());
  assert.ok(live.nodes > 1000 && live.groups.length === 20);

  await assert.rejects(memwatch.analyzeSnapshot(path.join(dir, 'nope')), { code: 'ERR_SNAPSHOT_READ' });
  await assert.rejects(
    memwatch.analyzeSnapshot(fs.createReadStream(path.join(dir, 'truncated'))),
    { code: 'ERR_SNAPSHOT_PARSE', message: /at byte \d+/ }
  );
  await assert.rejects(memwatch.analyzeSnapshot(42), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(memwatch.analyzeSnapshot(snap('a'), { top: 0 }), { code: 'ERR_OUT_OF_RANGE' });
});
