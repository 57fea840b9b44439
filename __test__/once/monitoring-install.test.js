'use strict';
// `memwatch record` from an installed copy of the package, under the alias
// name `memwatch` (npm install memwatch@npm:memwatch-napi) and under its own
// name `memwatch-napi`, run through node_modules/.bin from the project: the
// preload is found by absolute path, whatever the name.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const LEAKY_APP = path.join(ROOT, '__test__', 'fixtures', 'leaky-app.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-install-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy as npm would lay it out (not a symlink: that would resolve back into this repository). */
function install(project, name) {
  const pkgDir = path.join(project, 'node_modules', name);
  fs.mkdirSync(pkgDir, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  for (const entry of pkg.files) {
    const from = path.join(ROOT, entry);
    if (fs.existsSync(from) && !/^(src|crates)\/?$|Cargo|build\.rs|scripts/.test(entry)) {
      fs.cpSync(from, path.join(pkgDir, entry), { recursive: true });
    }
  }
  // The compiled addon (in a published package it comes from the platform package).
  for (const f of fs.readdirSync(ROOT).filter((x) => x.endsWith('.node'))) fs.copyFileSync(path.join(ROOT, f), path.join(pkgDir, f));
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ ...pkg, name }));
  fs.mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  const bin = path.join(project, 'node_modules', '.bin', 'memwatch');
  fs.symlinkSync(path.join('..', name, pkg.bin.memwatch), bin);
  return { pkgDir, bin };
}

for (const name of ['memwatch', 'memwatch-napi']) {
  test(`memwatch record and report from a copy installed as ${name}`, () => {
    const project = fs.mkdtempSync(path.join(dir, `${name}-`));
    const { pkgDir, bin } = install(project, name);
    fs.copyFileSync(LEAKY_APP, path.join(project, 'app.js'));
    const env = { ...process.env, ROUNDS: '7' };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, [bin, 'record', '-o', 'rec.ndjson', '--', process.execPath, '--expose-gc', 'app.js'], {
      cwd: project,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.strictEqual(r.status, 0, r.stderr);
    const lines = fs.readFileSync(path.join(project, 'rec.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.strictEqual(lines[0].recorder, 'memwatch record');
    assert.strictEqual(lines.filter((l) => l.type === 'stats').length, 7);
    assert.ok(lines.some((l) => l.type === 'leak'));
    // The preload that ran is the installed copy's.
    const { PRELOAD } = require(path.join(pkgDir, 'lib', 'cli', 'record.js'));
    assert.strictEqual(PRELOAD, path.join(fs.realpathSync(pkgDir), 'lib', 'record-preload.js'));

    const rep = spawnSync(process.execPath, [bin, 'report', 'rec.ndjson', '-o', 'report.html'], { cwd: project, encoding: 'utf8' });
    assert.strictEqual(rep.status, 0, rep.stderr);
    assert.match(fs.readFileSync(path.join(project, 'report.html'), 'utf8'), /data-chart="heap"/);

    // The subpath exports resolve under the installed name.
    const sub = spawnSync(process.execPath, ['-e', `
      const otel = require('${name}/otel'); const prom = require('${name}/prometheus');
      console.log(typeof otel.instrument, typeof prom.register, typeof require('${name}').record);
    `], { cwd: project, encoding: 'utf8' });
    assert.strictEqual(sub.stdout.trim(), 'function function function', sub.stderr);
  });
}
