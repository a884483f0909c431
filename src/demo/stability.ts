/**
 * Demonstration 2: the naive −log(softmax(x)[y] + 1e-10) that many guides write,
 * next to xent's log-sum-exp cross-entropy. On ordinary rows they agree; on a
 * confident row the naive one is capped at −ln(1e-10) = 23.03 nats because
 * softmax(x)[y] underflows to 0, while the right answer is 1000 nats.
 */

import { CounterRng } from '../core/rng.js';
import { crossEntropy } from '../loss/cross-entropy.js';
import { naiveCrossEntropy } from '../loss/naive-cross-entropy.js';
import type { DemoSection } from './section.js';

export function stabilitySection(seed = 0): DemoSection {
  // Ordinary rows: N = 8 rows over V = 5 classes, logits ~ U(−3, 3).
  const N = 8;
  const V = 5;
  const rng = new CounterRng(seed, 2000);
  const data = new Float64Array(N * V);
  for (let i = 0; i < data.length; i++) data[i] = -3 + 6 * rng.next();
  const target = new Int32Array(N);
  for (let n = 0; n < N; n++) target[n] = rng.nextInt(V);
  const ordinary = { data, shape: [N, V] as const };
  const stableRows = crossEntropy(ordinary, target, { reduction: 'none' }).loss;
  const naiveRows = naiveCrossEntropy(ordinary, target, { reduction: 'none' }).loss;
  let maxDiff = 0;
  for (let n = 0; n < N; n++) maxDiff = Math.max(maxDiff, Math.abs(stableRows[n]! - naiveRows[n]!));

  const confident = { data: Float64Array.from([0, 1000, 0, 0, 0]), shape: [1, 5] as const };
  const confidentTarget = Int32Array.from([0]);
  const right = crossEntropy(confident, confidentTarget).loss;
  const naive = naiveCrossEntropy(confident, confidentTarget).loss;
  return {
    key: 'stability',
    title: '2. The naive −log(softmax(x)[y] + 1e-10) against a stable cross-entropy',
    lines: [
      `ordinary rows (${N} × ${V}, logits in [−3, 3]): largest difference ${maxDiff.toExponential(2)} nats (agree to 1e-6: ${maxDiff < 1e-6 ? 'yes' : 'NO'})`,
      `confident row logits [0, 1000, 0, 0, 0], target 0:`,
      `  naive    ${naive.toFixed(2)} nats   (softmax(x)[0] = e^−1000 underflows to 0; the 1e-10 caps the loss at −ln 1e-10)`,
      `  xent     ${right.toFixed(2)} nats  (log-sum-exp: 1000 + ln(1 + 4e^−1000) − 0)`,
    ],
    data: {
      ordinary_max_abs_difference_nats: maxDiff,
      confident_naive_nats: naive,
      confident_stable_nats: right,
    },
  };
}
