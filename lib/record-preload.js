'use strict';
// Loaded into node processes by `memwatch record` (NODE_OPTIONS=--require
// <absolute path>): records this process's memwatch events without code
// changes in the app. It must never break the app: any failure is one line
// on stderr and the app runs on unrecorded.

(function startRecording() {
  const spec = process.env.MEMWATCH_RECORD;
  if (!spec) return;
  try {
    // Workers share the process; the main thread's recording is the one asked for.
    if (!require('worker_threads').isMainThread) return;
    const opts = JSON.parse(spec);
    const memwatch = require('..');
    const { perProcessPath } = require('./record');
    // The process `memwatch record` started writes the file it was given;
    // node processes that one starts write <file>.<pid>.ndjson, created on
    // their first event (no empty files for short-lived helpers).
    const direct = opts.parent === process.ppid;
    const file = direct ? opts.output : perProcessPath(opts.output, process.pid);
    const recording = memwatch.record(file, {
      maxBytes: opts.maxBytes,
      keep: opts.keep,
      heapDiff: opts.heapDiff === true,
      lazy: !direct,
      header: { recorder: 'memwatch record' },
    });
    recording.on('error', (err) => {
      process.stderr.write(`memwatch record: stopped recording pid ${process.pid}: ${err.message}\n`);
    });
  } catch (err) {
    process.stderr.write(`memwatch record: not recording pid ${process.pid}: ${err && err.message}\n`);
  }
})();
