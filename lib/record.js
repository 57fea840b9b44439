'use strict';
// memwatch.record(pathOrStream, options): an NDJSON log of memwatch's events,
// safe to leave on in production.
//
//   {"type":"header","format":"memwatch-recording","version":1,"t":...,"pid":...}
//   {"type":"stats","t":1733100000000,"num_full_gc":1,...every stats field...}
//   {"type":"leak","t":...,"start":"2024-...","end":"...","growth":...,"reason":"...","kind":"heap"}
//   {"type":"heapdiff","t":...,"before":{...},"after":{...},"change":{...,"details":[top growing classes]}}
//   {"type":"sites","t":...,"sites":[...]}
//   {"type":"dropped","t":...,"count":3,"bytes":1200}
//
// `t` is milliseconds since the epoch when the event was delivered. On the
// event path a listener only serializes and queues the line; one writer
// drains the queue with asynchronous writes. The queue is bounded: when the
// disk or the stream cannot keep up, lines are dropped and counted (a
// `dropped` line says how many). A file rotates at `maxBytes` (path -> path.1
// -> ... -> path.<keep>), each part starting with its own header.

const fs = require('fs');
const path = require('path');
const { EventEmitter } = require('events');
const { codedError, describeValue } = require('./errors');

const FORMAT = 'memwatch-recording';
const VERSION = 1;
const DEFAULTS = {
  maxBytes: 64 * 1024 * 1024,
  keep: 1,
  maxQueueBytes: 1024 * 1024,
  top: 20,
};

let packageVersion = null;
function memwatchVersion() {
  if (packageVersion === null) {
    try {
      packageVersion = require('../package.json').version;
    } catch {
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
}

function isWritable(x) {
  return x !== null && typeof x === 'object' && typeof x.write === 'function' && typeof x.on === 'function';
}

/** An integer option >= min (or Infinity where allowed), else its default. */
function intOption(value, name, min, dflt, allowInfinity = false) {
  if (value === undefined) return dflt;
  const ok =
    typeof value === 'number' && value >= min && (Number.isInteger(value) || (allowInfinity && value === Infinity));
  if (!ok) {
    throw codedError(
      'ERR_INVALID_ARG_VALUE',
      `memwatch.record(): options.${name} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${describeValue(value)}`,
      RangeError
    );
  }
  return value;
}

/** Top `top` classes by growth of a HeapDiff result (or `memwatch diff --json` output). */
function summarizeHeapDiff(diff, top) {
  if (!diff || typeof diff !== 'object' || !diff.change || !Array.isArray(diff.change.details)) {
    throw codedError(
      'ERR_INVALID_ARG_TYPE',
      'recording.heapDiff(result): result must be a HeapDiff result ({ before, after, change: { details } })',
      TypeError
    );
  }
  const side = (s) => (s ? { nodes: s.nodes, size_bytes: s.size_bytes, time: s.time } : undefined);
  const details = diff.change.details
    .filter((d) => d && d.size_bytes > 0)
    .sort((a, b) => b.size_bytes - a.size_bytes)
    .slice(0, top)
    .map((d) => {
      const row = { what: d.what, size_bytes: d.size_bytes, '+': d['+'], '-': d['-'] };
      if (d.retained_size_bytes !== undefined) row.retained_size_bytes = d.retained_size_bytes;
      return row;
    });
  return {
    before: side(diff.before),
    after: side(diff.after),
    change: {
      size_bytes: diff.change.size_bytes,
      freed_nodes: diff.change.freed_nodes,
      allocated_nodes: diff.change.allocated_nodes,
      classes: diff.change.details.length,
      details,
    },
  };
}

class Recording extends EventEmitter {
  /**
   * @param {object} memwatch the memwatch module (an EventEmitter with HeapDiff)
   * @param {string|NodeJS.WritableStream} target
   * @param {object} options see index.d.ts RecordOptions
   */
  constructor(memwatch, target, options = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw codedError('ERR_INVALID_ARG_TYPE', 'memwatch.record(): options must be an object', TypeError);
    }
    if (typeof target !== 'string' && !isWritable(target)) {
      throw codedError(
        'ERR_INVALID_ARG_TYPE',
        'memwatch.record(pathOrStream): expected a file path or a writable stream',
        TypeError
      );
    }
    if (typeof target === 'string' && target.length === 0) {
      throw codedError('ERR_INVALID_ARG_VALUE', 'memwatch.record(): the path is empty', TypeError);
    }
    this._memwatch = memwatch;
    // 0 or Infinity: never rotate.
    this.maxBytes = intOption(options.maxBytes, 'maxBytes', 0, DEFAULTS.maxBytes, true) || Infinity;
    this.keep = intOption(options.keep, 'keep', 1, DEFAULTS.keep);
    this.maxQueueBytes = intOption(options.maxQueueBytes, 'maxQueueBytes', 1024, DEFAULTS.maxQueueBytes);
    this.top = intOption(options.top, 'top', 1, DEFAULTS.top);
    this._heapDiff = normalizeHeapDiffOption(options.heapDiff);
    this._endStream = options.end === true;
    this._extraHeader = options.header && typeof options.header === 'object' ? options.header : null;

    this.path = typeof target === 'string' ? target : null;
    this._stream = this.path === null ? target : null;
    this._fd = null;
    this._size = 0;
    this._part = 0;
    this._queue = [];
    this._queuedBytes = 0;
    this._writing = false;
    this._waiters = [];
    this._dropped = { count: 0, bytes: 0 };
    this._droppedTotal = 0;
    this._lines = 0;
    this._bytes = 0;
    this._rotations = 0;
    this.error = null;
    this._stopped = false;
    this._stopPromise = null;
    this._pendingDiff = null;

    if (this.path !== null) {
      if (options.lazy === true) {
        // Opened by the writer on the first line (the `memwatch record` preload
        // in child processes: no file for processes that never GC).
        this._needsOpen = true;
      } else {
        this._openSync();
      }
    } else {
      this._onStreamError = (err) => this._fail('ERR_RECORD_WRITE', `writing the recording failed: ${err.message}`, err);
      this._stream.on('error', this._onStreamError);
    }

    // Path mode: what is still queued when the process exits is written
    // synchronously then (the event loop is gone; it is not the event path).
    if (this.path !== null) {
      this._onExit = () => this._flushSync();
      process.on('exit', this._onExit);
    }

    this._onStats = (s) => {
      this._enqueue(Object.assign({ type: 'stats', t: Date.now() }, s));
      if (this._pendingDiff) this._pendingDiff.afterFullGc();
    };
    this._onLeak = (info) => {
      this._enqueue(Object.assign({ type: 'leak', t: Date.now() }, info));
      if (this._heapDiff && !this._pendingDiff) this._startHeapDiff();
    };
    memwatch.on('stats', this._onStats);
    memwatch.on('leak', this._onLeak);
    if (options.lazy === true && this.path !== null) this._headerPending = true;
    else this._enqueue(this._header());
  }

  _header() {
    const h = {
      type: 'header',
      format: FORMAT,
      version: VERSION,
      t: Date.now(),
      part: this._part,
      pid: process.pid,
      ppid: process.ppid,
      node: process.version,
      v8: process.versions.v8,
      platform: process.platform,
      arch: process.arch,
      memwatch: memwatchVersion(),
      backend: this._memwatch.backend,
    };
    if (process.argv[1]) h.script = process.argv[1];
    return this._extraHeader ? Object.assign(h, this._extraHeader) : h;
  }

  _openSync() {
    try {
      this._fd = fs.openSync(this.path, 'a');
      this._size = fs.fstatSync(this._fd).size;
    } catch (err) {
      const e = codedError('ERR_RECORD_OPEN', `memwatch.record(): cannot open ${this.path}: ${err.message}`);
      e.cause = err;
      throw e;
    }
  }

  /** Serializes and queues one line (the only work done on the event path). */
  _enqueue(obj) {
    if (this._stopped && obj.type !== 'header') return;
    let line;
    try {
      line = JSON.stringify(obj) + '\n';
    } catch (err) {
      line = JSON.stringify({ type: obj.type, t: Date.now(), error: `not serializable: ${err.message}` }) + '\n';
    }
    const bytes = Buffer.byteLength(line);
    if (this._headerPending) {
      this._headerPending = false;
      const header = JSON.stringify(this._header()) + '\n';
      this._push(header, Buffer.byteLength(header));
    }
    if (this._dropped.count > 0) {
      const note = JSON.stringify({ type: 'dropped', t: Date.now(), ...this._dropped }) + '\n';
      if (this._queuedBytes + note.length + bytes > this.maxQueueBytes) return this._drop(bytes);
      this._push(note, Buffer.byteLength(note));
      this._dropped = { count: 0, bytes: 0 };
    } else if (this._queuedBytes + bytes > this.maxQueueBytes) {
      return this._drop(bytes);
    }
    this._push(line, bytes);
  }

  _drop(bytes) {
    this._dropped.count++;
    this._dropped.bytes += bytes;
    this._droppedTotal++;
  }

  _push(line, bytes) {
    this._queue.push({ line, bytes });
    this._queuedBytes += bytes;
    if (!this._writing && !this.error) {
      this._writing = true;
      // Deferred so a burst of events becomes one write.
      process.nextTick(() => this._pump());
    }
  }

  async _pump() {
    try {
      while (this._queue.length > 0 && !this.error) {
        if (this._needsOpen) await this._openAsync();
        const batch = this._takeBatch();
        if (batch.length === 0) {
          await this._rotate();
          continue;
        }
        const buf = Buffer.from(batch.map((x) => x.line).join(''));
        if (this._stream) await this._writeStream(buf);
        else await this._writeFile(buf);
        this._lines += batch.length;
        this._bytes += buf.length;
      }
    } catch (err) {
      this._fail(
        err.code === 'ERR_RECORD_OPEN' ? 'ERR_RECORD_OPEN' : 'ERR_RECORD_WRITE',
        err.code === 'ERR_RECORD_OPEN' ? err.message : `writing ${this.path || 'the recording'} failed: ${err.message}`,
        err
      );
    } finally {
      this._writing = false;
      if (this._queue.length > 0 && !this.error) {
        this._writing = true;
        process.nextTick(() => this._pump());
      } else {
        const waiters = this._waiters;
        this._waiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Lines for the next write: as many as fit in the current file part (at least one into an empty part). */
  _takeBatch() {
    let n = 0;
    let bytes = 0;
    const room = this._stream ? Infinity : this.maxBytes - this._size;
    const partEmpty = this._size === 0;
    while (n < this._queue.length) {
      const b = this._queue[n].bytes;
      if (bytes + b > room && !(partEmpty && n === 0)) break;
      bytes += b;
      n++;
      if (bytes >= 256 * 1024) break; // bounded write size
    }
    const batch = this._queue.splice(0, n);
    this._queuedBytes -= bytes;
    return batch;
  }

  async _openAsync() {
    try {
      const fh = await fs.promises.open(this.path, 'a');
      this._fd = fh.fd;
      this._fh = fh;
      this._size = (await fh.stat()).size;
      this._needsOpen = false;
    } catch (err) {
      const e = codedError('ERR_RECORD_OPEN', `memwatch.record(): cannot open ${this.path}: ${err.message}`);
      e.cause = err;
      throw e;
    }
  }

  _writeFile(buf) {
    return new Promise((resolve, reject) => {
      const writeAll = (offset) => {
        fs.write(this._fd, buf, offset, buf.length - offset, null, (err, written) => {
          if (err) return reject(err);
          this._size += written;
          if (offset + written < buf.length) writeAll(offset + written);
          else resolve();
        });
      };
      writeAll(0);
    });
  }

  _writeStream(buf) {
    return new Promise((resolve, reject) => {
      const s = this._stream;
      if (s.destroyed || s.writableEnded) return reject(new Error('the stream is closed'));
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        s.removeListener('drain', onDrain);
        s.removeListener('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => finish();
      const onClose = () => finish(new Error('the stream was closed'));
      const more = s.write(buf, (err) => {
        if (err) finish(err);
      });
      if (more) finish();
      else {
        s.once('drain', onDrain);
        s.once('close', onClose);
      }
    });
  }

  /** path -> path.1 -> ... -> path.<keep>; the oldest part is overwritten. */
  async _rotate() {
    await this._closeFd();
    for (let i = this.keep; i >= 1; i--) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      try {
        await fs.promises.rename(from, `${this.path}.${i}`);
      } catch (err) {
        if (err.code !== 'ENOENT') throw err;
      }
    }
    this._rotations++;
    this._part++;
    this._needsOpen = true;
    await this._openAsync();
    const header = JSON.stringify(this._header()) + '\n';
    this._queue.unshift({ line: header, bytes: Buffer.byteLength(header) });
    this._queuedBytes += Buffer.byteLength(header);
  }

  async _closeFd() {
    if (this._fd === null) return;
    const fd = this._fd;
    const fh = this._fh;
    this._fd = null;
    this._fh = null;
    if (fh) await fh.close();
    else await new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * At exit: events of the last full GCs may still wait for their wake-up
   * (it never keeps the process alive, so it does not run once the loop has
   * ended); memwatch flushes them from its own 'exit' listener, which may
   * come after this one, so the recording asks for them itself.
   */
  _drainPending() {
    try {
      this._memwatch._flush();
    } catch {
      // a listener's error at exit: nothing left to report it to
    }
  }


  _flushSync() {
    if (!this._stopped) this._drainPending();
    if (this._queue.length === 0 || this.error || this.path === null) return;
    const text = this._queue.map((x) => x.line).join('');
    this._queue = [];
    this._queuedBytes = 0;
    try {
      if (this._fd !== null) fs.writeSync(this._fd, text);
      else fs.appendFileSync(this.path, text);
    } catch {
      // exiting: nowhere left to report it
    }
  }

  _fail(code, message, cause) {
    if (this.error) return;
    const err = codedError(code, message);
    if (cause) err.cause = cause;
    this.error = err;
    this._detach();
    this._removeExitFlush();
    this._queue = [];
    this._queuedBytes = 0;
    // An 'error' event without a listener would crash the host: a recording
    // must never do that, so it warns instead.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(`memwatch.record(): recording stopped: ${err.message}`, { code: err.code });
  }

  /** Stops taking events (the exit flush stays until the queue is written). */
  _detach() {
    this._memwatch.removeListener('stats', this._onStats);
    this._memwatch.removeListener('leak', this._onLeak);
    if (this._pendingDiff) {
      this._pendingDiff.cancel();
      this._pendingDiff = null;
    }
  }

  _removeExitFlush() {
    if (this._onExit) process.removeListener('exit', this._onExit);
    this._onExit = null;
  }

  // ---- HeapDiff summaries ----

  /**
   * Writes a summary of a HeapDiff result (or `memwatch diff --json` output):
   * the `top` classes that grew most.
   */
  heapDiff(result, { label, top } = {}) {
    const line = { type: 'heapdiff', t: Date.now() };
    if (label !== undefined) line.label = String(label);
    Object.assign(line, summarizeHeapDiff(result, top || this.top));
    this._enqueue(line);
  }

  /** Writes allocation sites (e.g. a leak event's `sites`), the first `top` of them, as they are. */
  sites(list, { label, top } = {}) {
    if (!Array.isArray(list)) {
      throw codedError('ERR_INVALID_ARG_TYPE', 'recording.sites(list): list must be an array', TypeError);
    }
    const line = { type: 'sites', t: Date.now() };
    if (label !== undefined) line.label = String(label);
    line.sites = list.slice(0, top || this.top);
    this._enqueue(line);
  }

  /**
   * On a `leak` event (heapDiff option): a HeapDiff from now until `gcs` more
   * full GCs, summarized into the recording. One at a time; snapshots are
   * taken outside the event listener (setImmediate), never in a GC callback.
   */
  _startHeapDiff() {
    const { gcs, top } = this._heapDiff;
    const memwatch = this._memwatch;
    const pending = {
      seen: 0,
      hd: null,
      cancelled: false,
      timer: null,
      afterFullGc: () => {
        if (!pending.hd || pending.cancelled || ++pending.seen < gcs) return;
        pending.timer = setImmediate(() => {
          if (pending.cancelled) return;
          this._pendingDiff = null;
          try {
            this.heapDiff(pending.hd.end(), { label: 'leak', top });
          } catch (err) {
            this._enqueue({ type: 'heapdiff', t: Date.now(), label: 'leak', error: { code: err.code, message: err.message } });
          }
        });
      },
      cancel: () => {
        pending.cancelled = true;
        if (pending.timer) clearImmediate(pending.timer);
        if (pending.hd) {
          try {
            pending.hd.end();
          } catch {
            // releasing the snapshot is all that matters here
          }
        }
      },
    };
    this._pendingDiff = pending;
    pending.timer = setImmediate(() => {
      if (pending.cancelled) return;
      try {
        pending.hd = new memwatch.HeapDiff();
      } catch (err) {
        this._pendingDiff = null;
        this._enqueue({ type: 'heapdiff', t: Date.now(), label: 'leak', error: { code: err.code, message: err.message } });
      }
    });
    // Never keeps the process alive.
    if (pending.timer.unref) pending.timer.unref();
  }

  // ---- stopping ----

  /** Bytes and lines written so far, lines dropped, file rotations. */
  get written() {
    return { lines: this._lines, bytes: this._bytes, dropped: this._droppedTotal, rotations: this._rotations };
  }

  /**
   * Stops recording: no more events are taken; what is queued is written,
   * then the file is closed (a stream is ended only with `end: true`).
   * Resolves to `{ lines, bytes, dropped, rotations }`; rejects with the
   * error (`code` ERR_RECORD_OPEN / ERR_RECORD_WRITE) if writing failed.
   */
  stop() {
    if (this._stopPromise) return this._stopPromise;
    this._stopped = true;
    this._detach();
    this._stopPromise = (async () => {
      if (this._dropped.count > 0 && !this.error) {
        const note = JSON.stringify({ type: 'dropped', t: Date.now(), ...this._dropped }) + '\n';
        this._dropped = { count: 0, bytes: 0 };
        this._push(note, Buffer.byteLength(note));
      }
      if (this._writing) await new Promise((resolve) => this._waiters.push(resolve));
      if (this._stream) {
        this._stream.removeListener('error', this._onStreamError);
        if (this._endStream && !this.error) await new Promise((resolve) => this._stream.end(resolve));
      } else {
        try {
          await this._closeFd();
        } catch (err) {
          if (!this.error) this._fail('ERR_RECORD_WRITE', `closing ${this.path} failed: ${err.message}`, err);
        }
      }
      this._removeExitFlush();
      if (this.error) throw this.error;
      return this.written;
    })();
    // A rejection the caller ignores must not crash the process: the error
    // was already reported (warning or 'error' event).
    this._stopPromise.catch(() => {});
    return this._stopPromise;
  }

  /** Alias of stop(), for `using`-style and stream-like code. */
  close() {
    return this.stop();
  }
}

function normalizeHeapDiffOption(v) {
  if (v === undefined || v === false) return null;
  if (v === true) return { gcs: 5, top: DEFAULTS.top };
  if (v && typeof v === 'object') {
    return { gcs: intOption(v.gcs, 'heapDiff.gcs', 1, 5), top: intOption(v.top, 'heapDiff.top', 1, DEFAULTS.top) };
  }
  throw codedError(
    'ERR_INVALID_ARG_TYPE',
    'memwatch.record(): options.heapDiff must be true or { gcs, top }',
    TypeError
  );
}

/** `rec.ndjson` -> `rec.<pid>.ndjson`: where `memwatch record` has child processes write. */
function perProcessPath(file, pid) {
  const ext = path.extname(file);
  return ext ? `${file.slice(0, -ext.length)}.${pid}${ext}` : `${file}.${pid}`;
}

function createRecord(memwatch) {
  /**
   * Records `stats` and `leak` events as NDJSON. See index.d.ts.
   * @returns {Recording}
   */
  return function record(pathOrStream, options) {
    return new Recording(memwatch, pathOrStream, options);
  };
}

module.exports = { createRecord, Recording, summarizeHeapDiff, perProcessPath, FORMAT, VERSION };
