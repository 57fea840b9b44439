'use strict';
// Runs a scenario in a fresh node process (same binary as the test), so GC
// counters and leak state start from zero, and returns what it printed as JSON.

const { spawn, spawnSync } = require('child_process');
const path = require('path');

const ROOT = path.join(__dirname, '..');

function scriptFor(code) {
  return (
    `const memwatch = require(${JSON.stringify(ROOT)});\n` +
    `const done = (v) => { process.stdout.write('\\n@@RESULT ' + JSON.stringify(v) + '\\n'); };\n` +
    code
  );
}

function envFor(opts) {
  const env = { ...process.env, ...opts.env };
  if (!opts.env || !('MEMWATCH_BACKEND' in opts.env)) delete env.MEMWATCH_BACKEND;
  return env;
}

function parse(status, signal, stdout, stderr) {
  const line = (stdout || '').split('\n').find((l) => l.startsWith('@@RESULT '));
  if (status !== 0 || !line) {
    throw new Error(`scenario failed (status ${status}, signal ${signal}):\n${stderr}\n${stdout}`);
  }
  return { result: JSON.parse(line.slice(9)), stderr, status };
}

/**
 * @param {string} code  script body; `memwatch` is already required; print the
 *                       result with `done(value)`.
 * @param {{ env?: object, execArgv?: string[], timeout?: number }} [opts]
 */
function runScenario(code, opts = {}) {
  const r = spawnSync(process.execPath, [...(opts.execArgv || []), '-e', scriptFor(code)], {
    env: envFor(opts),
    encoding: 'utf8',
    timeout: opts.timeout || 120_000,
  });
  return parse(r.status, r.signal, r.stdout, r.stderr);
}

/** runScenario without blocking: a Promise of the same result. */
function runScenarioAsync(code, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.execArgv || []), '-e', scriptFor(code)], {
      env: envFor(opts),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      try {
        resolve(parse(status, signal, stdout, stderr));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** Runs `jobs` (functions returning promises), at most `limit` at a time; results in order. */
async function inParallel(jobs, limit = 2) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

module.exports = { runScenario, runScenarioAsync, inParallel, ROOT };
