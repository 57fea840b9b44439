'use strict';
// index.d.ts must compile under --strict and describe the runtime: every
// field it declares on a stats payload is present at runtime, and vice versa.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const memwatch = require('..');

const root = path.join(__dirname, '..');

test('index.d.ts compiles with the usage examples under --strict', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--esModuleInterop', '--types', 'node',
    path.join(__dirname, 'types', 'usage.ts'),
  ], { encoding: 'utf8', cwd: root });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
});

test('the Stats interface lists exactly the runtime fields', () => {
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8');
  const body = dts.slice(dts.indexOf('interface Stats {'), dts.indexOf('interface LeakInfo'));
  const declared = [...body.matchAll(/^\s+(\w+): number;/gm)].map((m) => m[1]).sort();
  assert.deepStrictEqual(declared, Object.keys(memwatch.gc()).sort());
});
