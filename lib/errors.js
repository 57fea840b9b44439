'use strict';
// Errors with a `code` property, as Node's own modules throw them.

function codedError(code, message, Base = Error) {
  const err = new Base(message);
  err.code = code;
  return err;
}

/**
 * Turns a native `[CODE] message` error (the convention of src/graphs.rs and
 * src/analysis.rs) into an error with `err.code = CODE`; others pass through.
 */
function fromNativeError(err) {
  const m = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/.exec(err && err.message);
  return m ? codedError(m[1], m[2]) : err;
}

/** Runs a native call, rethrowing its errors through fromNativeError. */
function callNative(fn) {
  try {
    return fn();
  } catch (err) {
    throw fromNativeError(err);
  }
}

module.exports = { codedError, fromNativeError, callNative };
