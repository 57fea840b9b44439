// The ES module face of the same API (compiled by __test__/sites-types.test.js).
import memwatch, { configure, sites, writeHeapProfile, type LeakSite, type SamplingStatus } from '../../index.mjs';

const s: SamplingStatus = configure({ sampling: { interval: 65536 } });
const list: LeakSite[] = sites();
const path: string = writeHeapProfile();
memwatch.on('leak', (info) => {
  const first: LeakSite | undefined = info.sites[0];
  void first;
});
void [s, list, path];
