'use strict';
// new HeapDiff() ... hd.end(): two heap snapshots of this isolate compared by
// object id, in memwatch's JSON shape.
//
// Native route (backend 'v8'): V8's HeapProfiler through the addon; each
// snapshot is copied into Rust columns (ids, class, self size; edges only for
// examples) and V8's copy is deleted at once. Fallback route: the snapshot is
// written with v8.writeHeapSnapshot() to a temporary file and parsed by the
// same Rust engine. Either way the graphs live in Rust (a HeapDiff holds a
// number), so the diff does not report its own memory.
//
// V8's object ids: after any snapshot V8 keeps an object-id map that makes
// every later GC several times slower; clearing it (HeapProfiler::
// ClearObjectIds) restarts ids for everyone in the isolate, and frees a map
// that DevTools' allocation tracker still points into. So memwatch clears
// only when the last open HeapDiff of the isolate ends (counted across copies
// of memwatch: the count lives on `process`) and nobody else has used the map
// (see `ids` below); otherwise it keeps the map, warns once, and GCs stay
// slower until the process ends.

const fs = require('fs');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { codedError } = require('./errors');
const { checkSnapshotFits } = require('./memory');

/**
 * The canary: before the first native snapshot trusts what it reads, the
 * addon finds this object in it and checks its type, name, properties,
 * element, string contents and id (src/snapshot.rs). Created before any
 * snapshot, so it is never "allocated" in a diff.
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

function createHeapDiff(binding, backend) {
  const store = new binding.GraphStore();
  let nativeSnapshots = backend.name === 'v8' && binding.profilerProblem() === null;
  const canary = nativeSnapshots ? new MemwatchCanary() : null;
  const ids = nativeSnapshots ? sharedIds() : null;
  let tmpCounter = 0;

  /** V8's id for a value, 0 when its id map has none. */
  const idOf = (value) => backend.watcher.objectId(value);

  /** Called before each native snapshot: ids used by someone since ours? */
  function noteForeignUse() {
    if (idOf(ids.marker) !== 0) ids.foreign = true;
  }

  /** Writes a snapshot to a temporary file, runs `use(file)`, removes the file. */
  function withSnapshotFile(use) {
    const file = path.join(os.tmpdir(), `memwatch-${process.pid}-${Date.now()}-${tmpCounter++}.heapsnapshot`);
    try {
      backend.quietly(() => v8.writeHeapSnapshot(file));
      return use(file);
    } finally {
      fs.rm(file, { force: true }, () => {});
    }
  }
  const fileSnapshot = () => withSnapshotFile((file) => store.loadFile(file));

  /** The "before" snapshot; returns its graph id in the store. */
  function firstSnapshot() {
    if (nativeSnapshots) {
      noteForeignUse();
      try {
        const id = backend.watcher.snapshotInto(store, canary, ids.marker);
        ids.marker = {};
        return id;
      } catch (err) {
        // The canary failed: this V8's snapshots do not read as the addon
        // assumes. Never use them; the file route is always right.
        if (err.code !== 'ERR_MEMWATCH_NATIVE_UNAVAILABLE') throw err;
        nativeSnapshots = false;
        // Whatever that snapshot did to V8's id map stays as it is.
        ids.foreign = true;
      }
    }
    return fileSnapshot();
  }

  /** Opens a diff in the isolate's count; the first one checks for foreign ids. */
  function opened(native) {
    if (!native) return;
    if (ids.open === 0) {
      // Ids that exist before memwatch's first snapshot are someone else's:
      // live, long-lived objects have one if any snapshot or tracker ran
      // since the map was last cleared.
      ids.foreign = ids.foreign || [globalThis, process, Object.prototype].some((o) => idOf(o) !== 0);
    }
    ids.open++;
  }

  /** Closes a diff; the isolate's last one clears the id map when nobody else uses it. */
  function closed(native) {
    if (!native) {
      if (store.open === 0) binding.releaseMemory();
      return;
    }
    ids.open = Math.max(0, ids.open - 1);
    if (ids.open !== 0) return;
    // The marker check and the clearing happen in one native call.
    if (ids.foreign || !backend.watcher.clearObjectIdsUnlessUsed(ids.marker)) {
      ids.foreign = true;
      warnIdsKept();
      binding.releaseMemory();
    }
  }

  // A HeapDiff dropped without end() must not keep its graph (or the id map).
  const unended = new FinalizationRegistry((token) => {
    if (token.id > 0 && store.discard(token.id)) closed(token.native);
  });

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
      this._token = { id: 0, native: false };
      unended.register(this, this._token, this);
      if (!skipMemoryCheck) checkSnapshotFits(0, codedError);
      const native = nativeSnapshots;
      opened(native);
      try {
        this._token.id = firstSnapshot();
      } catch (err) {
        closed(native);
        unended.unregister(this);
        throw err;
      }
      this._token.native = native && nativeSnapshots;
      // The canary sent this snapshot to the file route: not an open native diff.
      if (native && !this._token.native) closed(native);
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
      const before = this._token.id;
      const native = this._token.native;
      if (!this._skipMemoryCheck) checkSnapshotFits(store.nodeCount(before), codedError);
      this._ended = true;
      unended.unregister(this);
      this._clock[0] = Date.now();
      let result;
      try {
        if (native) {
          noteForeignUse();
          result = backend.watcher.endDiff(store, before, examples, ids.marker);
          ids.marker = {};
        } else {
          result = withSnapshotFile((file) => store.diffFile(before, file, examples));
        }
      } finally {
        store.discard(before);
        closed(native);
      }
      result.before.time = this._time;
      result.after.time = new Date(this._clock[0]);
      return result;
    }
  }

  return HeapDiff;
}

module.exports = { createHeapDiff };
