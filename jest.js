'use strict';
// `require('memwatch/jest')`: the `toLeak` matcher.
//
//   require('memwatch/jest');                       // in a test file or a setupFilesAfterEnv module
//   (with injectGlobals: false it registers through @jest/globals' expect)
//   test('no leak', async () => {
//     await expect(() => handler(req)).not.toLeak();           // sync or async functions
//     await expect(fn).not.toLeak({ iterations: 50 });         // memwatch.iterate options
//   });
//
// The matcher always runs `fn` through memwatch.iterate.async (which awaits
// what `fn` returns), so it returns a Promise: await it.

const memwatch = require('.');
const { codedError } = require('./lib/errors');

const matchers = {
  async toLeak(received, options) {
    if (typeof received !== 'function') {
      throw new TypeError('expect(fn).toLeak(): fn must be a function');
    }
    let error = null;
    let result = null;
    try {
      result = await memwatch.iterate.async(received, options);
    } catch (err) {
      if (!(err instanceof memwatch.MemoryLeakError)) throw err;
      error = err;
    }
    const pass = error !== null;
    return {
      pass,
      message: pass
        ? () => `expected the function not to leak, but it does:\n\n${error.message}`
        : () =>
            `expected the function to leak, but nothing accumulated (heap ${result.heapGrowth >= 0 ? '+' : ''}${result.heapGrowth} bytes over ${result.bases.length - 1} rounds)`,
    };
  },
};

/**
 * jest's `expect`: the global one, or, with `injectGlobals: false`, the one
 * jest's runtime hands out as `@jest/globals` (outside jest that module
 * throws or is missing: null).
 */
function jestExpect() {
  if (typeof expect === 'function' && typeof expect.extend === 'function') return expect; // eslint-disable-line no-undef
  try {
    const globals = require('@jest/globals');
    if (globals && typeof globals.expect === 'function' && typeof globals.expect.extend === 'function') {
      return globals.expect;
    }
  } catch {
    // not inside a jest test environment
  }
  return null;
}

const target = jestExpect();
if (target) {
  target.extend(matchers);
} else if (process.env.JEST_WORKER_ID !== undefined) {
  // Inside jest but no expect to extend: registering nothing would let
  // every `.not.toLeak()` fail as "not a function", or pass unnoticed.
  throw codedError(
    'ERR_MEMWATCH_JEST_EXPECT',
    "memwatch/jest: found no jest expect to extend (neither a global nor @jest/globals'); " +
      'call expect.extend(require("memwatch/jest").matchers) yourself'
  );
}
// Outside jest, nothing is registered: `matchers` is there for expect.extend().

module.exports = { matchers, iterate: memwatch.iterate, MemoryLeakError: memwatch.MemoryLeakError };
