// `import { iterate, itDoesNotLeak } from 'memwatch/mocha'` (see mocha.js).
import { createRequire } from 'node:module';

const mocha = createRequire(import.meta.url)('./mocha.js');

export default mocha;
export const { iterate, itDoesNotLeak, MemoryLeakError } = mocha;
