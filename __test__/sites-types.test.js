'use strict';
// The types of leak sites describe the runtime: LeakSite and SamplingStatus
// list exactly the fields it gives (compiling them: once/sites-types.test.js).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const memwatch = require('..');

const root = path.join(__dirname, '..');

test('LeakSite and SamplingStatus list exactly the runtime fields', () => {
  const dts = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8');
  const fields = (name) => {
    const body = dts.slice(dts.indexOf(`interface ${name} {`));
    return [...body.slice(0, body.indexOf('\n  }')).matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]).sort();
  };
  memwatch.sites(); // starts sampling
  const kept = Array.from({ length: 200000 }, (_, i) => ({ i }));
  const [site] = memwatch.sites({ top: 1 });
  assert.ok(site && kept.length, 'sites() returned a site');
  assert.deepStrictEqual(fields('LeakSite'), Object.keys(site).sort());
  assert.deepStrictEqual(fields('SamplingStatus'), Object.keys(memwatch.sampling).sort());
  memwatch.configure({ sampling: false });
});

test('the ES module exports configure, sites and writeHeapProfile bound to the module', async () => {
  const esm = await import('../index.mjs');
  for (const name of ['configure', 'sites', 'writeHeapProfile']) assert.strictEqual(typeof esm[name], 'function', name);
  const status = esm.configure({ sampling: { stackDepth: 8 } });
  assert.strictEqual(status.stackDepth, 8);
  assert.strictEqual(esm.default.sampling.stackDepth, 8);
  esm.configure({ sampling: false });
});
