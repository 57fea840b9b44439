// `require('memwatch/otel')`: memwatch's numbers as OpenTelemetry metrics.
// Structural types, so that @opentelemetry/api (an optional peer dependency)
// is not needed to compile; an SDK MeterProvider fits them.

/** What memwatch uses of an OpenTelemetry MeterProvider. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: object): any;
}

export interface InstrumentOptions {
  /** Default: the global provider of @opentelemetry/api (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProviderLike;
}

export interface Instrumentation {
  /** The meter the instruments live on (named after this package). */
  readonly meter: unknown;
  /** Stops observing: removes the observable callback and memwatch's listeners. Idempotent. */
  stop(): void;
}

/**
 * Registers memwatch's instruments: observable gauges `memwatch.heap.current_base`,
 * `memwatch.heap.estimated_base`, `memwatch.heap.usage_trend` (ratio), `memwatch.heap.used`,
 * `memwatch.heap.total`, `memwatch.heap.limit`, `memwatch.memory.external`,
 * `memwatch.memory.array_buffers` and `process.memory.usage` (RSS); counters
 * `memwatch.gc.collections` {memwatch.gc.type: full | incremental} and `memwatch.leaks`
 * {memwatch.leak.kind}; histogram `v8js.gc.duration` (s, {v8js.gc.type: major}).
 * Throws `code` ERR_MEMWATCH_PEER_MISSING (no provider and no @opentelemetry/api),
 * ERR_INVALID_ARG_TYPE, or ERR_MEMWATCH_OTEL (the provider threw).
 */
export declare function instrument(options?: InstrumentOptions): Instrumentation;
