'use strict';
// memwatch.analyzeSnapshot() and the CLI's analyses: .heapsnapshot files or
// streams parsed and analyzed by the Rust graph engine on threads of its own
// (src/analysis.rs), never on libuv's pool, so neither the event loop nor
// fs/crypto/dns work waits for them, and process.exit() never does either.

const { codedError, checkInteger } = require('./errors');

/** Node's AbortError shape (name 'AbortError', code 'ABORT_ERR', cause = the signal's reason). */
function abortError(reason) {
  const err = new Error('The operation was aborted', reason === undefined ? undefined : { cause: reason });
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

function isReadable(x) {
  return Boolean(x) && (typeof x[Symbol.asyncIterator] === 'function' || typeof x.on === 'function');
}

/** A chunk as bytes, or null when it is neither bytes nor a string (an object-mode stream). */
function toBytes(chunk) {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  return null;
}

function badChunk(chunk) {
  const what = chunk === null ? 'null' : Array.isArray(chunk) ? 'an array' : `a ${typeof chunk}`;
  return codedError(
    'ERR_INVALID_ARG_TYPE',
    `a heap snapshot stream must give Buffers, Uint8Arrays or strings; it gave ${what}`,
    TypeError
  );
}

function readError(message, cause) {
  const err = new Error(message, cause === undefined ? undefined : { cause });
  err.code = 'ERR_SNAPSHOT_READ';
  return err;
}

/**
 * Feeds a stream to the parser until it ends; rejects on a stream error, a
 * stream destroyed before its end, or a chunk that is not bytes. Streams are
 * read through their events: on Node 18 an async iterator over
 * v8.getHeapSnapshot() never finishes. `stop()` (abort) destroys the stream.
 */
function pump(input, source) {
  if (typeof input.on !== 'function') return pumpIterable(input, source);
  let stop = () => {};
  const done = new Promise((resolve, reject) => {
    if (input.readableEnded) return resolve();
    if (input.errored) return reject(readError(`the stream failed: ${input.errored.message}`, input.errored));
    if (input.destroyed) return reject(readError('the stream was destroyed before it ended'));
    let settled = false;
    const finish = (err) => {
      if (settled) return;
      settled = true;
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('close', onClose);
      // Stays: an error emitted after this must not become an uncaught exception.
      input.off('error', onError);
      input.on('error', () => {});
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk) => {
      const bytes = toBytes(chunk);
      if (bytes === null) {
        finish(badChunk(chunk));
        input.destroy();
      } else if (!source.push(bytes)) {
        // The parser stopped (it reports why); stop reading.
        finish();
        input.destroy();
      }
    };
    const onEnd = () => finish();
    const onClose = () => finish(readError('the stream closed before it ended'));
    const onError = (err) => finish(readError(`the stream failed: ${err && err.message}`, err));
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('close', onClose);
    input.on('error', onError);
    stop = (err) => {
      finish(err);
      if (typeof input.destroy === 'function') input.destroy();
    };
  });
  return { done, stop: (err) => stop(err) };
}

function pumpIterable(input, source) {
  let stopped = null;
  const done = (async () => {
    for await (const chunk of input) {
      if (stopped) throw stopped;
      const bytes = toBytes(chunk);
      if (bytes === null) throw badChunk(chunk);
      if (!source.push(bytes)) break;
    }
    if (stopped) throw stopped;
  })();
  return {
    done,
    stop: (err) => {
      stopped = err;
    },
  };
}

/**
 * Starts parsing `input` (a path, or a readable stream of snapshot JSON such
 * as `v8.getHeapSnapshot()`); returns the native source at once, with
 * `pumping` for streams.
 */
function openSource(binding, input, label = 'stream') {
  if (typeof input === 'string') return { native: binding.SnapshotSource.fromFile(input), pumping: null };
  if (!isReadable(input)) {
    throw codedError(
      'ERR_INVALID_ARG_TYPE',
      'The "pathOrStream" argument must be a file path or a readable stream',
      TypeError
    );
  }
  const native = binding.SnapshotSource.fromChunks(label);
  const pumping = pump(input, native);
  pumping.done.then(
    () => native.end(),
    () => native.abort()
  );
  return { native, pumping };
}

function checkSignal(signal) {
  if (signal === undefined) return;
  if (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options.signal" property must be an AbortSignal', TypeError);
  }
}

/**
 * Runs one native analysis over opened sources: `start(onDone)` starts the
 * job; resolves with its result, rejects with its coded error, a stream's
 * error, or an AbortError. Whatever ends it first, every source and the job
 * are stopped and their memory freed.
 */
function runJob(sources, start, signal) {
  return new Promise((resolve, reject) => {
    let settled = false;
    let job = null;
    const stopAll = (err) => {
      if (job) job.abort();
      for (const s of sources) {
        s.native.abort();
        if (s.pumping) s.pumping.stop(err);
      }
    };
    const onAbort = () => {
      const err = abortError(signal.reason);
      settle(reject, err);
      stopAll(err);
    };
    function settle(fn, value) {
      if (settled) return;
      settled = true;
      if (signal) signal.removeEventListener('abort', onAbort);
      fn(value);
    }
    job = start(() => {
      // Called once, from the event loop, when the job's thread is done.
      let result;
      try {
        result = job.result();
      } catch (err) {
        return settle(reject, err);
      }
      settle(resolve, result);
    });
    const streams = sources.filter((s) => s.pumping).map((s) => s.pumping.done);
    Promise.all(streams).then(
      () => {
        // Fed completely: from now on the job alone decides, so it may hold
        // the process open (a stream that never ends must not).
        if (!settled) job.keepAlive();
      },
      (err) => {
        settle(reject, err);
        stopAll(err);
      }
    );
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

function topOption(options) {
  if (options === undefined) return { top: 20, signal: undefined };
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
  }
  const top = checkInteger('options.top', options.top === undefined ? 20 : options.top, 1, 1e6);
  checkSignal(options.signal);
  return { top, signal: options.signal };
}

function createAnalyzers(binding) {
  /**
   * Class groups of one snapshot: `{ nodes, edges, self_size, class_count,
   * groups: [{ name, count, self_size, retained_size }] }` (DevTools' class
   * names and retained sizes; the `top` largest by retained size).
   */
  async function analyzeSnapshot(pathOrStream, options) {
    const { top, signal } = topOption(options);
    if (signal && signal.aborted) throw abortError(signal.reason);
    const source = openSource(binding, pathOrStream);
    return runJob([source], (onDone) => binding.analyzeSource(source.native, top, onDone), signal);
  }

  /** For the CLI, which reads its sources' progress. */
  const jobs = {
    analyze: (sources, { top }, onDone) => binding.analyzeSource(sources[0].native, top, onDone),
    diff: (sources, _, onDone) => binding.diffSources(sources[0].native, sources[1].native, onDone),
    leaks: (sources, _, onDone) =>
      binding.leakSources(sources[0].native, sources[1].native, sources[2].native, onDone),
    paths: (sources, { className, limit }, onDone) =>
      binding.pathSources(sources[0].native, className, limit, onDone),
  };
  const run = (kind, sources, args, signal) => runJob(sources, (onDone) => jobs[kind](sources, args, onDone), signal);

  return { analyzeSnapshot, openSource: (x, l) => openSource(binding, x, l), run };
}

module.exports = { createAnalyzers };
