'use strict';
// Numbers, sizes, times and escaping for the HTML report.

const UNITS = [
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['kB', 1024],
  ['B', 1],
];

/** The unit a byte axis or a size reads best in. */
function byteUnit(max) {
  const a = Math.abs(max);
  for (const [name, size] of UNITS) if (a >= size) return { name, size };
  return { name: 'B', size: 1 };
}

/** "12.3 MB", "-512 B". */
function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const { name, size } = byteUnit(n);
  if (size === 1) return `${Math.round(n)} B`;
  const v = n / size;
  return `${v.toFixed(Math.abs(v) >= 100 ? 0 : 1)} ${name}`;
}

function signedBytes(n) {
  return typeof n === 'number' && n > 0 ? `+${bytes(n)}` : bytes(n);
}

function count(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

function ms(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`;
  if (n >= 10) return `${n.toFixed(0)} ms`;
  return `${n.toFixed(1)} ms`;
}

/** A duration in seconds as "850ms", "42s", "3m 20s", "2h 5m", "3d 4h". */
function duration(sec) {
  if (!Number.isFinite(sec)) return '–';
  const s = Math.abs(sec);
  const sign = sec < 0 ? '-' : '';
  if (s === 0) return '0s';
  if (s < 1) return `${sign}${Math.round(s * 1000)}ms`;
  if (s < 60) return `${sign}${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 1 : 0)}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = Math.round(s % 60);
  if (d > 0) return `${sign}${d}d${h ? ` ${h}h` : ''}`;
  if (h > 0) return `${sign}${h}h${m ? ` ${m}m` : ''}`;
  return `${sign}${m}m${r ? ` ${r}s` : ''}`;
}

/** "2024-12-01 22:08:38 UTC" (the report does not know the reader's zone). */
function clock(t) {
  if (!Number.isFinite(t)) return '–';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML and SVG content and attributes. */
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

/** Cuts a label to about `max` characters, with an ellipsis. */
function clip(s, max) {
  s = String(s);
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Rounds SVG coordinates to 0.1 px. */
const r1 = (x) => Math.round(x * 10) / 10;

module.exports = { byteUnit, bytes, signedBytes, count, ms, duration, clock, esc, clip, r1 };
