'use strict';
// Child of bench/analyze.js: `node --max-old-space-size=8192 bench/analyze-fixture.js <N> <file>`.
// Builds a heap of N small `Item` objects (each with its own short string and
// name, every third with a small array: shaped so that 1M objects give a
// snapshot at least as large as the 252 MB / 2.7M-node reference file of the
// targets; measured: 286 MB, 3.76M nodes),
// plus a Map over every 100th Item and N/100 closures each holding a small
// object, then writes a heap snapshot to <file> (via <file>.tmp, renamed at
// the end, so an interrupted run leaves no half-written fixture).

const fs = require('fs');
const v8 = require('v8');

class Item {
  constructor(i) {
    this.i = i;
    this.s = 'x' + (i % 1000);
    this.name = `item-${i}`;
    this.tags = i % 3 === 0 ? [i, i + 1] : null;
  }
}

function build(n) {
  const items = new Array(n);
  for (let i = 0; i < n; i++) items[i] = new Item(i);
  const index = new Map();
  for (let i = 0; i < n; i += 100) index.set('k' + i, items[i]);
  const handlers = [];
  for (let i = 0; i < n / 100; i++) {
    const captured = { id: i, tag: 'h' + i };
    handlers.push(() => captured.id);
  }
  globalThis.__analyzeBench = { items, index, handlers };
}

const [nText, file] = process.argv.slice(2);
const n = Number(nText);
if (!Number.isInteger(n) || n < 1 || !file) {
  console.error('usage: analyze-fixture.js <objects> <file>');
  process.exit(2);
}
build(n);
const tmp = `${file}.tmp`;
v8.writeHeapSnapshot(tmp);
fs.renameSync(tmp, file);
