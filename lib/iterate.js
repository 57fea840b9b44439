'use strict';
// Leak assertions for test runners: memwatch.iterate(fn) and
// memwatch.iterate.async(fn), with leakage's call shape.
//
// 1. Warm-up: `warmup` rounds of `iterations` calls, so lazy compilation,
//    inline caches and first-use allocations do not look like leaks.
// 2. Watch: `rounds` rounds of `iterations` calls, a full GC after each, and
//    the used heap after it (cheap: no snapshot).
// 3. Only if the heap grew over the rounds: one more round inside a HeapDiff, and a
//    class is reported when at least one object of it per two calls stayed
//    alive. The error names those classes, with counts, sizes and one
//    retainer path each; a heap that grew with no class accumulating passes.

const { codedError } = require('./errors');

const DEFAULTS = { iterations: 30, rounds: 6, warmup: 1 };
/** Classes printed in the error message (all are in `.details`). */
const CLASSES_IN_MESSAGE = 5;

class MemoryLeakError extends Error {
  constructor(message, details) {
    super(message);
    this.name = 'MemoryLeakError';
    this.code = 'ERR_MEMORY_LEAK';
    /**
     * `{ iterations, rounds, heapGrowth, bases, classes: [{ what, count,
     * size_bytes, retained_size_bytes, path }] }`
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
    if (opts[key] === undefined) continue;
    if (!Number.isInteger(opts[key]) || opts[key] < min || opts[key] > max) {
      throw codedError(
        'ERR_OUT_OF_RANGE',
        `The "options.${key}" value must be an integer from ${min} to ${max}. Received ${String(opts[key])}`,
        RangeError
      );
    }
    out[key] = opts[key];
  }
  return out;
}

function checkFn(fn) {
  if (typeof fn !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "fn" argument must be a function', TypeError);
  }
}

const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const kb = (n) => (Math.abs(n) >= 1024 * 1024 ? mb(n) : `${(n / 1024).toFixed(1)} kB`);

/**
 * The cheap test: does the used heap after the last round stand above the
 * lowest it was after an earlier round? A small leak (a few hundred bytes a
 * round) does not grow the heap in every round, because GC noise and
 * hash-table resizing move it by as much, and the first base can still hold
 * garbage of the code that ran before (a previous test), freed in round 1.
 * A clean function passes this test often; the HeapDiff that follows decides.
 */
function grewOverRounds(bases) {
  return bases[bases.length - 1] > Math.min(...bases.slice(0, -1));
}

// HeapDiff's names for what is not a user's constructor.
const BUILTIN_KINDS = new Set(['Array', 'String', 'Number', 'Native', 'RegExp', 'Symbol', 'BigInt']);

/** Listing order: the user's classes first, then closures, built-ins, engine internals. */
function rank(what) {
  if (what.startsWith('system / ')) return 3;
  if (BUILTIN_KINDS.has(what)) return 2;
  if (what === 'Closure') return 1;
  return 0;
}

/**
 * Classes that are not evidence of a leak by themselves:
 * - Code: V8 compiles and optimizes while the function runs (a clean async
 *   function showed ~1 Code object per call); code a leak creates (new
 *   Function, eval) comes with closures, which count.
 * - Number: boxed doubles; test harnesses keep some per async operation
 *   (node:test's async-resource map held 2 per call of a clean async
 *   function until their destroy hooks ran). A leaked Map of numbers still
 *   shows through its keys, entries and backing arrays.
 */
const NOT_EVIDENCE = new Set(['Code', 'Number']);

/**
 * Classes of a HeapDiff over `iterations` calls that kept >= 1 object per 2
 * calls, and at least 3: iterate's own frames hold up to 2 new objects of a
 * class (a context, an options object) while the snapshot is taken.
 */
function accumulating(diff, iterations) {
  const threshold = Math.max(3, Math.floor(iterations / 2));
  return diff.change.details
    .filter((d) => !NOT_EVIDENCE.has(d.what))
    .map((d) => ({
      what: d.what,
      count: d['+'] - d['-'],
      size_bytes: d.size_bytes,
      retained_size_bytes: d.retained_size_bytes,
      path: d.examples && d.examples[0] ? d.examples[0].path : null,
    }))
    .filter((c) => c.count >= threshold)
    .sort((a, b) => rank(a.what) - rank(b.what) || b.count - a.count || b.size_bytes - a.size_bytes);
}

function leakError(o, bases, classes) {
  const growth = bases[bases.length - 1] - bases[0];
  const lines = classes.slice(0, CLASSES_IN_MESSAGE).map(
    (c) =>
      `  ${c.what}: +${c.count} in ${o.iterations} calls (${kb(c.size_bytes)}, retains ${kb(c.retained_size_bytes || 0)})\n` +
      `    ${c.path || '(no retainer path found)'}`
  );
  const more = classes.length > CLASSES_IN_MESSAGE ? `\n  ... and ${classes.length - CLASSES_IN_MESSAGE} more classes (see err.details)` : '';
  return new MemoryLeakError(
    `memory leak: the heap grew by ${kb(growth)} over ${o.rounds} rounds of ${o.iterations} calls, ` +
      `and these objects kept accumulating:\n${lines.join('\n')}${more}`,
    { iterations: o.iterations, rounds: o.rounds, heapGrowth: growth, bases, classes }
  );
}

function createIterate(memwatch) {
  const base = () => memwatch.gc().current_base;

  function runSync(fn, n) {
    for (let i = 0; i < n; i++) fn();
  }

  async function runAsync(fn, n) {
    for (let i = 0; i < n; i++) await fn();
  }

  function conclude(o, bases, diff) {
    const classes = accumulating(diff, o.iterations);
    if (classes.length > 0) throw leakError(o, bases, classes);
    return { leaked: false, suspected: true, bases, heapGrowth: bases[bases.length - 1] - bases[0] };
  }

  const clean = (bases) => ({ leaked: false, suspected: false, bases, heapGrowth: bases[bases.length - 1] - bases[0] });

  /**
   * Runs `fn` in rounds and throws a MemoryLeakError if objects it allocates
   * stay alive. Returns `{ leaked: false, suspected, bases, heapGrowth }`.
   */
  function iterate(fn, opts) {
    checkFn(fn);
    const o = options(opts);
    runSync(fn, o.warmup * o.iterations);
    const bases = [base()];
    for (let r = 0; r < o.rounds; r++) {
      runSync(fn, o.iterations);
      bases.push(base());
    }
    if (!grewOverRounds(bases)) return clean(bases);
    const hd = new memwatch.HeapDiff();
    runSync(fn, o.iterations);
    return conclude(o, bases, hd.end({ examples: 1 }));
  }

  /** Like iterate, awaiting `fn()` each call; returns a Promise. */
  iterate.async = async function iterateAsync(fn, opts) {
    checkFn(fn);
    const o = options(opts);
    await runAsync(fn, o.warmup * o.iterations);
    const bases = [base()];
    for (let r = 0; r < o.rounds; r++) {
      await runAsync(fn, o.iterations);
      bases.push(base());
    }
    if (!grewOverRounds(bases)) return clean(bases);
    const hd = new memwatch.HeapDiff();
    await runAsync(fn, o.iterations);
    return conclude(o, bases, hd.end({ examples: 1 }));
  };

  iterate.MemoryLeakError = MemoryLeakError;
  return iterate;
}

module.exports = { createIterate, MemoryLeakError };
