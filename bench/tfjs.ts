/**
 * `npm run bench -- tfjs [--reps 5] [--shapes 512x1000,1024x4000]`
 * Cross-entropy forward+backward on TensorFlow.js's CPU backend, side by side in
 * one run, median of --reps runs (after one warm-up):
 *   xent    xent/tfjs sparseSoftmaxCrossEntropy via dataSync (library backend 'auto':
 *           WebAssembly kernels where available; and again with backend 'js', the float64 JS path)
 *   onehot  tf.losses.softmaxCrossEntropy(tf.oneHot(labels), logits) (tfjs built-in)
 *   expr    mean(logSumExp(logits) − Σ logits·oneHot), tfjs autodiff
 * plus forward-only (no gradient tape) for xent and the built-in. Shapes are N×V.
 * Reports milliseconds and the ratio to xent; nothing here is asserted.
 */

import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { median } from '../src/core/stats.js';
import { sparseSoftmaxCrossEntropy } from '../src/tfjs/index.js';

const { values: args } = parseArgs({
  options: { reps: { type: 'string', default: '5' }, shapes: { type: 'string', default: '512x1000,1024x4000' } },
});
const reps = Number(args.reps);
const shapes = args.shapes!.split(',').map((s) => s.split('x').map(Number) as [number, number]);

await tf.setBackend('cpu');
const warn = console.warn;
console.warn = () => {};
tf.tensor([0]).dispose();
console.warn = warn;

function time(fn: () => void): number {
  fn(); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

console.log(
  `tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}, median of ${reps} runs, forward+backward unless noted`,
);
for (const [n, v] of shapes) {
  const logits = tf.randomNormal([n, v], 0, 2, 'float32', 1);
  const labels = tf.randomUniform([n], 0, v, 'int32', 2);
  const onehot = tf.oneHot(labels, v).toFloat();
  const labelsArr = Int32Array.from(labels.dataSync());
  // tidy bodies return nothing: tidy walks a returned typed array element by element.
  const gradOf = (f: (x: tf.Tensor) => tf.Tensor) => () =>
    tf.tidy(() => {
      tf.grad(f)(logits).dataSync();
    });
  const xent = time(gradOf((x) => sparseSoftmaxCrossEntropy(x, labelsArr)));
  const xentJs = time(gradOf((x) => sparseSoftmaxCrossEntropy(x, labelsArr, { backend: 'js' })));
  const builtin = time(gradOf((x) => tf.losses.softmaxCrossEntropy(onehot, x)));
  const expr = time(gradOf((x) => tf.mean(tf.sub(tf.logSumExp(x, 1), tf.sum(tf.mul(x, onehot), 1)))));
  const xentFwd = time(() =>
    tf.tidy(() => {
      sparseSoftmaxCrossEntropy(logits, labelsArr).dataSync();
    }),
  );
  const builtinFwd = time(() =>
    tf.tidy(() => {
      tf.losses.softmaxCrossEntropy(onehot, logits).dataSync();
    }),
  );
  const r = (ms: number, base: number) => `${ms.toFixed(1).padStart(8)} ms (${(ms / base).toFixed(2)}×)`;
  console.log(`${n}×${v}`);
  console.log(`  xent/tfjs sparseSoftmaxCrossEntropy      ${r(xent, xent)}   forward only ${r(xentFwd, xentFwd)}`);
  console.log(`  the same, backend 'js' (float64 JS path) ${r(xentJs, xent)}`);
  console.log(
    `  tf.losses.softmaxCrossEntropy (one-hot)  ${r(builtin, xent)}   forward only ${r(builtinFwd, xentFwd)}`,
  );
  console.log(`  tfjs expression, autodiff                ${r(expr, xent)}`);
  tf.dispose([logits, labels, onehot]);
}
