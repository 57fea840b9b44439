'use strict';
// memwatch as a user installs it: the published tarballs (scripts/pack.js:
// the main package and this platform's package with a release binary built
// here), installed into an empty project as the drop-in alias
// `memwatch@npm:memwatch-napi` with --ignore-scripts and without cargo or
// rustc on PATH, then used from CommonJS, ESM, the CLI and TypeScript.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');
const pkg = require('../../package.json');
const { platformTag } = require('../../lib/binding');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-package-'));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));
const dist = path.join(work, 'dist');
const project = path.join(work, 'project');
const bin = path.join(work, 'bin');
const tag = platformTag();

// PATH without the directories that hold cargo or rustc (the node and npm
// of this test come first).
fs.mkdirSync(bin);
for (const tool of ['node', 'npm', 'npx']) {
  const real = tool === 'node' ? process.execPath : path.join(path.dirname(process.execPath), tool);
  if (fs.existsSync(real)) fs.symlinkSync(real, path.join(bin, tool));
}
const rustFree = (process.env.PATH || '')
  .split(path.delimiter)
  .filter((d) => d && !['cargo', 'rustc'].some((t) => fs.existsSync(path.join(d, t))));
const env = { ...process.env, PATH: [bin, ...rustFree].join(path.delimiter), npm_config_update_notifier: 'false' };
delete env.MEMWATCH_BACKEND;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: project, env, encoding: 'utf8', timeout: 300_000, ...opts });
  return r;
}
function ok(r, what) {
  assert.strictEqual(r.signal, null, `${what} was killed`);
  assert.strictEqual(r.status, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tarballs;
test('pack: the main package has no Rust sources, tests or benches; the platform package only its binary', (t) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'pack.js'), '--out', dist], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  ok(r, 'scripts/pack.js');
  t.diagnostic(r.stdout.trim());
  tarballs = {
    main: path.join(dist, `${pkg.name}-${pkg.version}.tgz`),
    platform: path.join(dist, `${pkg.name}-${tag}-${pkg.version}.tgz`),
  };
  for (const f of Object.values(tarballs)) assert.ok(fs.existsSync(f), `${f} missing`);
  const list = (f) => ok(spawnSync('tar', ['tzf', f], { encoding: 'utf8' }), 'tar').trim().split('\n');
  const main = list(tarballs.main);
  for (const f of main) assert.doesNotMatch(f, /\.rs$|Cargo|\/src\/|\/crates\/|__test__|\/bench\/|\.node$/, f);
  for (const f of ['package/index.js', 'package/index.mjs', 'package/index.d.ts', 'package/index.d.mts',
    'package/bin/memwatch.js', 'package/LICENSE', 'package/README.md', 'package/CHANGELOG.md']) {
    assert.ok(main.includes(f), `${f} not in the main tarball`);
  }
  const manifest = JSON.parse(spawnSync('tar', ['xzOf', tarballs.main, 'package/package.json'], { encoding: 'utf8' }).stdout);
  assert.strictEqual(manifest.scripts, undefined, 'no install scripts in the published package');
  assert.deepStrictEqual(Object.keys(manifest.optionalDependencies).sort(),
    ['darwin-arm64', 'darwin-x64', 'linux-arm64-gnu', 'linux-arm64-musl', 'linux-x64-gnu', 'linux-x64-musl', 'win32-x64-msvc']
      .map((p) => `${pkg.name}-${p}`));
  assert.deepStrictEqual(list(tarballs.platform).sort(),
    ['package/README.md', `package/memwatch.${tag}.node`, 'package/package.json']);
});

test('installs into an empty project with --ignore-scripts and no Rust toolchain', () => {
  assert.ok(tarballs, 'packing failed');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  assert.strictEqual(sh('cargo', ['--version']).error.code, 'ENOENT');
  assert.strictEqual(sh('rustc', ['--version']).error.code, 'ENOENT');
  ok(sh('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund',
    `memwatch@file:${tarballs.main}`, tarballs.platform]), 'npm install');
  assert.strictEqual(require(path.join(project, 'node_modules', 'memwatch', 'package.json')).name, 'memwatch-napi');
});

const CJS = `
const memwatch = require('memwatch');
const assert = require('assert');
const stats = [];
memwatch.on('stats', (s) => stats.push(s));
const s = memwatch.gc();
assert.strictEqual(stats.length, 1);
class LeakingClass {}
const kept = [];
const hd = new memwatch.HeapDiff();
for (let i = 0; i < 250; i++) kept.push(new LeakingClass());
const row = hd.end({ examples: 1 }).change.details.find((d) => d.what === 'LeakingClass');
let leak = null;
try { memwatch.iterate(() => kept.push(new LeakingClass())); } catch (e) { leak = e; }
console.log(JSON.stringify({ backend: memwatch.backend, base: s.current_base, plus: row['+'],
  path: row.examples[0].path, leak: leak && leak.code, leakClass: leak && leak.details.classes[0].what }));
`;

const ESM = `
import memwatch, { HeapDiff, gc, iterate, on, off, MemoryLeakError, backend } from 'memwatch';
import { itDoesNotLeak } from 'memwatch/mocha';
import 'memwatch/jest';
const seen = [];
const listener = (s) => seen.push(s.num_full_gc);
on('stats', listener);
const s = gc();
off('stats', listener);
class LeakingClass {}
const kept = [];
const hd = new HeapDiff();
for (let i = 0; i < 250; i++) kept.push(new LeakingClass());
const row = hd.end().change.details.find((d) => d.what === 'LeakingClass');
let leak = null;
try { iterate(() => kept.push(new LeakingClass())); } catch (e) { leak = e instanceof MemoryLeakError && e.code; }
console.log(JSON.stringify({ same: memwatch.HeapDiff === HeapDiff, backend, seen, base: s.current_base,
  plus: row['+'], leak, itDoesNotLeak: typeof itDoesNotLeak }));
`;

test('CommonJS: require("memwatch") gives stats, gc(), HeapDiff and iterate on the native backend', () => {
  fs.writeFileSync(path.join(project, 'cjs.js'), CJS);
  const out = JSON.parse(ok(sh('node', ['cjs.js']), 'cjs.js'));
  assert.strictEqual(out.backend, 'v8');
  assert.ok(out.base > 0);
  assert.strictEqual(out.plus, 250);
  assert.match(out.path, /LeakingClass @\d+$/);
  assert.deepStrictEqual([out.leak, out.leakClass], ['ERR_MEMORY_LEAK', 'LeakingClass']);
});

test('ESM: default and named imports, memwatch/jest and memwatch/mocha', () => {
  fs.writeFileSync(path.join(project, 'esm.mjs'), ESM);
  const out = JSON.parse(ok(sh('node', ['esm.mjs']), 'esm.mjs'));
  assert.deepStrictEqual(out, { same: true, backend: 'v8', seen: [1], base: out.base, plus: 250, leak: 'ERR_MEMORY_LEAK', itDoesNotLeak: 'function' });
});

test('the memwatch CLI from node_modules/.bin', () => {
  ok(sh('node', ['-e', "require('v8').writeHeapSnapshot('heap.heapsnapshot')"]), 'snapshot');
  const out = ok(sh('npx', ['--no-install', 'memwatch', 'analyze', 'heap.heapsnapshot', '--top', '3', '--json']), 'npx memwatch');
  const r = JSON.parse(out);
  assert.ok(r.nodes > 1000 && r.groups.length === 3);
});

test('memwatch/prometheus and memwatch/otel from CommonJS and ESM, with real prom-client and the OpenTelemetry SDK', () => {
  // The peers as the app would install them (symlinked from this repository's devDependencies).
  for (const dep of ['prom-client', '@opentelemetry/api', '@opentelemetry/sdk-metrics']) {
    const to = path.join(project, 'node_modules', dep);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (!fs.existsSync(to)) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), to);
  }
  fs.writeFileSync(path.join(project, 'prom.cjs'), `
const client = require('prom-client');
const memwatch = require('memwatch');
const registration = require('memwatch/prometheus').register(client.register);
memwatch.gc();
client.register.metrics().then((text) => {
  registration.stop();
  console.log(/^memwatch_heap_base_bytes \\d+/m.test(text) ? 'prometheus ok' : text);
});
`);
  fs.writeFileSync(path.join(project, 'otel.mjs'), `
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { instrument } from 'memwatch/otel';
import { register } from 'memwatch/prometheus';
import { gc } from 'memwatch';
class Reader extends MetricReader { async onForceFlush() {} async onShutdown() {} }
const reader = new Reader();
const meterProvider = new MeterProvider({ readers: [reader] });
const registration = instrument({ meterProvider });
gc();
const { resourceMetrics } = await reader.collect();
const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
registration.stop();
await meterProvider.shutdown();
console.log(typeof register === 'function' && names.includes('memwatch.heap.current_base') ? 'otel ok' : names.join());
`);
  assert.match(ok(sh('node', ['prom.cjs']), 'prom.cjs'), /^prometheus ok$/m);
  assert.match(ok(sh('node', ['otel.mjs']), 'otel.mjs'), /^otel ok$/m);
});

/** README's code blocks whose first line is `// <file name>`, by that name. */
function readmeFiles() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const files = {};
  for (const m of readme.matchAll(/```js\n\/\/ ([\w./-]+)\n([\s\S]*?)```/g)) files[m[1]] = m[2];
  return files;
}

test("README's jest and mocha snippets, pasted as written, pass under real jest and mocha", () => {
  const files = readmeFiles();
  for (const name of ['jest.config.js', 'handler.test.js', '.mocharc.js', 'test/handler.spec.js']) {
    assert.ok(files[name], `README has a block starting // ${name}`);
  }
  // The runners as the app would install them (symlinked from this repository's devDependencies).
  for (const dep of ['jest', 'mocha']) {
    const to = path.join(project, 'node_modules', dep);
    if (!fs.existsSync(to)) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), to);
  }
  const write = (dir, name) => {
    fs.mkdirSync(path.dirname(path.join(project, dir, name)), { recursive: true });
    fs.writeFileSync(path.join(project, dir, name), files[name]);
  };
  write('jest-app', 'jest.config.js');
  write('jest-app', 'handler.test.js');
  const jest = sh('node', [path.join(project, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', '--ci'], {
    cwd: path.join(project, 'jest-app'),
  });
  const report = JSON.parse(jest.stdout);
  const jestResults = report.testResults.flatMap((f) => f.assertionResults.map((a) => [a.title, a.status]));
  assert.deepStrictEqual(jestResults, [['handler does not leak', 'passed'], ['leakyHandler leaks', 'passed']], jest.stderr);

  write('mocha-app', '.mocharc.js');
  write('mocha-app', 'test/handler.spec.js');
  const mocha = sh('node', [path.join(project, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--reporter', 'json'], {
    cwd: path.join(project, 'mocha-app'),
  });
  const mochaReport = JSON.parse(mocha.stdout);
  assert.deepStrictEqual(
    [mochaReport.stats.passes, mochaReport.stats.failures],
    [4, 0],
    JSON.stringify(mochaReport.failures)
  );
  assert.strictEqual(mocha.status, 0);
});

test('types resolve under moduleResolution node16 and bundler, CJS and ESM, with @jest/globals', () => {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  // Type packages the app would have: @types/node, and jest's own (symlinked from the repository).
  for (const dep of ['@types/node', '@jest/globals', 'expect']) {
    const to = path.join(project, 'node_modules', dep);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (!fs.existsSync(to)) fs.symlinkSync(path.join(ROOT, 'node_modules', dep), to);
  }
  fs.writeFileSync(path.join(project, 'use.cts'), `
import memwatch = require('memwatch');
import { itDoesNotLeak } from 'memwatch/mocha';
const s: memwatch.Stats = memwatch.gc();
const n: number = s.gcScavengeCount + s.current_base;
const hd = new memwatch.HeapDiff();
const d: memwatch.HeapDiffResult = hd.end({ examples: 1 });
itDoesNotLeak('x', () => 1);
import otel = require('memwatch/otel');
const stop: () => void = otel.instrument().stop;
void [n, d, stop];
`);
  fs.writeFileSync(path.join(project, 'use.mts'), `
import memwatch, { HeapDiff, gc, iterate, type Stats } from 'memwatch';
import { expect } from '@jest/globals';
import 'memwatch/jest';
import { register } from 'memwatch/prometheus';
import { instrument } from 'memwatch/otel';
const s: Stats = gc();
void [register().stop, instrument];
const r = iterate(() => 1, { iterations: 5 });
const b: boolean = r.leaked;
const hd = new HeapDiff();
void [s, b, hd, memwatch.backend];
export async function t(): Promise<void> { await expect(() => 1).not.toLeak({ iterations: 5 }); }
// @ts-expect-error not a memwatch export
import { nope } from 'memwatch';
void nope;
`);
  for (const [moduleKind, resolution] of [['node16', 'node16'], ['esnext', 'bundler']]) {
    const files = resolution === 'bundler' ? ['use.mts'] : ['use.cts', 'use.mts'];
    const r = sh('node', [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--module', moduleKind,
      '--moduleResolution', resolution, '--target', 'es2022', '--types', 'node', ...files]);
    assert.strictEqual(r.status, 0, `tsc (${resolution}): ${r.stdout}${r.stderr}`);
  }
});

/** Loads memwatch in the project after `prepare()`; returns the error it throws. */
function loadError(prepare) {
  const r = sh('node', ['-e', `${prepare}\ntry { require('memwatch'); console.log('loaded'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`]);
  ok(r, 'load');
  assert.doesNotMatch(r.stdout, /^loaded$/m);
  return JSON.parse(r.stdout);
}

test('bad installs give one clear error naming the platform and the fix', () => {
  const platformDir = path.join(project, 'node_modules', `${pkg.name}-${tag}`);
  const binary = path.join(platformDir, `memwatch.${tag}.node`);
  const good = fs.readFileSync(binary);
  const oneLine = (e) => assert.ok(!e.message.includes('\n') && !/\n\s+at /.test(e.message), e.message);
  try {
    // A corrupted .node file.
    fs.writeFileSync(binary, good.subarray(0, 4096));
    let e = loadError('');
    assert.strictEqual(e.code, 'ERR_MEMWATCH_BAD_BINARY');
    assert.match(e.message, new RegExp(`binary for ${tag}.*Reinstall memwatch-napi`));
    oneLine(e);
    // A binary for another libc (a real musl addon from npm in its place).
    const musl = spawnSync('npm', ['pack', '--json', '--pack-destination', work, '@node-rs/crc32-linux-x64-musl@1.10.8'],
      { cwd: work, env: { ...process.env }, encoding: 'utf8' });
    if (musl.status === 0) {
      const tgz = path.join(work, JSON.parse(musl.stdout)[0].filename);
      ok(spawnSync('tar', ['xzf', tgz, '-C', work], { encoding: 'utf8' }), 'untar');
      const node = fs.readdirSync(path.join(work, 'package')).find((f) => f.endsWith('.node'));
      fs.copyFileSync(path.join(work, 'package', node), binary);
      e = loadError('');
      assert.strictEqual(e.code, 'ERR_MEMWATCH_BAD_BINARY');
      assert.match(e.message, /another platform, libc or architecture/);
      oneLine(e);
    }
    // The platform package missing (installed with --omit=optional, or elsewhere).
    fs.renameSync(platformDir, `${platformDir}.away`);
    e = loadError('');
    assert.strictEqual(e.code, 'ERR_MEMWATCH_NO_BINARY');
    assert.match(e.message, new RegExp(`no native binary for ${tag}: the package memwatch-napi-${tag} is not installed`));
    assert.match(e.message, /build it from source/);
    oneLine(e);
    fs.renameSync(`${platformDir}.away`, platformDir);
    // A platform nobody builds for.
    e = loadError("Object.defineProperty(process, 'arch', { value: 'riscv64' });");
    assert.strictEqual(e.code, 'ERR_MEMWATCH_NO_BINARY');
    assert.match(e.message, /no prebuilt binary for linux-riscv64-gnu \(prebuilt: linux-x64-gnu, /);
    oneLine(e);
  } finally {
    if (fs.existsSync(`${platformDir}.away`)) fs.renameSync(`${platformDir}.away`, platformDir);
    fs.writeFileSync(binary, good);
  }
  assert.match(ok(sh('node', ['-e', "console.log(require('memwatch').backend)"]), 'reload'), /^v8$/m);
});
