'use strict';
// Errors with a `code` property, as Node's own modules throw them.

function codedError(code, message, Base = Error) {
  const err = new Base(message);
  err.code = code;
  return err;
}

/**
 * Runs a native call and turns its `[CODE] message` errors (the convention of
 * src/graphs.rs) into errors with `err.code = CODE`.
 */
function callNative(fn) {
  try {
    return fn();
  } catch (err) {
    const m = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/.exec(err && err.message);
    if (!m) throw err;
    throw codedError(m[1], m[2]);
  }
}

module.exports = { codedError, callNative };
