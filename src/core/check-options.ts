/**
 * The one check of an options argument, for every public function that takes one: absent is
 * `{}`, anything but a plain object (null, an array, a number…) is an XentError naming the op.
 */
import { XentError } from './errors.js';
import { describe } from './tensor.js';

export function checkOptions<T extends object>(op: string, options: T | undefined): Partial<T> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new XentError('invalid_argument', op, `options must be an object, got ${describe(options)}`, {
      arg: 'options',
    });
  }
  return options;
}
