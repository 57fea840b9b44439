'use strict';
// Preload for bench/analyze.js: `node -r bench/analyze-hwm.js bin/memwatch.js ...`.
// At exit, writes `ANALYZE_HWM <VmHWM bytes>` to stderr, so the real CLI's
// peak RSS is measured without changing what it does.

const fs = require('fs');

process.on('exit', () => {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (m) process.stderr.write(`\nANALYZE_HWM ${Number(m[1]) * 1024}\n`);
});
