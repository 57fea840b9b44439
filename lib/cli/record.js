'use strict';
// `memwatch record -o rec.ndjson [options] -- <command> [args...]`
//
// Runs the command with NODE_OPTIONS="--require <this package>/lib/record-preload.js"
// (an absolute path, so it works whatever name the package is installed
// under), and MEMWATCH_RECORD telling the preload where to write. The node
// process the command starts records into the output file; node processes it
// starts in turn record into <output>.<pid>.ndjson (created on their first
// event). Exit code: the command's (128 + n when a signal ended it).

const fs = require('fs');
const path = require('path');
const os = require('os');
const { spawn } = require('child_process');
const { parseArgs } = require('util');
const { perProcessPath } = require('../record');

const USAGE = `usage: memwatch record -o <file.ndjson> [--max-size <n>[k|m|g]] [--keep <n>] [--heapdiff] -- <command> [args...]
  Runs <command> with memwatch recording its stats and leak events, without code
  changes: e.g. memwatch record -o rec.ndjson -- node app.js
  --max-size  rotate the file at this size (default 64m; 0: never)
  --keep      rotated parts kept: rec.ndjson.1 ... (default 1)
  --heapdiff  on each leak event, take a HeapDiff over the next 5 full GCs and record
              the top growing classes (costs a heap snapshot: seconds on big heaps)
  Node processes the command starts record into <file>.<pid>.ndjson.
  Then: memwatch report rec.ndjson -o report.html`;

const EXIT = { usage: 2, file: 3, cannotRun: 127 };
const PRELOAD = path.join(__dirname, '..', 'record-preload.js');

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(String(s).trim());
  if (!m) return null;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Math.floor(Number(m[1]) * mult);
}

/** NODE_OPTIONS value with a quoted --require added (Node unquotes "..." with \\ escapes). */
function withPreload(nodeOptions) {
  const quoted = `"${PRELOAD.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `${nodeOptions ? `${nodeOptions} ` : ''}--require ${quoted}`;
}

function split(argv) {
  const i = argv.indexOf('--');
  return i === -1 ? { own: argv, command: null } : { own: argv.slice(0, i), command: argv.slice(i + 1) };
}

/** @param {string[]} argv arguments after `record` @returns {Promise<number>} exit code */
async function run(argv, { stdout = process.stdout, stderr = process.stderr } = {}) {
  const usage = (msg) => {
    stderr.write(`memwatch record: ${msg}\n${USAGE}\n`);
    return EXIT.usage;
  };
  const { own, command: afterDashes } = split(argv);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        'max-size': { type: 'string' },
        keep: { type: 'string' },
        heapdiff: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usage(`${err.message} (put the command after --: memwatch record -o rec.ndjson -- node app.js)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = afterDashes || positionals;
  if (afterDashes && positionals.length) return usage(`unexpected ${positionals[0]} before --`);
  if (!command || command.length === 0) return usage('which command? e.g. memwatch record -o rec.ndjson -- node app.js');
  if (!values.output) return usage('-o <file.ndjson> is required');
  const maxBytes = values['max-size'] === undefined ? 64 * 1024 ** 2 : parseSize(values['max-size']);
  if (maxBytes === null) return usage(`--max-size: not a size: ${values['max-size']}`);
  const keep = values.keep === undefined ? 1 : Number(values.keep);
  if (!Number.isInteger(keep) || keep < 1) return usage(`--keep must be a positive integer, got ${values.keep}`);

  const output = path.resolve(values.output);
  try {
    fs.writeFileSync(output, ''); // a new recording; fails early if it cannot be written
  } catch (err) {
    stderr.write(`memwatch: ${output}: cannot write (${err.code || err.message})\n`);
    return EXIT.file;
  }
  const started = Date.now();
  const spec = { output, maxBytes, keep, heapDiff: values.heapdiff === true, parent: process.pid };
  const env = { ...process.env, MEMWATCH_RECORD: JSON.stringify(spec), NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS) };

  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env });
  // Ctrl-C reaches the child through the terminal; termination requests sent
  // to this process are passed on. Either way, wait for the child.
  const forward = (sig) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const handlers = { SIGINT: () => {}, SIGTERM: forward('SIGTERM'), SIGHUP: forward('SIGHUP') };
  for (const [sig, fn] of Object.entries(handlers)) process.on(sig, fn);
  const result = await new Promise((resolve) => {
    child.on('error', (err) => resolve({ error: err }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  for (const [sig, fn] of Object.entries(handlers)) process.removeListener(sig, fn);
  if (result.error) {
    stderr.write(`memwatch record: cannot run ${command[0]}: ${result.error.message}\n`);
    return EXIT.cannotRun;
  }

  // What was recorded: the output and the files of node processes the command started.
  const dir = path.dirname(output);
  const base = path.basename(perProcessPath(output, 'PID')).split('PID');
  let extra = [];
  try {
    extra = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(base[0]) && f.endsWith(base[1]) && /^\d+$/.test(f.slice(base[0].length, f.length - base[1].length)))
      .map((f) => path.join(dir, f))
      .filter((f) => fs.statSync(f).mtimeMs >= started - 2000); // this run's, not an older one's
  } catch {
    // the summary is a courtesy
  }
  const size = (f) => {
    try {
      return fs.statSync(f).size;
    } catch {
      return 0;
    }
  };
  const rel = (f) => path.relative(process.cwd(), f) || f;
  const parts = [`${rel(output)} (${size(output)} bytes)`, ...extra.map((f) => `${rel(f)} (${size(f)} bytes)`)];
  stderr.write(`memwatch record: recorded ${parts.join(', ')}\n`);
  if (result.signal) return 128 + (os.constants.signals[result.signal] || 0);
  return result.code;
}

module.exports = { run, USAGE, PRELOAD, withPreload };
