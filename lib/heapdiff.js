'use strict';
// new HeapDiff() ... hd.end(): two heap snapshots of this isolate compared by
// object id, in memwatch's JSON shape.
//
// Native route (backend 'v8'): V8's HeapProfiler through the addon. The first
// snapshot is kept as each counted object's id, class and size; the second is
// diffed against it as it is read (or copied with its edges for examples);
// V8's copies are deleted at once. Fallback route: the snapshot is written
// with v8.writeHeapSnapshot() into a private temporary directory and parsed by
// the same Rust engine. Either way what a diff holds lives in Rust (a HeapDiff
// holds a number), so the diff does not report its own memory.
//
// V8's object ids: after any snapshot V8 keeps an object-id map that makes
// every later GC several times slower; clearing it (HeapProfiler::
// ClearObjectIds) restarts ids for everyone in the isolate, and frees a map
// that DevTools' allocation tracker still points into. So memwatch clears
// only when the last open HeapDiff of the isolate ends (counted across copies
// of memwatch: the count lives on `process`) and nobody else has used the map
// (see `sharedIds`); otherwise it keeps the map, warns once, and GCs stay
// slower until the process ends.

const fs = require('fs');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { codedError, checkInteger } = require('./errors');
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

// ---- native route: V8's object ids ----

/**
 * The canary: before the first native snapshot is trusted, the addon finds
 * this object in it and checks its type, name, properties, element, string
 * contents and id (src/snapshot.rs). Created before any snapshot, so it is
 * never "allocated" in a diff.
 */
class MemwatchCanary {
  constructor() {
    this.label = 'memwatch canary ✓';
    this.list = [7];
    this[0] = this.list;
  }
}

/**
 * Per-isolate bookkeeping of V8's id map, shared by every copy of memwatch
 * loaded in this isolate (`process` is per isolate: workers have their own).
 *   open     HeapDiffs open in this isolate, all copies together
 *   foreign  someone else used the id map: never clear it
 *   marker   an object created right after memwatch's latest snapshot: if it
 *            has an id later, a snapshot, DevTools' tracker or a heap-stats
 *            update that memwatch did not take has used the map since
 */
const IDS_KEY = Symbol.for('memwatch-napi.heapProfilerIds.v1');
function sharedIds() {
  if (!process[IDS_KEY]) {
    Object.defineProperty(process, IDS_KEY, {
      value: { open: 0, foreign: trackedFromStart(), marker: {} },
    });
  }
  return process[IDS_KEY];
}

/**
 * `--track-heap-objects` starts V8's allocation tracker before any object of
 * the program exists, so no id check can see it; the tracker keeps a pointer
 * to the id map, which ClearObjectIds would free under it (a crash). Node
 * takes the flag from the command line or NODE_OPTIONS.
 */
function trackedFromStart() {
  const flag = /(^|\s)--track[-_]heap[-_]objects(\s|=|$)/;
  return process.execArgv.some((a) => flag.test(a)) || flag.test(process.env.NODE_OPTIONS || '');
}

let warnedIdsKept = false;
function warnIdsKept() {
  if (warnedIdsKept) return;
  warnedIdsKept = true;
  process.emitWarning(
    "memwatch kept V8's heap-profiler object ids: another heap profiler user in this process " +
      '(a heap snapshot memwatch did not take, DevTools, an allocation tracker, --track-heap-objects) ' +
      'may rely on them. Garbage collections stay slower until the process ends.',
    { code: 'MEMWATCH_OBJECT_IDS_KEPT' }
  );
}

/**
 * The snapshot operations HeapDiff and memwatch.iterate share. `take` is the
 * one path for every snapshot: iterate calls it the same way for its "before"
 * and "after" snapshots, so what memwatch itself holds at those two moments
 * (frames, temporaries, compiled code) is the same and cancels out.
 */
function createSnapshots(binding, backend) {
  const store = new binding.GraphStore();
  let nativeSnapshots = backend.name === 'v8' && binding.profilerProblem() === null;
  const canary = nativeSnapshots ? new MemwatchCanary() : null;
  const ids = nativeSnapshots ? sharedIds() : null;
  // Which open snapshot ids are native (the file route may take over later),
  // in slots that are reused (0 = free): a push onto an emptied array would
  // allocate its backing store inside the diff's window, and show in it.
  const native = new Array(8).fill(0);
  const markNative = (id) => {
    const free = native.indexOf(0);
    if (free >= 0) native[free] = id;
    else native.push(id);
  };

  /** V8's id for a value, 0 when its id map has none. */
  const idOf = (value) => backend.watcher.objectId(value);

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

  /** A diff opens: the isolate's first checks whether others use the ids. */
  function opened() {
    if (ids.open === 0) {
      // Ids that exist before memwatch's first snapshot are someone else's:
      // live, long-lived objects have one if any snapshot or tracker ran
      // since the map was last cleared.
      ids.foreign = ids.foreign || [globalThis, process, Object.prototype].some((o) => idOf(o) !== 0);
    }
    ids.open++;
  }

  /** A diff closes; the isolate's last one clears the id map when nobody else uses it. */
  function closed(wasNative) {
    if (!wasNative) {
      if (store.open === 0) binding.releaseMemory();
      return;
    }
    ids.open = Math.max(0, ids.open - 1);
    if (ids.open !== 0) return;
    // The marker check and the clearing happen in one native call, so no
    // JS (or inspector message) can start a tracker in between.
    if (ids.foreign || !backend.watcher.clearObjectIdsUnlessUsed(ids.marker)) {
      ids.foreign = true;
      warnIdsKept();
      binding.releaseMemory();
    }
  }

  /** The first snapshot of a diff, natively; 0 when the canary sends it to the file route. */
  function firstNative(engineApart) {
    // A snapshot by someone else since memwatch's last one?
    if (idOf(ids.marker) !== 0) ids.foreign = true;
    opened();
    try {
      const id = backend.watcher.snapshotInto(store, canary, ids.marker, engineApart);
      ids.marker = {};
      return id;
    } catch (err) {
      ids.open = Math.max(0, ids.open - 1);
      // The canary failed: this V8's snapshots do not read as the addon
      // assumes. Never use them; the file route is always right.
      if (err.code !== 'ERR_MEMWATCH_NATIVE_UNAVAILABLE') throw err;
      nativeSnapshots = false;
      // Whatever that snapshot did to V8's id map stays as it is.
      ids.foreign = true;
      return 0;
    }
  }

  /**
   * Takes a snapshot. With `before` 0: the first of a diff, held in the
   * store; returns its id. With `before` an id: the second, diffed against
   * it (which releases it); returns the diff in memwatch's shape.
   * `engineApart`: name V8's code and heap numbers apart from user classes
   * (memwatch.iterate); `examples`: see HeapDiff.end.
   */
  function take(before, examples = 0, engineApart = false) {
    if (before === 0) {
      const id = nativeSnapshots ? firstNative(engineApart) : 0;
      if (id !== 0) {
        markNative(id);
        return id;
      }
      return withSnapshotFile(backend, (file) => store.loadFile(file, engineApart));
    }
    const at = native.indexOf(before);
    try {
      if (at < 0) return withSnapshotFile(backend, (file) => store.diffFile(before, file, examples));
      if (idOf(ids.marker) !== 0) ids.foreign = true;
      const result = backend.watcher.endDiff(store, before, examples, ids.marker);
      ids.marker = {};
      return result;
    } finally {
      store.discard(before);
      if (at >= 0) native[at] = 0;
      closed(at >= 0);
    }
  }

  /** Fills `known` ([objects, smallBytes]) from snapshot `id`, for later checks. */
  function remember(id, known) {
    const c = calibrate(store.nodeCount(id));
    known[0] = c.objects;
    known[1] = c.smallBytes;
  }

  /** Drops a snapshot that will not be diffed. */
  function discard(id) {
    if (!(id > 0) || !store.discard(id)) return;
    const at = native.indexOf(id);
    if (at >= 0) native[at] = 0;
    closed(at >= 0);
  }

  return { check, take, remember, discard };
}

function examplesOption(options) {
  if (options === undefined || options === null) return 0;
  if (typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
  }
  return checkInteger('options.examples', options.examples === undefined ? 0 : options.examples, 0, 1000);
}

function createHeapDiff(binding, backend) {
  const snapshots = createSnapshots(binding, backend);

  // A HeapDiff dropped without end() must not keep its snapshot (or the id map).
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
      this._token.id = snapshots.take(0);
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
      this._ended = true;
      unended.unregister(this);
      this._clock[0] = Date.now();
      const result = snapshots.take(this._token.id, examples);
      result.before.time = this._time;
      result.after.time = new Date(this._clock[0]);
      return result;
    }
  }

  Object.defineProperty(HeapDiff, kSnapshots, { value: snapshots });
  return HeapDiff;
}

module.exports = { createHeapDiff, kSnapshots };
