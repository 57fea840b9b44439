#!/usr/bin/env node
'use strict';
// Builds the native addon from source into the package root as
// memwatch.<platform>.node, where lib/binding.js looks first.
//
//   node scripts/build.js --dev      the test-addon profile (no LTO, incremental): `npm install`
//                                    in a clone (the `prepare` script) and `npm test`
//   node scripts/build.js --release  the release profile (LTO, stripped): what ships in the
//                                    platform packages (`npm run build`, scripts/pack.js, CI)
//   --output-dir <dir>               put the .node file there instead of the package root
//
// Installed packages never build: they load a prebuilt memwatch-napi-<platform> package.

const { spawnSync } = require('child_process');
const path = require('path');
const { platformTag } = require('../lib/binding');

const root = path.join(__dirname, '..');
const { values } = require('util').parseArgs({
  options: {
    release: { type: 'boolean', default: false },
    dev: { type: 'boolean', default: false },
    'output-dir': { type: 'string' },
    target: { type: 'string' },
  },
});
const release = values.release;

function cli() {
  try {
    return path.join(path.dirname(require.resolve('@napi-rs/cli/package.json', { paths: [root] })), 'dist', 'cli.js');
  } catch {
    return null;
  }
}

const napi = cli();
if (!napi) {
  console.error('memwatch: building from source needs the devDependencies (run `npm install` in the repository first).');
  process.exit(1);
}
const args = [napi, 'build', '--platform', '--no-js', '--dts', 'target/binding.d.ts'];
args.push(...(release ? ['--release'] : ['--profile', 'test-addon']));
if (values['output-dir']) args.push('--output-dir', path.resolve(values['output-dir']));
if (values.target) args.push('--target', values.target);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.error || r.status !== 0) {
  const noCargo = spawnSync('cargo', ['--version']).error;
  console.error(
    `memwatch: could not build the native addon for ${platformTag()}: ` +
      (noCargo ? 'building from source needs a Rust toolchain (https://rustup.rs).' : 'see the errors above.')
  );
  process.exit(1);
}
