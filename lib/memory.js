'use strict';
// How much memory a heap snapshot may take, before taking it: V8 builds its
// snapshot in native memory, ~1.4 KB per live heap object (measured on Node 20
// with 1M small objects), and an out-of-memory kill loses the whole process.

const fs = require('fs');
const v8 = require('v8');

/** Bytes V8 needs per live object while a snapshot exists (measured). */
const SNAPSHOT_BYTES_PER_OBJECT = 1400;
/** Used heap bytes per live object when the count is unknown: small objects,
 *  the worst case for the estimate (measured: ~41 bytes a node). */
const HEAP_BYTES_PER_OBJECT = 40;

function readNumber(path) {
  try {
    const text = fs.readFileSync(path, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** Memory this process can still take: MemAvailable, capped by a cgroup v2 limit. */
function availableBytes() {
  let available = null;
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: no estimate, no refusal
  }
  const limit = readNumber('/sys/fs/cgroup/memory.max');
  const current = readNumber('/sys/fs/cgroup/memory.current');
  if (limit !== null && current !== null) {
    const room = Math.max(0, limit - current);
    available = available === null ? room : Math.min(available, room);
  }
  return available;
}

/**
 * Throws ERR_HEAPDIFF_MEMORY when a snapshot of the current heap would not fit.
 * `knownObjects` is the node count of an earlier snapshot of this heap, if any.
 */
function checkSnapshotFits(knownObjects, codedError) {
  const available = availableBytes();
  if (available === null) return;
  const used = v8.getHeapStatistics().used_heap_size;
  const objects = Math.max(knownObjects || 0, used / HEAP_BYTES_PER_OBJECT);
  const needed = objects * SNAPSHOT_BYTES_PER_OBJECT;
  if (needed > available) {
    const mb = (n) => `${Math.round(n / 1024 / 1024)} MB`;
    throw codedError(
      'ERR_HEAPDIFF_MEMORY',
      `a heap snapshot needs about ${mb(needed)} (${Math.round(objects)} objects at ~1.4 KB each) ` +
        `but only ${mb(available)} is available; not taking it (an out-of-memory kill would lose the process)`
    );
  }
}

module.exports = { checkSnapshotFits, availableBytes };
