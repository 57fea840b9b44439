'use strict';
// Inline SVG charts for the report: a time chart (lines, bands, bars, full-GC
// and leak marks) and a horizontal bar chart. No script: every label is
// placed here, in fixed zones (y unit above the y labels, x labels and the x
// title in rows of their own, leak labels in two rows above the plot, bar
// labels in columns), and a leak label that would touch its neighbour is
// left out (the mark and its tooltip stay; the leak table lists it).

const { byteUnit, duration, clock, esc, r1, clip } = require('./format');

const W = 960;
const M = { left: 72, right: 24, top: 40, bottom: 46 };
const FONT_PX = 11;
const CHAR_PX = 6.6; // estimated advance of an 11px sans-serif character

/** Text width estimate, generous so that real glyphs fit inside it. */
const textWidth = (s) => String(s).length * CHAR_PX + 4;

const TIME_STEPS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
  7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600, 2592000,
];

/** Ticks for elapsed seconds in [a, b], at most `max` intervals apart. */
function timeTicks(a, b, max) {
  const span = b - a;
  let step = TIME_STEPS[TIME_STEPS.length - 1];
  for (const s of TIME_STEPS) {
    if (span / s <= max) {
      step = s;
      break;
    }
  }
  const ticks = [];
  for (let v = Math.ceil(a / step - 1e-9) * step; v <= b + 1e-9; v += step) ticks.push(Math.round(v * 1000) / 1000 || 0); // no -0
  return ticks;
}

/** A "nice" step (1, 2, 2.5, 5 × 10^k) giving about `target` ticks over [0, max]. */
function niceStep(max, target) {
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function valueTicks(max, target = 5) {
  if (!(max > 0)) return { step: 1, ticks: [0, 1] };
  const step = niceStep(max, target);
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return { step, ticks };
}

function numberLabel(v, step) {
  const decimals = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step) - 1e-9));
  return v.toFixed(decimals);
}

/**
 * A chart over time.
 * @param {object} o
 * @param {string} o.id data-chart name
 * @param {string} o.label aria label
 * @param {number} o.height
 * @param {number} o.t0 origin of the time axis (ms)
 * @param {[number, number]} o.domain ms
 * @param {'bytes'|'ms'} o.kind
 * @param {Array<{cls: string, label: string, points: Array<{t:number,v:number,lo?:number,hi?:number}>, band?: boolean}>} [o.lines]
 * @param {Array<{t:number, v:number, title:string}>} [o.bars]
 * @param {number[]} [o.gcs] full-GC times (ms), drawn as ticks along the bottom
 * @param {Array<{t:number, label:string, title:string, kind:string}>} [o.leaks]
 * @param {Array<{t0:number, t1:number, title:string}>} [o.hover] tooltip columns
 * @param {string} [o.empty] text when there is nothing to draw
 */
function timeChart(o) {
  const H = o.height;
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = M.top;
  const y1 = H - M.bottom;
  const [ta, tb] = o.domain;
  const sx = (t) => x0 + ((t - ta) / (tb - ta)) * (x1 - x0);

  const lines = o.lines || [];
  const bars = o.bars || [];
  let max = 0;
  for (const l of lines) for (const p of l.points) max = Math.max(max, l.band && p.hi !== undefined ? p.hi : p.v);
  for (const b of bars) max = Math.max(max, b.v);
  const unit = o.kind === 'bytes' ? byteUnit(max) : { name: 'ms', size: 1 };
  const { step, ticks } = valueTicks(max / unit.size, 5);
  const top = ticks[ticks.length - 1] * unit.size || 1;
  const sy = (v) => y1 - (v / top) * (y1 - y0);

  const out = [];
  out.push(
    `<svg class="chart" data-chart="${esc(o.id)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.label)}" preserveAspectRatio="xMidYMid meet">`
  );
  // grid and y axis
  out.push('<g class="axis y-axis">');
  for (const v of ticks) {
    const y = r1(sy(v * unit.size));
    out.push(`<line class="grid" x1="${x0}" x2="${x1}" y1="${y}" y2="${y}"/>`);
    out.push(`<text class="tick-label" x="${x0 - 8}" y="${r1(y + FONT_PX * 0.35)}" text-anchor="end">${numberLabel(v, step)}</text>`);
  }
  out.push(`<text class="axis-title" x="${x0 - 8}" y="${y0 - 26}" text-anchor="end">${esc(unit.name)}</text>`);
  out.push('</g>');
  // x axis: elapsed time since t0
  const secA = (ta - o.t0) / 1000;
  const secB = (tb - o.t0) / 1000;
  const xt = timeTicks(secA, secB, Math.max(2, Math.floor((x1 - x0) / 90)));
  out.push('<g class="axis x-axis">');
  out.push(`<line class="axis-line" x1="${x0}" x2="${x1}" y1="${y1}" y2="${y1}"/>`);
  for (const s of xt) {
    const x = r1(sx(o.t0 + s * 1000));
    out.push(`<line class="tick" x1="${x}" x2="${x}" y1="${y1}" y2="${y1 + 4}"/>`);
    out.push(`<text class="tick-label" data-seconds="${s}" x="${x}" y="${y1 + 17}" text-anchor="middle">${esc(duration(s))}</text>`);
  }
  out.push(
    `<text class="axis-title" x="${r1((x0 + x1) / 2)}" y="${H - 8}" text-anchor="middle">time since the recording started (${esc(clock(o.t0))})</text>`
  );
  out.push('</g>');

  if (lines.length === 0 && bars.length === 0) {
    out.push(`<text class="empty" x="${r1((x0 + x1) / 2)}" y="${r1((y0 + y1) / 2)}" text-anchor="middle">${esc(o.empty || 'nothing recorded')}</text>`);
  }

  // bands, then lines
  for (const l of lines) {
    if (!l.band || !l.points.some((p) => p.hi !== p.lo)) continue;
    const upper = l.points.map((p) => `${r1(sx(p.t))},${r1(sy(p.hi))}`);
    const lower = l.points.map((p) => `${r1(sx(p.t))},${r1(sy(p.lo))}`).reverse();
    out.push(`<polygon class="band ${esc(l.cls)}" points="${upper.concat(lower).join(' ')}"/>`);
  }
  for (const l of lines) {
    if (l.points.length === 0) continue;
    const d = l.points.map((p, i) => `${i ? 'L' : 'M'}${r1(sx(p.t))} ${r1(sy(p.v))}`).join('');
    out.push(`<path class="line ${esc(l.cls)}" data-series="${esc(l.cls)}" d="${d}"><title>${esc(l.label)}</title></path>`);
    if (l.points.length === 1) {
      const p = l.points[0];
      out.push(`<circle class="dot ${esc(l.cls)}" cx="${r1(sx(p.t))}" cy="${r1(sy(p.v))}" r="3"/>`);
    }
  }
  if (bars.length > 0) {
    const w = Math.max(1, Math.min(8, ((x1 - x0) / bars.length) * 0.6));
    out.push('<g class="bars">');
    for (const b of bars) {
      const y = sy(b.v);
      out.push(
        `<rect class="bar" x="${r1(sx(b.t) - w / 2)}" y="${r1(y)}" width="${r1(w)}" height="${r1(Math.max(0.5, y1 - y))}"><title>${esc(b.title)}</title></rect>`
      );
    }
    out.push('</g>');
  }
  // full-GC marks along the bottom
  if (o.gcs && o.gcs.length > 0) {
    const d = o.gcs.map((t) => `M${r1(sx(t))} ${y1}v-6`).join('');
    out.push(`<path class="gc-mark" d="${d}"><title>full GCs (${o.gcs.length} marks)</title></path>`);
  }
  // hover columns with tooltips
  if (o.hover) {
    out.push('<g class="hover">');
    for (const h of o.hover) {
      const a = sx(h.t0);
      const b = sx(h.t1);
      out.push(`<rect x="${r1(a)}" y="${y0}" width="${r1(Math.max(2, b - a))}" height="${y1 - y0}"><title>${esc(h.title)}</title></rect>`);
    }
    out.push('</g>');
  }
  // leak marks: a dashed line each, labels in two rows above the plot
  if (o.leaks && o.leaks.length > 0) {
    const rows = [[], []];
    out.push('<g class="leaks">');
    for (const k of o.leaks) {
      const x = sx(k.t);
      let label = '';
      const w = textWidth(k.label);
      const lx = Math.min(Math.max(x, x0 + w / 2), x1 - w / 2);
      for (let r = 0; r < rows.length; r++) {
        if (rows[r].every(([a, b]) => lx + w / 2 + 4 < a || lx - w / 2 - 4 > b)) {
          rows[r].push([lx - w / 2, lx + w / 2]);
          const ly = y0 - 8 - r * 14;
          label = `<text class="leak-label" x="${r1(lx)}" y="${ly}" text-anchor="middle">${esc(k.label)}</text>`;
          break;
        }
      }
      out.push(
        `<g class="leak-mark ${k.kind === 'external' ? 'external' : 'heap'}" data-time="${esc(new Date(k.t).toISOString())}">` +
          `<line x1="${r1(x)}" x2="${r1(x)}" y1="${y0 - 4}" y2="${y1}"/>${label}<title>${esc(k.title)}</title></g>`
      );
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Horizontal bars, one row each: a label column, the bar, a value column.
 * @param {{ id: string, label: string, rows: Array<{ label: string, value: number, text: string, title: string }> }} o
 */
function barChart(o) {
  const ROW = 26;
  const LABEL_X = 8;
  const BAR_X = 280;
  const BAR_MAX = 470;
  const VALUE_X = BAR_X + BAR_MAX + 12;
  const H = o.rows.length * ROW + 8;
  const max = Math.max(1, ...o.rows.map((r) => r.value));
  const out = [
    `<svg class="chart bars-chart" data-chart="${esc(o.id)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.label)}">`,
  ];
  o.rows.forEach((r, i) => {
    const y = 4 + i * ROW;
    const w = Math.max(1, (r.value / max) * BAR_MAX);
    out.push(
      `<g class="row"><title>${esc(r.title)}</title>` +
        `<text class="row-label" x="${LABEL_X}" y="${y + 17}">${esc(clip(r.label, 36))}</text>` +
        `<rect class="hbar" x="${BAR_X}" y="${y + 5}" width="${r1(w)}" height="${ROW - 10}" rx="2"/>` +
        `<text class="row-value" x="${VALUE_X}" y="${y + 17}">${esc(clip(r.text, 28))}</text></g>`
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

module.exports = { timeChart, barChart, timeTicks, valueTicks, W };
