'use strict';
// `memwatch report <recording> [more parts...] [--diff heapdiff.json] [-o report.html]`
// Exit codes: 0 written, 2 usage error, 3 unreadable recording or diff (one
// line on stderr), 70 anything else.

const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const { readRecording } = require('../report/read');
const { renderReport } = require('../report/render');
const { codedError } = require('../errors');

const USAGE = `usage: memwatch report <recording.ndjson> [older parts...] [--diff <heapdiff.json>] [-o <report.html>]
  One self-contained HTML file (no network, no script) from a recording made by
  memwatch.record() or \`memwatch record\`: memory and GC pauses over time with
  leak marks, and the top growing classes (--diff: a HeapDiff result saved as
  JSON or \`memwatch diff --json\` output) and allocation sites.
  Rotated parts: list the oldest first (rec.ndjson.1 rec.ndjson).
  -o defaults to the recording's name with .html.`;

const EXIT = { ok: 0, usage: 2, file: 3, internal: 70 };
// A HeapDiff JSON is read whole; `memwatch diff --json` of a huge heap stays well below this.
const MAX_DIFF_BYTES = 256 * 1024 * 1024;

function readDiff(file) {
  let text;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_DIFF_BYTES) {
      throw codedError('ERR_HEAPDIFF_JSON', `${file}: ${st.size} bytes is too large for a HeapDiff JSON`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ERR_HEAPDIFF_JSON') throw err;
    throw codedError('ERR_HEAPDIFF_JSON', `${file}: cannot read (${err.code || err.message})`);
  }
  let result;
  try {
    result = JSON.parse(text);
  } catch (err) {
    throw codedError('ERR_HEAPDIFF_JSON', `${file}: not JSON (${err.message.split('\n')[0]})`);
  }
  if (!result || typeof result !== 'object' || !result.change || !Array.isArray(result.change.details)) {
    throw codedError(
      'ERR_HEAPDIFF_JSON',
      `${file}: not a HeapDiff result (expected { before, after, change: { details: [...] } }, as hd.end() or \`memwatch diff --json\` give)`
    );
  }
  return { source: file, result };
}

/** @param {string[]} argv arguments after `report` @returns {Promise<number>} exit code */
async function run(argv, { stdout = process.stdout, stderr = process.stderr } = {}) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        diff: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    stderr.write(`memwatch report: ${err.message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (positionals.length === 0) {
    stderr.write(`memwatch report: which recording?\n${USAGE}\n`);
    return EXIT.usage;
  }
  const output = values.output || `${positionals[positionals.length - 1].replace(/\.ndjson$/i, '')}.html`;
  try {
    const diff = values.diff ? readDiff(values.diff) : null;
    const model = await readRecording(positionals);
    let version = '';
    try {
      version = require('../../package.json').version;
    } catch {
      // version only decorates the footer
    }
    const html = renderReport(model, { diff, version });
    try {
      await fs.promises.writeFile(output, html);
    } catch (err) {
      throw codedError('ERR_REPORT_WRITE', `${output}: cannot write (${err.code || err.message})`);
    }
    for (const n of model.notes) stderr.write(`memwatch report: note: ${n}\n`);
    const rel = path.relative(process.cwd(), path.resolve(output));
    stderr.write(
      `memwatch report: wrote ${rel && !rel.startsWith('..') ? rel : path.resolve(output)} ` +
        `(${model.counts.stats} full GCs, ${model.leakCount} leak events)\n`
    );
    return EXIT.ok;
  } catch (err) {
    if (err && /^ERR_(RECORDING_|HEAPDIFF_JSON|REPORT_WRITE)/.test(err.code)) {
      stderr.write(`memwatch: ${err.message}\n`);
      return EXIT.file;
    }
    stderr.write(`memwatch report: ${(err && err.stack) || err}\n`);
    return EXIT.internal;
  }
}

module.exports = { run, USAGE };
