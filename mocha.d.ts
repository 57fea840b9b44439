// `require('memwatch/mocha')`: leak assertions for mocha and node:test.
import memwatch = require('./index');

export declare const iterate: memwatch.Iterate;
export declare const MemoryLeakError: memwatch.Iterate['MemoryLeakError'];
/** Declares a mocha test (global `it`) asserting that `fn` does not leak; awaits `fn()`. */
export declare function itDoesNotLeak(title: string, fn: () => unknown, options?: memwatch.IterateOptions): unknown;
