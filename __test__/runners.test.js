'use strict';
// memwatch's leak assertions under the real runners: mocha (require('memwatch/mocha'))
// and jest (require('memwatch/jest'), `await expect(fn).not.toLeak()`), on
// the fixtures in __test__/fixtures: four leaks must fail naming their class,
// the clean functions must pass.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const fixtures = path.join(__dirname, 'fixtures');

// The fixtures require 'memwatch/jest' and 'memwatch/mocha' as users of the
// alias install (`memwatch@npm:memwatch-napi`) write it: give them a
// node_modules/memwatch that is this package.
const alias = path.join(fixtures, 'node_modules', 'memwatch');
if (!fs.existsSync(alias)) {
  fs.mkdirSync(path.dirname(alias), { recursive: true });
  fs.symlinkSync(root, alias, process.platform === 'win32' ? 'junction' : 'dir');
}

// Test title -> the class its failure must name first.
const LEAKS = {
  'module-level array': 'LeakingClass',
  'closure-captured state': 'CapturedState',
  'event listener': 'Subscription',
  async: 'PendingRequest',
};

function firstClass(message) {
  const m = /kept accumulating:\n\s+(.+?): \+\d+ in \d+ calls/.exec(message);
  return m && m[1];
}

test('mocha: leaks fail with their class and a retainer path, clean functions pass', () => {
  const r = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--reporter', 'json', path.join(fixtures, 'leaks.mocha.js')],
    { cwd: root, encoding: 'utf8', timeout: 300_000 }
  );
  const report = JSON.parse(r.stdout);
  const byTitle = Object.fromEntries(report.tests.map((t) => [t.title, t]));
  for (const [title, cls] of Object.entries(LEAKS)) {
    const t = byTitle[title];
    assert.ok(t && t.err && t.err.message, `${title} should fail`);
    assert.strictEqual(t.err.name, 'MemoryLeakError');
    assert.strictEqual(firstClass(t.err.message), cls, t.err.message);
    assert.match(t.err.message, /\(GC roots\) → .* @\d+/);
  }
  for (const title of ['clean', 'clean (itDoesNotLeak)']) {
    assert.deepStrictEqual(byTitle[title].err, {}, `${title} should pass`);
  }
  assert.strictEqual(r.status, 4, 'mocha exits with the number of failures');
});

test('jest: await expect(fn).not.toLeak() fails on leaks, passes on clean code (with and without injected globals)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-jest-'));
  try {
    const out = path.join(dir, 'report.json');
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--config', path.join(fixtures, 'jest.config.js'), '--json', '--outputFile', out, '--ci',
      ],
      { cwd: root, encoding: 'utf8', timeout: 300_000 }
    );
    assert.ok(fs.existsSync(out), r.stderr);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    const results = report.testResults.flatMap((f) => f.assertionResults);
    const byTitle = Object.fromEntries(results.map((t) => [t.title, t]));
    for (const [title, cls] of Object.entries(LEAKS)) {
      const t = byTitle[title];
      assert.strictEqual(t.status, 'failed', `${title} should fail`);
      assert.match(t.failureMessages[0], /expected the function not to leak, but it does/);
      assert.strictEqual(firstClass(t.failureMessages[0]), cls, t.failureMessages[0]);
    }
    assert.strictEqual(byTitle.clean.status, 'passed');
    assert.strictEqual(byTitle['a leak is detected by the positive matcher too'].status, 'passed');
    // injectGlobals: false: registered through @jest/globals, not silently skipped.
    for (const title of ['registered without globals: a clean function passes', 'registered without globals: a leak is caught']) {
      assert.strictEqual(byTitle[title] && byTitle[title].status, 'passed', `${title}: ${JSON.stringify(byTitle[title])}`);
    }
    assert.strictEqual(r.status, 1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
