// `require('memwatch/prometheus')`: memwatch's numbers as prom-client metrics.
// Structural types, so that prom-client (an optional peer dependency) is not
// needed to compile; a prom-client Registry fits them.

/** What memwatch uses of a prom-client Registry. */
export interface RegistryLike {
  registerMetric(metric: any): void;
  removeSingleMetric(name: string): void;
}

export interface RegisterOptions {
  /** Buckets of `memwatch_gc_full_duration_seconds`, in seconds. */
  buckets?: number[];
  /** The prom-client module to build the metrics with (default: `require('prom-client')`). */
  client?: object;
}

export interface Registration {
  /** The metric names registered. */
  readonly names: string[];
  /** Removes the metrics from the registry and memwatch's listeners. Idempotent. */
  stop(): void;
}

/**
 * Registers `memwatch_heap_base_bytes`, `memwatch_heap_estimated_base_bytes`,
 * `memwatch_heap_usage_trend_ratio`, `memwatch_heap_used_bytes`, `memwatch_heap_total_bytes`,
 * `memwatch_heap_limit_bytes`, `memwatch_external_memory_bytes`, `memwatch_array_buffers_bytes`,
 * `memwatch_rss_bytes`, `memwatch_gc_full_total`, `memwatch_gc_incremental_total`,
 * `memwatch_leaks_total{kind}` and the histogram `memwatch_gc_full_duration_seconds`.
 * Default registry: prom-client's global `register`. Throws `code`
 * ERR_MEMWATCH_METRICS_REGISTERED (a name is taken), ERR_MEMWATCH_PEER_MISSING,
 * ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE.
 */
export declare function register(registry?: RegistryLike, options?: RegisterOptions): Registration;
