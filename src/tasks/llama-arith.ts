/**
 * llama-perplexity's float32 arithmetic for one next-token log-probability, reproduced
 * operation by operation (tools/perplexity/perplexity.cpp), so that per-choice scores and
 * their ranking match its output when the logits are the same:
 *
 *  - `compute_logprobs` (every scored token of Winogrande, every token but the first of a
 *    HellaSwag ending or a multiple-choice answer): float max, a float sum of expf(l − max)
 *    in index order, then l[tok] − max − logf(sum), each step rounded to float32.
 *  - `softmax` then `std::log` (the first token of a HellaSwag ending or an answer, read from
 *    the last row of the shared prefix): p = expf(l[tok] − max) / Σ expf (the sum in
 *    double, the quotient rounded to float32), then logf(p).
 *
 * expf and logf are Math.exp and Math.log rounded to float32: glibc's expf is within 0.502
 * ulp, so a term may differ by one float ulp, below the rounding of a sum of thousands of
 * them. `row` is one row of V logits at offset `o` of `logits`.
 */

const f = Math.fround;

/** `compute_logprobs`'s log p(tok) in float32. */
export function llamaLogProb(logits: Float32Array, o: number, V: number, tok: number): number {
  let max = logits[o]!;
  for (let v = 1; v < V; v++) {
    const x = logits[o + v]!;
    if (x > max) max = x;
  }
  let sum = 0;
  for (let v = 0; v < V; v++) sum = f(sum + f(Math.exp(f(logits[o + v]! - max))));
  return f(f(logits[o + tok]! - max) - f(Math.log(sum)));
}

/** `std::log(softmax(row)[tok])` in float32. */
export function llamaSoftmaxLogProb(logits: Float32Array, o: number, V: number, tok: number): number {
  let max = logits[o]!;
  for (let v = 1; v < V; v++) {
    const x = logits[o + v]!;
    if (x > max) max = x;
  }
  let sum = 0;
  for (let v = 0; v < V; v++) sum += f(Math.exp(f(logits[o + v]! - max)));
  const p = f(f(Math.exp(f(logits[o + tok]! - max))) / sum);
  return f(Math.log(p));
}
