'use strict';
// Leak assertions for test runners: memwatch.iterate(fn) and
// memwatch.iterate.async(fn), with leakage's call shape.
//
// 1. Warm-up: `warmup` rounds of `iterations` calls, so lazy compilation,
//    inline caches and first-use allocations do not look like leaks.
// 2. Watch (cheap, no snapshot): `rounds` rounds of `iterations` calls, a
//    full GC after each, and the heap's data bytes after it. A leak grows
//    them by at least 8 bytes a call; growth that does not come back in a
//    second batch of rounds was a one-off (V8 optimizing `fn`, say).
// 3. Only if both batches grew: one more round between two heap snapshots; a
//    class is reported when at least one object of it per two calls (and at
//    least 3) stayed alive. If none did, a longer window (as many calls as
//    all the rounds before it) catches leaks that only grow backing stores
//    (a Map of numbers): a class whose bytes grew by 4 a call is reported,
//    unless fn started asynchronous work (promises, timers), whose
//    bookkeeping in Node grows the same way until the event loop turns.
//
// memwatch never reports itself: the two snapshots of a window are taken by
// the same code, called the same way, and nothing memwatch runs between them
// is new; V8's compiled code and heap numbers are named apart from user
// classes (a class named Code or Number is the user's) and are not evidence.

const v8 = require('v8');
const { AsyncResource } = require('async_hooks');
const { codedError, checkInteger } = require('./errors');
const { kSnapshots } = require('./heapdiff');

const DEFAULTS = { iterations: 30, rounds: 6, warmup: 1, skipMemoryCheck: false };
/** Classes printed in the error message (all are in `.details`). */
const CLASSES_IN_MESSAGE = 5;
/** Bytes a call must add, on average over a batch of rounds, for the heap to count as growing. */
const GROWTH_PER_CALL = 4;
/** Bytes a call must add to one class (with no new objects) in the long window. */
const CLASS_GROWTH_PER_CALL = 4;
/** V8's own kinds (named apart by the diff): not evidence of a leak by themselves. */
const ENGINE_KINDS = new Set(['(compiled code)', '(number)']);
/**
 * Classes whose sizes Node's C++ reports (the capacities of its own tables),
 * which grow now and then with no new objects (seen: +0.6 kB in 100 calls of
 * a clean fn under --track-heap-objects): counted by objects only.
 */
const SIZED_BY_NODE = new Set(['Native']);
/** Heap spaces of compiled code and bytecode: V8 tiers code up and flushes it on its own schedule. */
const CODE_SPACES = /code|trusted|read_only/;

class MemoryLeakError extends Error {
  constructor(message, details) {
    super(message);
    this.name = 'MemoryLeakError';
    this.code = 'ERR_MEMORY_LEAK';
    /**
     * `{ iterations, rounds, calls, heapGrowth, bases, classes: [{ what,
     * count, size_bytes, retained_size_bytes, path }] }`
     */
    this.details = details;
  }
}

function options(opts) {
  if (opts === undefined) return { ...DEFAULTS };
  if (opts === null || typeof opts !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
  }
  const out = { ...DEFAULTS };
  for (const [key, min, max] of [['iterations', 1, 1e6], ['rounds', 2, 1000], ['warmup', 0, 1000]]) {
    if (opts[key] !== undefined) out[key] = checkInteger(`options.${key}`, opts[key], min, max);
  }
  if (opts.skipMemoryCheck !== undefined) {
    if (typeof opts.skipMemoryCheck !== 'boolean') {
      throw codedError('ERR_INVALID_ARG_TYPE', 'The "options.skipMemoryCheck" property must be of type boolean', TypeError);
    }
    out.skipMemoryCheck = opts.skipMemoryCheck;
  }
  return out;
}

function checkFn(fn) {
  if (typeof fn !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "fn" argument must be a function', TypeError);
  }
}

function isThenable(x) {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof x.then === 'function';
}

/** `fn` returned a promise to a synchronous iterate(): its rejection is handled here, then this. */
function asyncFnError(promise) {
  try {
    promise.then(undefined, () => {});
  } catch {
    // a thenable whose then() throws: nothing to handle
  }
  return codedError(
    'ERR_ITERATE_ASYNC_FN',
    'fn returned a promise: iterate() runs fn synchronously and cannot wait for it; use iterate.async(fn) instead'
  );
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const kb = (n) => (Math.abs(n) >= 1024 * 1024 ? mb(n) : `${(n / 1024).toFixed(1)} kB`);

/**
 * Whether the heap grew over the rounds `from`..`to` of `bases`: the last
 * base stands at least GROWTH_PER_CALL bytes a call above the lowest earlier
 * one. (A small leak does not grow every round by much: the first base can
 * still hold garbage of what ran before, freed in the first round.)
 */
function grew(bases, from, to, o) {
  let lowest = Infinity;
  for (let i = from; i < to; i++) lowest = Math.min(lowest, bases[i]);
  return bases[to] - lowest >= GROWTH_PER_CALL * o.iterations * (to - from);
}

/**
 * Whether growth over `from`..`to` looks like more than one of V8's own
 * one-off allocations (an optimized function's dependencies, a cache filling
 * up: a single step of a few kB): it came in two rounds or more, or in one
 * step too big for those (a backing store that doubled).
 */
function recurring(bases, from, to, o) {
  const floor = GROWTH_PER_CALL * o.iterations * (to - from);
  let rounds = 0;
  let biggest = 0;
  for (let i = from + 1; i <= to; i++) {
    const step = bases[i] - bases[i - 1];
    if (step >= floor / (to - from)) rounds++;
    biggest = Math.max(biggest, step);
  }
  return rounds >= 2 || biggest >= 8 * floor;
}

const CLEAN = 0;
const MORE = 1;
const SUSPECT = 2;
/** Batches of rounds at most: the third only settles a second batch that grew in one small step. */
const MAX_BATCHES = 3;

/**
 * After `batches` batches of rounds: CLEAN (no leak), MORE (run another
 * batch) or SUSPECT (take the snapshots). Growth must come back in a second
 * batch: V8 optimizing fn or filling a cache grows the heap once.
 */
function judge(bases, batches, o) {
  const to = batches * o.rounds;
  const from = to - o.rounds;
  if (!grew(bases, from, to, o)) return CLEAN;
  if (batches === 1) return MORE;
  if (batches === 2 && !recurring(bases, from, to, o)) return MORE;
  return SUSPECT;
}

// HeapDiff's names for what is not a user's constructor.
const BUILTIN_KINDS = new Set(['Array', 'String', 'Native', 'RegExp', 'Symbol', 'BigInt']);

/** Listing order: the user's classes first, then closures, built-ins, engine internals. */
function rank(what) {
  if (what.startsWith('system / ')) return 3;
  if (BUILTIN_KINDS.has(what)) return 2;
  if (what === 'Closure') return 1;
  return 0;
}

function row(d) {
  return {
    what: d.what,
    count: d['+'] - d['-'],
    size_bytes: d.size_bytes,
    retained_size_bytes: d.retained_size_bytes,
    path: d.examples && d.examples[0] ? d.examples[0].path : null,
  };
}

/**
 * Classes of a window of `calls` calls that are evidence of a leak: at least
 * one object per 2 calls (and at least 3) stayed alive, or, with
 * `bySize`, the class's bytes grew by CLASS_GROWTH_PER_CALL a call (a
 * backing store that grows with no new objects). V8's compiled code and heap
 * numbers are no evidence: V8 compiles while fn runs, and test harnesses
 * keep some numbers per async operation; a leaked Map of numbers still shows
 * through its backing arrays.
 */
function evidence(diff, calls, bySize) {
  const threshold = Math.max(3, Math.floor(calls / 2));
  return diff.change.details
    .filter((d) => !ENGINE_KINDS.has(d.what))
    .map(row)
    .filter(
      (c) =>
        c.count >= threshold ||
        (bySize && !SIZED_BY_NODE.has(c.what) && c.size_bytes >= CLASS_GROWTH_PER_CALL * calls)
    )
    .sort((a, b) => rank(a.what) - rank(b.what) || b.count - a.count || b.size_bytes - a.size_bytes);
}

function leakError(o, calls, bases, classes) {
  const growth = bases[bases.length - 1] - bases[0];
  const threshold = Math.max(3, Math.floor(calls / 2));
  const lines = classes.slice(0, CLASSES_IN_MESSAGE).map(
    (c) =>
      (c.count >= threshold
        ? `  ${c.what}: +${c.count} in ${calls} calls (${kb(c.size_bytes)}, retains ${kb(c.retained_size_bytes || 0)})\n`
        : `  ${c.what}: grew by ${kb(c.size_bytes)} in ${calls} calls with ${c.count >= 0 ? '+' : ''}${c.count} objects (retains ${kb(c.retained_size_bytes || 0)})\n`) +
      `    ${c.path || '(no retainer path found)'}`
  );
  const more = classes.length > CLASSES_IN_MESSAGE ? `\n  ... and ${classes.length - CLASSES_IN_MESSAGE} more classes (see err.details)` : '';
  const rounds = bases.length - 1;
  return new MemoryLeakError(
    `memory leak: the heap grew by ${kb(growth)} over ${rounds} rounds of ${o.iterations} calls, ` +
      `and these objects kept accumulating:\n${lines.join('\n')}${more}`,
    { iterations: o.iterations, rounds, calls, heapGrowth: growth, bases, classes }
  );
}

function result(bases, suspected) {
  return { leaked: false, suspected, bases, heapGrowth: bases[bases.length - 1] - bases[0] };
}

/**
 * A full GC and the bytes of heap data after it (compiled code and bytecode
 * left out), read by v8.GCProfiler inside the GC, on either backend. The GC
 * goes through the backend directly: memwatch.gc()'s delivery code (and its
 * warm-up by V8) would add its own bytes to every early round; its events
 * are still delivered when someone listens.
 */
function createProbe(memwatch) {
  const backend = memwatch._backend;
  const profiler = typeof v8.GCProfiler === 'function' ? new v8.GCProfiler() : null;
  const listening = () => memwatch.listenerCount('stats') > 0 || memwatch.listenerCount('leak') > 0;
  function dataBytes(records) {
    for (let i = records.length - 1; i >= 0; i--) {
      if (records[i].gcType !== 'MarkSweepCompact') continue;
      const spaces = records[i].afterGC.heapSpaceStatistics;
      let bytes = 0;
      for (let j = 0; j < spaces.length; j++) {
        if (!CODE_SPACES.test(spaces[j].spaceName)) bytes += spaces[j].spaceUsedSize;
      }
      return bytes;
    }
    return -1;
  }
  return function probe() {
    let events;
    let recorded = null;
    if (profiler) profiler.start();
    try {
      events = backend.gc();
    } finally {
      if (profiler) recorded = profiler.stop();
    }
    if (listening()) memwatch._deliver(events);
    const bytes = recorded ? dataBytes(recorded.statistics || []) : -1;
    return bytes >= 0 ? bytes : events[events.length - 1].data.current_base;
  };
}

function createIterate(memwatch) {
  const snapshots = memwatch.HeapDiff[kSnapshots];
  let probe = null;
  let running = false;

  /**
   * memwatch's own measuring code, warmed up once. V8 allocates feedback on
   * a function's 8th call, but the probe's callees (GCProfiler, the native
   * backend's event conversion) keep allocating until about the 15th probe
   * on Node 18 and 20 (V8 10-11; measured: steps of 296 to 2424 bytes at
   * probes 6, 11 and 15); from 24 on, no Node line shows any growth.
   */
  const PROBE_WARMUP = 24;
  function getProbe() {
    if (probe) return probe;
    probe = createProbe(memwatch);
    for (let i = 0; i < PROBE_WARMUP; i++) probe();
    return probe;
  }

  let asyncWarm = false;
  /**
   * iterate.async's own per-round code (settle, runAsync, its awaits), warmed
   * up once: otherwise V8 allocates its feedback on the 8th round, and the
   * first call in a process sees memwatch's bytes grow in its second batch.
   */
  async function warmAsync() {
    if (asyncWarm) return;
    asyncWarm = true;
    const noop = () => undefined;
    for (let i = 0; i < 10; i++) {
      await runAsync(noop, 1);
      await settle();
    }
  }

  function enter() {
    if (running) {
      throw codedError(
        'ERR_ITERATE_CONCURRENT',
        'another iterate() is still running in this process: leak checks must not overlap ' +
          '(each would count the other\'s objects); await the first one before starting the next'
      );
    }
    running = true;
  }

  function runSync(fn, n) {
    for (let i = 0; i < n; i++) {
      const r = fn();
      if (isThenable(r)) throw asyncFnError(r);
    }
  }

  /**
   * An async id allocated now: the difference of two is how many async
   * resources (timers, handles; promises when a hook tracks them, as test
   * runners' do) were created in between.
   */
  function asyncIdNow() {
    return new AsyncResource('memwatch.iterate', { requireManualDestroy: true }).asyncId();
  }

  /** One turn of the event loop: Node's deferred cleanup (destroy hooks) runs. */
  function settle() {
    return new Promise((resolve) => setImmediate(resolve));
  }

  async function runAsync(fn, n) {
    for (let i = 0; i < n; i++) await fn();
  }

  /**
   * One snapshot of a window. Both snapshots of a window come through here,
   * so memwatch's frames and temporaries are the same in both; the memory
   * check runs before the first only (it reads files, and code that ran
   * long ago may be recompiled: that is not fn's).
   */
  function snap(o, before) {
    if (before === 0 && !o.skipMemoryCheck) snapshots.check(null);
    return snapshots.take(before, before === 0 ? 0 : 1, true);
  }

  /**
   * The verdict on a window of `calls` calls: a leak error, or null. The
   * first window has `iterations` calls and counts objects; the second, as
   * many calls as all before it (so any doubling backing store grows in
   * it), counts bytes too.
   */
  function verdict(o, bases, diff, calls, bySize) {
    const classes = evidence(diff, calls, bySize);
    return classes.length > 0 ? leakError(o, calls, bases, classes) : null;
  }

  /** Calls in the long window: as many as all before it. */
  function longWindowCalls(o, bases) {
    return (o.warmup + bases.length) * o.iterations;
  }

  /**
   * Runs `fn` in rounds and throws a MemoryLeakError if objects it allocates
   * stay alive. Returns `{ leaked: false, suspected, bases, heapGrowth }`.
   */
  function iterate(fn, opts) {
    checkFn(fn);
    const o = options(opts);
    enter();
    try {
      const measure = getProbe();
      runSync(fn, o.warmup * o.iterations);
      const bases = new Float64Array(MAX_BATCHES * o.rounds + 1);
      bases[0] = measure();
      let batches = 0;
      let step = MORE;
      while (step === MORE) {
        for (let r = batches * o.rounds + 1; r <= (batches + 1) * o.rounds; r++) {
          runSync(fn, o.iterations);
          bases[r] = measure();
        }
        batches++;
        step = judge(bases, batches, o);
      }
      const all = Array.from(bases.subarray(0, batches * o.rounds + 1));
      if (step === CLEAN) return result(all, false);

      for (const [calls, long] of [[o.iterations, false], [longWindowCalls(o, all), true]]) {
        const before = snap(o, 0);
        let diff = null;
        let quiet = false;
        try {
          const ids = asyncIdNow();
          runSync(fn, calls);
          quiet = asyncIdNow() === ids + 1;
          diff = snap(o, before);
        } finally {
          if (diff === null) snapshots.discard(before);
        }
        const leak = verdict(o, all, diff, calls, long && quiet);
        if (leak) throw leak;
      }
      return result(all, true);
    } finally {
      running = false;
    }
  }

  /** Like iterate, awaiting `fn()` each call; returns a Promise. */
  iterate.async = async function iterateAsync(fn, opts) {
    checkFn(fn);
    const o = options(opts);
    enter();
    try {
      const measure = getProbe();
      await warmAsync();
      await runAsync(fn, o.warmup * o.iterations);
      const bases = new Float64Array(MAX_BATCHES * o.rounds + 1);
      await settle();
      bases[0] = measure();
      let batches = 0;
      let step = MORE;
      while (step === MORE) {
        for (let r = batches * o.rounds + 1; r <= (batches + 1) * o.rounds; r++) {
          await runAsync(fn, o.iterations);
          await settle();
          bases[r] = measure();
        }
        batches++;
        step = judge(bases, batches, o);
      }
      const all = Array.from(bases.subarray(0, batches * o.rounds + 1));
      if (step === CLEAN) return result(all, false);

      for (const [calls, long] of [[o.iterations, false], [longWindowCalls(o, all), true]]) {
        await settle();
        const before = snap(o, 0);
        let diff = null;
        let quiet = false;
        try {
          const ids = asyncIdNow();
          await runAsync(fn, calls);
          quiet = asyncIdNow() === ids + 1;
          await settle();
          diff = snap(o, before);
        } finally {
          if (diff === null) snapshots.discard(before);
        }
        const leak = verdict(o, all, diff, calls, long && quiet);
        if (leak) throw leak;
      }
      return result(all, true);
    } finally {
      running = false;
    }
  };

  iterate.MemoryLeakError = MemoryLeakError;
  return iterate;
}

module.exports = { createIterate, MemoryLeakError };
