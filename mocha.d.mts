// Types of `import ... from 'memwatch/mocha'` (mocha.mjs).
import mocha from './mocha.js';

export default mocha;
export declare const iterate: typeof mocha.iterate;
export declare const itDoesNotLeak: typeof mocha.itDoesNotLeak;
export declare const MemoryLeakError: typeof mocha.MemoryLeakError;
