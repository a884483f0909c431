/**
 * Scores rows of raw logits against the true next tokens: the per-position part of
 * llama-perplexity's `log_softmax` (tools/perplexity/perplexity.cpp), in float64.
 *
 *   logits  [count, V] float32, row r = the model's logits at scored position r
 *   targets [count]    the true next token of each row
 *
 * nats[r] = max + log Σ_v exp(l_v − max) − l[target]   (sum in double, as llama.cpp)
 * rank[r] = #{v : l_v > l[target]}   (0 = the model's top choice; ties rank in its favour)
 * top1[r] = argmax_v l_v (first index on ties), top1Prob[r] = exp(l_top1 − logsumexp)
 * With `full`, logProbs[r·V + v] = l_v − logsumexp (float32).
 */
import { XentError } from '../../core/errors.js';
import { logSumExpWasm } from '../../kernels/log-softmax.js';
import { kernelsAvailable } from '../../kernels/runtime.js';
import type { PositionScores } from '../language-model.js';

/** From this vocabulary size on, the row log-sum-exp runs on xent's WebAssembly SIMD kernel. */
export const WASM_MIN_VOCAB = 2048;

/**
 * `backend`: 'js' (default) = the float64 loop below (exact to ~1e-15); 'wasm' = log-sum-exp
 * from xent's SIMD kernel (src/kernels: float32 exponentials, ~1e-7 relative with a bias
 * that shows in the 4th decimal of a PPL of 32000, so not the default); 'auto' = wasm for
 * V ≥ WASM_MIN_VOCAB when the kernels load.
 */
export function scoreLogitRows(
  op: string,
  logits: Float32Array,
  V: number,
  targets: Int32Array,
  full = false,
  backend: 'auto' | 'js' | 'wasm' = 'js',
): PositionScores {
  const useWasm = backend === 'wasm' || (backend === 'auto' && V >= WASM_MIN_VOCAB && kernelsAvailable());
  if (useWasm) return scoreRowsWasm(op, logits, V, targets, full);
  const count = targets.length;
  if (logits.length < count * V) {
    throw new XentError(
      'shape_mismatch',
      op,
      `logits has ${logits.length} values, fewer than count × V = ${count} × ${V}`,
      { expected: count * V, actual: logits.length },
    );
  }
  const nats = new Float64Array(count);
  const rank = new Int32Array(count);
  const top1 = new Int32Array(count);
  const top1Prob = new Float64Array(count);
  const logProbs = full ? new Float32Array(count * V) : undefined;
  for (let r = 0; r < count; r++) {
    const o = r * V;
    const t = targets[r]!;
    if (!(t >= 0 && t < V)) {
      throw new XentError('index_out_of_range', op, `target[${r}] = ${t} is out of range [0, ${V})`, {
        arg: 'targets',
        row: r,
        value: t,
      });
    }
    let mx = -Infinity;
    let am = 0;
    for (let v = 0; v < V; v++) {
      const x = logits[o + v]!;
      if (x > mx) {
        mx = x;
        am = v;
      }
    }
    const lt = logits[o + t]!;
    let s = 0;
    let above = 0;
    for (let v = 0; v < V; v++) {
      const x = logits[o + v]!;
      s += Math.exp(x - mx);
      if (x > lt) above++;
    }
    // NaN anywhere makes s NaN; +Infinity makes mx infinite. Both must stop the run.
    if (!Number.isFinite(s) || !Number.isFinite(mx) || Number.isNaN(lt)) {
      let bad = -1;
      for (let v = 0; v < V && bad < 0; v++)
        if (!Number.isFinite(logits[o + v]!) && logits[o + v] !== -Infinity) bad = v;
      throw new XentError(
        'numerical_error',
        op,
        `non-finite logit ${bad >= 0 ? `${logits[o + bad]} for token ${bad} ` : ''}at scored row ${r}`,
        { row: r, column: bad },
      );
    }
    const lse = mx + Math.log(s);
    nats[r] = lse - lt;
    rank[r] = above;
    top1[r] = am;
    top1Prob[r] = Math.exp(mx - lse);
    if (logProbs) for (let v = 0; v < V; v++) logProbs[o + v] = logits[o + v]! - lse;
  }
  return logProbs ? { nats, rank, top1, top1Prob, logProbs } : { nats, rank, top1, top1Prob };
}

function nonFinite(op: string, logits: Float32Array, V: number, r: number): never {
  const o = r * V;
  let bad = -1;
  for (let v = 0; v < V && bad < 0; v++) if (!Number.isFinite(logits[o + v]!) && logits[o + v] !== -Infinity) bad = v;
  throw new XentError(
    'numerical_error',
    op,
    `non-finite logit ${bad >= 0 ? `${logits[o + bad]} for token ${bad} ` : ''}at scored row ${r}`,
    { row: r, column: bad },
  );
}

function scoreRowsWasm(
  op: string,
  logits: Float32Array,
  V: number,
  targets: Int32Array,
  full: boolean,
): PositionScores {
  const count = targets.length;
  if (logits.length < count * V) {
    throw new XentError(
      'shape_mismatch',
      op,
      `logits has ${logits.length} values, fewer than count × V = ${count} × ${V}`,
      { expected: count * V, actual: logits.length },
    );
  }
  const lse = logSumExpWasm(logits.subarray(0, count * V), count, V, new Float64Array(count), 1, (row) =>
    nonFinite(op, logits, V, row),
  );
  const nats = new Float64Array(count);
  const rank = new Int32Array(count);
  const top1 = new Int32Array(count);
  const top1Prob = new Float64Array(count);
  const logProbs = full ? new Float32Array(count * V) : undefined;
  for (let r = 0; r < count; r++) {
    const o = r * V;
    const t = targets[r]!;
    if (!(t >= 0 && t < V)) {
      throw new XentError('index_out_of_range', op, `target[${r}] = ${t} is out of range [0, ${V})`, {
        arg: 'targets',
        row: r,
        value: t,
      });
    }
    const l = lse[r]!;
    if (!Number.isFinite(l)) nonFinite(op, logits, V, r);
    const lt = logits[o + t]!;
    let mx = -Infinity;
    let am = 0;
    let above = 0;
    for (let v = 0; v < V; v++) {
      const x = logits[o + v]!;
      if (x > mx) {
        mx = x;
        am = v;
      }
      if (x > lt) above++;
    }
    nats[r] = l - lt;
    rank[r] = above;
    top1[r] = am;
    top1Prob[r] = Math.exp(mx - l);
    if (logProbs) for (let v = 0; v < V; v++) logProbs[o + v] = logits[o + v]! - l;
  }
  return logProbs ? { nats, rank, top1, top1Prob, logProbs } : { nats, rank, top1, top1Prob };
}
