#!/usr/bin/env node
'use strict';
// memwatch CLI: .heapsnapshot files analyzed by memwatch's Rust graph engine.
// Exit codes: 0 ok, 1 `leaks` found leaks, 2 usage error, 3 unreadable or
// malformed file. `--json` output is stable (documented in the README).
//
// Each command is one entry of COMMANDS: its files, the options it takes and
// what it runs; argument parsing is util.parseArgs, so a new command is a
// new entry.

const path = require('path');
const { parseArgs } = require('util');
const { load } = require('../lib/binding');
const { createAnalyzers } = require('../lib/analyze');
const { table, printable } = require('../lib/table');

const USAGE = `usage:
  memwatch analyze <file> [--top N] [--json]     classes by retained size (DevTools' names)
  memwatch diff <before> <after> [--json]        what changed between two snapshots of one process
  memwatch leaks <baseline> <target> <final> [--json]
                                                 objects allocated between baseline and target
                                                 that survive in final (exit 1 if any)
  memwatch paths <file> --class <Name> [--limit k] [--json]
                                                 why objects of a class are alive (retainer paths)
  memwatch record -o <rec.ndjson> -- <command>   run a command, recording its stats and leak events
  memwatch report <rec.ndjson> [--diff <heapdiff.json>] [-o <report.html>]
                                                 an HTML report with charts from a recording`;

const EXIT = { ok: 0, leaks: 1, usage: 2, file: 3, internal: 70 };

/** Every option any command takes; each command lists the ones it accepts. */
const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  top: { type: 'string' },
  limit: { type: 'string' },
  class: { type: 'string' },
};
/** The largest --top / --limit (as analyzeSnapshot's `top`). */
const MAX_COUNT = 1_000_000;

class UsageError extends Error {}

/** A whole number from 1 to MAX_COUNT, or `fallback` when the option is absent. */
function count(value, name, fallback) {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_COUNT) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${MAX_COUNT}, got ${printable(value)}`);
  }
  return n;
}

// ---- human output ----

const KB = 1024;
const MB = 1024 * 1024;
function bytes(n) {
  const a = Math.abs(n);
  if (a >= MB) return `${(n / MB).toFixed(1)} MB`;
  if (a >= KB) return `${(n / KB).toFixed(1)} kB`;
  return `${n} B`;
}

/** A class name from a snapshot, safe for a terminal and at most 60 columns. */
function name(s) {
  const p = printable(s);
  return p.length > 60 ? `${p.slice(0, 59)}…` : p;
}

const out = [];
const print = (s) => out.push(s);

function printAnalyze(file, r) {
  print(`${printable(file, { backslashes: false })}: ${r.nodes} nodes, ${r.edges} edges, ${bytes(r.self_size)} in ${r.class_count} classes`);
  print(
    table(
      ['Class', 'Count', 'Self size', 'Retained size'],
      r.groups.map((g) => [name(g.name), g.count, bytes(g.self_size), bytes(g.retained_size)]),
      ['l', 'r', 'r', 'r']
    )
  );
}

function printDiff(r) {
  const c = r.change;
  print(`before: ${r.before.nodes} objects, ${r.before.size}; after: ${r.after.nodes} objects, ${r.after.size}`);
  print(`change: ${c.size} (+${c.allocated_nodes} / -${c.freed_nodes} objects)`);
  const rows = [...c.details].sort((a, b) => b.size_bytes - a.size_bytes);
  print(
    table(
      ['Class', '+', '-', 'Size change', 'Retained by added'],
      rows.map((d) => [name(d.what), d['+'], d['-'], bytes(d.size_bytes), bytes(d.retained_size_bytes)]),
      ['l', 'r', 'r', 'r', 'r']
    )
  );
}

function printLeaks(r) {
  if (r.leaks.length === 0) return print('no leak candidates: nothing allocated between baseline and target survives in final');
  print(`${r.leaks.length} classes with objects allocated between baseline and target and still alive in final:`);
  print(
    table(
      ['Class', 'Count', 'Self size', 'Retained size'],
      r.leaks.map((g) => [name(g.name), g.count, bytes(g.self_size), bytes(g.retained_size)]),
      ['l', 'r', 'r', 'r']
    )
  );
  print('\nwhy they are alive (one example each):');
  for (const g of r.leaks.slice(0, 20)) print(`  ${name(g.name)}: ${g.path ? printable(g.path) : '(no path from the GC roots)'}`);
  return undefined;
}

function printPaths(r) {
  print(`${r.count} objects of class ${printable(r.class)}${r.paths.length < r.count ? `, first ${r.paths.length}` : ''}:`);
  for (const p of r.paths) {
    print(`  @${p.id} (self ${bytes(p.self_size)}, retains ${bytes(p.retained_size)})`);
    print(`    ${p.path ? printable(p.path) : '(unreachable from the GC roots)'}`);
  }
}

// ---- commands ----

/**
 * name -> { files, options (beyond --json/--help), start(ctx) }. start opens
 * the sources and returns { sources, args (for the analysis), show(result),
 * code(result) }; the analysis itself is lib/analyze.js's `run(name, ...)`.
 */
const COMMANDS = {
  analyze: {
    files: 1,
    options: ['top'],
    start({ open, files, values }) {
      const top = count(values.top, 'top', 20);
      return { sources: [open(files[0])], args: { top }, show: (r) => printAnalyze(files[0], r) };
    },
  },
  diff: {
    files: 2,
    options: [],
    start({ open, files }) {
      return { sources: files.map((f) => open(f)), args: {}, show: printDiff };
    },
  },
  leaks: {
    files: 3,
    options: [],
    start({ open, files }) {
      return {
        sources: files.map((f) => open(f)),
        args: {},
        show: printLeaks,
        code: (r) => (r.leaks.length > 0 ? EXIT.leaks : EXIT.ok),
      };
    },
  },
  paths: {
    files: 1,
    options: ['class', 'limit'],
    start({ open, files, values }) {
      if (values.class === undefined) throw new UsageError('paths needs --class <Name>');
      const limit = count(values.limit, 'limit', 5);
      return { sources: [open(files[0])], args: { className: values.class, limit }, show: printPaths };
    },
  },
};

/** Commands with a module of their own, which parses its own arguments. */
const COMMAND_MODULES = { record: '../lib/cli/record', report: '../lib/cli/report' };

/** { command, files, values } from argv, or a UsageError. */
function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    if (err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError(err.message);
    throw err;
  }
  const [command, ...files] = parsed.positionals;
  return { command, files, values: parsed.values };
}

function checkCommand(command, spec, files, values) {
  if (!spec) throw new UsageError(`unknown command ${printable(command)}`);
  if (files.length !== spec.files) {
    throw new UsageError(`${command} takes ${spec.files} file${spec.files > 1 ? 's' : ''}, got ${files.length}`);
  }
  for (const key of ['top', 'limit', 'class']) {
    if (values[key] !== undefined && !spec.options.includes(key)) {
      throw new UsageError(`${command} does not take --${key}`);
    }
  }
}

// ---- progress bar (stderr, terminals only) ----

function progress(sources) {
  if (!process.stderr.isTTY) return () => {};
  const total = sources.reduce((n, s) => n + (s.totalBytes || 0), 0);
  const draw = () => {
    const read = sources.reduce((n, s) => n + s.bytesRead, 0);
    const frac = total ? Math.min(1, read / total) : 0;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, ' ');
    process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${bytes(read)} / ${bytes(total)} `);
  };
  const timer = setInterval(draw, 100);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}

async function run(argv) {
  if (Object.hasOwn(COMMAND_MODULES, argv[0])) return require(COMMAND_MODULES[argv[0]]).run(argv.slice(1));
  const { command, files, values } = parse(argv);
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : null;
  checkCommand(command, spec, files, values);
  const analyzers = createAnalyzers(load());
  const open = (f, label) => analyzers.openSource(path.resolve(f), label);
  const { sources, args, show, code } = spec.start({ open, files, values });
  const stop = progress(sources.map((s) => s.native));
  let result;
  try {
    result = await analyzers.run(command, sources, args);
  } finally {
    stop();
  }
  if (values.json) print(JSON.stringify(result, null, 2));
  else show(result);
  return code ? code(result) : EXIT.ok;
}

/** Writes what was printed; a reader that went away (`| head`) ends the process quietly with `exitCode`. */
function flush(exitCode) {
  process.exitCode = exitCode;
  if (out.length === 0) return;
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(exitCode);
    process.stderr.write(`memwatch: cannot write the output: ${err.message}\n`);
    process.exit(EXIT.internal);
  });
  process.stdout.write(`${out.join('\n')}\n`);
}

run(process.argv.slice(2)).then(flush, (err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`memwatch: ${err.message}\n${USAGE}\n`);
    process.exitCode = EXIT.usage;
  } else if (err && /^ERR_SNAPSHOT_/.test(err.code)) {
    // One line: what and where (the parser's message carries the byte offset).
    process.stderr.write(`memwatch: ${printable(err.message.split('\n')[0])}\n`);
    process.exitCode = EXIT.file;
  } else {
    process.stderr.write(`memwatch: ${(err && err.stack) || err}\n`);
    process.exitCode = EXIT.internal;
  }
});
