'use strict';
// Reads a recording (NDJSON from memwatch.record) as a stream, in bounded
// memory whatever its size: stats go through a Downsampler, leak events and
// summaries are capped, a line longer than `maxLineBytes` is skipped without
// being buffered. What cannot be read becomes a note, not a failure, unless
// nothing in the file is a recording (ERR_RECORDING_*).

const fs = require('fs');
const { Downsampler } = require('./downsample');
const { codedError } = require('../errors');
const { FORMAT, VERSION } = require('../record');

/** Stats fields the report draws. */
const SERIES = [
  'rss',
  'total_heap_size',
  'current_base',
  'estimated_base',
  'external_memory',
  'gc_pause_ms',
  'usage_trend',
  'heap_size_limit',
  'num_full_gc',
];
const KNOWN_TYPES = new Set(['header', 'stats', 'leak', 'heapdiff', 'sites', 'dropped']);
// Lines read before giving up on a file none of whose lines is a recording line.
const PROBE_LINES = 16;

const DEFAULTS = { maxPoints: 1000, maxLineBytes: 4 * 1024 * 1024, maxLeaks: 500, maxSites: 50 };

function timeOf(v) {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  return null;
}

class RecordingModel {
  constructor(opts) {
    this.opts = opts;
    this.header = null;
    this.pid = null;
    this.series = new Downsampler(SERIES, opts.maxPoints);
    this.first = null; // first and last stats, as recorded
    this.last = null;
    this.leaks = [];
    this.leakCount = 0;
    this.heapdiff = null; // the last HeapDiff summary
    this.heapdiffCount = 0;
    this.heapdiffErrors = [];
    this.sites = null; // the latest non-empty list of allocation sites: { t, source, list }
    this.dropped = 0;
    this.tMin = Infinity;
    this.tMax = -Infinity;
    this.counts = { lines: 0, stats: 0, bad: 0, unknown: 0, otherProcess: 0, oversized: 0 };
    this.firstBad = null;
    this.unknownTypes = new Set();
    this.otherPids = new Set();
    this.newerVersion = null;
    this.truncatedLast = false;
    this.notes = [];
    this.bytes = 0;
    this.valid = 0;
  }

  _seeT(t) {
    if (t < this.tMin) this.tMin = t;
    if (t > this.tMax) this.tMax = t;
  }

  _bad(lineNo) {
    this.counts.bad++;
    if (this.firstBad === null) this.firstBad = lineNo;
  }

  /** One parsed line. */
  take(obj, lineNo) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || typeof obj.type !== 'string') {
      return this._bad(lineNo);
    }
    if (obj.type === 'header') {
      if (obj.format !== FORMAT) return this._bad(lineNo);
      if (typeof obj.version === 'number' && obj.version > VERSION) this.newerVersion = obj.version;
      if (this.header === null) {
        this.header = obj;
        this.pid = obj.pid;
      } else if (obj.pid !== this.pid) {
        this.otherPids.add(obj.pid);
      }
      this._skipping = obj.pid !== this.pid;
      this.valid++;
      return;
    }
    if (!KNOWN_TYPES.has(obj.type)) {
      this.counts.unknown++;
      if (this.unknownTypes.size < 5) this.unknownTypes.add(String(obj.type).slice(0, 40));
      return;
    }
    if (this._skipping) {
      this.counts.otherProcess++;
      return;
    }
    const t = timeOf(obj.t);
    if (t === null) return this._bad(lineNo);
    this.valid++;
    switch (obj.type) {
      case 'stats': {
        if (typeof obj.current_base !== 'number') return this._bad(lineNo);
        this.counts.stats++;
        this._seeT(t);
        this.series.add(t, obj);
        const snap = {};
        for (const f of SERIES) if (typeof obj[f] === 'number') snap[f] = obj[f];
        snap.num_full_gc = obj.num_full_gc;
        snap.t = t;
        if (this.first === null) this.first = snap;
        this.last = snap;
        break;
      }
      case 'leak': {
        this.leakCount++;
        const at = timeOf(obj.end) ?? t;
        this._seeT(at);
        if (this.leaks.length < this.opts.maxLeaks) {
          this.leaks.push({
            t: at,
            start: timeOf(obj.start),
            growth: typeof obj.growth === 'number' ? obj.growth : null,
            reason: typeof obj.reason === 'string' ? obj.reason.slice(0, 300) : '',
            kind: obj.kind === 'external' ? 'external' : 'heap',
          });
        }
        if (Array.isArray(obj.sites) && obj.sites.length > 0) {
          this.sites = { t: at, source: 'leak', list: obj.sites.slice(0, this.opts.maxSites) };
        }
        break;
      }
      case 'heapdiff':
        this.heapdiffCount++;
        if (obj.error) {
          if (this.heapdiffErrors.length < 5) this.heapdiffErrors.push(obj.error);
        } else if (obj.change && Array.isArray(obj.change.details)) {
          this.heapdiff = { t, label: obj.label, summary: obj };
        } else {
          this._bad(lineNo);
        }
        break;
      case 'sites':
        if (Array.isArray(obj.sites) && obj.sites.length > 0) {
          this.sites = { t, source: 'sites', label: obj.label, list: obj.sites.slice(0, this.opts.maxSites) };
        }
        break;
      case 'dropped':
        if (typeof obj.count === 'number') this.dropped += obj.count;
        break;
      default:
        break;
    }
  }

  finish(file) {
    const n = this.notes;
    const plural = (k, one, many) => `${k} ${k === 1 ? one : many}`;
    if (this.header === null && this.valid > 0) {
      n.push('The recording has no header line (was its beginning cut off?); showing the events it has.');
    }
    if (this.newerVersion !== null) {
      n.push(
        `Recorded by a newer memwatch (format version ${this.newerVersion}; this one reads version ${VERSION}): showing the fields it knows.`
      );
    }
    if (this.truncatedLast) n.push('The last line is incomplete (the recording was cut off mid-write); it was ignored.');
    if (this.counts.bad > 0) {
      n.push(`${plural(this.counts.bad, 'line', 'lines')} could not be read and ${this.counts.bad === 1 ? 'was' : 'were'} skipped (the first is line ${this.firstBad}).`);
    }
    if (this.counts.oversized > 0) {
      n.push(`${plural(this.counts.oversized, 'line', 'lines')} longer than ${Math.round(this.opts.maxLineBytes / 1048576)} MiB skipped.`);
    }
    if (this.counts.unknown > 0) {
      n.push(`${plural(this.counts.unknown, 'line', 'lines')} of types this version does not know (${[...this.unknownTypes].join(', ')}) skipped.`);
    }
    if (this.otherPids.size > 0) {
      n.push(
        `The file holds other processes too (pid ${[...this.otherPids].slice(0, 5).join(', ')}); only pid ${this.pid} is shown (${plural(this.counts.otherProcess, 'line', 'lines')} skipped).`
      );
    }
    if (this.dropped > 0) {
      n.push(`The recorder dropped ${plural(this.dropped, 'event', 'events')} (its writes could not keep up); the charts have gaps there.`);
    }
    if (this.leakCount > this.leaks.length) {
      n.push(`${this.leakCount} leak events; the first ${this.leaks.length} are marked.`);
    }
    for (const e of this.heapdiffErrors) {
      n.push(`A HeapDiff was not taken: ${String(e.message || e.code || 'unknown error').slice(0, 200)}`);
    }
    if (this.counts.stats === 0) n.push('No full GC was recorded, so there is nothing to chart over time.');
    if (this.series.perBucket > 1) {
      n.push(
        `${this.counts.stats} full GCs drawn as ${this.series.buckets.length} points (each point: up to ${this.series.perBucket} GCs; lines show the last value, shaded bands the range).`
      );
    }
    this.file = file;
    return this;
  }
}

/**
 * Streams one or more recording files (parts in the order given).
 * Rejects with ERR_RECORDING_READ (cannot open), ERR_RECORDING_EMPTY or
 * ERR_RECORDING_FORMAT (no line of it is a recording line).
 */
async function readRecording(files, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const model = new RecordingModel(opts);
  for (const file of files) await readOne(file, model, opts);
  const label = files.join(', ');
  if (model.bytes === 0) throw codedError('ERR_RECORDING_EMPTY', `${label}: empty recording (0 bytes)`);
  if (model.valid === 0) {
    throw codedError('ERR_RECORDING_FORMAT', `${label}: not a memwatch recording (no line is a memwatch NDJSON event)`);
  }
  model.files = files.slice();
  return model.finish(label);
}

async function readOne(file, model, opts) {
  let stream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
  } catch (err) {
    throw codedError('ERR_RECORDING_READ', `${file}: cannot read (${err.code || err.message})`);
  }
  let parts = []; // pieces of the current line
  let partBytes = 0;
  let skipping = false; // inside an oversized line
  let lineNo = 0;
  let probed = 0; // lines seen before the first valid one
  const validBefore = model.valid;

  const handle = (buf) => {
    lineNo++;
    model.counts.lines++;
    if (buf.length === 0 || (buf.length === 1 && buf[0] === 0x0d)) return;
    let obj;
    try {
      obj = JSON.parse(buf.toString('utf8'));
    } catch {
      model._bad(lineNo);
      obj = undefined;
    }
    if (obj !== undefined) model.take(obj, lineNo);
    if (model.valid === validBefore && ++probed >= PROBE_LINES) {
      throw codedError(
        'ERR_RECORDING_FORMAT',
        `${file}: not a memwatch recording (none of its first ${PROBE_LINES} lines is a memwatch NDJSON event)`
      );
    }
  };

  try {
    for await (const chunk of stream) {
      model.bytes += chunk.length;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl === -1 ? chunk.length : nl;
        if (!skipping) {
          if (partBytes + (end - start) > opts.maxLineBytes) {
            skipping = true;
            parts = [];
            partBytes = 0;
          } else if (end > start) {
            parts.push(chunk.subarray(start, end));
            partBytes += end - start;
          }
        }
        if (nl === -1) break;
        if (skipping) {
          lineNo++;
          model.counts.lines++;
          model.counts.oversized++;
          skipping = false;
        } else {
          const line = parts.length === 1 ? parts[0] : Buffer.concat(parts, partBytes);
          parts = [];
          partBytes = 0;
          handle(line);
        }
        start = nl + 1;
      }
      // Keep the unfinished line's bytes, not the chunk they came from.
      if (parts.length > 0 && !skipping) {
        const tail = parts[parts.length - 1];
        if (tail.buffer === chunk.buffer) parts[parts.length - 1] = Buffer.from(tail);
      }
    }
  } catch (err) {
    stream.destroy();
    if (err.code && /^ERR_RECORDING_/.test(err.code)) throw err;
    throw codedError('ERR_RECORDING_READ', `${file}: read failed (${err.code || err.message})`);
  }
  if (skipping) {
    model.counts.oversized++;
  } else if (partBytes > 0) {
    // No newline at the end: a whole line missing its newline, or a cut one.
    const line = Buffer.concat(parts, partBytes);
    let obj;
    try {
      obj = JSON.parse(line.toString('utf8'));
    } catch {
      model.truncatedLast = true;
    }
    if (obj !== undefined) {
      lineNo++;
      model.take(obj, lineNo);
    }
  }
}

module.exports = { readRecording, SERIES };
