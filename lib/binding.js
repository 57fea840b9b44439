'use strict';
// Finds and loads the native addon, as napi-rs packages do: a binary built in
// this package (a clone: `npm install` builds one) or else the prebuilt
// platform package that npm installed from memwatch-napi's
// optionalDependencies (memwatch-napi-<platform>-<arch>[-<abi>]). Anything
// else is one clear error that names the platform, the package and the fix,
// never a raw dlopen trace.

const fs = require('fs');
const path = require('path');

const PACKAGE = 'memwatch-napi';
const ROOT = path.join(__dirname, '..');

/** The platform packages that exist (package.json "napi.targets"). */
const SUPPORTED = [
  'linux-x64-gnu',
  'linux-arm64-gnu',
  'linux-x64-musl',
  'linux-arm64-musl',
  'darwin-x64',
  'darwin-arm64',
  'win32-x64-msvc',
];

let musl = null;
/** Whether this Linux runs on musl libc (Alpine): glibc reports its version. */
function isMusl() {
  if (musl !== null) return musl;
  let glibc = null;
  try {
    const report = process.report && typeof process.report.getReport === 'function' ? process.report.getReport() : null;
    const header = report && (typeof report === 'string' ? JSON.parse(report).header : report.header);
    glibc = header ? Boolean(header.glibcVersionRuntime) : null;
  } catch {
    glibc = null;
  }
  if (glibc === null) {
    // No report: musl's loader is the only one named ld-musl-*.
    try {
      glibc = !fs.readdirSync('/lib').some((f) => f.startsWith('ld-musl-'));
    } catch {
      glibc = true;
    }
  }
  musl = !glibc;
  return musl;
}

function platformTag() {
  const abi = process.platform === 'linux' ? (isMusl() ? '-musl' : '-gnu') : process.platform === 'win32' ? '-msvc' : '';
  return `${process.platform}-${process.arch}${abi}`;
}

function loadError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

const FROM_SOURCE =
  'To build it from source instead (needs Rust, https://rustup.rs): clone the repository and run `npm install`.';

/** A .node file that exists but does not load: say why in one line. */
function badBinary(tag, file, err) {
  const why = String((err && err.message) || err).split('\n')[0];
  const hint = /musl|GLIBC|ld-linux|libc\.so|wrong ELF class|invalid ELF header|not a valid Win32|mach-o|file too short|Exec format/i.test(why)
    ? 'It was built for another platform, libc or architecture, or the file is damaged. '
    : '';
  return loadError(
    'ERR_MEMWATCH_BAD_BINARY',
    `${PACKAGE}: the native binary for ${tag} cannot be loaded (${file}: ${why}). ${hint}` +
      `Reinstall ${PACKAGE} so that npm installs ${PACKAGE}-${tag} again (without --no-optional / --omit=optional). ${FROM_SOURCE}`
  );
}

/**
 * Why an ELF file cannot be a whole shared object, or null. dlopen maps a
 * truncated file without complaint and the process then dies of SIGBUS
 * while relocating it, so a cut-short download is caught here first.
 */
function truncatedElf(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(64);
    if (fs.readSync(fd, head, 0, 64, 0) < 64) return `only ${size} bytes`;
    // Not ELF, or not little-endian ELF64: dlopen reports those itself.
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return null;
    const phoff = Number(head.readBigUInt64LE(32));
    const shoff = Number(head.readBigUInt64LE(40));
    const phentsize = head.readUInt16LE(54);
    const phnum = head.readUInt16LE(56);
    const shentsize = head.readUInt16LE(58);
    const shnum = head.readUInt16LE(60);
    if (phoff + phentsize * phnum > size || shoff + shentsize * shnum > size) return `cut short at ${size} bytes`;
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      const PT_LOAD = 1;
      if (ph.readUInt32LE(at) !== PT_LOAD) continue;
      const end = Number(ph.readBigUInt64LE(at + 8)) + Number(ph.readBigUInt64LE(at + 32));
      if (end > size) return `cut short at ${size} bytes (a segment ends at ${end})`;
    }
    return null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** require() of a .node file, refusing a truncated one before dlopen sees it. */
function requireBinary(tag, file) {
  const cut = process.platform === 'linux' ? truncatedElf(file) : null;
  if (cut) throw badBinary(tag, file, new Error(`file too short: ${cut}`));
  try {
    return require(file);
  } catch (err) {
    throw badBinary(tag, file, err);
  }
}

function load() {
  const tag = platformTag();
  // 1. A local build (a clone of the repository).
  const local = path.join(ROOT, `memwatch.${tag}.node`);
  if (fs.existsSync(local)) return requireBinary(tag, local);
  // 2. The platform package npm installed next to this one.
  const pkg = `${PACKAGE}-${tag}`;
  let resolved = null;
  try {
    resolved = require.resolve(pkg, { paths: [ROOT] });
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
  }
  if (resolved) return requireBinary(tag, resolved);
  const known = SUPPORTED.includes(tag);
  throw loadError(
    'ERR_MEMWATCH_NO_BINARY',
    known
      ? `${PACKAGE}: no native binary for ${tag}: the package ${pkg} is not installed. npm installs it ` +
          `from ${PACKAGE}'s optionalDependencies; reinstall without --no-optional / --omit=optional ` +
          `(and let the lockfile be regenerated on this platform if it was made elsewhere). ${FROM_SOURCE}`
      : `${PACKAGE}: no prebuilt binary for ${tag} (prebuilt: ${SUPPORTED.join(', ')}). ${FROM_SOURCE}`
  );
}

module.exports = { load, platformTag, SUPPORTED };
