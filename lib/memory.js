'use strict';
// How much memory a heap snapshot may take, before taking it: V8 builds its
// snapshot in native memory, ~1.4 KB per live heap object (measured on Node 20
// with 1M small objects), and an out-of-memory kill loses the whole process.
//
// Two numbers, each read the most direct way this Node allows:
// - memory the process can still take: process.availableMemory() (Node >= 22,
//   20.13; libuv reads MemAvailable and the cgroup v1 or v2 limit), else the
//   same read by hand (/proc/meminfo, /proc/self/cgroup and the cgroup files);
// - objects in the heap: from an earlier snapshot of this heap when there is
//   one (its node count and the heap's small-object bytes then), else from
//   v8.getHeapSpaceStatistics(): small-object bytes at the smallest average
//   object size, plus at most one object per 128 KB of large-object space
//   (a big array is one object there, whatever it holds).
//
// Every read goes through an `io` object, so tests can stand in for a
// machine with cgroup v1, v2 or none.

const fs = require('fs');
const v8 = require('v8');

/** Native bytes V8 needs per live object while a snapshot exists (measured). */
const SNAPSHOT_BYTES_PER_OBJECT = 1400;
/** Heap bytes per small object when the count is unknown: the smallest average,
 *  the worst case for the estimate (measured: ~41 bytes a node). */
const SMALL_BYTES_PER_OBJECT = 40;
/** V8 puts an object in a large-object space only above this size (kMaxRegularHeapObjectSize). */
const LARGE_OBJECT_MIN_BYTES = 128 * 1024;
/** cgroup v1 writes "no limit" as a number near 2^63. */
const UNLIMITED = 2 ** 62;

const systemIo = {
  readFile(file) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  },
  /** process.availableMemory() (Node >= 22, 20.13), or null where Node lacks it. */
  availableMemory: () => (typeof process.availableMemory === 'function' ? process.availableMemory() : null),
  heapSpaces: () => v8.getHeapSpaceStatistics(),
};

function number(text) {
  if (text === null) return null;
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

/** A field of a memory.stat file, or 0. */
function statField(text, name) {
  const m = text === null ? null : new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** The directories of a cgroup and its ancestors, innermost first, within `mount`. */
function cgroupDirs(mount, cgroupPath) {
  const parts = cgroupPath.split('/').filter(Boolean);
  const dirs = [];
  for (let i = parts.length; i >= 0; i--) dirs.push([mount, ...parts.slice(0, i)].join('/'));
  return dirs;
}

/**
 * Room left under the tightest memory limit on the way from the process's
 * cgroup to the root: limit minus usage, where usage leaves out inactive file
 * cache (the kernel reclaims it first; the kubelet's "working set"). null when
 * no level sets a limit.
 */
function cgroupRoom(io, dirs, files) {
  let room = null;
  for (const dir of dirs) {
    const limit = files.limit(dir);
    if (limit === null || limit >= UNLIMITED) continue;
    const usage = number(io.readFile(`${dir}/${files.usage}`));
    if (usage === null) continue;
    const inactive = statField(io.readFile(`${dir}/memory.stat`), files.inactive);
    const left = Math.max(0, limit - Math.max(0, usage - inactive));
    room = room === null ? left : Math.min(room, left);
  }
  return room;
}

/**
 * The cgroup memory room of this process, from /proc/self/cgroup:
 * `N:...memory...:/path` is v1 (mounted at /sys/fs/cgroup/memory; on hybrid
 * systems memory stays there), else `0::/path` is v2 (at /sys/fs/cgroup).
 * Inside a container the listed path may not exist in the container's view;
 * the mount's own files, last on the way up, are then its cgroup.
 */
function cgroupMemoryRoom(io) {
  const table = io.readFile('/proc/self/cgroup');
  if (table === null) return null;
  const lines = table.split('\n').map((l) => /^(\d+):([^:]*):(.*)$/.exec(l.trim())).filter(Boolean);
  const v1 = lines.find(([, , controllers]) => controllers.split(',').includes('memory'));
  if (v1) {
    const limit = (dir) => number(io.readFile(`${dir}/memory.limit_in_bytes`));
    return cgroupRoom(io, cgroupDirs('/sys/fs/cgroup/memory', v1[3]), {
      limit, usage: 'memory.usage_in_bytes', inactive: 'total_inactive_file',
    });
  }
  const v2 = lines.find(([, id, controllers]) => id === '0' && controllers === '');
  if (!v2) return null;
  const limit = (dir) => {
    const text = io.readFile(`${dir}/memory.max`);
    return text !== null && text.trim() === 'max' ? UNLIMITED : number(text);
  };
  return cgroupRoom(io, cgroupDirs('/sys/fs/cgroup', v2[3]), {
    limit, usage: 'memory.current', inactive: 'inactive_file',
  });
}

/** MemAvailable from /proc/meminfo, in bytes, or null. */
function memAvailable(io) {
  const text = io.readFile('/proc/meminfo');
  const m = text === null ? null : /^MemAvailable:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/**
 * Bytes this process can still take, or null where nothing tells (then
 * nothing is refused): process.availableMemory() where Node has it, else
 * MemAvailable capped by the cgroup (v1 or v2) room.
 */
function availableBytes(io = systemIo) {
  const n = io.availableMemory ? io.availableMemory() : null;
  // libuv says 0 where it could not tell: then read by hand.
  if (Number.isFinite(n) && n > 0) return n;
  const free = memAvailable(io);
  const room = cgroupMemoryRoom(io);
  if (free === null) return room;
  return room === null ? free : Math.min(free, room);
}

/** Used bytes of the heap's small-object spaces and of its large-object spaces. */
function heapBytes(io = systemIo) {
  let small = 0;
  let large = 0;
  for (const s of io.heapSpaces()) {
    if (s.space_name === 'read_only_space') continue;
    if (s.space_name.includes('large_object')) large += s.space_used_size;
    else small += s.space_used_size;
  }
  return { small, large };
}

/**
 * Objects in the heap now. `calibration` ({ objects, smallBytes }) is an
 * earlier snapshot of this heap: its node count gives the real average size
 * of small objects (usually well above the worst case).
 */
function estimateObjects(calibration, io = systemIo) {
  const { small, large } = heapBytes(io);
  const perObject =
    calibration && calibration.objects > 0 && calibration.smallBytes > 0
      ? Math.max(SMALL_BYTES_PER_OBJECT, calibration.smallBytes / calibration.objects)
      : SMALL_BYTES_PER_OBJECT;
  return Math.ceil(small / perObject + large / LARGE_OBJECT_MIN_BYTES);
}

/**
 * What a snapshot of the heap needs now: `{ objects, bytes, available }`
 * (`available` null when unknown).
 */
function snapshotNeeds(calibration, io = systemIo) {
  const objects = estimateObjects(calibration, io);
  return { objects, bytes: objects * SNAPSHOT_BYTES_PER_OBJECT, available: availableBytes(io) };
}

/** `{ objects, smallBytes }` for a snapshot of `objects` nodes taken now. */
function calibrate(objects, io = systemIo) {
  return { objects, smallBytes: heapBytes(io).small };
}

/**
 * Throws ERR_HEAPDIFF_MEMORY when a snapshot of the current heap would not
 * fit in the memory left. `calibration`: see estimateObjects().
 */
function checkSnapshotFits(calibration, codedError, io = systemIo) {
  const need = snapshotNeeds(calibration, io);
  if (need.available === null || need.bytes <= need.available) return;
  const mb = (n) => `${Math.round(n / 1024 / 1024)} MB`;
  throw codedError(
    'ERR_HEAPDIFF_MEMORY',
    `a heap snapshot needs about ${mb(need.bytes)} (${need.objects} objects at ~1.4 KB each) ` +
      `but only ${mb(need.available)} is available; not taking it (an out-of-memory kill would lose the process). ` +
      'Pass { skipMemoryCheck: true } to take it anyway.'
  );
}

module.exports = { checkSnapshotFits, snapshotNeeds, availableBytes, estimateObjects, calibrate, systemIo };
