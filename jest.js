'use strict';
// `require('memwatch/jest')`: the `toLeak` matcher.
//
//   require('memwatch/jest');                       // in a test file or setupFilesAfterEach
//   test('no leak', async () => {
//     await expect(() => handler(req)).not.toLeak();           // sync or async functions
//     await expect(fn).not.toLeak({ iterations: 50 });         // memwatch.iterate options
//   });
//
// The matcher always runs `fn` through memwatch.iterate.async (which awaits
// what `fn` returns), so it returns a Promise: await it.

const memwatch = require('.');

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

// Registers itself when jest's `expect` is in scope.
if (typeof expect === 'function' && typeof expect.extend === 'function') {
  expect.extend(matchers); // eslint-disable-line no-undef
}

module.exports = { matchers, iterate: memwatch.iterate, MemoryLeakError: memwatch.MemoryLeakError };
