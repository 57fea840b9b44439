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
// When the last open HeapDiff ends (or is garbage-collected unended), V8's
// object-id map is cleared (native route) and freed memory is returned to
// the OS: after any snapshot that map makes every later GC several times slower.

const fs = require('fs');
const os = require('os');
const path = require('path');
const v8 = require('v8');
const { codedError, callNative } = require('./errors');
const { checkSnapshotFits } = require('./memory');

function createHeapDiff(binding, backend) {
  const store = new binding.GraphStore();
  const nativeSnapshots = backend.name === 'v8' && binding.profilerProblem() === null;
  let tmpCounter = 0;

  function snapshot(withEdges) {
    if (nativeSnapshots) {
      return callNative(() => backend.watcher.snapshotInto(store, withEdges));
    }
    const file = path.join(os.tmpdir(), `memwatch-${process.pid}-${Date.now()}-${tmpCounter++}.heapsnapshot`);
    try {
      backend.quietly(() => v8.writeHeapSnapshot(file));
      return callNative(() => store.loadFile(file));
    } finally {
      fs.rm(file, { force: true }, () => {});
    }
  }

  function afterLastDiff() {
    if (store.open !== 0) return;
    if (nativeSnapshots) backend.watcher.clearObjectIds();
    else binding.releaseMemory();
  }

  // A HeapDiff dropped without end() must not keep its graph (or the id map).
  const unended = new FinalizationRegistry((token) => {
    if (token.id > 0 && store.discard(token.id)) afterLastDiff();
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
      this._token = { id: 0 };
      unended.register(this, this._token, this);
      if (!skipMemoryCheck) checkSnapshotFits(0, codedError);
      this._token.id = snapshot(false);
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
      if (!this._skipMemoryCheck) checkSnapshotFits(store.nodeCount(before), codedError);
      this._ended = true;
      unended.unregister(this);
      this._clock[0] = Date.now();
      let result;
      try {
        const after = snapshot(examples > 0);
        result = callNative(() => store.diff(before, after, examples));
      } finally {
        store.discard(before);
        afterLastDiff();
      }
      result.before.time = this._time;
      result.after.time = new Date(this._clock[0]);
      return result;
    }
  }

  return HeapDiff;
}

module.exports = { createHeapDiff };
