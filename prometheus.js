'use strict';
// `require('memwatch/prometheus')`: memwatch's numbers as prom-client metrics.
//
//   const client = require('prom-client');
//   client.collectDefaultMetrics();                              // no name clashes
//   const handle = require('memwatch/prometheus').register(client.register);
//   ...
//   handle.stop();                                               // unregisters, removes listeners
//
// Every name starts with `memwatch_` and ends with its unit (Prometheus'
// naming rules), so none meets collectDefaultMetrics()' `process_*` and
// `nodejs_*` names. Gauges are read when the registry is scraped; before the
// first full GC they have no sample rather than a misleading 0.

const memwatch = require('.');
const { codedError } = require('./lib/errors');
const { GAUGES, PAUSE_BUCKETS, LEAK_KINDS, track } = require('./lib/metrics');

function loadClient(client) {
  if (client !== undefined) return client;
  try {
    return require('prom-client');
  } catch (err) {
    if (err && err.code !== 'MODULE_NOT_FOUND') throw err;
    throw codedError(
      'ERR_MEMWATCH_PEER_MISSING',
      'memwatch/prometheus needs prom-client (npm install prom-client), or pass { client: require("prom-client") }'
    );
  }
}

/**
 * Registers memwatch's metrics on a prom-client registry.
 *
 * @param {object} [registry] a prom-client Registry; default: prom-client's global `register`
 * @param {{ buckets?: number[], client?: object }} [options] pause histogram buckets (seconds);
 *        the prom-client module to build metrics with (default: `require('prom-client')`)
 * @returns {{ readonly names: string[], stop(): void }}
 */
function register(registry, options = {}) {
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'memwatch/prometheus: options must be an object', TypeError);
  }
  const client = loadClient(options.client);
  if (registry === undefined) registry = client.register;
  if (!registry || typeof registry.registerMetric !== 'function' || typeof registry.removeSingleMetric !== 'function') {
    throw codedError(
      'ERR_INVALID_ARG_TYPE',
      'memwatch/prometheus: register(registry) takes a prom-client Registry',
      TypeError
    );
  }
  const buckets = options.buckets === undefined ? PAUSE_BUCKETS : options.buckets;
  if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every((b) => typeof b === 'number' && b > 0)) {
    throw codedError('ERR_INVALID_ARG_VALUE', 'memwatch/prometheus: options.buckets must be positive numbers', RangeError);
  }

  // Filled in below; the metrics' collect() callbacks read it at scrape time.
  let state = null;
  const latest = () => state && state.stats;
  const metrics = GAUGES.map(
    (g) =>
      new client.Gauge({
        name: g.prom,
        help: g.help,
        registers: [],
        collect() {
          const s = latest();
          const v = s && s[g.field];
          if (typeof v === 'number' && Number.isFinite(v)) this.set(v * (g.scale || 1));
          // No sample before the first full GC rather than a misleading 0
          // (prom-client's reset() sets 0 on label-less gauges).
          else this.hashMap = {};
        },
      })
  );
  // Counters follow memwatch's cumulative counts (never decreasing).
  const counterOf = (name, help, field) => {
    let reported = 0;
    return new client.Counter({
      name,
      help,
      registers: [],
      collect() {
        const s = latest();
        const delta = s ? s[field] - reported : 0;
        if (delta > 0) {
          this.inc(delta);
          reported += delta;
        }
      },
    });
  };
  metrics.push(
    counterOf('memwatch_gc_full_total', 'Full GCs (mark-sweep-compact) seen by memwatch', 'num_full_gc'),
    counterOf('memwatch_gc_incremental_total', 'Other GCs seen by memwatch (scavenges, minor mark-sweeps, incremental marking)', 'num_inc_gc')
  );
  const reportedLeaks = {};
  const leaks = new client.Counter({
    name: 'memwatch_leaks_total',
    help: "memwatch 'leak' events (memory kept growing over 5 consecutive full GCs), by kind",
    labelNames: ['kind'],
    registers: [],
    collect() {
      for (const [kind, n] of Object.entries(state ? state.leaks : {})) {
        const delta = n - (reportedLeaks[kind] || 0);
        if (delta > 0) {
          this.inc({ kind }, delta);
          reportedLeaks[kind] = n;
        }
      }
    },
  });
  for (const kind of LEAK_KINDS) leaks.inc({ kind }, 0); // both series exist from the start
  const pauses = new client.Histogram({
    name: 'memwatch_gc_full_duration_seconds',
    help: 'Full-GC pauses seen by memwatch (for memwatch.gc(): all the collections it ran)',
    buckets,
    registers: [],
  });
  metrics.push(leaks, pauses);

  const added = [];
  try {
    for (const m of metrics) {
      registry.registerMetric(m);
      added.push(m.name);
    }
  } catch (err) {
    for (const name of added) registry.removeSingleMetric(name);
    const e = codedError(
      'ERR_MEMWATCH_METRICS_REGISTERED',
      `memwatch/prometheus: ${err && err.message} (is register() called twice on this registry?)`
    );
    e.cause = err;
    throw e;
  }

  const tracker = track(memwatch, { name: 'memwatch/prometheus', onPause: (seconds) => pauses.observe(seconds) });
  state = tracker.state;
  let stopped = false;
  return {
    names: added.slice(),
    /** Removes memwatch's metrics from the registry and its listeners from memwatch (idempotent). */
    stop() {
      if (stopped) return;
      stopped = true;
      tracker.stop();
      for (const name of added) {
        try {
          registry.removeSingleMetric(name);
        } catch (err) {
          tracker.warn(err);
        }
      }
    },
  };
}

module.exports = { register };
