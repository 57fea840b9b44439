'use strict';
// `memwatch report` on a large recording runs in bounded memory: the file is
// streamed and downsampled, so a V8 heap capped far below the file's size is
// enough (a reader that kept the lines, or the file, would die of OOM).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'memwatch.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-large-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const LINES = 200_000; // ~85 MB
const HEAP_CAP_MB = 32;

async function writeRecording(file) {
  const out = fs.createWriteStream(file);
  const t0 = Date.UTC(2024, 0, 1);
  const write = (s) => (out.write(s) ? null : new Promise((r) => out.once('drain', r)));
  await write(JSON.stringify({ type: 'header', format: 'memwatch-recording', version: 1, t: t0, pid: 1, node: 'v20.0.0' }) + '\n');
  for (let i = 0; i < LINES; i++) {
    const base = 50e6 + i * 100 + (i % 1000) * 1000;
    const line = { type: 'stats', t: t0 + i * 1000, num_full_gc: i + 1, num_inc_gc: i * 9, heap_compactions: i + 1, usage_trend: 1.5, estimated_base: base, current_base: base, min: 5e7, max: 9e7, used_heap_size: base, total_heap_size: base * 1.4, heap_size_limit: 4e9, external_memory: 2e6, gc_pause_ms: i === 123456 ? 2500 : 12.5, rss: base * 2, external: 2e6, array_buffers: 5e4 };
    const w = write(JSON.stringify(line) + (i % 5000 === 4999 ? `\n${JSON.stringify({ type: 'leak', t: t0 + i * 1000, start: new Date(t0).toISOString(), end: new Date(t0 + i * 1000).toISOString(), growth: 1e6, reason: 'heap growth', kind: 'heap' })}\n` : '\n'));
    if (w) await w;
  }
  await new Promise((r) => out.end(r));
}

test(`a ${LINES}-line recording is reported with a ${HEAP_CAP_MB} MB heap`, { timeout: 120_000 }, async (t) => {
  const file = path.join(dir, 'big.ndjson');
  await writeRecording(file);
  // Cut the last line (a leak event) in half, as a crash mid-write would.
  const size = fs.statSync(file).size;
  fs.truncateSync(file, size - 150);
  assert.ok(size > HEAP_CAP_MB * 2 * 1024 * 1024, `${size} bytes`);

  const hwm = path.join(dir, 'hwm.js');
  fs.writeFileSync(hwm, `process.on('exit', () => process.stderr.write('HWM ' + /VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1] + '\\n'));`);
  const out = path.join(dir, 'big.html');
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, '-r', hwm, CLI, 'report', file, '-o', out], { encoding: 'utf8', timeout: 120_000 });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: The last line is incomplete/);
  assert.match(r.stderr, /wrote .*big\.html \(200000 full GCs, 39 leak events\)/);
  const html = fs.readFileSync(out, 'utf8');
  assert.ok(html.length < 2 * 1024 * 1024, `report of ${html.length} bytes`);
  assert.match(html, /longest 2\.50 s/, 'the one long pause survives downsampling');
  const peakKb = Number(/HWM (\d+)/.exec(r.stderr)[1]);
  t.diagnostic(`report of a ${(size / 1048576).toFixed(0)} MB recording: peak RSS ${(peakKb / 1024).toFixed(0)} MB`);
});
