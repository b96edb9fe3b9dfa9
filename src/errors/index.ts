export { ERROR_CODES, kindOf, type ErrorCode, type ErrorKind } from './codes.js';
export { CubbyError, isCubbyError, asCubbyError } from './cubby-error.js';
export { createError, errors, type ErrorFactory } from './factories.js';
