'use strict';
// The types of leak sites (index.d.ts, index.d.mts) compile under --strict as
// a user writes them (__test__/types/sites.ts and sites.mts), CommonJS and ESM.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const types = path.join(root, '__test__', 'types');

test('the sites API compiles under --strict, CommonJS and ESM', () => {
  for (const [file, mod] of [['sites.ts', 'commonjs'], ['sites.mts', 'node16']]) {
    const r = spawnSync(process.execPath, [
      tsc, '--noEmit', '--strict', '--esModuleInterop', '--types', 'node', '--module', mod,
      ...(mod === 'node16' ? ['--moduleResolution', 'node16'] : []), '--target', 'es2020',
      path.join(types, file),
    ], { encoding: 'utf8', cwd: root });
    assert.strictEqual(r.status, 0, `${file}: ${r.stdout}${r.stderr}`);
  }
});

