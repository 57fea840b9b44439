'use strict';
// `require('memwatch/mocha')`: leak assertions for mocha (and node:test).
//
//   const { iterate, itDoesNotLeak } = require('memwatch/mocha');
//   it('does not leak', () => iterate(() => handler(req)));              // sync: throws
//   it('does not leak (async)', () => iterate.async(() => fetchUser()));  // returns a Promise
//   itDoesNotLeak('parse() does not leak', () => parse(input), { iterations: 50 });
//
// The same functions work in node:test: `test('x', () => iterate(fn))`.

const memwatch = require('.');
const { codedError } = require('./lib/errors');

/** Allowed time for one leak test (GCs and, when suspected, a HeapDiff). */
const TIMEOUT_MS = 60_000;

/**
 * Declares a mocha test asserting that `fn` does not leak (awaits `fn()`).
 * Uses mocha's global `it`; raises its timeout for the GCs and snapshots.
 */
function itDoesNotLeak(title, fn, options) {
  if (typeof it !== 'function') {
    throw codedError(
      'ERR_MEMWATCH_MOCHA_IT',
      "itDoesNotLeak() needs mocha's global it(); use iterate() directly elsewhere"
    );
  }
  // eslint-disable-next-line no-undef
  return it(title, function () {
    if (this && typeof this.timeout === 'function') this.timeout(TIMEOUT_MS);
    return memwatch.iterate.async(fn, options);
  });
}

module.exports = { iterate: memwatch.iterate, itDoesNotLeak, MemoryLeakError: memwatch.MemoryLeakError };
