/**
 * Where 'auto' should switch crossEntropy from the JS path to the WebAssembly kernels, and from
 * one thread to several: times forward+backward (grad: true) on ordinary Float32Arrays (so the
 * kernels pay their copy into wasm memory) for growing N×V, JS vs wasm on 1 and 2 threads.
 *   npx tsx bench/ce/crossover.ts [--reps 15]
 * Prints medians in microseconds and the ratios; dispatch.ts's AUTO_MIN_ELEMENTS and
 * THREADS_MIN_ELEMENTS come from this table.
 */

import { median } from '../../src/core/stats.js';
import { crossEntropy } from '../../src/index.js';

const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 15;

function time(f: () => void): number {
  f();
  f();
  const ts: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    f();
    ts.push((performance.now() - t0) * 1000);
  }
  return median(ts);
}

const shapes: Array<[number, number]> = [
  [4, 16],
  [8, 64],
  [16, 128],
  [16, 512],
  [32, 1024],
  [64, 2048],
  [128, 4096],
  [256, 8192],
  [512, 8192],
];
console.log('N×V        elements     js µs   wasm1 µs   wasm2 µs   js/wasm1   wasm1/wasm2');
for (const [n, v] of shapes) {
  const x = new Float32Array(n * v);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 4;
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = (i * 7919) % v;
  const m = { data: x, shape: [n, v] as [number, number] };
  const js = time(() => crossEntropy(m, t, { grad: true, backend: 'js' }));
  const w1 = time(() => crossEntropy(m, t, { grad: true, backend: 'wasm', threads: 1 }));
  const w2 = time(() => crossEntropy(m, t, { grad: true, backend: 'wasm', threads: 2 }));
  console.log(
    `${`${n}×${v}`.padEnd(10)} ${String(n * v).padStart(8)} ${js.toFixed(0).padStart(9)} ${w1.toFixed(0).padStart(10)} ${w2.toFixed(0).padStart(10)} ${(js / w1).toFixed(2).padStart(10)} ${(w1 / w2).toFixed(2).padStart(13)}`,
  );
}
process.exit(0);
