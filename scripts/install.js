#!/usr/bin/env node
'use strict';
// npm's install step: use a prebuilt binary when one matches this platform,
// otherwise build the addon from source with cargo (through @napi-rs/cli when
// it is installed, i.e. in a clone of the repository).

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { platformTag } = require('../lib/binding');

const root = path.join(__dirname, '..');
const tag = platformTag();
const binary = path.join(root, `memwatch.${tag}.node`);

function prebuiltAvailable() {
  if (process.env.MEMWATCH_FORCE_BUILD) return false;
  if (fs.existsSync(binary)) return true;
  try {
    require.resolve(`memwatch-${tag}`);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args) {
  console.log(`memwatch: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) return r.error;
  return r.status === 0 ? null : new Error(`${cmd} exited with status ${r.status}`);
}

function build() {
  let cli = null;
  try {
    cli = require.resolve('@napi-rs/cli/package.json', { paths: [root] });
  } catch {
    cli = null;
  }
  if (cli) {
    const bin = path.join(path.dirname(cli), 'dist', 'cli.js');
    // --no-js / --dts elsewhere: index.js and index.d.ts are written by hand.
    return run(process.execPath, [
      bin, 'build', '--platform', '--release', '--no-js', '--dts', 'target/binding.d.ts',
    ]);
  }
  const err = run('cargo', ['build', '--release', '-p', 'memwatch']);
  if (err) return err;
  const ext = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';
  const lib = process.platform === 'win32' ? 'memwatch' : 'libmemwatch';
  fs.copyFileSync(path.join(root, 'target', 'release', `${lib}.${ext}`), binary);
  return null;
}

if (prebuiltAvailable()) process.exit(0);
const err = build();
if (err) {
  console.error(
    `memwatch: could not build the native addon for ${tag}: ${err.message}\n` +
      'memwatch needs a Rust toolchain (https://rustup.rs) when no prebuilt binary matches your platform.'
  );
  process.exit(1);
}
