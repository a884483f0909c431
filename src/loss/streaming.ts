/**
 * Streaming (online) log-sum-exp and cross-entropy for one row too wide to hold at once:
 * feed the row's logits in chunks of any size, in column order, then read the result.
 *
 * Online normaliser (Milakov & Gimelshein 2018, "Online normalizer calculation for
 * softmax"): keep the running max m and s = Σ exp(x − m); when a chunk raises the max
 * to m', rescale s by exp(m − m'). Here the rescale happens once per chunk (after its
 * max is known), s is a Neumaier-compensated float64 sum, and with a single chunk the
 * arithmetic is exactly that of `logSumExp` — bit-identical. With several chunks the
 * result equals the one-shot value up to float64 rounding (≈1e-15 relative).
 *
 * Memory: O(1) whatever the row width.
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { Unit } from '../core/tensor.js';
import { describe } from '../core/tensor.js';
import { checkNumberIn, checkUnit, unitScale } from './validate.js';

function checkChunk(op: string, chunk: unknown, offset: number): ArrayLike<number> {
  if (
    !(
      Array.isArray(chunk) ||
      (ArrayBuffer.isView(chunk) &&
        !(chunk instanceof DataView) &&
        !(chunk instanceof BigInt64Array) &&
        !(chunk instanceof BigUint64Array))
    )
  ) {
    throw new XentError(
      'invalid_argument',
      op,
      `chunk must be an array of numbers (e.g. a Float32Array), got ${describe(chunk)}`,
      { arg: 'chunk' },
    );
  }
  const a = chunk as ArrayLike<unknown>;
  for (let j = 0; j < a.length; j++) {
    const x = a[j];
    if (typeof x !== 'number')
      throw new XentError('invalid_argument', op, `chunk[${j}] must be a number, got ${describe(x)}`, {
        arg: 'chunk',
        column: offset + j,
      });
    if (!(x < Infinity)) {
      throw new XentError(
        'non_finite',
        op,
        `logit at column ${offset + j} (chunk[${j}]) is ${x}; logits must be finite or -Infinity`,
        {
          arg: 'chunk',
          column: offset + j,
          value: x,
        },
      );
    }
  }
  return a as ArrayLike<number>;
}

/** Running log Σ exp over a row fed in chunks. */
export class StreamingLogSumExp {
  protected readonly op: string = 'StreamingLogSumExp';
  private max = -Infinity;
  private readonly sum = new NeumaierSum();
  private count = 0;

  /** Adds the next `chunk.length` logits of the row (columns count on from the previous chunk). */
  push(chunk: ArrayLike<number>): this {
    const a = checkChunk(this.op, chunk, this.count);
    this.consume(a);
    return this;
  }

  protected consume(a: ArrayLike<number>): void {
    let cm = -Infinity;
    for (let j = 0; j < a.length; j++) {
      const x = a[j] as number;
      if (x > cm) cm = x;
    }
    if (cm > this.max) {
      // exp(−Infinity) = 0 clears the (empty) sum the first time a finite max appears.
      if (this.max !== -Infinity) this.sum.scale(Math.exp(this.max - cm));
      this.max = cm;
    }
    const m = this.max;
    if (m !== -Infinity) for (let j = 0; j < a.length; j++) this.sum.add(Math.exp((a[j] as number) - m));
    this.count += a.length;
  }

  /** Number of logits consumed so far (the row width V once the row is complete). */
  get length(): number {
    return this.count;
  }

  /** log Σ exp of everything pushed (natural log); −Infinity if every logit was −Infinity. */
  get logSumExp(): number {
    this.checkNotEmpty();
    if (this.max === -Infinity) return -Infinity;
    return this.max + Math.log(this.sum.value);
  }

  protected checkNotEmpty(): void {
    if (this.count === 0)
      throw new XentError('empty_input', this.op, `no logits were pushed; a row needs at least one class`, {});
  }

  /** The running max m and log Σ exp(x − m) (NaN when every logit is −Infinity). */
  protected parts(): [number, number] {
    return [this.max, this.max === -Infinity ? NaN : Math.log(this.sum.value)];
  }
}

export interface StreamingCrossEntropyOptions {
  /** ε ∈ [0, 1], as crossEntropy's labelSmoothing (unweighted). */
  labelSmoothing?: number;
  /** PaLM z-loss coefficient, as crossEntropy's zLoss. */
  zLoss?: number;
  unit?: Unit;
}

export interface StreamingCrossEntropyResult {
  /** log Σ exp of the row, in nats (it is a log-normaliser, not a loss). */
  logSumExpNats: number;
  /** The row's cross-entropy for the target, in `unit`s (same as crossEntropy with reduction 'none'). */
  loss: number;
  /** The target's logit. */
  targetLogit: number;
  unit: Unit;
}

/**
 * Cross-entropy of one row against a class index, fed in chunks:
 *   loss = (1−ε)·(lse − x_y) + (ε/V)·(V·lse − Σ_c x_c) + z·lse²
 * which is crossEntropy's per-row loss for that row.
 */
export class StreamingCrossEntropy extends StreamingLogSumExp {
  protected override readonly op: string = 'StreamingCrossEntropy';
  private readonly target: number;
  private readonly eps: number;
  private readonly z: number;
  private readonly unit: Unit;
  private targetLogit = NaN;
  private readonly logitSum = new NeumaierSum();

  constructor(target: number, options?: StreamingCrossEntropyOptions) {
    super();
    const op = 'StreamingCrossEntropy';
    const o = checkOptions(op, options) as StreamingCrossEntropyOptions;
    if (typeof target !== 'number' || !Number.isInteger(target) || target < 0) {
      throw new XentError(
        'invalid_argument',
        op,
        `target must be a class index (a non-negative integer), got ${describe(target)}`,
        { arg: 'target', value: target },
      );
    }
    this.target = target;
    this.eps = checkNumberIn(op, 'labelSmoothing', o.labelSmoothing, 0, 1, 0);
    this.z = checkNumberIn(op, 'zLoss', o.zLoss, 0, Infinity, 0);
    this.unit = checkUnit(op, o.unit);
  }

  protected override consume(a: ArrayLike<number>): void {
    const start = this.length;
    if (this.target >= start && this.target < start + a.length) this.targetLogit = a[this.target - start] as number;
    if (this.eps > 0) for (let j = 0; j < a.length; j++) this.logitSum.add(a[j] as number);
    super.consume(a);
  }

  /** The row's result; call once every chunk has been pushed. */
  result(): StreamingCrossEntropyResult {
    const lse = this.logSumExp;
    const v = this.length;
    if (this.target >= v) {
      throw new XentError(
        'index_out_of_range',
        this.op,
        `target = ${this.target} is out of range [0, ${v}) for the ${v} logits pushed`,
        {
          arg: 'target',
          value: this.target,
          expected: [0, v],
        },
      );
    }
    const xy = this.targetLogit;
    const [m, logSum] = this.parts();
    // −((x_y − m) − log S), the one-shot kernel's arithmetic (an all −Infinity row gives NaN, as there).
    let loss = logSum - (xy - m);
    if (this.eps > 0) loss = (1 - this.eps) * loss + (this.eps / v) * (v * lse - this.logitSum.value);
    if (this.z > 0) loss += this.z * lse * lse;
    return { logSumExpNats: lse, loss: loss * unitScale(this.unit), targetLogit: xy, unit: this.unit };
  }
}
