'use strict';
// Errors with a `code` property, as Node's own modules throw them. Errors
// from the native addon carry their `code` already (napi-rs sets it).

function codedError(code, message, Base = Error) {
  const err = new Base(message);
  err.code = code;
  return err;
}

module.exports = { codedError };
