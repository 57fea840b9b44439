'use strict';
// Errors with a `code` property, as Node's own modules throw them. Errors
// from the native addon carry their `code` already (napi-rs sets it).

function codedError(code, message, Base = Error) {
  const err = new Base(message);
  err.code = code;
  return err;
}

/**
 * A received value for an argument error, on one line (as Node's own
 * errors say it): a function by its name, a string quoted, escaped and cut.
 */
function describeValue(v) {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const name = v.constructor && v.constructor.name;
    return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
  }
  if (typeof v === 'string') return `type string (${JSON.stringify(v.length > 28 ? `${v.slice(0, 25)}...` : v)})`;
  return `type ${typeof v} (${String(v)})`;
}

/** Throws ERR_OUT_OF_RANGE unless `value` is an integer from `min` to `max`. */
function checkInteger(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw codedError(
      'ERR_OUT_OF_RANGE',
      `The "${name}" value must be an integer from ${min} to ${max}. Received ${describeValue(value)}`,
      RangeError
    );
  }
  return value;
}

module.exports = { codedError, describeValue, checkInteger };
