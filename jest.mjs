// `import 'memwatch/jest'`: registers the `toLeak` matcher (see jest.js).
import { createRequire } from 'node:module';

const jest = createRequire(import.meta.url)('./jest.js');

export default jest;
export const { matchers, iterate, MemoryLeakError } = jest;
