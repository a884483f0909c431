/**
 * Compensated summation (Neumaier 1974, "Rundungsfehleranalyse einiger Verfahren zur
 * Summation endlicher Summen"): Kahan's algorithm improved so that it also keeps the
 * low-order bits when a term is larger than the running sum. The error bound is
 * O(ε) independent of the number of terms (plain float64 summation: O(n·ε)), which is
 * what keeps a 128k-wide row of exps or a million per-token losses exact to ~1 ulp.
 *
 * Non-finite terms: once the sum is ±Infinity or NaN the compensation term is
 * meaningless (Infinity − Infinity = NaN), so `value` returns the raw sum then —
 * the same ±Infinity / NaN that plain summation gives.
 */

/** A running compensated sum: `add` terms one at a time, read `value`. */
export class NeumaierSum {
  private s = 0;
  private c = 0;

  add(x: number): this {
    const s = this.s;
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) this.c += s - t + x;
    else this.c += x - t + s;
    this.s = t;
    return this;
  }

  /** Multiplies the sum (and its compensation) by `k`; used by online log-sum-exp rescaling. */
  scale(k: number): this {
    this.s *= k;
    this.c *= k;
    return this;
  }

  get value(): number {
    const s = this.s;
    return Number.isFinite(s) ? s + this.c : s;
  }
}

/** Compensated sum of `xs[start .. end)`. */
export function neumaierSum(xs: ArrayLike<number>, start = 0, end = xs.length): number {
  let s = 0;
  let c = 0;
  for (let i = start; i < end; i++) {
    const x = xs[i] as number;
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) c += s - t + x;
    else c += x - t + s;
    s = t;
  }
  return Number.isFinite(s) ? s + c : s;
}
