'use strict';
// Headless Chromium for the browser tests: Debian's `chromium` package,
// installed here when missing (as root, with apt-get), else the tests skip
// with the reason. Launched with the flags of DEVELOPERS.md through
// playwright-core (no browser download: executablePath).

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const EXECUTABLE = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Returns null when Chromium is usable, else why not (the skip message). */
function ensureChromium() {
  if (fs.existsSync(EXECUTABLE)) return null;
  if (process.platform !== 'linux') return `Chromium tests need Linux with Debian's chromium package (${process.platform})`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' });
  if (!isRoot || aptGet.status !== 0) {
    return `${EXECUTABLE} is missing and cannot be installed here (needs root and apt-get): run apt-get install -y chromium`;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    // The package lists may be missing or stale.
    spawnSync('apt-get', ['update', '-q'], { env, encoding: 'utf8' });
    r = spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], { env, encoding: 'utf8' });
  }
  if (r.status !== 0 || !fs.existsSync(EXECUTABLE)) {
    return `apt-get install -y chromium failed (status ${r.status}): ${String(r.stderr).trim().split('\n').pop()}`;
  }
  return null;
}

/** A launched browser (playwright-core) with a fresh profile directory; call close() when done. */
async function launch() {
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    headless: true,
    args: FLAGS.filter((f) => f !== '--headless'),
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

module.exports = { ensureChromium, launch, EXECUTABLE, FLAGS };
