'use strict';
// HeapDiff's examples on a pathological heap: a 100,000-deep linked list.
// Each path keeps its first and last steps, and all paths of one diff stay
// within a few MB (they once came to 702M characters for examples: 1000).
const test = require('node:test');
const assert = require('node:assert');
const { runScenario } = require('./helpers');

test('end({ examples: 1000 }) on a 100k-deep list: paths cut short, output bounded', () => {
  const { result } = runScenario(`
    class Link { constructor(next) { this.next = next; } }
    const hd = new memwatch.HeapDiff();
    let head = null;
    for (let i = 0; i < 100000; i++) head = new Link(head);
    globalThis.list = head;
    const d = hd.end({ examples: 1000 });
    const row = d.change.details.find((r) => r.what === 'Link');
    const paths = row.examples.map((e) => e.path);
    done({ plus: row['+'], examples: row.examples.length, json: JSON.stringify(d).length,
      longest: Math.max(...paths.map((p) => p.length)), sample: paths[paths.length - 1],
      omitted: paths.filter((p) => p.startsWith('(path omitted')).length });
  `);
  assert.strictEqual(result.plus, 100000);
  assert.strictEqual(result.examples, 1000);
  assert.ok(result.longest < 5000, `a path of ${result.longest} characters`);
  assert.match(result.sample, /^\(GC roots\) → .*global.*\.list \(property\) → .* → … [\d,]+ more steps … → .*Link @\d+$/);
  assert.ok(result.json < 6 * 1024 * 1024, `${result.json} characters of output`);
});
