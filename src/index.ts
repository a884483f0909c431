/**
 * xent — exact, fast and visible cross-entropy. The loss library: dependency-free,
 * browser-safe, PyTorch semantics. Explicit named exports only (no `export *`).
 */
export { XentError, isXentError } from './errors.js';
export type { XentErrorCode, XentErrorFields } from './errors.js';
export type { FloatArray, Matrix, Unit, Reduction } from './tensor.js';
export { VERSION } from './version.js';
