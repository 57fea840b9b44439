'use strict';
// Finds the compiled addon: a binary built in this package (npm install builds
// one from source when no prebuilt package matches), else the per-platform
// package from npm/ (napi-rs layout: memwatch-<platform>-<arch>[-<abi>]).

const fs = require('fs');
const path = require('path');

function abiSuffix() {
  if (process.platform !== 'linux') return '';
  // glibcVersionRuntime is present on glibc and absent on musl.
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null;
  const header = report && (typeof report === 'string' ? JSON.parse(report).header : report.header);
  return header && header.glibcVersionRuntime ? '-gnu' : '-musl';
}

function platformTag() {
  return `${process.platform}-${process.arch}${abiSuffix()}`;
}

function load() {
  const tag = platformTag();
  const local = path.join(__dirname, '..', `memwatch.${tag}.node`);
  const tried = [];
  if (fs.existsSync(local)) return require(local);
  tried.push(local);
  const pkg = `memwatch-${tag}`;
  try {
    return require(pkg);
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
    tried.push(pkg);
  }
  const err = new Error(
    `memwatch: no native binary for ${tag} (looked for ${tried.join(', ')}). ` +
      'Reinstall the package so its install step can build one (it needs cargo: https://rustup.rs).'
  );
  err.code = 'ERR_MEMWATCH_NO_BINARY';
  throw err;
}

module.exports = { load, platformTag };
