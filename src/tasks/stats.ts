/**
 * The intervals the two reference tools print, each with its own arithmetic:
 *
 *  - llama-perplexity's HellaSwag: a Wilson score interval at 95% (z = 1.95996398454),
 *    in double, exactly as hellaswag_score writes it.
 *  - llama-perplexity's Winogrande and multiple choice: ± sqrt(p(1 − p)/(n − 1)) with p and
 *    the square root in float32 (its `float p = 1.f*n_correct/n_done`).
 *  - lm-evaluation-harness: `mean_stderr` = sample standard deviation / sqrt(n)
 *    (lm_eval/api/metrics.py), over the per-task 0/1 scores, in double, sums in list order.
 */

const f = Math.fround;

/** Wilson 95% interval of a proportion, as hellaswag_score computes it: [lo, hi] fractions. */
export function wilson95(correct: number, n: number): [number, number] {
  const za = 1.95996398454;
  const freq = correct / n;
  const z = (za * za) / n;
  const cnf = (z * Math.sqrt(n * (4.0 * freq * (1 - freq) + z))) / (za + za);
  return [(freq + z * 0.5 - cnf) / (1.0 + z), (freq + z * 0.5 + cnf) / (1.0 + z)];
}

/** Winogrande's final line: `100*p` and `100.f*sqrt(p*(1-p)/(n-1))`, as float32 (percent). */
export function winograndePercent(correct: number, n: number): { pct: number; pm: number } {
  const p = f(correct / n);
  const pct = f(100 * p);
  const pm = f(100 * Math.sqrt(f(f(p * f(1 - p)) / (n - 1))));
  return { pct, pm };
}

/**
 * Multiple choice's "Final result" (hits = right, of = done) and "Random chance" (hits =
 * done, of = all answers) lines: p = hits/of and sigma = sqrt(p(1 − p)/(done − 1)) in
 * float32, printed ×100 in float32.
 */
export function mcPercent(hits: number, of: number, done: number): { pct: number; pm: number } {
  const p = f(hits / of);
  const sigma = f(Math.sqrt(f(f(p * f(1 - p)) / (done - 1))));
  return { pct: f(100 * p), pm: f(100 * sigma) };
}

/** lm-eval's mean and mean_stderr of per-task scores (undefined stderr below 2 tasks). */
export function lmEvalMean(xs: readonly number[]): { mean: number; stderr: number | undefined } {
  const n = xs.length;
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / n;
  if (n < 2) return { mean, stderr: undefined };
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return { mean, stderr: Math.sqrt(ss / (n - 1)) / Math.sqrt(n) };
}

/** The ± xent reports beside any accuracy: sqrt(p(1 − p)/(n − 1)) in double (fraction). */
export function accuracyPm(correct: number, n: number): number | undefined {
  if (n < 2) return undefined;
  const p = correct / n;
  return Math.sqrt((p * (1 - p)) / (n - 1));
}
