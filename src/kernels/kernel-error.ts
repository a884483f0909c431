/**
 * The one error contract of the kernels: a trap (or an `abort`) in any thread, the calling one
 * or a worker, makes the call throw this XentError, code 'kernel_error', op `<module>.<kernel>`
 * (e.g. `train.mm`), with the trap's own message ("memory access out of bounds",
 * "unreachable", …) and fields naming the module, the kernel, the part that trapped, the
 * number of parts and the thread. A trap means a bug in xent or in its use of kernel memory,
 * never bad user input (the public functions validate before any kernel runs); no partial
 * result is returned, and the pool stays usable.
 */
import { XentError } from '../core/errors.js';

export interface KernelErrorWhere {
  module: string;
  kernel: string;
  /** The part that trapped (part 0 runs on the calling thread, part p ≥ 1 on worker p − 1). */
  part: number;
  /** How many parts the call ran as. */
  parts: number;
}

/** The trap's message, whatever was thrown (a WebAssembly.RuntimeError, an abort's Error, or a message string from a worker). */
export function trapMessage(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

export function kernelError(where: KernelErrorWhere, cause: unknown): XentError {
  const { module, kernel, part, parts } = where;
  const trap = trapMessage(cause);
  const thread = part === 0 ? 'the calling thread' : `worker thread ${part}`;
  const ofParts = parts > 1 ? ` (part ${part} of ${parts})` : '';
  return new XentError(
    'kernel_error',
    `${module}.${kernel}`,
    `the WebAssembly kernel trapped on ${thread}${ofParts}: ${trap}`,
    { module, kernel, part, parts, thread: part === 0 ? 'calling' : 'worker', trap },
    { cause },
  );
}
