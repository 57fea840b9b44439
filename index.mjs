// The ES module face of memwatch: `import memwatch from 'memwatch'` is the
// same EventEmitter as `require('memwatch')`, and its API is also available
// as named exports (`import { HeapDiff, gc, iterate } from 'memwatch'`).
import { createRequire } from 'node:module';

const memwatch = createRequire(import.meta.url)('./index.js');

export default memwatch;
export const {
  HeapDiff,
  iterate,
  analyzeSnapshot,
  MemoryLeakError,
  backend,
  backendReason,
} = memwatch;
// Methods, bound so they work detached from the module object.
export const gc = memwatch.gc.bind(memwatch);
export const callbackCost = memwatch.callbackCost.bind(memwatch);
export const record = memwatch.record;
export const configure = memwatch.configure.bind(memwatch);
export const sites = memwatch.sites.bind(memwatch);
export const writeHeapProfile = memwatch.writeHeapProfile.bind(memwatch);
export const on = memwatch.on.bind(memwatch);
export const once = memwatch.once.bind(memwatch);
export const off = memwatch.off.bind(memwatch);
export const addListener = memwatch.addListener.bind(memwatch);
export const removeListener = memwatch.removeListener.bind(memwatch);
export const removeAllListeners = memwatch.removeAllListeners.bind(memwatch);
export const prependListener = memwatch.prependListener.bind(memwatch);
export const prependOnceListener = memwatch.prependOnceListener.bind(memwatch);
export const listenerCount = memwatch.listenerCount.bind(memwatch);
