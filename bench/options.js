'use strict';
// Command-line options of the benchmarks: `--name value` pairs, whole
// numbers and comma lists checked against the allowed values; a bad option
// prints the message and the bench's usage line, and exits with code 2.

function parser(usageLine) {
  const usage = (message) => {
    console.error(`${message}\nusage: ${usageLine}`);
    process.exit(2);
  };
  const option = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    if (i + 1 >= process.argv.length) usage(`--${name} needs a value`);
    return process.argv[i + 1];
  };
  const whole = (text, name, min) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) usage(`--${name}: not a whole number >= ${min}: ${text}`);
    return n;
  };
  /** A comma list, each item one of `allowed`. */
  const list = (name, allowed) => {
    const items = option(name, allowed.join(',')).split(',').map((s) => s.trim());
    for (const x of items) if (!allowed.includes(x)) usage(`--${name}: unknown value ${x}`);
    return items;
  };
  return { usage, option, whole, list };
}

module.exports = { parser };
