'use strict';
// The report of a recorded leaking run, rendered by headless Chromium
// (Debian's chromium, installed by ./chromium.js when missing): charts and
// axis labels present, leak marks where the recording's leak times fall on
// the drawn time axis, no overlapping text, no console error, no request
// beyond the file itself, light and dark. Screenshots go to a temp dir.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');
const { ensureChromium, launch } = require('./chromium');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'memwatch.js');
const LEAKY_APP = path.join(ROOT, '__test__', 'fixtures', 'leaky-app.js');
const skip = ensureChromium();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-browser-'));
test.after(() => {
  if (!process.env.MEMWATCH_KEEP_SCREENSHOTS) fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args, env = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000, env: { ...process.env, ...env } });
  assert.strictEqual(r.signal, null, r.stderr);
  assert.strictEqual(r.status, 0, r.stderr);
  return r;
}
const readLines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** "250ms", "5s", "1.5s", "2m", "2m 30s", "1h 5m", "3d 4h" -> seconds. */
function seconds(label) {
  let s = 0;
  const units = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  const re = /(-?\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  let m;
  let matched = '';
  while ((m = re.exec(label))) {
    s += Number(m[1]) * units[m[2]];
    matched += m[0];
  }
  assert.strictEqual(matched, label.replace(/\s+/g, ''), `tick label ${label}`);
  return s;
}

/** Everything the assertions need from the page, measured by the browser. */
function measure() {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height, text: el.textContent };
  };
  const charts = {};
  for (const svg of document.querySelectorAll('svg.chart')) {
    const q = (sel) => [...svg.querySelectorAll(sel)];
    charts[svg.dataset.chart] = {
      box: box(svg),
      texts: q('text').map(box),
      axisTitles: q('.axis-title').map((e) => e.textContent),
      xTicks: q('.x-axis .tick-label').map(box),
      yTicks: q('.y-axis .tick-label').map(box),
      lines: q('path.line').map((p) => ({ series: p.dataset.series, points: (p.getAttribute('d').match(/[ML]/g) || []).length })),
      bars: q('rect.bar').length,
      gcMarks: q('path.gc-mark').map((p) => (p.getAttribute('d').match(/M/g) || []).length),
      leaks: q('.leak-mark').map((g) => ({ line: box(g.querySelector('line')), label: g.querySelector('text') ? g.querySelector('text').textContent : null })),
      rows: q('.row-label').map((e) => e.textContent),
    };
  }
  const bg = getComputedStyle(document.body).backgroundColor;
  return {
    charts,
    bg,
    title: document.title,
    sites: [...document.querySelectorAll('table.sites tbody tr')].length,
    leakRows: [...document.querySelectorAll('table[data-table="leaks"] tbody tr')].length,
    width: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  };
}

const luminance = (rgb) => {
  const [r, g, b] = rgb.match(/\d+/g).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
};

function assertNoOverlap(name, texts) {
  const shown = texts.filter((t) => t.w > 0 && t.h > 0 && t.text.trim());
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      const a = shown[i];
      const b = shown[j];
      const overlap = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > 0.5 && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > 0.5;
      assert.ok(!overlap, `${name}: "${a.text}" overlaps "${b.text}"`);
    }
  }
}

async function render(context, file, scheme) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const url = pathToFileURL(file).href;
  page.on('request', (r) => {
    if (r.url() !== url) problems.push(`request: ${r.url()}`);
  });
  await page.emulateMedia({ colorScheme: scheme });
  await page.goto(url, { waitUntil: 'load' });
  const m = await page.evaluate(measure);
  const shot = path.join(dir, `${path.basename(file, '.html')}-${scheme}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  await page.close();
  return { m, problems, shot };
}

test('a recorded leaking run, reported and rendered in Chromium', { skip: skip || false, timeout: 180_000 }, async (t) => {
  // A real run: the app leaks and knows nothing of memwatch.
  const rec = path.join(dir, 'leaky.ndjson');
  cli(['record', '-o', rec, '--heapdiff', '--', process.execPath, '--expose-gc', LEAKY_APP], {
    ROUNDS: '14',
    ROUND_OBJECTS: '4000',
    ROUND_PAUSE_MS: '15',
  });
  const lines = readLines(rec);
  const start = lines[0].t;
  const leaks = lines.filter((l) => l.type === 'leak');
  const gcs = lines.filter((l) => l.type === 'stats').length;
  assert.strictEqual(gcs, 14);
  assert.ok(leaks.length >= 2, `${leaks.length} leak events`);
  assert.ok(lines.some((l) => l.type === 'heapdiff'), 'a HeapDiff summary was recorded');

  // Second input: `memwatch diff --json` of two snapshots, and allocation sites on a leak.
  const snap = (n) => path.join(dir, `${n}.heapsnapshot`);
  execFileSync(process.execPath, ['-e', `
    const v8 = require('v8');
    class LeakingClass { constructor(i) { this.i = i; } }
    globalThis.keep = [];
    v8.writeHeapSnapshot(${JSON.stringify(snap('a'))});
    for (let i = 0; i < 3000; i++) globalThis.keep.push(new LeakingClass(i));
    v8.writeHeapSnapshot(${JSON.stringify(snap('b'))});
  `]);
  const diffJson = path.join(dir, 'diff.json');
  fs.writeFileSync(diffJson, cli(['diff', snap('a'), snap('b'), '--json']).stdout);
  const withSites = path.join(dir, 'with-sites.ndjson');
  const site = (fn, growth, i) => ({ function: fn, url: `file:///srv/app/lib/module-${i}.js`, line: 10 + i, column: 3, growth_bytes: growth, live_bytes: growth * 2, samples: 5 + i, stack: [`${fn} (/srv/app/lib/module-${i}.js:${10 + i}:3)`, 'handler (/srv/app/server.js:88:5)'] });
  const sitesLeak = { ...leaks[leaks.length - 1], sites: Array.from({ length: 12 }, (_, i) => site(`allocate${i}WithAVeryLongFunctionNameThatKeepsGoing`, 1e6 / (i + 1), i)) };
  fs.writeFileSync(withSites, fs.readFileSync(rec, 'utf8') + JSON.stringify(sitesLeak) + '\n');

  const page1 = path.join(dir, 'report.html');
  const page2 = path.join(dir, 'report-diff-sites.html');
  cli(['report', rec, '-o', page1]);
  cli(['report', withSites, '--diff', diffJson, '-o', page2]);

  const browser = await launch();
  t.after(() => browser.close());
  const bgs = {};
  for (const scheme of ['light', 'dark']) {
    for (const file of [page1, page2]) {
      const { m, problems, shot } = await render(browser.context, file, scheme);
      const label = `${path.basename(file)} (${scheme})`;
      assert.deepStrictEqual(problems, [], label);
      assert.ok(fs.statSync(shot).size > 20_000, `${label}: screenshot ${shot}`);
      t.diagnostic(`screenshot: ${shot}`);
      bgs[scheme] = m.bg;
      assert.ok(m.width <= m.viewport, `${label}: no horizontal scrolling`);

      // Charts present, axes labelled.
      for (const id of ['heap', 'process', 'pauses', 'classes']) {
        assert.ok(m.charts[id] && m.charts[id].box.w > 500 && m.charts[id].box.h > 50, `${label}: ${id} chart drawn`);
      }
      for (const id of ['heap', 'process', 'pauses']) {
        const c = m.charts[id];
        assert.ok(c.axisTitles.some((s) => /^(kB|MB|GB|ms)$/.test(s)), `${label}: ${id} y axis unit`);
        assert.ok(c.axisTitles.some((s) => s.startsWith('time since the recording started')), `${label}: ${id} x axis title`);
        assert.ok(c.xTicks.length >= 3 && c.yTicks.length >= 3, `${label}: ${id} tick labels`);
      }
      assert.ok(m.charts.pauses.axisTitles.includes('ms'));
      const mem = m.charts.heap;
      assert.deepStrictEqual(mem.lines.map((l) => l.series).sort(), ['base', 'est']);
      assert.deepStrictEqual(m.charts.process.lines.map((l) => l.series).sort(), ['ext', 'rss', 'total']);
      for (const l of [...mem.lines, ...m.charts.process.lines]) {
        assert.strictEqual(l.points, gcs, `${label}: ${l.series} has a point per full GC`);
      }
      assert.deepStrictEqual(mem.gcMarks, [gcs], `${label}: a mark per full GC`);
      assert.strictEqual(m.charts.pauses.bars, gcs);

      // Leak marks where the recording's leak times fall on the drawn axis:
      // the axis' own tick labels give pixels per second.
      const ticks = mem.xTicks.map((b) => ({ s: seconds(b.text), x: b.x + b.w / 2 }));
      const [a, b] = [ticks[0], ticks[ticks.length - 1]];
      const xAt = (sec) => a.x + ((sec - a.s) / (b.s - a.s)) * (b.x - a.x);
      const allLeaks = file === page2 ? leaks.length + 1 : leaks.length;
      assert.strictEqual(mem.leaks.length, allLeaks, `${label}: a mark per leak event`);
      leaks.forEach((leak, i) => {
        const want = xAt((Date.parse(leak.end) - start) / 1000);
        const got = mem.leaks[i].line.x + mem.leaks[i].line.w / 2;
        assert.ok(Math.abs(got - want) < 1.5, `${label}: leak ${i + 1} drawn at x=${got}, its time is at x=${want}`);
      });
      assert.strictEqual(mem.leaks[0].label, 'leak 1');
      assert.strictEqual(m.leakRows, allLeaks);

      // No text overlaps other text, in any chart; all of it inside its chart.
      for (const [id, c] of Object.entries(m.charts)) {
        assertNoOverlap(`${label} ${id}`, c.texts);
        for (const tx of c.texts.filter((x) => x.w > 0)) {
          assert.ok(tx.x >= c.box.x - 0.5 && tx.x + tx.w <= c.box.x + c.box.w + 0.5, `${label} ${id}: "${tx.text}" sticks out`);
        }
      }

      if (file === page1) {
        assert.ok(m.charts.classes.rows.includes('LeakingClass'), `${label}: ${m.charts.classes.rows}`);
        // Leak events carry the sampled allocation sites: the report lists those of the last one that has any.
        const withSites = leaks.filter((l) => Array.isArray(l.sites) && l.sites.length > 0).pop();
        assert.strictEqual(m.sites, withSites ? Math.min(withSites.sites.length, 15) : 0, label);
      } else {
        assert.strictEqual(m.charts.classes.rows[0], 'LeakingClass', `${label}: from memwatch diff --json`);
        assert.strictEqual(m.sites, 12, `${label}: the allocation sites table`);
      }
    }
  }
  assert.ok(luminance(bgs.light) > 0.9, `light background ${bgs.light}`);
  assert.ok(luminance(bgs.dark) < 0.15, `dark background ${bgs.dark}`);
});
