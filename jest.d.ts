// `require('memwatch/jest')`: registers `toLeak` with jest's expect.
import memwatch = require('./index');

declare global {
  namespace jest {
    interface Matchers<R> {
      /** Runs the function through memwatch.iterate.async; use as `await expect(fn).not.toLeak()`. */
      toLeak(options?: memwatch.IterateOptions): Promise<R>;
    }
  }
}

// `expect` from '@jest/globals' (and jest's `injectGlobals: false`) is typed
// by the 'expect' package.
declare module 'expect' {
  interface Matchers<R extends void | Promise<void>, T = unknown> {
    /** Runs the function through memwatch.iterate.async; use as `await expect(fn).not.toLeak()`. */
    toLeak(options?: memwatch.IterateOptions): Promise<R>;
  }
}

export declare const matchers: {
  toLeak(received: () => unknown, options?: memwatch.IterateOptions): Promise<{ pass: boolean; message: () => string }>;
};
export declare const iterate: memwatch.Iterate;
export declare const MemoryLeakError: memwatch.Iterate['MemoryLeakError'];
