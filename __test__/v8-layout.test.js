'use strict';
// The V8 binding's assumptions, checked against the node running this test:
// its exported symbols (nm -D) and its own headers (include/node), through a
// C++ probe compiled here and never shipped (scripts/v8-probe.cc). Run under
// every Node of the matrix, this checks every row of the binding's table
// that CI has a Node for.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { load } = require('../lib/binding');
const { runScenario } = require('./helpers');

const binding = load();
// nm, g++ and include/node: the header and export checks run on Linux (CI's
// full job); on other platforms __test__/once/platforms.test.js covers exports.
const linuxOnly = process.platform === 'linux' ? {} : { skip: 'needs nm, g++ and include/node (Linux)' };
const includeDir = path.join(path.dirname(process.execPath), '..', 'include', 'node');
const [v8Major, v8Minor] = process.versions.v8.split('.').map(Number);
const PROBE = path.join(__dirname, '..', 'scripts', 'v8-probe.cc');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-probe-'));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

function compile(defines, out) {
  const args = ['-std=c++20', '-I', includeDir, PROBE, ...defines.map((d) => `-D${d}`)];
  return spawnSync('g++', out ? [...args, '-o', out] : [...args, '-fsyntax-only'], { encoding: 'utf8' });
}

let probe = null;
function probeOutput() {
  if (probe) return probe;
  assert.ok(fs.existsSync(path.join(includeDir, 'v8-statistics.h')), `no V8 headers at ${includeDir}`);
  const out = path.join(work, 'probe');
  const cc = compile([], out);
  assert.strictEqual(cc.status, 0, `g++ failed: ${cc.stderr || cc.error}`);
  probe = JSON.parse(spawnSync(out, { encoding: 'utf8' }).stdout);
  return probe;
}

test('this node is covered by a verified row of the table, on the native backend', () => {
  const profile = binding.v8Profile(process.versions.v8);
  assert.ok(profile, `no row for V8 ${process.versions.v8}`);
  assert.strictEqual(profile.verified, true);
  assert.strictEqual(binding.nativeBindingProblem(), null);
  assert.strictEqual(require('..').backend, 'v8', require('..').backendReason);
});

test('every V8 symbol the binding resolves is exported by this node', linuxOnly, () => {
  const nm = spawnSync('nm', ['-D', '--defined-only', process.execPath], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.strictEqual(nm.status, 0, `nm failed: ${nm.stderr || nm.error}`);
  const exported = new Set(nm.stdout.split('\n').map((l) => l.split(' ').pop()));
  const symbols = binding.v8Symbols();
  assert.ok(symbols.length >= 25, `only ${symbols.length} symbols`);
  for (const s of symbols) assert.ok(exported.has(s), `${s} not exported by ${process.execPath}`);
});

test("HeapStatistics offsets match this node's v8-statistics.h", linuxOnly, () => {
  const p = probeOutput();
  assert.deepStrictEqual([p.v8_major, p.v8_minor], [v8Major, v8Minor]);
  assert.deepStrictEqual(binding.heapStatisticsLayout(v8Major, v8Minor), p.heap_statistics);
});

test("AllocationProfile's layout and vtable slots match this node's v8-profiler.h", linuxOnly, () => {
  const p = probeOutput();
  const ours = JSON.parse(binding.allocationProfileLayout(v8Major, v8Minor));
  const { msvc_deleting_dtor: msvc, sampling_flags: flags, ...itanium } = ours;
  assert.deepStrictEqual(itanium, p.allocation_profile);
  assert.strictEqual(flags.no_flags, p.sampling_flags.no_flags);
  // Declaration order (GetRootNode, GetSamples, ~AllocationProfile): MSVC
  // gives the destructor one slot where Itanium gives it two, the first of
  // which is the complete-object destructor. Not probed here (no MSVC).
  assert.strictEqual(msvc, p.allocation_profile.vtable.itanium_complete_dtor);
  // The probe is not vacuous: every slot it called was identified.
  assert.ok(Object.values(p.allocation_profile.vtable).every((slot) => slot >= 0), JSON.stringify(p.allocation_profile.vtable));
});

test("the sampling profiler's functions are declared as the binding calls them", linuxOnly, () => {
  const r = compile(['CHECK_SAMPLING']);
  assert.strictEqual(r.status, 0, `sampling signatures differ:\n${r.stderr}`);
});

test("GC types, node and edge types and UTF-8 flags match this node's headers", linuxOnly, () => {
  const p = probeOutput();
  const ours = JSON.parse(binding.v8Assumptions());
  assert.deepStrictEqual(ours.gc_type, p.gc_type);
  for (const [name, value] of Object.entries(p.node_type)) assert.strictEqual(ours.node_type[name], value, name);
  assert.deepStrictEqual(ours.edge_type, p.edge_type);
  const profile = binding.v8Profile(process.versions.v8);
  if (profile.utf8 === 'WriteUtf8') assert.strictEqual(ours.utf8.write_utf8_options, p.utf8.write_utf8_options);
  else assert.strictEqual(ours.utf8.write_utf8_v2_flags, p.utf8.write_utf8_v2_flags);
});

test("the snapshot and UTF-8 overloads the table picks are declared in this node's headers", linuxOnly, () => {
  const profile = binding.v8Profile(process.versions.v8);
  const checks = {
    ObjectNameResolver: 'CHECK_SNAPSHOT_OBJECT_NAME_RESOLVER',
    ContextNameResolver: 'CHECK_SNAPSHOT_CONTEXT_NAME_RESOLVER',
    WriteUtf8: 'CHECK_UTF8_WRITEUTF8',
    WriteUtf8V2: 'CHECK_UTF8_WRITEUTF8V2',
  };
  for (const choice of [profile.snapshot, profile.utf8]) {
    const r = compile([checks[choice]]);
    assert.strictEqual(r.status, 0, `${choice} is not declared as the binding calls it:\n${r.stderr}`);
  }
  // And the probe is not vacuous: a variant that does not exist fails to compile.
  const other = profile.snapshot === 'ObjectNameResolver' ? 'ContextNameResolver' : 'ObjectNameResolver';
  assert.notStrictEqual(compile([checks[other]]).status, 0, `${other} unexpectedly compiles`);
});

test('unknown V8 versions: older ones are refused, newer ones need start-up checks', () => {
  assert.strictEqual(binding.heapStatisticsLayout(9, 4), null);
  assert.strictEqual(binding.heapStatisticsLayout(15, 0), null);
  assert.strictEqual(binding.v8Profile('9.4.146.26'), null);
  assert.deepStrictEqual(binding.v8Profile('15.2.1-node.1'), {
    snapshot: 'ContextNameResolver',
    utf8: 'WriteUtf8V2',
    verified: false,
  });
});

// A future Node (its V8 newer than every row): the same binary must use the
// newest row only after checking it against this runtime, and fall back
// (never crash) when a check fails. MEMWATCH_TEST_V8_VERSION makes this node
// look like such a V8; MEMWATCH_TEST_FAIL_CHECK makes a check fail.
const FUTURE = `
  const hd = new memwatch.HeapDiff();
  class FutureLeak {}
  const kept = Array.from({ length: 321 }, () => new FutureLeak());
  const d = hd.end({ examples: 1 });
  const row = d.change.details.find((r) => r.what === 'FutureLeak');
  done({ backend: memwatch.backend, reason: memwatch.backendReason, verified: memwatch._backend.watcher && memwatch._backend.watcher.verified,
    plus: row && row['+'], path: row && row.examples[0].path, stats: memwatch.gc().num_full_gc, kept: kept.length,
    profiler: require(${JSON.stringify(path.join(__dirname, '..', 'lib', 'binding'))}).load().profilerProblem() });
`;

test('a newer V8 passes the start-up checks on a runtime whose layouts match', () => {
  const { result } = runScenario(FUTURE, { env: { MEMWATCH_TEST_V8_VERSION: '15.0.0-future' } });
  assert.strictEqual(result.backend, 'v8', result.reason);
  assert.strictEqual(result.verified, false);
  assert.strictEqual(result.plus, 321);
  assert.match(result.path, /FutureLeak @\d+$/);
  assert.strictEqual(result.profiler, null);
});

for (const check of ['heap_statistics', 'gc_callbacks']) {
  test(`a failed ${check} check selects the fallback, with the reason`, () => {
    const { result } = runScenario(FUTURE, {
      env: { MEMWATCH_TEST_V8_VERSION: '15.0.0-future', MEMWATCH_TEST_FAIL_CHECK: check },
    });
    assert.strictEqual(result.backend, 'perf_hooks');
    assert.match(result.reason, /check failed/);
    // The fallback still does everything: HeapDiff through a file, stats.
    assert.strictEqual(result.plus, 321);
    assert.strictEqual(result.stats, 1);
  });
}

test('a failed snapshot canary sends HeapDiff to the file route; GC events stay native', () => {
  const { result } = runScenario(FUTURE, { env: { MEMWATCH_TEST_FAIL_CHECK: 'snapshot_canary' } });
  assert.strictEqual(result.backend, 'v8');
  assert.match(result.profiler, /canary/);
  assert.strictEqual(result.plus, 321);
  assert.match(result.path, /FutureLeak @\d+$/);
});
