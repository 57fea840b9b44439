// Compiled with `tsc --noEmit --strict` by __test__/once/monitoring-types.test.js:
// the monitoring declarations accept real SDK objects and reject misuse.
import memwatch = require('../..');
import { instrument } from '../../otel';
import { register } from '../../prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';

const otel = instrument({ meterProvider: new MeterProvider() });
otel.stop();
instrument().stop();

const prom = register(new Registry(), { buckets: [0.01, 0.1, 1] });
const names: string[] = prom.names;
prom.stop();
void names;

const rec: memwatch.Recording = memwatch.record('/tmp/rec.ndjson', { maxBytes: 1 << 20, keep: 2, heapDiff: { gcs: 5, top: 10 } });
memwatch.record(process.stdout, { end: false, heapDiff: true });
rec.on('error', (e: Error) => void e);
rec.heapDiff(new memwatch.HeapDiff().end(), { label: 'x' });
rec.sites([{ function: 'f', url: 'file:///a.js', line: 1, column: 1 }]);
const path: string | null = rec.path;
rec.stop().then((s: memwatch.RecordSummary) => {
  const total: number = s.lines + s.bytes + s.dropped + s.rotations;
  void total;
});
void path;

// @ts-expect-error maxBytes is a number
memwatch.record('/tmp/x.ndjson', { maxBytes: '64m' });
// @ts-expect-error a path or a stream
memwatch.record(42);
// @ts-expect-error meterProvider needs getMeter
instrument({ meterProvider: {} });
// @ts-expect-error a registry needs registerMetric
register({});
