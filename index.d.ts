// Type definitions for memwatch. They describe the runtime exactly: every
// field listed here is present on every event.

import { EventEmitter } from 'events';

declare namespace memwatch {
  /** Payload of the `stats` event, sampled right after a full GC (mark-sweep-compact). */
  interface Stats {
    /** Full GCs (mark-sweep-compacts) seen since memwatch started listening; one per `gc()` call. */
    num_full_gc: number;
    /** Other GCs seen (scavenges, minor mark-sweeps, incremental marking steps). */
    num_inc_gc: number;
    /** Heap compactions; every full GC compacts, so equal to `num_full_gc`. */
    heap_compactions: number;
    /** Percent by which the recent base (`estimated_base`) exceeds the long-term base, one decimal. */
    usage_trend: number;
    /** Used heap after full GCs, smoothed over the last ~10 full GCs (bytes). */
    estimated_base: number;
    /** Used heap right after this full GC (bytes). */
    current_base: number;
    /** Smallest `current_base` seen, from the 3rd full GC on (0 before). */
    min: number;
    /** Largest `current_base` seen, from the 3rd full GC on (0 before). */
    max: number;
    /** V8 heap in use right after this GC (bytes); equals `current_base`. */
    used_heap_size: number;
    /** V8 heap reserved (bytes). */
    total_heap_size: number;
    /** Largest heap V8 will grow to before an out-of-memory crash (bytes). */
    heap_size_limit: number;
    /** Memory outside the V8 heap that V8 accounts for (Buffers, ArrayBuffers), right after this GC (bytes). */
    external_memory: number;
    /** Time spent in this GC; for `gc()`, in all the collections it ran (ms). */
    gc_pause_ms: number;
    /** Resident set size of the process when the event is delivered (bytes). */
    rss: number;
    /** `process.memoryUsage().external` when the event is delivered (bytes). */
    external: number;
    /** `process.memoryUsage().arrayBuffers` when the event is delivered (bytes). */
    array_buffers: number;

    // @airbnb/node-memwatch's fields, with its meaning and units.
    /** V8 heap reserved for executable code (bytes). */
    total_heap_size_executable: number;
    /** V8 heap committed in physical memory (bytes). */
    total_physical_size: number;
    /** Heap V8 can still grow into before reaching its limit (bytes). */
    total_available_size: number;
    /** Memory V8 has malloc'ed for itself (bytes). */
    malloced_memory: number;
    /** Peak of `malloced_memory` (bytes). */
    peak_malloced_memory: number;
    /** Time spent in this GC (nanoseconds; `gc_pause_ms` in ns). */
    gc_time: number;
    /** When this GC ended (microseconds since the Unix epoch). */
    gc_ts: number;
    /** Young-generation GCs (scavenges, minor mark-sweeps) since memwatch started listening. */
    gcScavengeCount: number;
    /** Their total time (nanoseconds). */
    gcScavengeTime: number;
    /** Full GCs V8 ran since memwatch started listening (a `gc()` call runs several). */
    gcMarkSweepCompactCount: number;
    /** Their total time (nanoseconds). */
    gcMarkSweepCompactTime: number;
    /** Incremental marking steps since memwatch started listening. */
    gcIncrementalMarkingCount: number;
    /** Their total time (nanoseconds). */
    gcIncrementalMarkingTime: number;
    /** Weak-callback processing passes since memwatch started listening. */
    gcProcessWeakCallbacksCount: number;
    /** Their total time (nanoseconds). */
    gcProcessWeakCallbacksTime: number;
  }

  /** Payload of the `leak` event. */
  interface LeakInfo {
    /** Time of the first of the growing full GCs. */
    start: Date;
    /** Time of the full GC that completed the run. */
    end: Date;
    /** Bytes grown between `start` and `end`. */
    growth: number;
    /** e.g. "heap growth over 5 consecutive GCs (20s) - 11.67 mb/hr". */
    reason: string;
    /** 'heap': the used V8 heap grew; 'external': external memory (Buffers, ArrayBuffers) grew. */
    kind: 'heap' | 'external';
    /**
     * Where the memory that grew over the leak's window was allocated: the
     * (up to 10) sites whose sampled live bytes grew most, most first. Empty
     * when sampling is off or unavailable (`memwatch.sampling.reason`).
     */
    sites: LeakSite[];
  }

  /** One allocation site, from V8's sampling heap profiler. */
  interface LeakSite {
    /** The allocating function ('(anonymous)' without a name; V8's own frames such as '(V8 API)' as named). Built-ins (Map.prototype.set, Array.prototype.push) count for the function that called them. */
    function: string;
    /** Its script: a file path, a file:// or node: URL ('' for V8's own frames). */
    url: string;
    /** Where the function starts (1-based; 0 when unknown): V8 samples record functions, not statements. */
    line: number;
    column: number;
    /** Estimated live bytes gained over the window (`memwatch.sites()`: since the previous call; may be negative there). */
    growth_bytes: number;
    /** Estimated live bytes now (sampled bytes scaled by the sampling interval). */
    live_bytes: number;
    /** Live samples behind the estimate: the fewer, the rougher. */
    samples: number;
    /** The call path holding most of the site's bytes, innermost first: 'handleLogin (/app/server.js:42:28)'. */
    stack: string[];
  }

  /** `memwatch.configure({ sampling })`. */
  interface SamplingOptions {
    /** Mean bytes allocated between two samples, 256 to 2^30 (default 524288, V8's). Smaller: more precise sites, more cost. */
    interval?: number;
    /** Frames kept per sample, 1 to 128 (default 16). */
    stackDepth?: number;
  }

  interface ConfigureOptions {
    /** `false` turns the sampling heap profiler off (leak events then have `sites: []`); `true` or options turn it back on. */
    sampling?: SamplingOptions | boolean;
  }

  /** `memwatch.sampling`: the sampling heap profiler's state. */
  interface SamplingStatus {
    /** Not turned off by `configure({ sampling: false })` (or an error). */
    enabled: boolean;
    /** Sampling now (a `leak` listener exists, or `sites()` / `writeHeapProfile()` started it). */
    active: boolean;
    /** 'native': read through the V8 binding; 'inspector': through node:inspector. null when not active. */
    route: 'native' | 'inspector' | null;
    /** 'other': a profiler someone else started (DevTools): read, never stopped, its own interval. */
    owner: 'memwatch' | 'other' | null;
    interval: number;
    stackDepth: number;
    /** Why the native route is not used, or why sampling is unavailable or stopped; null otherwise. */
    reason: string | null;
    /** Profile reads so far, reads skipped to stay within the cost budget, and their total time (ms). */
    reads: number;
    skippedReads: number;
    readMs: number;
    /** Times memwatch started its profiler again after someone else stopped it. */
    restarts: number;
  }

  interface SitesOptions {
    /** Sites to return, 1 to 100000 (default 10). */
    top?: number;
    /** 'live' (default): most live bytes first; 'growth': most growth since the previous call first. */
    order?: 'live' | 'growth';
  }

  /** Time spent inside memwatch's own GC callbacks (native backend). */
  interface CallbackCost {
    /** Prologue and epilogue calls. */
    calls: number;
    /** Total nanoseconds spent in them. */
    totalNs: number;
    /** Full-GC samples dropped because JS did not drain the queue in time. */
    droppedSamples: number;
  }

  /** `before` / `after` of a HeapDiff result. */
  interface HeapDiffSnapshot {
    /** Objects counted (hidden, synthetic and object-shape nodes are not). */
    nodes: number;
    /** Their total self size in bytes. */
    size_bytes: number;
    /** `size_bytes` as memwatch printed it: "X.XX mb", "X.XX kb" or "N bytes". */
    size: string;
    /** When the snapshot was taken. */
    time: Date;
  }

  /** A sample object of a growing class, with why it is alive (`end({ examples })`). */
  interface HeapDiffExample {
    /** V8's heap object id (`@id` in DevTools). */
    id: number;
    self_size: number;
    retained_size: number;
    /** Shortest retainer path from the GC roots, e.g.
     *  "(GC roots) → global.cache (property) → Map.table (internal) → (array)[42] (internal) → LeakingClass @1234". */
    path: string;
  }

  /** One row of `change.details`: one class. */
  interface HeapDiffDetail {
    /** Constructor name for objects; 'Array', 'String', 'Code', 'Closure', 'RegExp', 'Number', 'Native', 'Symbol', 'BigInt' for the rest. */
    what: string;
    /** Net change of the class's self sizes, in bytes. */
    size_bytes: number;
    size: string;
    /** Objects of this class allocated between the snapshots (and still alive). */
    '+': number;
    /** Objects of this class freed between the snapshots. */
    '-': number;
    /** With `examples`: retained size of the added objects of this class that no other added object of it retains. */
    retained_size_bytes?: number;
    retained_size?: string;
    /** With `examples`, on the classes that grew most: up to `examples` sample objects. */
    examples?: HeapDiffExample[];
  }

  interface HeapDiffResult {
    before: HeapDiffSnapshot;
    after: HeapDiffSnapshot;
    change: {
      size_bytes: number;
      size: string;
      freed_nodes: number;
      allocated_nodes: number;
      /** Classes with objects added or freed, sorted by name. */
      details: HeapDiffDetail[];
    };
  }

  interface HeapDiffEndOptions {
    /** Sample objects (with retainer paths) per top growing class, 0-1000; default 0 (memwatch's output). */
    examples?: number;
  }

  interface HeapDiff {
    /**
     * Takes the "after" snapshot and compares. Throws an Error with
     * `code: 'ERR_HEAPDIFF_ENDED'` if called twice, `'ERR_HEAPDIFF_MEMORY'`
     * if the snapshot would not fit in free memory.
     */
    end(options?: HeapDiffEndOptions): HeapDiffResult;
  }

  interface HeapDiffConstructor {
    /** Takes the "before" snapshot. `skipMemoryCheck` skips the free-memory estimate. */
    new (options?: { skipMemoryCheck?: boolean }): HeapDiff;
  }

  /** One class of a snapshot (DevTools' Summary view). */
  interface ClassGroup {
    /** DevTools' class name: constructor name, 'Function', '(array)', '(string)', '(compiled code)', '(system)', ... */
    name: string;
    count: number;
    self_size: number;
    /** Retained size of the class's objects that no other object of it retains. */
    retained_size: number;
  }

  interface SnapshotAnalysis {
    nodes: number;
    edges: number;
    /** Sum of all nodes' self sizes. */
    self_size: number;
    /** Classes in the snapshot (the list is cut at `top`). */
    class_count: number;
    /** The `top` classes by retained size, largest first. */
    groups: ClassGroup[];
  }

  interface AnalyzeOptions {
    /** Classes to return, largest retained size first (1-1000000, default 20). */
    top?: number;
    /** Aborts the analysis: the promise rejects with an AbortError (`code: 'ABORT_ERR'`), the stream is destroyed and the threads stop. */
    signal?: AbortSignal;
  }

  interface IterateOptions {
    /** Calls per round (default 30). */
    iterations?: number;
    /** Measured rounds per batch, each followed by a full GC (default 6). */
    rounds?: number;
    /** Warm-up rounds before measuring (default 1). */
    warmup?: number;
    /** Take the heap snapshots without first checking that they fit in free memory (default false). */
    skipMemoryCheck?: boolean;
  }

  interface IterateResult {
    leaked: false;
    /** The heap kept growing over two batches of rounds, so snapshots were taken, but nothing accumulated. */
    suspected: boolean;
    /** Heap data bytes (compiled code left out) after the GC that ends the warm-up and after each round. */
    bases: number[];
    /** Last base minus the first (bytes). */
    heapGrowth: number;
  }

  interface LeakedClass {
    /** HeapDiff's class name (V8's compiled code and heap numbers are never listed). */
    what: string;
    /** Objects of the class added and still alive after `calls` calls (0 for a backing store that only grew). */
    count: number;
    size_bytes: number;
    retained_size_bytes: number;
    /** Retainer path of one of them, or null. */
    path: string | null;
  }

  interface MemoryLeakError extends Error {
    name: 'MemoryLeakError';
    code: 'ERR_MEMORY_LEAK';
    details: {
      iterations: number;
      /** Rounds measured (one or more batches of `rounds`). */
      rounds: number;
      /** Calls between the two snapshots that found the leak. */
      calls: number;
      heapGrowth: number;
      bases: number[];
      /** Accumulating classes: the user's classes first, then closures, built-ins, engine internals. */
      classes: LeakedClass[];
    };
  }

  interface Iterate {
    /**
     * Runs `fn` in rounds; throws a MemoryLeakError if objects it allocates stay alive.
     * Throws `code: 'ERR_ITERATE_ASYNC_FN'` if `fn` returns a promise (use `iterate.async`),
     * `'ERR_ITERATE_CONCURRENT'` while another iterate is running, `'ERR_HEAPDIFF_MEMORY'`
     * if a snapshot would not fit in free memory.
     */
    (fn: () => unknown, options?: IterateOptions): IterateResult;
    /** Same, awaiting what `fn` returns; rejects with a MemoryLeakError. */
    async(fn: () => unknown, options?: IterateOptions): Promise<IterateResult>;
    MemoryLeakError: new (message: string, details: MemoryLeakError['details']) => MemoryLeakError;
  }

  interface RecordOptions {
    /** Rotate the file at this many bytes: path -> path.1 -> ... (default 64 MiB; 0 or Infinity: never). */
    maxBytes?: number;
    /** Rotated parts kept (default 1). */
    keep?: number;
    /** Bytes of lines waiting to be written before new ones are dropped and counted (default 1 MiB). */
    maxQueueBytes?: number;
    /** Classes (HeapDiff summaries) and sites (`sites()`) kept per line (default 20). */
    top?: number;
    /**
     * On each `leak` event, a HeapDiff from then until `gcs` more full GCs (default 5), whose
     * `top` growing classes are recorded. Costs a heap snapshot each time (V8's: seconds on big heaps).
     */
    heapDiff?: boolean | { gcs?: number; top?: number };
    /** Stream target: end it on stop() (default false). */
    end?: boolean;
  }

  /** What a recording wrote: from `stop()` and `written`. */
  interface RecordSummary {
    lines: number;
    bytes: number;
    /** Lines dropped because writing could not keep up (a `dropped` line counts them in the file). */
    dropped: number;
    rotations: number;
  }

  /** A running recording (an EventEmitter: 'error' with `code` ERR_RECORD_WRITE / ERR_RECORD_OPEN). */
  interface Recording extends EventEmitter {
    /** The file written, or null for a stream. */
    readonly path: string | null;
    /** The error that stopped the recording, or null. */
    readonly error: (Error & { code: string }) | null;
    readonly written: RecordSummary;
    /** Writes a summary of a HeapDiff result (or `memwatch diff --json` output): the classes that grew most. */
    heapDiff(result: HeapDiffResult | object, options?: { label?: string; top?: number }): void;
    /** Writes allocation sites (e.g. a leak event's `sites`), the first `top` of them. */
    sites(list: object[], options?: { label?: string; top?: number }): void;
    /** Stops taking events, writes what is queued, closes the file. Rejects with the write error if one occurred. */
    stop(): Promise<RecordSummary>;
    /** Same as stop(). */
    close(): Promise<RecordSummary>;
  }

  interface Memwatch extends EventEmitter {
    /** 'v8': native GC hooks; 'perf_hooks': fallback where the V8 binding is unavailable. */
    readonly backend: 'v8' | 'perf_hooks';
    /** Why the fallback is in use, or null. */
    readonly backendReason: string | null;

    /** Runs a full GC now (no --expose-gc needed), emits `stats` for it and returns that object. */
    gc(): Stats;
    /** In-callback cost counters, or null on the perf_hooks backend. */
    callbackCost(): CallbackCost | null;

    /** `new memwatch.HeapDiff()` ... `hd.end()`: what was allocated and freed in between, by class. */
    HeapDiff: HeapDiffConstructor;

    /** Leak assertions for tests (leakage's call shape). */
    iterate: Iterate;
    MemoryLeakError: Iterate['MemoryLeakError'];

    /**
     * Analyzes a .heapsnapshot file (path) or stream (e.g. `v8.getHeapSnapshot()`)
     * off the main thread. Rejects with `code` 'ERR_SNAPSHOT_READ' (cannot
     * open; a stream that errors or closes early), 'ERR_SNAPSHOT_PARSE'
     * (message with the byte offset), 'ERR_INVALID_ARG_TYPE' or 'ABORT_ERR'.
     */
    analyzeSnapshot(
      pathOrStream: string | NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>,
      options?: AnalyzeOptions
    ): Promise<SnapshotAnalysis>;

    /**
     * Records `stats` and `leak` events as NDJSON lines into a file (opened now: throws
     * `code` ERR_RECORD_OPEN) or a writable stream. Bounded memory, asynchronous writes.
     * `memwatch report` turns the file into an HTML report.
     */
    record(pathOrStream: string | NodeJS.WritableStream, options?: RecordOptions): Recording;

    /**
     * Settings. Throws `code` ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or
     * ERR_OUT_OF_RANGE for bad values; returns the sampling status.
     */
    configure(options: ConfigureOptions): SamplingStatus;
    /** The sampling heap profiler's state. */
    readonly sampling: SamplingStatus;
    /**
     * The live allocations by site, now. Starts sampling if nothing had (the
     * first call then sees little). Throws `code` ERR_MEMWATCH_SAMPLING_OFF
     * or ERR_MEMWATCH_SAMPLING_UNAVAILABLE; ERR_INVALID_ARG_TYPE,
     * ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options.
     */
    sites(options?: SitesOptions): LeakSite[];
    /**
     * Writes the sampled profile as a .heapprofile file (DevTools' Memory
     * panel, speedscope) and returns its absolute path (default:
     * Heap.<date>.<time>.<pid>.<thread>.<n>.heapprofile in the working
     * directory). Throws `code` ERR_MEMWATCH_WRITE (with `cause`) when the
     * file cannot be written, ERR_MEMWATCH_SAMPLING_OFF or
     * ERR_MEMWATCH_SAMPLING_UNAVAILABLE as `sites()` does,
     * ERR_INVALID_ARG_TYPE for a path that is not a non-empty string.
     */
    writeHeapProfile(path?: string): string;

    on(event: 'stats', listener: (stats: Stats) => void): this;
    on(event: 'leak', listener: (info: LeakInfo) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
    addListener(event: 'stats', listener: (stats: Stats) => void): this;
    addListener(event: 'leak', listener: (info: LeakInfo) => void): this;
    addListener(event: string | symbol, listener: (...args: any[]) => void): this;
    once(event: 'stats', listener: (stats: Stats) => void): this;
    once(event: 'leak', listener: (info: LeakInfo) => void): this;
    once(event: string | symbol, listener: (...args: any[]) => void): this;
    prependListener(event: 'stats', listener: (stats: Stats) => void): this;
    prependListener(event: 'leak', listener: (info: LeakInfo) => void): this;
    prependListener(event: string | symbol, listener: (...args: any[]) => void): this;
    prependOnceListener(event: 'stats', listener: (stats: Stats) => void): this;
    prependOnceListener(event: 'leak', listener: (info: LeakInfo) => void): this;
    prependOnceListener(event: string | symbol, listener: (...args: any[]) => void): this;
  }
}

declare const memwatch: memwatch.Memwatch;

export = memwatch;
