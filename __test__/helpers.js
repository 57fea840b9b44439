'use strict';
// Runs a scenario in a fresh node process (same binary as the test), so GC
// counters and leak state start from zero, and returns what it printed as JSON.

const { spawnSync } = require('child_process');
const path = require('path');

const ROOT = path.join(__dirname, '..');

/**
 * @param {string} code  script body; `memwatch` is already required; print the
 *                       result with `done(value)`.
 * @param {{ env?: object, execArgv?: string[], timeout?: number }} [opts]
 */
function runScenario(code, opts = {}) {
  const prelude =
    `const memwatch = require(${JSON.stringify(ROOT)});\n` +
    `const done = (v) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify(v) + '\\n'); };\n`;
  const env = { ...process.env, ...opts.env };
  if (!opts.env || !('MEMWATCH_BACKEND' in opts.env)) delete env.MEMWATCH_BACKEND;
  const r = spawnSync(process.execPath, [...(opts.execArgv || []), '-e', prelude + code], {
    env,
    encoding: 'utf8',
    timeout: opts.timeout || 60_000,
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('@@RESULT '));
  if (r.status !== 0 || !line) {
    throw new Error(
      `scenario failed (status ${r.status}, signal ${r.signal}):\n${r.stderr}\n${r.stdout}`
    );
  }
  return { result: JSON.parse(line.slice(9)), stderr: r.stderr, status: r.status };
}

module.exports = { runScenario, ROOT };
