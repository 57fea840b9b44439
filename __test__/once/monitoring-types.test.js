'use strict';
// otel.d.ts, prometheus.d.ts and the record() types in index.d.ts compile
// under --strict against the real @opentelemetry/sdk-metrics and prom-client.
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

test('monitoring type declarations compile with their usage examples under --strict', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--esModuleInterop', '--types', 'node',
    path.join(root, '__test__', 'types', 'monitoring.ts'),
  ], { encoding: 'utf8', cwd: root });
  assert.strictEqual(r.status, 0, r.stdout + r.stderr);
});
