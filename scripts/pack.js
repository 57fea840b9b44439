#!/usr/bin/env node
'use strict';
// Packs what gets published, as napi-rs packages are published: the main
// package `memwatch-napi` (JS, types, CLI; no Rust sources, tests or benches;
// one optionalDependency per platform package) and one package per platform
// that has a binary here (memwatch-napi-<platform>, the .node file only).
//
//   node scripts/pack.js [--out dist] [--binaries <dir>] [--build]
//
//   --binaries <dir>  where the memwatch.<platform>.node files are (CI: the
//                     downloaded build artifacts); default: a release build
//                     made now for this platform (--build is implied)
//   --build           build this platform's release binary first
//
// Prints one line per tarball with its size; exits non-zero if a tarball
// holds something it must not (sources, tests, benches).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { platformTag } = require('../lib/binding');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(root, 'dist') },
    binaries: { type: 'string' },
    build: { type: 'boolean', default: false },
  },
});
const out = path.resolve(values.out);
fs.mkdirSync(out, { recursive: true });
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-pack-'));

/** The platform tags of package.json's napi.targets, from the npm/ directories. */
const platforms = fs.readdirSync(path.join(root, 'npm')).sort();

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error || r.status !== 0) {
    console.error(`pack: ${cmd} ${args.join(' ')} failed${r.error ? `: ${r.error.message}` : ''}`);
    process.exit(1);
  }
  return r.stdout;
}

/** Runs `npm pack` in `dir` into `out`; returns the tarball's path. */
function npmPack(dir) {
  const json = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], dir));
  return { file: path.join(out, json[0].filename), files: json[0].files.map((f) => f.path) };
}

let binaries = values.binaries && path.resolve(values.binaries);
if (!binaries || values.build) {
  binaries = binaries || path.join(stage, 'binaries');
  fs.mkdirSync(binaries, { recursive: true });
  run(process.execPath, [path.join(__dirname, 'build.js'), '--release', '--output-dir', binaries], root);
}

// --- the main package ---------------------------------------------------------
const mainDir = path.join(stage, 'main');
fs.mkdirSync(mainDir);
for (const f of pkg.files) {
  const from = path.join(root, f);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(mainDir, f), { recursive: true });
}
const published = { ...pkg };
delete published.devDependencies;
delete published.scripts;
published.optionalDependencies = Object.fromEntries(platforms.map((p) => [`${pkg.name}-${p}`, pkg.version]));
fs.writeFileSync(path.join(mainDir, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);

const FORBIDDEN = /(^|\/)(src|crates|tools|fuzz|__test__|bench|scripts|target|npm)\/|Cargo\.(toml|lock)$|build\.rs$|\.rs$/;
const tarballs = [];
const main = npmPack(mainDir);
tarballs.push(main);

// --- the platform packages with a binary here ---------------------------------
for (const platform of platforms) {
  const binary = path.join(binaries, `${pkg.napi.binaryName}.${platform}.node`);
  if (!fs.existsSync(binary)) continue;
  const dir = path.join(stage, platform);
  fs.cpSync(path.join(root, 'npm', platform), dir, { recursive: true });
  fs.copyFileSync(binary, path.join(dir, path.basename(binary)));
  tarballs.push(npmPack(dir));
}
fs.rmSync(stage, { recursive: true, force: true });

let bad = false;
for (const t of tarballs) {
  const size = fs.statSync(t.file).size;
  console.log(`${path.basename(t.file)}  ${(size / 1024).toFixed(1)} kB  (${t.files.length} files)`);
  for (const f of t.files.filter((f) => FORBIDDEN.test(f))) {
    console.error(`pack: ${path.basename(t.file)} must not contain ${f}`);
    bad = true;
  }
}
if (tarballs.length === 1) console.log(`(no binary for any platform in ${binaries}; this machine is ${platformTag()})`);
process.exit(bad ? 1 : 0);
