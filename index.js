'use strict';
// memwatch: GC statistics, leak warnings and on-demand GC for Node.js.
//
// The module is an EventEmitter, as memwatch always was:
//   memwatch.on('stats', (s) => ...)   after each full GC
//   memwatch.on('leak', (info) => ...) when the heap (or external memory) keeps growing
//   memwatch.gc()                      a full GC now, without --expose-gc
// GC hooks are installed only while a 'stats' or 'leak' listener exists; the
// sampling heap profiler (leak.sites, memwatch.sites()) while a 'leak' one does.

const { EventEmitter } = require('events');
const { load } = require('./lib/binding');
const { createBackend } = require('./lib/backends');
const { createHeapDiff } = require('./lib/heapdiff');
const { createAnalyzers } = require('./lib/analyze');
const { createIterate, MemoryLeakError } = require('./lib/iterate');
const { createSampling } = require('./lib/sites');

const { codedError } = require('./lib/errors');

const binding = load();
const WATCHED = ['stats', 'leak'];

/**
 * Adds the fields read at delivery time to each `stats` payload, then emits.
 * With `rethrowLater`, a throwing listener does not stop the other events and
 * its error is rethrown from process.nextTick: an ordinary uncaught exception
 * (Node-API would otherwise swallow errors thrown inside a native callback).
 */
function deliverTo(emitter) {
  return (events, rethrowLater = false) => {
    // Leak events get their allocation sites (lib/sites.js; never throws).
    if (emitter._sampling) {
      emitter._sampling.onEvents(events);
      // Sampling stays on while the batch is emitted (a once('leak')
      // listener may read sites() after it was removed).
      return emitter._sampling.holdWhile(() => emit(emitter, events, rethrowLater));
    }
    return emit(emitter, events, rethrowLater);
  };
}

function emit(emitter, events, rethrowLater) {
  let usage = null;
  let firstError = null;
  for (const ev of events) {
    if (ev.type === 'stats') {
      usage = usage || process.memoryUsage();
      ev.data.rss = usage.rss;
      ev.data.external = usage.external;
      ev.data.array_buffers = usage.arrayBuffers;
    }
    if (!rethrowLater) {
      emitter.emit(ev.type, ev.data);
      continue;
    }
    try {
      emitter.emit(ev.type, ev.data);
    } catch (err) {
      firstError = firstError || { err };
    }
  }
  if (firstError) process.nextTick(() => { throw firstError.err; });
  return events;
}

class Memwatch extends EventEmitter {
  constructor() {
    super();
    const deliver = deliverTo(this);
    // Events from GCs arrive from a native callback or an observer.
    const { backend, reason } = createBackend(binding, (events) => deliver(events, true));
    Object.defineProperty(this, '_backend', { value: backend });
    Object.defineProperty(this, '_deliver', { value: deliver });
    Object.defineProperty(this, '_hooked', { value: false, writable: true });
    Object.defineProperty(this, '_onExit', { value: () => this._flush() });
    Object.defineProperty(this, '_sampling', { value: createSampling(binding, backend) });
    /** 'v8' (native GC hooks) or 'perf_hooks' (fallback). */
    this.backend = backend.name;
    /** Why the fallback is in use, or null. */
    this.backendReason = reason;
  }

  /** Installs or removes the GC hooks to match the current listeners. */
  _syncHooks() {
    this._sampling.setWanted(this.listenerCount('leak') > 0);
    const wanted = WATCHED.some((name) => this.listenerCount(name) > 0);
    if (wanted === this._hooked) return;
    if (wanted) {
      this._backend.start();
      process.on('exit', this._onExit);
    } else {
      this._backend.stop();
      process.removeListener('exit', this._onExit);
    }
    this._hooked = wanted;
  }

  /**
   * Runs a full garbage collection now (no --expose-gc needed), emits a
   * `stats` event for it and returns the same stats object. V8 may run
   * several collections for one call; they count as one full GC.
   */
  gc() {
    const events = this._deliver(this._backend.gc());
    return events[events.length - 1].data;
  }

  /**
   * Emits the events of full GCs whose delivery has not run yet. Wake-ups
   * never keep the process alive, so the last GCs before a natural exit are
   * flushed from the 'exit' event while anyone listens.
   */
  _flush() {
    this._deliver(this._backend.drain(), true);
  }

  /** Time spent inside memwatch's GC callbacks (native backend), or null. */
  callbackCost() {
    return this._backend.callbackCost();
  }

  /**
   * Settings: `{ sampling: { interval, stackDepth } | true | false }` (the
   * sampling heap profiler behind `leak.sites`). Throws coded errors for bad
   * values; returns the sampling status.
   */
  configure(options) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
    }
    for (const key of Object.keys(options)) {
      if (key !== 'sampling') throw codedError('ERR_INVALID_ARG_VALUE', `Unknown option "${key}" (known: sampling)`, TypeError);
    }
    // Own properties only, and undefined as absent (as for Node's options).
    if (options.sampling !== undefined && Object.hasOwn(options, 'sampling')) this._sampling.configure(options.sampling);
    return this.sampling;
  }

  /** The sampling heap profiler's state: `{ enabled, active, route, owner, interval, stackDepth, reason, ... }`. */
  get sampling() {
    return this._sampling.status();
  }

  /**
   * Live allocations by site from the sampling heap profiler: `{ top = 10,
   * order: 'live' | 'growth' }` (growth since the previous call). Starts
   * sampling if nothing had (the first call then sees little).
   */
  sites(options) {
    return this._sampling.sites(options);
  }

  /** Writes the sampled profile as a .heapprofile (DevTools, speedscope); returns the path. */
  writeHeapProfile(path) {
    return this._sampling.writeHeapProfile(path);
  }
}

// Every way of adding or removing a listener re-syncs the hooks; overriding
// the methods (not listening to 'newListener') survives removeAllListeners().
for (const method of [
  'on',
  'addListener',
  'prependListener',
  'once',
  'prependOnceListener',
  'off',
  'removeListener',
  'removeAllListeners',
]) {
  const base = EventEmitter.prototype[method];
  Memwatch.prototype[method] = function (...args) {
    const result = base.apply(this, args);
    this._syncHooks();
    return result;
  };
}

const memwatch = new Memwatch();
/** `new memwatch.HeapDiff()` ... `hd.end()`: see lib/heapdiff.js. */
memwatch.HeapDiff = createHeapDiff(binding, memwatch._backend);
const analyzers = createAnalyzers(binding);
/** Analyze a .heapsnapshot file or stream off the main thread (Promise). */
memwatch.analyzeSnapshot = analyzers.analyzeSnapshot;
/** Leak assertions: `iterate(fn, opts)` / `iterate.async(fn, opts)` throw a MemoryLeakError. */
memwatch.iterate = createIterate(memwatch);
memwatch.MemoryLeakError = MemoryLeakError;
/** `memwatch.record(pathOrStream, opts)`: stats and leak events as NDJSON (lib/record.js). */
memwatch.record = require('./lib/record').createRecord(memwatch);
module.exports = memwatch;
