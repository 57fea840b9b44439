'use strict';
// The V8 binding's assumptions, checked against the node running this test:
// its exported symbols (nm -D) and its own headers (include/node), through a
// C++ probe compiled here and never shipped (scripts/layout-probe.cc).
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { load } = require('../lib/binding');

const binding = load();
const includeDir = path.join(path.dirname(process.execPath), '..', 'include', 'node');
const v8Major = Number(process.versions.v8.split('.')[0]);

test('every V8 symbol the binding resolves is exported by this node', () => {
  const nm = spawnSync('nm', ['-D', '--defined-only', process.execPath], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.strictEqual(nm.status, 0, `nm failed: ${nm.stderr || nm.error}`);
  const exported = new Set(nm.stdout.split('\n').map((l) => l.split(' ').pop()));
  const symbols = binding.v8Symbols();
  assert.ok(symbols.length >= 9);
  for (const s of symbols) assert.ok(exported.has(s), `${s} not exported by ${process.execPath}`);
  assert.strictEqual(binding.nativeBindingProblem(), null);
});

test('HeapStatistics offsets match this node\'s v8-statistics.h', () => {
  assert.ok(
    fs.existsSync(path.join(includeDir, 'v8-statistics.h')),
    `no V8 headers at ${includeDir}`
  );
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-probe-')), 'probe');
  const cc = spawnSync('g++', [
    '-std=c++20', '-I', includeDir, path.join(__dirname, '..', 'scripts', 'layout-probe.cc'), '-o', out,
  ], { encoding: 'utf8' });
  assert.strictEqual(cc.status, 0, `g++ failed: ${cc.stderr || cc.error}`);
  const probe = JSON.parse(spawnSync(out, { encoding: 'utf8' }).stdout);
  assert.strictEqual(probe.v8_major, v8Major);
  const { v8_major: _, ...fromHeaders } = probe;
  assert.deepStrictEqual(binding.heapStatisticsLayout(v8Major), fromHeaders);
});

test('unknown V8 majors have no layout (they use the fallback)', () => {
  assert.strictEqual(binding.heapStatisticsLayout(9), null);
  assert.strictEqual(binding.heapStatisticsLayout(99), null);
});
