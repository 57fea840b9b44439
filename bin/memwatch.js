#!/usr/bin/env node
'use strict';
// memwatch CLI: .heapsnapshot files analyzed by memwatch's Rust graph engine.
// Exit codes: 0 ok, 1 `leaks` found leaks, 2 usage error, 3 unreadable or
// malformed file. `--json` output is stable (documented in the README).

const path = require('path');
const { load } = require('../lib/binding');
const { createAnalyzers } = require('../lib/analyze');
const { table } = require('../lib/table');

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

const EXIT = { ok: 0, leaks: 1, usage: 2, file: 3 };

class UsageError extends Error {}

function parseArgs(argv) {
  const positional = [];
  const flags = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') flags.json = true;
    else if (a === '--help' || a === '-h') flags.help = true;
    else if (a === '--top' || a === '--limit' || a === '--class') {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  return { command: positional.shift(), files: positional, flags };
}

function positiveInt(value, name, dflt) {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got ${value}`);
  return n;
}

function expectFiles(files, count, command) {
  if (files.length !== count) {
    throw new UsageError(`${command} takes ${count} file${count > 1 ? 's' : ''}, got ${files.length}`);
  }
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


const print = (s) => process.stdout.write(`${s}\n`);

function printAnalyze(file, r) {
  print(`${file}: ${r.nodes} nodes, ${r.edges} edges, ${bytes(r.self_size)} in ${r.class_count} classes`);
  print(
    table(
      ['Class', 'Count', 'Self size', 'Retained size'],
      r.groups.map((g) => [g.name.slice(0, 60), g.count, bytes(g.self_size), bytes(g.retained_size)]),
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
      rows.map((d) => [d.what.slice(0, 60), d['+'], d['-'], bytes(d.size_bytes), bytes(d.retained_size_bytes)]),
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
      r.leaks.map((g) => [g.name.slice(0, 60), g.count, bytes(g.self_size), bytes(g.retained_size)]),
      ['l', 'r', 'r', 'r']
    )
  );
  print('\nwhy they are alive (one example each):');
  for (const g of r.leaks.slice(0, 20)) print(`  ${g.name}: ${g.path || '(no path from the GC roots)'}`);
}

function printPaths(r) {
  print(`${r.count} objects of class ${r.class}${r.paths.length < r.count ? `, first ${r.paths.length}` : ''}:`);
  for (const p of r.paths) {
    print(`  @${p.id} (self ${bytes(p.self_size)}, retains ${bytes(p.retained_size)})`);
    print(`    ${p.path || '(unreachable from the GC roots)'}`);
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

// Commands with a module of their own (each parses its own arguments).
const COMMAND_MODULES = { record: '../lib/cli/record', report: '../lib/cli/report' };

async function run(argv) {
  if (COMMAND_MODULES[argv[0]]) return require(COMMAND_MODULES[argv[0]]).run(argv.slice(1));
  const { command, files, flags } = parseArgs(argv);
  if (flags.help || !command) {
    print(USAGE);
    return flags.help ? EXIT.ok : EXIT.usage;
  }
  const binding = load();
  const analyzers = createAnalyzers(binding);
  const open = (f, label) => analyzers.openSource(path.resolve(f), label);
  const output = flags.json ? (r) => print(JSON.stringify(r, null, 2)) : null;

  let sources;
  let args = {};
  let show;
  let code = EXIT.ok;
  switch (command) {
    case 'analyze': {
      expectFiles(files, 1, command);
      args = { top: positiveInt(flags.top, '--top', 20) };
      sources = [open(files[0])];
      show = (r) => printAnalyze(files[0], r);
      break;
    }
    case 'diff':
      expectFiles(files, 2, command);
      sources = [open(files[0]), open(files[1])];
      show = printDiff;
      break;
    case 'leaks':
      expectFiles(files, 3, command);
      sources = files.map((f) => open(f));
      show = printLeaks;
      break;
    case 'paths': {
      expectFiles(files, 1, command);
      if (!flags.class) throw new UsageError('paths needs --class <Name>');
      args = { className: flags.class, limit: positiveInt(flags.limit, '--limit', 5) };
      sources = [open(files[0])];
      show = printPaths;
      break;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
  const stop = progress(sources.map((s) => s.native));
  let result;
  try {
    result = await analyzers.run(command, sources, args);
  } finally {
    stop();
  }
  if (command === 'leaks' && result.leaks.length > 0) code = EXIT.leaks;
  (output || show)(result);
  return code;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`memwatch: ${err.message}\n${USAGE}\n`);
      process.exitCode = EXIT.usage;
    } else if (err && /^ERR_SNAPSHOT_/.test(err.code)) {
      // One line: what and where (the parser's message carries the byte offset).
      process.stderr.write(`memwatch: ${err.message.split('\n')[0]}\n`);
      process.exitCode = EXIT.file;
    } else {
      process.stderr.write(`memwatch: ${(err && err.stack) || err}\n`);
      process.exitCode = 70;
    }
  }
);
