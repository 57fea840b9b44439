'use strict';
// new HeapDiff() ... hd.end(): two heap snapshots of this isolate compared by
// object id, in memwatch's JSON shape.
//
// Native route (backend 'v8'): V8's HeapProfiler through the addon; each
// snapshot is copied into Rust columns (ids, class, self size; edges only for
// examples) and V8's copy is deleted at once. Fallback route: the snapshot is
// written with v8.writeHeapSnapshot() into a private temporary directory and
// parsed by the same Rust engine. Either way the graphs live in Rust (a
// HeapDiff holds a number), so the diff does not report its own memory.
//
// When the last open HeapDiff ends (or is garbage-collected unended), V8's
// object-id map is cleared (native route) and freed memory is returned to
// the OS: after any snapshot that map makes every later GC several times slower.

const fs = require('fs');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { codedError, callNative } = require('./errors');
const { checkSnapshotFits, calibrate } = require('./memory');

/** Where memwatch.iterate finds the snapshot functions behind HeapDiff (not public API). */
const kSnapshots = Symbol('memwatch.snapshots');

// ---- fallback route: snapshot files ----

/**
 * Private directories of snapshots being written or read; removed at exit if
 * still there. An array, not a Set: adding and deleting keep its backing
 * store (a Set's table is reallocated), so memwatch.iterate's snapshots see
 * the same object each time.
 */
const liveDirs = [];
let exitHookInstalled = false;

function removeLiveDirs() {
  for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true });
  liveDirs.length = 0;
}

/**
 * Writes a snapshot with v8.writeHeapSnapshot() and hands the file to
 * `read`. The file lives in a fresh directory from mkdtemp (mode 0700, a
 * random name), so no other user can plant a file or symlink where it is
 * written; the directory is removed synchronously before this returns,
 * whatever happens, and at process exit if an exit comes first.
 */
function withSnapshotFile(backend, read) {
  if (!exitHookInstalled) {
    process.on('exit', removeLiveDirs);
    exitHookInstalled = true;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memwatch-'));
  liveDirs.push(dir);
  try {
    const file = path.join(dir, 'heap.heapsnapshot');
    backend.quietly(() => v8.writeHeapSnapshot(file));
    return read(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    const at = liveDirs.indexOf(dir);
    if (at >= 0) liveDirs.splice(at, 1);
  }
}

/**
 * The snapshot operations HeapDiff and memwatch.iterate share. `take` is the
 * one path for every snapshot: iterate calls it the same way for its "before"
 * and "after" snapshots, so what memwatch itself holds at those two moments
 * (frames, temporaries, compiled code) is the same and cancels out.
 */
function createSnapshots(binding, backend) {
  const store = new binding.GraphStore();
  const nativeSnapshots = backend.name === 'v8' && binding.profilerProblem() === null;

  /**
   * Throws ERR_HEAPDIFF_MEMORY if a snapshot would not fit. `known` (a
   * Float64Array [objects, smallBytes], or null) describes an earlier
   * snapshot of this heap; numbers, not an object, so that nothing new is
   * alive while the next snapshot is taken.
   */
  function check(known) {
    const calibration = known && known[0] > 0 ? { objects: known[0], smallBytes: known[1] } : null;
    checkSnapshotFits(calibration, codedError);
  }

  /** Takes a snapshot of this isolate into the store and returns its id. */
  function take(withEdges) {
    if (nativeSnapshots) return callNative(() => backend.watcher.snapshotInto(store, withEdges));
    return withSnapshotFile(backend, (file) => callNative(() => store.loadFile(file)));
  }

  /** Fills `known` ([objects, smallBytes]) from snapshot `id`, for later checks. */
  function remember(id, known) {
    const c = calibrate(store.nodeCount(id));
    known[0] = c.objects;
    known[1] = c.smallBytes;
  }

  /** Called whenever a diff ends or is dropped: see afterLastDiff. */
  function afterLastDiff() {
    if (store.open !== 0) return;
    if (nativeSnapshots) backend.watcher.clearObjectIds();
    else binding.releaseMemory();
  }

  /** Diffs and releases both snapshots. `engineApart`: see GraphStore.diff. */
  function diff(before, after, examples, engineApart = false) {
    try {
      return callNative(() => store.diff(before, after, examples, engineApart));
    } finally {
      store.discard(before);
      store.discard(after);
      afterLastDiff();
    }
  }

  /** Drops a snapshot that will not be diffed. */
  function discard(id) {
    if (id > 0 && store.discard(id)) afterLastDiff();
  }

  return { check, take, remember, diff, discard };
}

function examplesOption(options) {
  if (options === undefined || options === null) return 0;
  if (typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
  }
  const k = options.examples === undefined ? 0 : options.examples;
  if (!Number.isInteger(k) || k < 0 || k > 1000) {
    throw codedError(
      'ERR_OUT_OF_RANGE',
      `The "options.examples" value must be an integer from 0 to 1000. Received ${String(k)}`,
      RangeError
    );
  }
  return k;
}

function createHeapDiff(binding, backend) {
  const snapshots = createSnapshots(binding, backend);

  // A HeapDiff dropped without end() must not keep its graph (or the id map).
  const unended = new FinalizationRegistry((token) => snapshots.discard(token.id));

  class HeapDiff {
    /**
     * Takes the "before" snapshot (after a full GC, which is not reported as `stats`).
     * @param {{ skipMemoryCheck?: boolean }} [options]
     */
    constructor(options) {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
      }
      const skipMemoryCheck = Boolean(options && options.skipMemoryCheck);
      // Everything this object holds exists before the snapshot is taken, so
      // the "after" snapshot does not count it as allocated.
      this._time = new Date();
      // end() stores its clock reading here: a Date or a number (a heap
      // number) alive during the "after" snapshot would be reported.
      this._clock = new Float64Array(1);
      this._ended = false;
      this._skipMemoryCheck = skipMemoryCheck;
      this._token = { id: 0 };
      // [objects, small-object bytes] of the "before" snapshot, for end()'s memory check.
      this._known = new Float64Array(2);
      unended.register(this, this._token, this);
      if (!skipMemoryCheck) snapshots.check(null);
      this._token.id = snapshots.take(false);
      snapshots.remember(this._token.id, this._known);
    }

    /**
     * Takes the "after" snapshot and compares.
     * @param {{ examples?: number }} [options] examples: up to this many sample
     *   objects (with their retainer path) per top growing class, plus retained sizes.
     */
    end(options) {
      if (this._ended) {
        throw codedError('ERR_HEAPDIFF_ENDED', 'HeapDiff.end() was already called on this HeapDiff');
      }
      const examples = examplesOption(options);
      // A refused snapshot leaves this HeapDiff open, as a bad option does.
      if (!this._skipMemoryCheck) snapshots.check(this._known);
      const before = this._token.id;
      this._ended = true;
      unended.unregister(this);
      this._clock[0] = Date.now();
      let after = 0;
      try {
        after = snapshots.take(examples > 0);
      } catch (err) {
        snapshots.discard(before);
        throw err;
      }
      const result = snapshots.diff(before, after, examples);
      result.before.time = this._time;
      result.after.time = new Date(this._clock[0]);
      return result;
    }
  }

  Object.defineProperty(HeapDiff, kSnapshots, { value: snapshots });
  return HeapDiff;
}

module.exports = { createHeapDiff, kSnapshots };
