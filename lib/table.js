'use strict';
// Plain-text tables for the CLI and the benchmarks: a header row, a rule,
// then the rows; columns padded to their widest cell.

const looksNumeric = (rows, i) => rows.every((r) => /^[-\d.,x ]*$|^\d/.test(String(r[i])));

/**
 * @param {string[]} headers
 * @param {Array<Array<string|number>>} rows
 * @param {Array<'l'|'r'>} [align] per column; by default numbers right, text left
 * @returns {string}
 */
function table(headers, rows, align) {
  const right = headers.map((_, i) => (align ? align[i] === 'r' : looksNumeric(rows, i)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (cells) =>
    cells
      .map((c, i) => (right[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

// Characters a terminal acts on instead of printing: C0 controls (newline,
// escape, ...), DEL, C1 controls, and the invisible format characters that
// reorder or hide text (bidi overrides and isolates, zero-width marks).
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;
const NAMED = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `s` safe to print on a terminal: what a terminal would act on (an escape
 * sequence, a newline, a bidi override from a hostile snapshot) is shown as
 * an escape (`\x1b`, `\n`, `\u202e`), and backslashes are doubled, so
 * different names never print the same. `{ backslashes: false }` keeps
 * them (a file path the user typed).
 */
function printable(s, { backslashes = true } = {}) {
  const text = backslashes ? String(s).replace(/\\/g, '\\\\') : String(s);
  return text.replace(UNPRINTABLE, (c) => {
    if (NAMED[c]) return NAMED[c];
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

module.exports = { table, printable };
