// Types of `import 'memwatch/jest'` (jest.mjs); the matcher's typings are in jest.d.ts.
import jest from './jest.js';

export default jest;
export declare const matchers: typeof jest.matchers;
export declare const iterate: typeof jest.iterate;
export declare const MemoryLeakError: typeof jest.MemoryLeakError;
