'use strict';
// Leak sites: where the memory of a growing heap was allocated, from V8's
// sampling heap profiler (the one behind DevTools' "Allocation sampling").
//
// While a `leak` listener exists (unless `configure({ sampling: false })`),
// the profiler samples about one allocation per `interval` bytes with its JS
// stack and keeps the samples whose objects are still alive. After delivered
// full GCs the profile is read (once per run of 5 GCs within a time budget,
// and at each leak: see READ_BUDGET) into Rust, which keeps live bytes per
// site for the last reads; a `leak` event then gets `sites`: the sites whose
// live bytes grew most between the latest read at or before the leak's
// first growing GC and now.
//
// Two routes to the same profiler:
// - native: the V8 binding (src/v8/sampling.rs) reads V8's AllocationProfile
//   straight into Rust, after a canary allocation read back right once per
//   process (and, where node exports them, V8's own vtable symbols agree);
// - inspector: `node:inspector`'s HeapProfiler.startSampling /
//   getSamplingProfile, where the binding is unavailable (the perf_hooks
//   backend, another runtime, a failed canary: `sampling.reason` says why).
// Either way a profiler someone else started (DevTools, another copy of
// memwatch) is read but never stopped, and one someone else stopped under
// us is started again. Reads never happen inside a GC callback; a GC that V8
// runs for a read (the inspector's profiler asks for one) is not reported.

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { codedError, describeValue, checkInteger } = require('./errors');

const DEFAULTS = Object.freeze({ interval: 512 * 1024, stackDepth: 16 });
/** Bounds of the options (the native layer checks them again). */
const MIN_INTERVAL = 256;
const MAX_INTERVAL = 2 ** 30;
const MAX_STACK_DEPTH = 128;
/** Sites on a leak event. */
const LEAK_TOP = 10;
/**
 * Routine reads (after a full GC without a leak, to hold a baseline for a
 * later leak's window) happen at most once per leak run of full GCs (5), and
 * only while reads have taken under this share of the wall time since
 * sampling started. Reads for a leak event, `sites()` and
 * `writeHeapProfile()` always run.
 *
 * Why so few: a read makes V8 build line tables for the scripts the
 * profile names (kept on each script), which the next full GC counts as
 * heap growth. One read per run of 5 GCs can add at most one growing GC to
 * any run, so reads never make a flat heap look like a leak by themselves.
 */
const READ_BUDGET = 0.01;

/**
 * The canary, compiled at a known script name, line and column: the native
 * route is trusted only after a profile read back shows this allocation
 * there, with the size it had (checked in Rust: SiteTracker.check_canary).
 */
const CANARY_URL = 'memwatch:sampling-canary';
const CANARY_SOURCE = `(function () {
  function memwatchSamplingCanaryCaller(n) { return memwatchSamplingCanary(n); }
  function memwatchSamplingCanary(n) { const kept = []; for (let i = 0; i < n; i++) kept.push(new Array(510).fill(i)); return kept; }
  return memwatchSamplingCanaryCaller;
})()`;
/** Where V8 places memwatchSamplingCanary (1-based; its parameter list's "("). */
const CANARY_AT = { line: 3, column: 34 };
const CANARY_ARRAYS = 64;
/**
 * Bytes of one canary array: a 16-byte header and 510 tagged slots of 8
 * bytes (half that in a build with pointer compression, which the check's
 * factor-of-3 tolerance covers).
 */
const CANARY_ARRAY_BYTES = 4096;
/**
 * The canary's sampling interval: ~4 samples per array, so every array is
 * sampled and V8's per-sample scaling (1 / (1 - e^(-size/interval)), rounded
 * per sample) stays near 1: the samples' sizes then add up to the nodes'.
 */
const CANARY_INTERVAL = 1024;

function rangeError(message) {
  return codedError('ERR_OUT_OF_RANGE', message, RangeError);
}

function typeError(message) {
  return codedError('ERR_INVALID_ARG_TYPE', message, TypeError);
}

/** `{ interval, stackDepth }` checked and completed, or a coded error. */
function samplingOptions(value, current) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw typeError(`The "sampling" option must be an object, true or false. Received ${describeValue(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (key !== 'interval' && key !== 'stackDepth') {
      throw codedError('ERR_INVALID_ARG_VALUE', `Unknown sampling option "${key}" (known: interval, stackDepth)`, TypeError);
    }
  }
  const out = { ...current };
  if (value.interval !== undefined) {
    const v = value.interval;
    if (typeof v !== 'number') throw typeError(`The "sampling.interval" option must be a number. Received ${describeValue(v)}`);
    if (!Number.isInteger(v) || v < MIN_INTERVAL || v > MAX_INTERVAL) {
      throw rangeError(`The "sampling.interval" option must be a whole number of bytes from ${MIN_INTERVAL} to ${MAX_INTERVAL}. Received ${v}`);
    }
    out.interval = v;
  }
  if (value.stackDepth !== undefined) {
    const v = value.stackDepth;
    if (typeof v !== 'number') throw typeError(`The "sampling.stackDepth" option must be a number. Received ${describeValue(v)}`);
    if (!Number.isInteger(v) || v < 1 || v > MAX_STACK_DEPTH) {
      throw rangeError(`The "sampling.stackDepth" option must be an integer from 1 to ${MAX_STACK_DEPTH}. Received ${v}`);
    }
    out.stackDepth = v;
  }
  return out;
}

/** The inspector's SamplingHeapProfile as the columns SiteTracker.ingest takes (pre-order). */
function profileColumns(profile) {
  const strings = [];
  const ids = new Map();
  const str = (s) => {
    const key = typeof s === 'string' ? s : '';
    let i = ids.get(key);
    if (i === undefined) {
      i = strings.length;
      strings.push(key);
      ids.set(key, i);
    }
    return i;
  };
  const nodes = [];
  const stack = [[profile.head, -1]];
  while (stack.length) {
    const [node, parent] = stack.pop();
    const index = nodes.length;
    nodes.push([node, parent]);
    const children = node.children || [];
    for (let c = children.length - 1; c >= 0; c--) stack.push([children[c], index]);
  }
  const n = nodes.length;
  const col = () => new Float64Array(n);
  const c = {
    strings,
    function: col(), url: col(), scriptId: col(), line: col(), column: col(),
    parent: col(), nodeId: col(), selfSize: col(),
  };
  nodes.forEach(([node, parent], i) => {
    const f = node.callFrame || {};
    c.function[i] = str(f.functionName);
    c.url[i] = str(f.url);
    c.scriptId[i] = Number(f.scriptId) || 0;
    c.line[i] = (f.lineNumber ?? -1) + 1;
    c.column[i] = (f.columnNumber ?? -1) + 1;
    c.parent[i] = parent;
    c.nodeId[i] = node.id;
    c.selfSize[i] = node.selfSize;
  });
  const samples = profile.samples || [];
  c.sampleNode = Float64Array.from(samples, (s) => s.nodeId);
  c.sampleSize = Float64Array.from(samples, (s) => s.size);
  c.sampleOrdinal = Float64Array.from(samples, (s) => s.ordinal);
  return c;
}

/** A name like `node --heap-prof`'s: Heap.20261201.224903.1234.0.001.heapprofile */
let written = 0;
function defaultFileName() {
  const d = new Date();
  const p = (x, w = 2) => String(x).padStart(w, '0');
  const date = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`;
  const time = `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
  const tid = require('worker_threads').threadId;
  return `Heap.${date}.${time}.${process.pid}.${tid}.${p(++written, 3)}.heapprofile`;
}

/** The native route: the V8 binding's SiteSampler, reading into the tracker in Rust. */
class NativeRoute {
  constructor(binding, watcher, tracker) {
    this.name = 'native';
    this.sampler = new binding.SiteSampler();
    this.watcher = watcher;
    this.tracker = tracker;
  }

  /** true: started here; false: one was running (someone else's). */
  start(options) {
    return this.sampler.start(options.interval, options.stackDepth);
  }

  stop() {
    this.sampler.stop();
  }

  /** Starts a profiler if none runs; true if it had to (see Sampling.onEvents). */
  restartIfStopped(options) {
    return this.sampler.restartIfStopped(options.interval, options.stackDepth);
  }

  /**
   * false when no profiler runs (someone stopped it). A profiler that is
   * not the one read before (someone stopped ours and started theirs) is
   * read and disowned natively.
   */
  read(key) {
    const ok = this.sampler.read(this.watcher, this.tracker, key);
    if (!ok) this.sampler.disown();
    return ok;
  }

  /** Whether the running profiler is memwatch's, as of the last read. */
  get owned() {
    return this.sampler.owned;
  }

  /** The latest read as .heapprofile JSON. */
  json() {
    return this.tracker.inspectorJson();
  }
}

/** The inspector route: HeapProfiler.* on a session of this isolate's inspector. */
class InspectorRoute {
  constructor(inspector, tracker, quiet) {
    this.name = 'inspector';
    this.session = new inspector.Session();
    this.session.connect();
    this.tracker = tracker;
    this.quiet = quiet;
    this.owned = false;
    this.last = null;
  }

  /** Same-thread sessions answer synchronously (the callback runs inside post). */
  post(method, params) {
    let out = null;
    let answered = false;
    this.session.post(method, params || {}, (err, result) => {
      answered = true;
      out = { err, result };
    });
    if (!answered) throw codedError('ERR_MEMWATCH_INTERNAL', `the inspector did not answer ${method} synchronously`);
    return out;
  }

  start(options) {
    // A profiler that runs already (DevTools' "Allocation sampling"): the
    // inspector would not start another one, and stopping would stop theirs.
    let running = false;
    this.quiet(() => {
      running = !this.post('HeapProfiler.getSamplingProfile').err;
    });
    if (running) {
      this.owned = false;
      return false;
    }
    const r = this.post('HeapProfiler.startSampling', { samplingInterval: options.interval });
    if (r.err) throw codedError('ERR_MEMWATCH_SAMPLING', `HeapProfiler.startSampling failed: ${r.err.message}`);
    this.owned = true;
    return true;
  }

  stop() {
    if (!this.owned) return;
    this.owned = false;
    // stopSampling reads the profile first, which makes V8 collect garbage.
    this.quiet(() => this.post('HeapProfiler.stopSampling'));
  }

  read(key) {
    let r = null;
    this.quiet(() => {
      r = this.post('HeapProfiler.getSamplingProfile');
    });
    if (r.err) {
      this.owned = false;
      return false;
    }
    this.last = r.result.profile;
    // Not the profiler read before: someone stopped ours and started theirs.
    if (!this.tracker.ingest(profileColumns(this.last), key)) this.owned = false;
    return true;
  }

  /** The latest profile exactly as the inspector returned it. */
  json() {
    return this.last ? JSON.stringify(this.last) : null;
  }
}

class Sampling {
  constructor(binding, backend) {
    this.binding = binding;
    this.backend = backend;
    this.options = { ...DEFAULTS };
    this.enabled = true;
    /** A `leak` listener exists. */
    this.wanted = false;
    /** sites() / writeHeapProfile() started sampling: it stays on. */
    this.pinned = false;
    this.route = null;
    /** Why the native route is not used, or why sampling is unavailable. */
    this.reason = null;
    this.unavailable = null;
    this.running = false;
    /** Whether the running profiler was started by memwatch (false: someone else's). */
    this.owned = false;
    this.restarts = 0;
    this.startedAt = 0;
    this.readMs = 0;
    this.reads = 0;
    this.skipped = 0;
    this.nextReadGc = null;
    this.warned = false;
    /** Events are being emitted: stops wait until they are (see holdWhile). */
    this.holding = false;
    this.tracker = new binding.SiteTracker();
    /** Full GCs in a leak's run (5). */
    this.run = binding.leakGcCount();
  }

  /** Status for `memwatch.sampling`. */
  status() {
    return {
      enabled: this.enabled,
      active: this.running,
      route: this.running ? this.route.name : null,
      owner: this.running ? (this.owned ? 'memwatch' : 'other') : null,
      interval: this.options.interval,
      stackDepth: this.options.stackDepth,
      reason: this.unavailable || this.reason,
      reads: this.reads,
      skippedReads: this.skipped,
      readMs: this.readMs,
      restarts: this.restarts,
    };
  }

  /** Runs `fn` so that the full GCs it causes are not reported. */
  quiet(fn) {
    return this.backend.quietly(fn);
  }

  /** Picks the route on first use: native after its canary, else the inspector. */
  chooseRoute() {
    if (this.route || this.unavailable) return;
    const why = this.nativeProblem();
    if (!why) {
      this.route = this.nativeRoute();
      if (this.route) return;
    } else {
      this.reason = why;
    }
    this.route = this.inspectorRoute();
  }

  /** The inspector route, or null (with `unavailable`) where node has no inspector. */
  inspectorRoute() {
    try {
      return new InspectorRoute(require('inspector'), this.tracker, (fn) => this.quiet(fn));
    } catch (err) {
      this.unavailable = `no sampling heap profiler: the V8 binding cannot be used (${this.reason}) and node:inspector is unavailable (${err.message})`;
      return null;
    }
  }

  nativeProblem() {
    if (this.backend.name !== 'v8') return `the ${this.backend.name} backend is in use`;
    return this.binding.samplingProblem();
  }

  /** The native route, or null (with `reason`) when its canary fails. */
  nativeRoute() {
    let route;
    try {
      route = new NativeRoute(this.binding, this.backend.watcher, this.tracker);
    } catch (err) {
      this.reason = err.message;
      return null;
    }
    if (this.binding.samplingVerified()) return route;
    // The canary runs on a profiler of our own at a small interval.
    if (!route.sampler.start(CANARY_INTERVAL, this.options.stackDepth)) {
      this.reason =
        'a sampling heap profiler was already running (an inspector session such as DevTools, or another copy of memwatch) ' +
        'before the native route could be checked: it is read through the inspector and never stopped';
      return null;
    }
    let problem;
    try {
      const allocate = vm.runInThisContext(CANARY_SOURCE, { filename: CANARY_URL });
      const check = new this.binding.SiteTracker();
      const kept = allocate(CANARY_ARRAYS);
      problem = route.sampler.canary(this.backend.watcher, check, {
        function: 'memwatchSamplingCanary',
        caller: 'memwatchSamplingCanaryCaller',
        url: CANARY_URL,
        line: CANARY_AT.line,
        column: CANARY_AT.column,
        retainedBytes: CANARY_ARRAYS * CANARY_ARRAY_BYTES,
      });
      // Alive until the profile was read (then garbage).
      if (kept.length !== CANARY_ARRAYS) problem = problem || 'sampling canary: allocation failed';
    } catch (err) {
      problem = `sampling canary: ${err.message}`;
    } finally {
      route.sampler.stop();
    }
    if (problem) {
      this.reason = problem;
      return null;
    }
    return route;
  }

  /**
   * Runs `fn` (the emission of a batch of events) with sampling kept on:
   * a `once('leak')` listener is removed before it is called, and what it
   * asks of sites() or writeHeapProfile() must still come from the profile
   * its leak was read from. A stop wanted meanwhile happens after `fn`.
   */
  holdWhile(fn) {
    if (this.holding) return fn();
    this.holding = true;
    try {
      return fn();
    } finally {
      this.holding = false;
      this.sync();
    }
  }

  /** Leak listeners changed: sampling follows them (unless pinned or off). */
  setWanted(wanted) {
    this.wanted = wanted;
    this.sync();
  }

  /**
   * Starts or stops sampling to match what is wanted. Never throws (it runs
   * inside memwatch.on/off): a failure turns sampling off with the reason.
   */
  sync() {
    try {
      const on = this.enabled && (this.wanted || this.pinned);
      if (on && !this.running) this.start();
      else if (!on && this.running && !this.holding) this.stop();
    } catch (err) {
      this.fail(err);
    }
  }

  start() {
    this.chooseRoute();
    if (!this.route) return;
    this.tracker.reset();
    this.owned = this.route.start(this.options);
    this.running = true;
    this.startedAt = performance.now();
    this.readMs = 0;
    // The first routine read waits a leak run after the first full GC.
    this.nextReadGc = null;
    // Warm up what runs after each full GC now, in one step: the code of
    // the read path is compiled (and, after a few calls, given its feedback
    // vectors) and V8 builds the line tables of the scripts a profile names.
    // Done a little at each of the next full GCs instead, that growth could
    // add up to a run that looks like a leak.
    this.read(null);
    for (let i = 0; i < 16; i++) {
      this.withinBudget();
      if (this.route.restartIfStopped) this.route.restartIfStopped(this.options);
    }
  }

  stop() {
    this.running = false;
    if (this.owned && this.stillOurs()) this.route.stop();
    this.owned = false;
    this.tracker.reset();
  }

  /**
   * Whether the profiler running now is still the one memwatch started:
   * since the last read, someone may have stopped it and started their own
   * (DevTools' stop, then start). One more read tells (its numbering does
   * not continue); if it cannot be read, ours is stopped as before.
   */
  stillOurs() {
    try {
      return this.route.read(null) && this.route.owned;
    } catch {
      return true;
    }
  }

  /** Starts sampling again after someone else stopped the profiler under us. */
  restart() {
    this.restarts++;
    this.tracker.reset();
    this.owned = this.route.start(this.options);
  }

  /**
   * Reads the profile (key: the full GC it follows, or null); false when
   * none could be read. A native read that fails sends this isolate to the
   * inspector route for good, with the reason.
   */
  read(key) {
    const t0 = performance.now();
    try {
      if (this.route.read(key)) {
        if (!this.route.owned) this.owned = false;
        return true;
      }
      // Nobody runs a profiler any more: someone stopped ours (or theirs
      // ended). Start one; it has nothing to report yet.
      this.restart();
      return false;
    } catch (err) {
      if (this.route.name !== 'native' || err.code !== 'ERR_MEMWATCH_SAMPLING_READ') throw err;
      // The profile did not read as the layout table says: never again
      // natively in this isolate (the inspector reads the same profiler).
      this.reason = err.message;
      this.stop();
      this.route = this.inspectorRoute();
      this.sync();
      return false;
    } finally {
      this.readMs += performance.now() - t0;
      this.reads++;
    }
  }

  /**
   * Before `events` are emitted: reads the profile after the last full GC of
   * the batch (always when it holds a leak, else within READ_BUDGET) and
   * gives each `leak` its `sites`. Never throws: a failure turns sampling
   * off with the reason and one process warning.
   */
  onEvents(events) {
    // Each leak with the number of its full GC: the stats event after it.
    const leaks = [];
    let lastGc = null;
    for (const ev of events) {
      if (ev.type === 'leak') {
        ev.data.sites = [];
        leaks.push({ data: ev.data, gc: null });
      } else if (ev.type === 'stats') {
        lastGc = ev.data.num_full_gc;
        for (const l of leaks) if (l.gc === null) l.gc = lastGc;
      }
    }
    if (!this.running || !this.wanted || lastGc === null) return;
    try {
      // Natively, whether a profiler still runs costs next to nothing to
      // ask: one stopped by someone else is started again at once, not at
      // the next read.
      if (this.route.restartIfStopped && this.route.restartIfStopped(this.options)) {
        this.restarts++;
        this.tracker.reset();
        this.owned = true;
        this.nextReadGc = null;
      }
      const run = this.run;
      if (!leaks.length) {
        // Routine reads: at most one per leak run of full GCs (see READ_BUDGET).
        if (this.nextReadGc === null) this.nextReadGc = lastGc + run;
        if (lastGc < this.nextReadGc) return;
        if (!this.withinBudget()) {
          this.skipped++;
          return;
        }
      }
      this.nextReadGc = lastGc + run;
      if (!this.read(lastGc)) return;
      // The leak's run of growing GCs started this many GCs before its last.
      for (const l of leaks) l.data.sites = this.trim(this.tracker.window((l.gc ?? lastGc) - (run - 1), LEAK_TOP));
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * The inspector samples 128 frames whatever `stackDepth` says: stacks are
   * cut to it here, so both routes report alike.
   */
  trim(sites) {
    const depth = this.options.stackDepth;
    for (const s of sites) if (s.stack.length > depth) s.stack.length = depth;
    return sites;
  }

  withinBudget() {
    const elapsed = performance.now() - this.startedAt;
    return this.readMs <= READ_BUDGET * elapsed;
  }

  fail(err) {
    this.unavailable = `sampling stopped after an error: ${err && err.message}`;
    try {
      if (this.running) this.stop();
    } catch {
      // the profiler is gone with the error
    }
    this.enabled = false;
    if (!this.warned) {
      this.warned = true;
      process.emitWarning(this.unavailable, { code: 'MEMWATCH_SAMPLING_ERROR' });
    }
  }

  /** Starts sampling for sites()/writeHeapProfile() if nothing had; throws when it cannot. */
  ensureRunning(caller) {
    if (!this.enabled) {
      throw codedError(
        'ERR_MEMWATCH_SAMPLING_OFF',
        `memwatch.${caller}(): sampling is off (memwatch.configure({ sampling: false })${this.unavailable ? `; ${this.unavailable}` : ''})`
      );
    }
    if (!this.running) {
      this.pinned = true;
      this.sync();
    }
    if (!this.running) {
      throw codedError('ERR_MEMWATCH_SAMPLING_UNAVAILABLE', `memwatch.${caller}(): ${this.unavailable || 'no sampling heap profiler'}`);
    }
  }

  configure(value) {
    if (value === false) {
      this.enabled = false;
      this.pinned = false;
      if (this.running) this.stop();
      return;
    }
    const options = value === true ? this.options : samplingOptions(value, this.options);
    const changed = options.interval !== this.options.interval || options.stackDepth !== this.options.stackDepth;
    this.options = options;
    // A profiler's settings are fixed when it starts: start a new one. (One
    // that someone else runs keeps theirs.)
    if (this.running && changed && this.owned) this.stop();
    // Turning sampling on again also retries after an error.
    if (this.route) this.unavailable = null;
    this.enabled = true;
    this.sync();
  }

  sites(opts) {
    if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts))) {
      throw typeError(`The "options" argument must be an object. Received ${describeValue(opts)}`);
    }
    const { top = LEAK_TOP, order = 'live' } = opts || {};
    checkInteger('options.top', top, 1, 100000);
    if (order !== 'live' && order !== 'growth') {
      throw codedError('ERR_INVALID_ARG_VALUE', `The "options.order" value must be 'live' or 'growth'. Received ${describeValue(order)}`, TypeError);
    }
    this.ensureRunning('sites');
    if (!this.read(null)) return [];
    return this.trim(this.tracker.current(top, order));
  }

  writeHeapProfile(file) {
    if (file !== undefined && (typeof file !== 'string' || file === '')) {
      throw typeError(`The "path" argument must be a non-empty string. Received ${describeValue(file)}`);
    }
    this.ensureRunning('writeHeapProfile');
    const target = path.resolve(file === undefined ? defaultFileName() : file);
    this.read(null);
    const json = this.route.json() || '{"head":{"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":0,"id":1,"children":[]},"samples":[]}';
    // Written beside the target and renamed: a reader never sees half a file.
    const partial = `${target}.${process.pid}.partial`;
    try {
      fs.writeFileSync(partial, json, { flag: 'wx' });
      fs.renameSync(partial, target);
    } catch (err) {
      try {
        fs.rmSync(partial, { force: true });
      } catch {
        // the write's error is the one to report
      }
      const e = codedError('ERR_MEMWATCH_WRITE', `memwatch.writeHeapProfile(): cannot write ${target}: ${err.message}`);
      e.cause = err;
      throw e;
    }
    return target;
  }
}

function createSampling(binding, backend) {
  return new Sampling(binding, backend);
}

module.exports = { createSampling, profileColumns, samplingOptions, DEFAULTS, CANARY_SOURCE, CANARY_URL, CANARY_AT };
