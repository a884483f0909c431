/**
 * Perplexity from a mean cross-entropy per token: PPL = e^{nats} = 2^{bits}.
 * It is the effective number of equally likely choices per token (uniform over V
 * classes gives exactly V). Give exactly one of `nats` or `bits`.
 * NaN is refused (non_finite); +Infinity nats gives +Infinity; negative cross-entropy
 * is refused (invalid_argument), since no distribution gives it.
 */
import { XentError } from '../core/errors.js';
import { describe } from '../core/tensor.js';

const OP = 'perplexity';

export type PerplexityInput = { nats: number; bits?: undefined } | { bits: number; nats?: undefined };

export function perplexity(crossEntropyPerToken: PerplexityInput): number {
  if (crossEntropyPerToken === null || typeof crossEntropyPerToken !== 'object') {
    throw new XentError(
      'invalid_argument',
      OP,
      `expected { nats } or { bits }, got ${describe(crossEntropyPerToken)}`,
      {},
    );
  }
  const { nats, bits } = crossEntropyPerToken as { nats?: unknown; bits?: unknown };
  if ((nats === undefined) === (bits === undefined)) {
    throw new XentError(
      'invalid_argument',
      OP,
      `give exactly one of nats or bits, got ${describe(crossEntropyPerToken)}`,
      {},
    );
  }
  const arg = nats !== undefined ? 'nats' : 'bits';
  const x = nats !== undefined ? nats : bits;
  if (typeof x !== 'number')
    throw new XentError('invalid_argument', OP, `${arg} must be a number, got ${describe(x)}`, { arg, value: x });
  if (Number.isNaN(x)) throw new XentError('non_finite', OP, `${arg} is NaN`, { arg, value: x });
  if (x < 0)
    throw new XentError('invalid_argument', OP, `${arg} = ${x} is negative; a cross-entropy is ≥ 0`, { arg, value: x });
  return arg === 'nats' ? Math.exp(x) : 2 ** x;
}
