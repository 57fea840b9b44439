'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const { runScenario, ROOT } = require('./helpers');

// Old-space growth and release until V8 runs full GCs by itself (no gc()
// call). Bounded by work, not time: at most MAX_STEPS steps of 50,000
// objects; a 1 MB semi-space promotes them quickly, so V8 runs a full GC
// every few dozen steps however loaded the machine is.
const MAX_STEPS = 4000;
const NATURAL_GCS = `
  const events = [];
  memwatch.on('stats', (s) => events.push(s));
  let hold = [];
  let steps = 0;
  (function churn() {
    for (let i = 0; i < 50000; i++) hold.push({ i, s: 'x' + i });
    if (hold.length > 1e6) hold = [];
    if (events.length >= 3 || ++steps >= ${MAX_STEPS}) {
      memwatch.removeAllListeners();
      return done({ events, steps, backend: memwatch.backend });
    }
    setImmediate(churn);
  })();
`;
const NATURAL_FLAGS = ['--max-semi-space-size=1'];

function checkNatural({ events, steps }) {
  assert.ok(events.length >= 3, `only ${events.length} stats events in ${steps} steps`);
  events.forEach((s, i) => {
    assert.strictEqual(s.num_full_gc, i + 1);
    assert.ok(s.gc_pause_ms > 0);
    assert.ok(s.current_base > 0 && s.current_base <= s.total_heap_size);
  });
  // Young-generation GCs are counted but produce no stats event.
  assert.ok(events[events.length - 1].num_inc_gc > 0);
  // min/max are recorded from the third full GC on.
  assert.strictEqual(events[0].min, 0);
  assert.strictEqual(events[2].min, events[2].current_base);
}

test('stats arrive after full GCs that V8 runs by itself', () => {
  const { result } = runScenario(NATURAL_GCS, { execArgv: NATURAL_FLAGS });
  assert.strictEqual(result.backend, 'v8');
  checkNatural(result);
});

test('the perf_hooks fallback reports natural full GCs too', () => {
  const { result } = runScenario(NATURAL_GCS, { env: { MEMWATCH_BACKEND: 'perf_hooks' }, execArgv: NATURAL_FLAGS });
  assert.strictEqual(result.backend, 'perf_hooks');
  checkNatural(result);
});

for (const backend of ['v8', 'perf_hooks']) {
  test(`listeners do not keep the event loop alive (${backend})`, () => {
    const code = `
      const memwatch = require(${JSON.stringify(ROOT)});
      memwatch.on('stats', () => {});
      memwatch.on('leak', () => {});
      memwatch.gc();
      setTimeout(() => { for (let i = 0; i < 1e6; i++) ({ i }); }, 10);
    `;
    const r = spawnSync(process.execPath, ['-e', code], {
      env: { ...process.env, MEMWATCH_BACKEND: backend === 'v8' ? '' : backend },
      timeout: 20000,
      encoding: 'utf8',
    });
    assert.strictEqual(r.signal, null, 'process had to be killed: the loop stayed alive');
    assert.strictEqual(r.status, 0, r.stderr);
  });
}

test('a throwing listener surfaces as an uncaught exception, not a crash', () => {
  // Waits for the first natural full GC: bounded by steps, not by time.
  const code = `
    const memwatch = require(${JSON.stringify(ROOT)});
    process.on('uncaughtException', (e) => { console.log('caught ' + e.message); process.exit(0); });
    memwatch.on('stats', () => { throw new Error('listener boom'); });
    let hold = [];
    let steps = 0;
    (function churn() {
      for (let i = 0; i < 50000; i++) hold.push({ i });
      if (hold.length > 1e6) hold = [];
      if (++steps >= ${MAX_STEPS}) { console.log('no full GC in ${MAX_STEPS} steps'); process.exit(2); }
      setImmediate(churn);
    })();
  `;
  const r = spawnSync(process.execPath, [...NATURAL_FLAGS, '-e', code], { timeout: 300_000, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /caught listener boom/);
});
