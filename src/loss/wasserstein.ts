/**
 * 1-D Wasserstein-1 (earth mover's) distance between two weighted empirical
 * distributions, as `scipy.stats.wasserstein_distance` (SciPy 1.10):
 *   W1(u, v) = ∫ |U(x) − V(x)| dx,  U, V the (weighted) empirical CDFs,
 * evaluated exactly as Σ_k |U(z_k) − V(z_k)|·(z_{k+1} − z_k) over the sorted union z of
 * both samples. The samples may have different sizes; weights default to 1 and are
 * normalised by their sums. The result is in the units of the values.
 * Errors: empty samples (empty_input), non-finite values/weights (non_finite), negative
 * weights or weights summing to 0 (invalid_argument), weight/value length mismatch (shape_mismatch).
 */
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import { describe } from '../core/tensor.js';

const OP = 'wassersteinDistance';

function toArray(arg: string, a: unknown, allowNegative: boolean): Float64Array {
  if (!(Array.isArray(a) || (ArrayBuffer.isView(a) && !(a instanceof DataView)))) {
    throw new XentError('invalid_argument', OP, `${arg} must be an array of numbers, got ${describe(a)}`, { arg });
  }
  const x = a as ArrayLike<unknown>;
  if (x.length === 0) throw new XentError('empty_input', OP, `${arg} is empty`, { arg });
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const e = x[i];
    if (typeof e !== 'number')
      throw new XentError('invalid_argument', OP, `${arg}[${i}] must be a number, got ${describe(e)}`, {
        arg,
        column: i,
      });
    if (!Number.isFinite(e))
      throw new XentError('non_finite', OP, `${arg}[${i}] is ${e}`, { arg, column: i, value: e });
    if (!allowNegative && e < 0)
      throw new XentError('invalid_argument', OP, `${arg}[${i}] = ${e} is negative; weights are ≥ 0`, {
        arg,
        column: i,
        value: e,
      });
    out[i] = e;
  }
  return out;
}

/** Sorted values and their cumulative normalised weights: cdf[k] = weight of values[0..k]. */
function sortedCdf(
  arg: string,
  values: Float64Array,
  weights: Float64Array | null,
): { xs: Float64Array; cdf: Float64Array } {
  const order = Array.from(values.keys()).sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
  const xs = Float64Array.from(order, (k) => values[k] as number);
  const cdf = new Float64Array(xs.length);
  const s = new NeumaierSum();
  for (let k = 0; k < order.length; k++) {
    s.add(weights === null ? 1 : (weights[order[k] as number] as number));
    cdf[k] = s.value;
  }
  const total = s.value;
  if (!(total > 0)) throw new XentError('invalid_argument', OP, `${arg} sum to 0`, { arg });
  for (let k = 0; k < cdf.length; k++) cdf[k] = (cdf[k] as number) / total;
  return { xs, cdf };
}

export function wassersteinDistance(
  uValues: ArrayLike<number>,
  vValues: ArrayLike<number>,
  uWeights?: ArrayLike<number>,
  vWeights?: ArrayLike<number>,
): number {
  const u = toArray('uValues', uValues, true);
  const v = toArray('vValues', vValues, true);
  const uw = uWeights === undefined ? null : toArray('uWeights', uWeights, false);
  const vw = vWeights === undefined ? null : toArray('vWeights', vWeights, false);
  if (uw !== null && uw.length !== u.length) {
    throw new XentError('shape_mismatch', OP, `uWeights has length ${uw.length} but uValues has ${u.length}`, {
      arg: 'uWeights',
      expected: u.length,
      actual: uw.length,
    });
  }
  if (vw !== null && vw.length !== v.length) {
    throw new XentError('shape_mismatch', OP, `vWeights has length ${vw.length} but vValues has ${v.length}`, {
      arg: 'vWeights',
      expected: v.length,
      actual: vw.length,
    });
  }
  const U = sortedCdf('uWeights', u, uw);
  const V = sortedCdf('vWeights', v, vw);
  // Merge the sorted samples; between consecutive points z_k < z_{k+1} both CDFs are
  // constant, equal to the weight of all values ≤ z_k (searchsorted 'right').
  const all = new Float64Array(u.length + v.length);
  all.set(U.xs);
  all.set(V.xs, u.length);
  all.sort();
  const s = new NeumaierSum();
  let iu = 0;
  let iv = 0;
  for (let k = 0; k + 1 < all.length; k++) {
    const z = all[k] as number;
    while (iu < U.xs.length && (U.xs[iu] as number) <= z) iu++;
    while (iv < V.xs.length && (V.xs[iv] as number) <= z) iv++;
    const cu = iu === 0 ? 0 : (U.cdf[iu - 1] as number);
    const cv = iv === 0 ? 0 : (V.cdf[iv - 1] as number);
    s.add(Math.abs(cu - cv) * ((all[k + 1] as number) - z));
  }
  return s.value;
}
