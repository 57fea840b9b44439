'use strict';
// The memory guard before heap snapshots (lib/memory.js), with its readers
// stubbed: machines with cgroup v1, cgroup v2 and none, and a heap held in
// a few big arrays.
const test = require('node:test');
const assert = require('node:assert');
const v8 = require('node:v8');
const { availableBytes, estimateObjects, snapshotNeeds, systemIo } = require('../lib/memory');
const { runScenario } = require('./helpers');

const MB = 1024 * 1024;
const GB = 1024 * MB;

/** An io whose files are `files` (path -> text); others are missing. */
function machine(files, extra = {}) {
  return {
    readFile: (p) => (p in files ? files[p] : null),
    availableMemory: null,
    heapSpaces: () => [],
    ...extra,
  };
}

const MEMINFO = `MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   16777216 kB\n`;

test('cgroup v2: the tightest limit on the way up, minus the working set', () => {
  const io = machine({
    '/proc/meminfo': MEMINFO,
    '/proc/self/cgroup': '0::/system.slice/app.service\n',
    '/sys/fs/cgroup/system.slice/app.service/memory.max': 'max\n',
    '/sys/fs/cgroup/system.slice/app.service/memory.current': `${300 * MB}\n`,
    '/sys/fs/cgroup/system.slice/memory.max': `${400 * MB}\n`,
    '/sys/fs/cgroup/system.slice/memory.current': `${350 * MB}\n`,
    '/sys/fs/cgroup/system.slice/memory.stat': `anon 1\ninactive_file ${20 * MB}\nactive_file 5\n`,
  });
  // 400 MB limit, 350 MB used of which 20 MB is reclaimable cache.
  assert.strictEqual(availableBytes(io), 400 * MB - 330 * MB);
});

test('cgroup v2 inside a container: the namespace root holds the limit', () => {
  const io = machine({
    '/proc/meminfo': MEMINFO,
    '/proc/self/cgroup': '0::/\n',
    '/sys/fs/cgroup/memory.max': `${512 * MB}\n`,
    '/sys/fs/cgroup/memory.current': `${100 * MB}\n`,
  });
  assert.strictEqual(availableBytes(io), 412 * MB);
});

test('cgroup v1 (hybrid hierarchy too): memory.limit_in_bytes, unlimited levels skipped', () => {
  const io = machine({
    '/proc/meminfo': MEMINFO,
    '/proc/self/cgroup': '12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/docker/abc\n',
    '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': `${400 * MB}\n`,
    '/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes': `${250 * MB}\n`,
    '/sys/fs/cgroup/memory/docker/abc/memory.stat': `cache 1\ntotal_inactive_file ${50 * MB}\n`,
    '/sys/fs/cgroup/memory/docker/memory.limit_in_bytes': '9223372036854771712\n',
    '/sys/fs/cgroup/memory/docker/memory.usage_in_bytes': `${900 * MB}\n`,
  });
  assert.strictEqual(availableBytes(io), 400 * MB - 200 * MB);
});

test('cgroup v1 inside a container: its cgroup is the mount root', () => {
  const io = machine({
    '/proc/meminfo': MEMINFO,
    '/proc/self/cgroup': '4:memory:/kubepods/pod1/c2\n',
    '/sys/fs/cgroup/memory/memory.limit_in_bytes': `${400 * MB}\n`,
    '/sys/fs/cgroup/memory/memory.usage_in_bytes': `${380 * MB}\n`,
  });
  assert.strictEqual(availableBytes(io), 20 * MB);
});

test('no cgroup limit: MemAvailable; nothing readable: unknown (nothing is refused)', () => {
  assert.strictEqual(availableBytes(machine({ '/proc/meminfo': MEMINFO, '/proc/self/cgroup': '0::/\n' })), 16 * GB);
  assert.strictEqual(availableBytes(machine({})), null);
  const need = snapshotNeeds(null, machine({}, { heapSpaces: () => [{ space_name: 'old_space', space_used_size: GB }] }));
  assert.strictEqual(need.available, null);
});

test('process.availableMemory(), where Node has it, is the answer', () => {
  const io = machine({ '/proc/meminfo': MEMINFO }, { availableMemory: () => 123 * MB });
  assert.strictEqual(availableBytes(io), 123 * MB);
  // It says 0 where libuv could not tell: the hand-read takes over.
  const unknown = machine({ '/proc/meminfo': MEMINFO }, { availableMemory: () => 0 });
  assert.strictEqual(availableBytes(unknown), 16 * GB);
  assert.strictEqual(systemIo.availableMemory(), process.availableMemory ? process.availableMemory() : null);
});

test('a 919 MB heap held in 9 big arrays needs hundreds of MB, not 32 GB', () => {
  // The big arrays sit in the large-object space: 9 objects, whatever they hold.
  const spaces = [
    { space_name: 'read_only_space', space_used_size: 0 },
    { space_name: 'new_space', space_used_size: MB },
    { space_name: 'old_space', space_used_size: 19 * MB },
    { space_name: 'code_space', space_used_size: 2 * MB },
    { space_name: 'large_object_space', space_used_size: 897 * MB },
  ];
  const io = machine({ '/proc/meminfo': MEMINFO }, { heapSpaces: () => spaces });
  const need = snapshotNeeds(null, io);
  assert.ok(need.objects < 600_000, `${need.objects} objects`);
  assert.ok(need.bytes < 900 * MB, `${Math.round(need.bytes / MB)} MB`);
  assert.ok(need.bytes <= need.available);
  // An earlier snapshot of this heap gives the real average object size.
  const calibrated = estimateObjects({ objects: 150_000, smallBytes: 22 * MB }, io);
  assert.strictEqual(calibrated, Math.ceil(150_000 + (897 * MB) / (128 * 1024)));
});

test('the estimate follows the live heap: big arrays of numbers add few objects', () => {
  const before = estimateObjects(null);
  const arrays = Array.from({ length: 4 }, () => new Array(1e6).fill(0.5));
  const after = estimateObjects(null);
  const used = v8.getHeapStatistics().used_heap_size;
  assert.strictEqual(arrays.length, 4);
  // 32 MB more heap, in 4 objects: nowhere near used / 40 bytes.
  assert.ok(after - before < 10_000, `${before} -> ${after}`);
  assert.ok(after < used / 40 / 2, `${after} objects for ${used} bytes`);
});

test('a 400 MB cgroup v1 limit refuses a snapshot that would not fit (no OOM kill)', () => {
  const { result } = runScenario(`
    // A cgroup v1 machine with 400 MB allowed and 380 MB in use.
    const fs = require('fs');
    const files = {
      '/proc/self/cgroup': '4:memory:/\\n',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': String(400 * 1024 * 1024),
      '/sys/fs/cgroup/memory/memory.usage_in_bytes': String(380 * 1024 * 1024),
      '/sys/fs/cgroup/memory/memory.stat': 'cache 0\\ntotal_inactive_file 0\\n',
    };
    const real = fs.readFileSync;
    fs.readFileSync = (p, ...a) => (String(p) in files ? files[String(p)] : real(p, ...a));
    delete process.availableMemory;
    const keep = Array.from({ length: 200000 }, (_, i) => ({ i }));
    const out = { kept: keep.length };
    try { memwatch.iterate(() => keep.push({}), { iterations: 2, rounds: 2 }); } catch (e) { out.code = e.code; }
    try { new memwatch.HeapDiff(); } catch (e) { out.heapdiff = e.code; }
    done(out);
  `);
  assert.strictEqual(result.heapdiff, 'ERR_HEAPDIFF_MEMORY');
  assert.strictEqual(result.code, 'ERR_HEAPDIFF_MEMORY');
});
