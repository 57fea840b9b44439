'use strict';
// memwatch.analyzeSnapshot() and the CLI's analyses: .heapsnapshot files or
// streams parsed by the Rust graph engine on threads of its own, so the
// event loop stays free while a large snapshot is analyzed.

const { codedError, fromNativeError, callNative } = require('./errors');

async function awaitNative(promise) {
  try {
    return await promise;
  } catch (err) {
    throw fromNativeError(err);
  }
}

function isReadable(x) {
  return x && (typeof x[Symbol.asyncIterator] === 'function' || typeof x.pipe === 'function');
}

/**
 * Starts parsing `input` (a path, or a readable stream of snapshot JSON such
 * as `v8.getHeapSnapshot()`); returns the native source at once.
 */
function openSource(binding, input, label = 'stream') {
  if (typeof input === 'string') return callNative(() => binding.SnapshotSource.fromFile(input));
  if (!isReadable(input)) {
    throw codedError(
      'ERR_INVALID_ARG_TYPE',
      'The "pathOrStream" argument must be a file path or a readable stream',
      TypeError
    );
  }
  const source = binding.SnapshotSource.fromChunks(label);
  source.pumped = pump(input, source).finally(() => source.end());
  return source;
}

const toBytes = (chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

/**
 * Feeds a stream to the parser. push() waits only while the parser is 64
 * chunks behind. Streams are read through their events: on Node 18 an
 * async iterator over v8.getHeapSnapshot() never finishes.
 */
function pump(input, source) {
  if (typeof input.on !== 'function') {
    return (async () => {
      for await (const chunk of input) if (!source.push(toBytes(chunk))) break;
    })();
  }
  return new Promise((resolve, reject) => {
    const finish = () => {
      input.off('data', onData);
      resolve();
    };
    const onData = (chunk) => {
      if (!source.push(toBytes(chunk))) {
        // The parser stopped (it reports why); stop reading.
        if (typeof input.destroy === 'function') input.destroy();
        finish();
      }
    };
    input.on('data', onData);
    input.once('end', finish);
    input.once('close', finish);
    input.once('error', reject);
  });
}

function topOption(options) {
  if (options === undefined) return 20;
  if (options === null || typeof options !== 'object') {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
  }
  const top = options.top === undefined ? 20 : options.top;
  if (!Number.isInteger(top) || top < 1 || top > 1e6) {
    throw codedError('ERR_OUT_OF_RANGE', `The "options.top" value must be an integer from 1 to 1000000. Received ${String(top)}`, RangeError);
  }
  return top;
}

async function settle(sources, promise) {
  // A stream's read error ends its source; report it rather than a parse error.
  const pumps = sources.map((s) => s.pumped).filter(Boolean);
  const [result] = await Promise.all([awaitNative(promise), ...pumps]);
  return result;
}

function createAnalyzers(binding) {
  /**
   * Class groups of one snapshot: `{ nodes, edges, self_size, class_count,
   * groups: [{ name, count, self_size, retained_size }] }` (DevTools' class
   * names and retained sizes; the `top` largest by retained size).
   */
  async function analyzeSnapshot(pathOrStream, options) {
    const top = topOption(options);
    const source = openSource(binding, pathOrStream);
    return settle([source], binding.analyzeSource(source, top));
  }

  // The CLI opens its sources itself (it reads their progress) and calls the
  // native analyses directly.
  return { analyzeSnapshot, openSource: (x, l) => openSource(binding, x, l) };
}

module.exports = { createAnalyzers };
