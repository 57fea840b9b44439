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

module.exports = { table };
