// Compiled with `tsc --noEmit --strict` by __test__/types.test.js: the
// declarations must accept what users write and reject wrong payload use.
import memwatch = require('../..');

const backend: 'v8' | 'perf_hooks' = memwatch.backend;
const reason: string | null = memwatch.backendReason;

memwatch.on('stats', (s) => {
  const fields: number[] = [
    s.num_full_gc, s.num_inc_gc, s.heap_compactions, s.usage_trend, s.estimated_base,
    s.current_base, s.min, s.max, s.used_heap_size, s.total_heap_size, s.heap_size_limit,
    s.external_memory, s.gc_pause_ms, s.rss, s.external, s.array_buffers,
  ];
  void fields;
});
memwatch.once('leak', (info) => {
  const d: Date = info.start;
  const e: Date = info.end;
  const g: number = info.growth;
  const r: string = info.reason;
  const k: 'heap' | 'external' = info.kind;
  void [d, e, g, r, k];
});
const s: memwatch.Stats = memwatch.gc();
const cost: memwatch.CallbackCost | null = memwatch.callbackCost();
memwatch.removeAllListeners('stats').removeAllListeners();
void [backend, reason, s, cost];

const hd = new memwatch.HeapDiff();
const diff: memwatch.HeapDiffResult = hd.end({ examples: 2 });
const row: memwatch.HeapDiffDetail | undefined = diff.change.details[0];
const added: number = row ? row['+'] - row['-'] : 0;
const when: Date = diff.before.time;
const paths: string[] = (row?.examples ?? []).map((e) => e.path);
void [added, when, paths];
memwatch.analyzeSnapshot('/tmp/x.heapsnapshot', { top: 5 }).then((a) => {
  const g: memwatch.ClassGroup[] = a.groups;
  void g;
});

const it1: memwatch.IterateResult = memwatch.iterate(() => 1, { iterations: 10, skipMemoryCheck: true });
memwatch.iterate.async(async () => 1).catch((e: unknown) => {
  if (e instanceof memwatch.MemoryLeakError) {
    const first: memwatch.LeakedClass | undefined = e.details.classes[0];
    const calls: number = e.details.calls;
    void first;
    void calls;
  }
});
// @ts-expect-error skipMemoryCheck is a boolean
memwatch.iterate(() => 1, { skipMemoryCheck: 1 });
void it1;

// @ts-expect-error stats has no such field
memwatch.on('stats', (x) => x.no_such_field);
// @ts-expect-error gc() takes no arguments
memwatch.gc(true);
