#!/usr/bin/env node
'use strict';
// Regenerates docs/report.png, the README's screenshot: records a real run
// of a small app that starts leaking halfway (`memwatch record --heapdiff`),
// reports it, and has headless Chromium (Debian's chromium) take the picture.
//   node docs/make-screenshot.js

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { ensureChromium, launch } = require('../__test__/once/chromium');

const root = path.join(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-screenshot-'));
const app = path.join(work, 'server.js');
// A request loop: garbage per request; from round 20 on, every request also
// lands in a cache that is never evicted. A full GC closes each round
// (--expose-gc), as a busy server's old generation would fill up.
fs.writeFileSync(app, `
  class Session { constructor(id) { this.id = id; this.user = { name: 'user' + id, roles: ['reader'] }; this.createdAt = new Date(); } }
  const cache = new Map();
  let round = 0;
  function tick() {
    for (let i = 0; i < 3000; i++) {
      const s = new Session(round * 3000 + i);
      const body = JSON.stringify({ id: s.id, user: s.user, padding: 'x'.repeat(200) });
      if (round >= 20) cache.set(s.id, s);
      if (body.length < 0) console.log(body);
    }
    global.gc();
    if (++round < 48) setTimeout(tick, 250);
  }
  tick();
`);
const rec = path.join(work, 'server.ndjson');
const cli = path.join(root, 'bin', 'memwatch.js');
execFileSync(process.execPath, [cli, 'record', '-o', rec, '--heapdiff', '--', process.execPath, '--expose-gc', app], { stdio: 'inherit', cwd: work });
const html = path.join(work, 'report.html');
execFileSync(process.execPath, [cli, 'report', rec, '-o', html], { stdio: 'inherit' });

(async () => {
  const why = ensureChromium();
  if (why) throw new Error(why);
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1040, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`file://${html}`);
    const out = path.join(__dirname, 'report.png');
    await page.screenshot({ path: out, fullPage: true });
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await browser.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
