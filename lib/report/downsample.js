'use strict';
// Bounded-memory downsampling of a series of unknown length: consecutive
// points share a bucket (min, max, last and mean of each field); when the
// buckets reach twice the target, neighbours merge and each bucket takes
// twice as many points from then on. Peaks survive as bucket maxima.

class Downsampler {
  /**
   * @param {string[]} fields numeric fields kept per bucket
   * @param {number} target buckets kept (between target and 2*target)
   */
  constructor(fields, target = 1000) {
    this.fields = fields;
    this.target = Math.max(2, target);
    this.perBucket = 1;
    this.buckets = [];
    this.count = 0;
  }

  _bucket(t, point) {
    const b = { t0: t, t1: t, n: 1, min: {}, max: {}, sum: {}, last: {} };
    for (const f of this.fields) {
      const v = point[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      b.min[f] = b.max[f] = b.sum[f] = b.last[f] = v;
    }
    b.nf = {};
    for (const f of this.fields) if (f in b.last) b.nf[f] = 1;
    return b;
  }

  /** Folds bucket `b` into `a` (b is later). */
  static _merge(a, b, fields) {
    a.t1 = b.t1;
    a.n += b.n;
    for (const f of fields) {
      if (!(f in b.last)) continue;
      if (!(f in a.last)) {
        a.min[f] = b.min[f];
        a.max[f] = b.max[f];
        a.sum[f] = b.sum[f];
        a.nf[f] = b.nf[f];
      } else {
        if (b.min[f] < a.min[f]) a.min[f] = b.min[f];
        if (b.max[f] > a.max[f]) a.max[f] = b.max[f];
        a.sum[f] += b.sum[f];
        a.nf[f] += b.nf[f];
      }
      a.last[f] = b.last[f];
    }
  }

  /** Adds one point at time `t` (ms). */
  add(t, point) {
    this.count++;
    const bucket = this._bucket(t, point);
    const tail = this.buckets[this.buckets.length - 1];
    if (tail && tail.n < this.perBucket) Downsampler._merge(tail, bucket, this.fields);
    else this.buckets.push(bucket);
    if (this.buckets.length >= 2 * this.target) this._halve();
  }

  _halve() {
    const merged = [];
    for (let i = 0; i < this.buckets.length; i += 2) {
      const a = this.buckets[i];
      if (i + 1 < this.buckets.length) Downsampler._merge(a, this.buckets[i + 1], this.fields);
      merged.push(a);
    }
    this.buckets = merged;
    this.perBucket *= 2;
  }

  /** Buckets as plain points: `{ t, t0, t1, n, min, max, mean, last }`, t = last point's time. */
  points() {
    return this.buckets.map((b) => {
      const mean = {};
      for (const f of Object.keys(b.sum)) mean[f] = b.sum[f] / b.nf[f];
      return { t: b.t1, t0: b.t0, t1: b.t1, n: b.n, min: b.min, max: b.max, mean, last: b.last };
    });
  }
}

module.exports = { Downsampler };
