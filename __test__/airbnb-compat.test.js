'use strict';
// @airbnb/node-memwatch's `stats` payload, field by field with its meaning
// and units (its src/memwatch.cc): code written for it runs unchanged.
const test = require('node:test');
const assert = require('node:assert');
const v8 = require('node:v8');
const memwatch = require('..');

const AIRBNB_FIELDS = [
  'gcScavengeCount', 'gcScavengeTime', 'gcMarkSweepCompactCount', 'gcMarkSweepCompactTime',
  'gcIncrementalMarkingCount', 'gcIncrementalMarkingTime', 'gcProcessWeakCallbacksCount',
  'gcProcessWeakCallbacksTime', 'total_heap_size', 'total_heap_size_executable', 'total_physical_size',
  'total_available_size', 'used_heap_size', 'heap_size_limit', 'malloced_memory', 'peak_malloced_memory',
  'gc_time', 'gc_ts',
];

function churn(n) {
  let garbage = [];
  for (let i = 0; i < n; i++) {
    garbage.push({ i, s: 'x' + i });
    if (garbage.length > 1e4) garbage = [];
  }
}

test('every field of @airbnb/node-memwatch is on each stats event, in its units', () => {
  const seen = [];
  const listener = (s) => seen.push(s);
  memwatch.on('stats', listener);
  churn(2e5); // scavenges while listening
  const msBefore = Date.now();
  const s = memwatch.gc();
  const msAfter = Date.now();
  churn(2e5);
  const s2 = memwatch.gc();
  memwatch.off('stats', listener);
  for (const f of AIRBNB_FIELDS) assert.strictEqual(typeof s[f], 'number', f);
  // gc_ts: microseconds since the epoch (uv's gettimeofday in airbnb's code).
  assert.ok(s.gc_ts >= msBefore * 1000 - 1000 && s.gc_ts <= msAfter * 1000 + 1000, `${s.gc_ts} vs ${msBefore}`);
  // gc_time: this GC in nanoseconds.
  assert.strictEqual(s.gc_time, Math.round(s.gc_pause_ms * 1e6));
  // Counters and times since listening; times in nanoseconds grow with counts.
  assert.ok(s.gcScavengeCount > 0 && s.gcScavengeTime > 0);
  assert.ok(s.gcMarkSweepCompactCount >= 1 && s.gcMarkSweepCompactTime > 0);
  assert.ok(s2.gcScavengeCount > s.gcScavengeCount, 'more scavenges after more churn');
  assert.ok(s2.gcMarkSweepCompactCount > s.gcMarkSweepCompactCount);
  assert.ok(s2.gcMarkSweepCompactTime > s.gcMarkSweepCompactTime);
  // gc() runs V8's back-to-back full GCs: each counts here, once in num_full_gc.
  assert.ok(s2.gcMarkSweepCompactCount - s.gcMarkSweepCompactCount >= s2.num_full_gc - s.num_full_gc);
  // Heap statistics, as v8.getHeapStatistics() defines them.
  const hs = v8.getHeapStatistics();
  assert.strictEqual(s.heap_size_limit, hs.heap_size_limit);
  assert.ok(s.total_physical_size > 0 && s.total_physical_size <= s.total_heap_size * 1.5);
  assert.ok(s.total_heap_size_executable > 0 && s.total_heap_size_executable < s.total_heap_size);
  assert.ok(s.total_available_size > 0 && s.total_available_size <= s.heap_size_limit);
  assert.ok(s.malloced_memory > 0 && s.peak_malloced_memory >= s.malloced_memory);
});
