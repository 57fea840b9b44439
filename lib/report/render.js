'use strict';
// The report page: one self-contained HTML file (inline CSS and SVG, no
// script, no request: its Content-Security-Policy forbids both), light and
// dark by prefers-color-scheme.

const path = require('path');
const { timeChart, barChart } = require('./charts');
const { bytes, signedBytes, count, ms, duration, clock, esc, clip } = require('./format');

const TOP_CLASSES = 15;
const TOP_SITES = 15;
const LEAK_ROWS = 100;

const CSS = `
:root { color-scheme: light dark;
  --bg:#ffffff; --fg:#1c1e22; --muted:#59606b; --grid:#e7e9ed; --axis:#8d949e; --panel:#f5f6f8; --border:#dfe2e6;
  --rss:#8e4ec6; --total:#98a0aa; --base:#0b66c2; --est:#0c8f83; --ext:#c76a0a; --leak:#d42a1b; --leak-ext:#b5520b;
  --bar:#0b66c2; --note-bg:#fff7e0; --note-border:#e8c66a; }
@media (prefers-color-scheme: dark) { :root {
  --bg:#111318; --fg:#e4e7ec; --muted:#a3aab6; --grid:#252a32; --axis:#5f6773; --panel:#181b21; --border:#2b3039;
  --rss:#c29cff; --total:#6f7782; --base:#55a8ff; --est:#31d0bd; --ext:#ff9f4a; --leak:#ff6a5c; --leak-ext:#ffa057;
  --bar:#55a8ff; --note-bg:#2a2414; --note-border:#6b5a22; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; }
main { max-width:1000px; margin:0 auto; padding:24px 20px 40px; }
h1 { font-size:22px; margin:0 0 4px; }
h2 { font-size:16px; margin:28px 0 4px; }
.sub, .caption, footer { color:var(--muted); font-size:13px; }
.caption { margin:0 0 8px; }
.notes { background:var(--note-bg); border:1px solid var(--note-border); border-radius:6px; padding:8px 14px; margin:14px 0; }
.notes ul { margin:4px 0; padding-left:18px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(118px,1fr)); gap:10px; margin:16px 0 4px; }
.tile { background:var(--panel); border:1px solid var(--border); border-radius:6px; padding:8px 12px; }
.tile .k { color:var(--muted); font-size:12px; }
.tile .v { font-size:18px; font-weight:600; font-variant-numeric:tabular-nums; }
.tile.alert .v { color:var(--leak); }
.legend { display:flex; flex-wrap:wrap; gap:4px 16px; margin:4px 0 2px; padding:0; list-style:none; font-size:12px; color:var(--muted); }
.legend li { display:flex; align-items:center; gap:6px; }
.sw { display:inline-block; width:16px; height:3px; border-radius:2px; background:currentColor; }
.sw.dash { height:0; border-top:2px dashed currentColor; background:none; }
.sw.tick { width:2px; height:8px; }
svg.chart { display:block; width:100%; height:auto; }
svg text { font:11px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; fill:var(--muted); }
svg .axis-title { fill:var(--fg); font-weight:600; }
svg .grid { stroke:var(--grid); stroke-width:1; }
svg .axis-line, svg .tick { stroke:var(--axis); stroke-width:1; }
svg .empty { font-size:14px; }
svg .line { fill:none; stroke-width:2; stroke-linejoin:round; }
svg .band { stroke:none; opacity:.18; }
.rss { color:var(--rss); stroke:var(--rss); fill:var(--rss); }
.total { color:var(--total); stroke:var(--total); fill:var(--total); }
.base { color:var(--base); stroke:var(--base); fill:var(--base); }
.est { color:var(--est); stroke:var(--est); fill:var(--est); }
.ext { color:var(--ext); stroke:var(--ext); fill:var(--ext); }
svg .line.total { stroke-dasharray:6 4; stroke-width:1.5; }
svg .line.est { stroke-width:1.5; }
svg .gc-mark { stroke:var(--axis); stroke-width:1; }
.gcm { color:var(--axis); }
svg .bar { fill:var(--bar); }
svg .hover rect { fill:transparent; }
svg .hover rect:hover { fill:var(--fg); opacity:.06; }
svg .leak-mark line { stroke:var(--leak); stroke-width:1.5; stroke-dasharray:4 3; }
svg .leak-mark.external line { stroke:var(--leak-ext); }
svg .leak-label { fill:var(--leak); font-weight:600; }
svg .leak-mark.external .leak-label { fill:var(--leak-ext); }
.leak { color:var(--leak); }
svg .row-label { font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; fill:var(--fg); }
svg .row-value { font-variant-numeric:tabular-nums; }
svg .hbar { fill:var(--bar); }
table { width:100%; border-collapse:collapse; font-size:13px; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--border); vertical-align:top; }
th { color:var(--muted); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td code { font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; word-break:break-all; }
.growbar { height:6px; background:var(--bar); border-radius:3px; margin-top:3px; }
details summary { cursor:pointer; color:var(--muted); }
details ol { margin:4px 0; padding-left:20px; }
footer { margin-top:32px; }
`;

function tile(k, v, cls = '') {
  return `<div class="tile ${cls}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`;
}

/** Rows of a HeapDiff result or summary: the classes that grew most, by size. */
function growingClasses(details) {
  return details
    .filter((d) => d && typeof d.what === 'string' && typeof d.size_bytes === 'number' && d.size_bytes > 0)
    .sort((a, b) => b.size_bytes - a.size_bytes)
    .slice(0, TOP_CLASSES)
    .map((d) => {
      const added = Number(d['+']) || 0;
      const freed = Number(d['-']) || 0;
      const net = added - freed;
      const retained = typeof d.retained_size_bytes === 'number' ? `, retains ${bytes(d.retained_size_bytes)}` : '';
      return {
        label: d.what,
        value: d.size_bytes,
        text: `${signedBytes(d.size_bytes)} · ${net >= 0 ? '+' : ''}${count(net)} obj`,
        title: `${d.what}: ${signedBytes(d.size_bytes)}; ${count(added)} allocated, ${count(freed)} freed${retained}`,
      };
    });
}

function location(s) {
  const file = typeof s.url === 'string' && s.url ? s.url : '(unknown)';
  const line = Number.isFinite(s.line) ? `:${s.line}` : '';
  const col = Number.isFinite(s.column) ? `:${s.column}` : '';
  return `${file}${line}${col}`;
}

function sitesTable(sites) {
  const rows = sites
    .filter((s) => s && typeof s === 'object')
    .slice()
    .sort((a, b) => (Number(b.growth_bytes) || 0) - (Number(a.growth_bytes) || 0))
    .slice(0, TOP_SITES);
  const max = Math.max(1, ...rows.map((s) => Number(s.growth_bytes) || 0));
  const body = rows
    .map((s, i) => {
      const loc = location(s);
      const short = loc.length > 60 ? `…${loc.slice(-59)}` : loc;
      const stack = Array.isArray(s.stack) && s.stack.length > 0
        ? `<details><summary>${s.stack.length} frame${s.stack.length === 1 ? '' : 's'}</summary><ol>${s.stack
            .slice(0, 40)
            .map((f) => `<li><code>${esc(clip(f, 300))}</code></li>`)
            .join('')}</ol></details>`
        : '';
      const g = Number(s.growth_bytes) || 0;
      return (
        `<tr><td class="num">${i + 1}</td>` +
        `<td><code>${esc(clip(s.function || '(anonymous)', 80))}</code><br><code title="${esc(loc)}">${esc(short)}</code>${stack}</td>` +
        `<td class="num">${esc(signedBytes(g))}<div class="growbar" style="width:${Math.max(2, Math.round((g / max) * 100))}%"></div></td>` +
        `<td class="num">${esc(bytes(Number(s.live_bytes)))}</td>` +
        `<td class="num">${esc(count(Number(s.samples)))}</td></tr>`
      );
    })
    .join('\n');
  return (
    '<table class="sites" data-table="sites"><thead><tr><th class="num">#</th><th>Allocation site</th>' +
    '<th class="num">Growth</th><th class="num">Live</th><th class="num">Samples</th></tr></thead>' +
    `<tbody>${body}</tbody></table>`
  );
}

/**
 * @param {object} model from readRecording()
 * @param {{ diff?: { source: string, result: object }, generatedAt?: number, version?: string }} [extra]
 * @returns {string} the HTML page
 */
function renderReport(model, extra = {}) {
  const h = model.header || {};
  const points = model.series.points();
  const t0 = Number.isFinite(h.t) ? Math.min(h.t, model.tMin) : Number.isFinite(model.tMin) ? model.tMin : Date.now();
  let tEnd = Number.isFinite(model.tMax) ? model.tMax : t0;
  if (tEnd - t0 < 1000) tEnd = t0 + 1000;
  const domain = [t0, tEnd];
  const since = (t) => duration((t - t0) / 1000);
  const script = h.script ? path.basename(String(h.script)) : null;
  const title = `memwatch report${script ? `: ${script}` : ''}${h.pid !== undefined ? ` (pid ${h.pid})` : ''}`;

  const series = (f, cls, label, band = false) => ({
    cls,
    label,
    band,
    points: points
      .filter((p) => f in p.last)
      .map((p) => ({ t: p.t, v: p.last[f], lo: p.min[f], hi: p.max[f] })),
  });
  const gcRange = (p) =>
    p.n > 1 ? `full GCs #${count(p.min.num_full_gc)}–#${count(p.max.num_full_gc)}` : `full GC #${count(p.last.num_full_gc)}`;
  const hover = points.map((p, i) => {
    const prev = i > 0 ? (points[i - 1].t + p.t) / 2 : p.t0;
    const next = i + 1 < points.length ? (p.t + points[i + 1].t) / 2 : p.t;
    const when = p.n > 1 ? `${clock(p.t0)} – ${clock(p.t1)}` : clock(p.t);
    return {
      t0: prev,
      t1: next,
      title:
        `${when} (+${since(p.t)}) · ${gcRange(p)}\n` +
        `heap after GC ${bytes(p.last.current_base)} · estimated base ${bytes(p.last.estimated_base)}\n` +
        `RSS ${bytes(p.last.rss)} · heap reserved ${bytes(p.last.total_heap_size)} · external ${bytes(p.last.external_memory)}`,
    };
  });
  const leaks = model.leaks.map((k, i) => ({
    t: k.t,
    kind: k.kind,
    label: `leak ${i + 1}`,
    title: `leak ${i + 1} (${k.kind}) at ${clock(k.t)} (+${since(k.t)}): ${k.reason}`,
  }));

  const lineChart = (id, label, height, lines, leakLabels) =>
    timeChart({
      id,
      label,
      height,
      t0,
      domain,
      kind: 'bytes',
      lines: points.length ? lines.filter((l) => l.points.length > 0) : [],
      gcs: points.map((p) => p.t),
      leaks: leakLabels ? leaks : leaks.map((k) => ({ ...k, label: '' })),
      hover: points.length ? hover : null,
      empty: 'no full GC was recorded',
    });
  // Two charts on one time axis: the heap's scale is not drowned by the RSS.
  const heap = lineChart('heap', 'V8 heap in use after each full GC over time, with leak marks', 300, [
    series('estimated_base', 'est', 'estimated_base'),
    series('current_base', 'base', 'heap after GC (current_base)', true),
  ], true);
  const proc = lineChart('process', 'Process memory after each full GC over time, with leak marks', 260, [
    series('total_heap_size', 'total', 'V8 heap reserved'),
    series('external_memory', 'ext', 'external memory'),
    series('rss', 'rss', 'RSS (process memory)', true),
  ]);
  const pauses = timeChart({
    id: 'pauses',
    label: 'Full-GC pauses over time',
    height: 220,
    t0,
    domain,
    kind: 'ms',
    bars: points
      .filter((p) => 'gc_pause_ms' in p.max)
      .map((p) => ({
        t: p.t,
        v: p.max.gc_pause_ms,
        title:
          p.n > 1
            ? `${p.n} full GCs (+${since(p.t0)} – +${since(p.t1)}): longest ${ms(p.max.gc_pause_ms)}, mean ${ms(p.mean.gc_pause_ms)}`
            : `full GC #${count(p.last.num_full_gc)} at +${since(p.t)}: ${ms(p.last.gc_pause_ms)}`,
      })),
    leaks: leaks.map((k) => ({ ...k, label: '' })),
    empty: 'no full GC was recorded',
  });

  // top growing classes: --diff wins over the HeapDiffs in the recording
  let classes = '';
  let classSource = null;
  let details = null;
  if (extra.diff) {
    details = extra.diff.result.change.details;
    const r = extra.diff.result;
    const span = r.before && r.after && r.before.time && r.after.time ? `, between ${clock(Date.parse(r.before.time))} and ${clock(Date.parse(r.after.time))}` : '';
    classSource = `from ${esc(path.basename(extra.diff.source))}${esc(span)}: heap change ${esc(signedBytes(r.change.size_bytes))}`;
  } else if (model.heapdiff) {
    const s = model.heapdiff.summary;
    details = s.change.details;
    const n = model.heapdiffCount;
    classSource =
      `from the HeapDiff recorded at +${esc(since(model.heapdiff.t))}` +
      (s.before && s.before.time ? ` (over ${esc(duration((Date.parse(s.after.time) - Date.parse(s.before.time)) / 1000))})` : '') +
      `: heap change ${esc(signedBytes(s.change.size_bytes))}` +
      (n > 1 ? `; the last of ${n} HeapDiffs in the recording` : '');
  }
  if (details) {
    const rows = growingClasses(details);
    classes =
      `<section id="classes"><h2>Top growing classes</h2><p class="caption">${classSource}. Bars: bytes added by objects of the class; obj: objects allocated minus freed.</p>` +
      (rows.length ? barChart({ id: 'classes', label: 'Classes that grew most, by bytes', rows }) : '<p>No class grew.</p>') +
      '</section>';
  }

  let sites = '';
  if (model.sites) {
    const s = model.sites;
    sites =
      `<section id="sites"><h2>Top growing allocation sites</h2><p class="caption">From the ${s.source === 'leak' ? 'leak event' : 'sites summary'} at +${esc(since(s.t))}: where the memory that kept growing was allocated.</p>` +
      sitesTable(s.list) +
      '</section>';
  }

  let leakTable = '';
  if (model.leaks.length > 0) {
    const rows = model.leaks
      .slice(0, LEAK_ROWS)
      .map(
        (k, i) =>
          `<tr><td class="num leak">${i + 1}</td><td class="num">+${esc(since(k.t))}</td><td>${esc(clock(k.t))}</td><td>${esc(k.kind)}</td>` +
          `<td class="num">${esc(signedBytes(k.growth))}</td><td>${esc(k.reason)}</td></tr>`
      )
      .join('\n');
    const more = model.leakCount > LEAK_ROWS ? `<p class="caption">and ${count(model.leakCount - LEAK_ROWS)} more.</p>` : '';
    leakTable =
      '<section id="leaks"><h2>Leak events</h2><table data-table="leaks"><thead><tr><th class="num">#</th><th class="num">At</th><th>Time</th><th>Kind</th><th class="num">Growth</th><th>Reason</th></tr></thead>' +
      `<tbody>${rows}</tbody></table>${more}</section>`;
  }

  const first = model.first;
  const last = model.last;
  let peakRss = null;
  let maxPause = null;
  for (const p of points) {
    if ('rss' in p.max) peakRss = Math.max(peakRss ?? 0, p.max.rss);
    if ('gc_pause_ms' in p.max) maxPause = Math.max(maxPause ?? 0, p.max.gc_pause_ms);
  }
  const tiles = [
    tile('Heap after the last full GC', last ? bytes(last.current_base) : '–'),
    tile('Change since the first full GC', first && last ? signedBytes(last.current_base - first.current_base) : '–'),
    tile('Usage trend', last && typeof last.usage_trend === 'number' ? `${last.usage_trend > 0 ? '+' : ''}${last.usage_trend.toFixed(1)}%` : '–'),
    tile('Peak RSS', bytes(peakRss)),
    tile('Longest full-GC pause', ms(maxPause)),
    tile('Full GCs', count(model.counts.stats)),
    tile('Leak events', count(model.leakCount), model.leakCount > 0 ? 'alert' : ''),
  ].join('');

  const meta = [
    h.node && `Node ${h.node}`,
    h.memwatch && `memwatch ${h.memwatch}`,
    h.backend && `${h.backend} backend`,
    `${clock(t0)} – ${clock(tEnd)} (${duration((tEnd - t0) / 1000)})`,
  ]
    .filter(Boolean)
    .map(esc)
    .join(' · ');
  const notes = model.notes.length
    ? `<aside class="notes" role="note"><strong>Notes</strong><ul>${model.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></aside>`
    : '';
  const legend = (items) =>
    `<ul class="legend">${items.map(([cls, label, sw = '']) => `<li class="${cls}"><span class="sw ${sw}"></span>${esc(label)}</li>`).join('')}</ul>`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="memwatch ${esc(extra.version || '')}">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${esc(title)}</h1>
<div class="sub">${meta}</div>
</header>
${notes}
<div class="tiles">${tiles}</div>
<section id="heap">
<h2>Heap after each full GC</h2>
<p class="caption">V8 heap in use right after each full (mark-sweep-compact) GC: what survived. A line that keeps rising is memory not being freed; memwatch reports a leak after 5 rises in a row.</p>
${legend([
  ['base', 'heap after GC (current_base)'],
  ['est', 'estimated_base (smoothed)'],
  ['gcm', 'full GC', 'tick'],
  ['leak', 'leak event', 'dash'],
])}
${heap}
</section>
<section id="process">
<h2>Process memory</h2>
<p class="caption">Read with each full GC: resident memory of the process, the heap V8 has reserved, and memory outside the heap (Buffers, ArrayBuffers).</p>
${legend([
  ['rss', 'RSS (process memory)'],
  ['total', 'V8 heap reserved', 'dash'],
  ['ext', 'external memory'],
])}
${proc}
</section>
<section id="pauses">
<h2>Full-GC pauses</h2>
<p class="caption">Time each full GC took (for memwatch.gc(): all the collections it ran); a bar is the longest pause among the GCs it stands for.</p>
${pauses}
</section>
${classes}
${sites}
${leakTable}
<footer>Generated by memwatch ${esc(extra.version || '')} on ${esc(clock(extra.generatedAt || Date.now()))} from ${esc((model.files || []).map((f) => path.basename(f)).join(', '))}.</footer>
</main>
</body>
</html>
`;
}

module.exports = { renderReport, growingClasses };
