// Leak sites as a TypeScript user writes them (compiled by __test__/sites-types.test.js).
import memwatch = require('../..');

memwatch.on('leak', (info: memwatch.LeakInfo) => {
  const top: memwatch.LeakSite | undefined = info.sites[0];
  if (top) {
    const where: string = `${top.function} ${top.url}:${top.line}:${top.column}`;
    const bytes: number = top.growth_bytes + top.live_bytes + top.samples;
    const frames: string[] = top.stack;
    void [where, bytes, frames];
  }
});
const status: memwatch.SamplingStatus = memwatch.configure({ sampling: { interval: 128 * 1024, stackDepth: 32 } });
memwatch.configure({ sampling: false });
memwatch.configure({ sampling: true });
const route: 'native' | 'inspector' | null = memwatch.sampling.route;
const live: memwatch.LeakSite[] = memwatch.sites({ top: 5, order: 'growth' });
const file: string = memwatch.writeHeapProfile('app.heapprofile');
void [status, route, live, file, memwatch.writeHeapProfile()];
// @ts-expect-error the interval is a number of bytes
memwatch.configure({ sampling: { interval: '512k' } });
// @ts-expect-error 'size' is not an order
memwatch.sites({ order: 'size' });
// @ts-expect-error read-only
memwatch.sampling = status;
