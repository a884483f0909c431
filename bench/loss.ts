/**
 * `npm run bench -- loss [--rows N] [--vocab V] [--reps R]`: the float64 JavaScript
 * reference path of crossEntropy on float32 logits (forward; forward+backward into a new
 * buffer; forward+backward in place), next to a plain read of the logits (the memory floor).
 * Prints medians and min over R runs after one warm-up. This is the baseline the
 * WebAssembly kernels (bench/ce.ts) are compared with; no claims are made here.
 */
import { crossEntropy } from '../src/loss/cross-entropy.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const N = arg('rows', 1024);
const V = arg('vocab', 32000);
const R = arg('reps', 5);

const logits = new Float32Array(N * V);
let s = 12345;
for (let k = 0; k < logits.length; k++) {
  s = (s * 1103515245 + 12345) >>> 0;
  logits[k] = (s / 2 ** 32) * 8 - 4;
}
const target = Int32Array.from({ length: N }, (_, i) => (i * 7919) % V);
const shape = [N, V] as const;

function time(fn: () => void): { median: number; min: number } {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < R; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  ts.sort((a, b) => a - b);
  return { median: ts[Math.floor(ts.length / 2)] as number, min: ts[0] as number };
}

let sink = 0;
const rows: [string, { median: number; min: number }][] = [
  [
    'read logits once (sum)',
    time(() => {
      let a = 0;
      for (let k = 0; k < logits.length; k++) a += logits[k] as number;
      sink += a;
    }),
  ],
  [
    'crossEntropy forward',
    time(() => {
      sink += crossEntropy({ data: logits, shape }, target).loss;
    }),
  ],
  [
    'crossEntropy fwd+bwd (new grad)',
    time(() => {
      sink += crossEntropy({ data: logits, shape }, target, { grad: true }).loss;
    }),
  ],
  [
    'crossEntropy fwd+bwd (out buffer)',
    (() => {
      const out = new Float32Array(N * V);
      return time(() => {
        sink += crossEntropy({ data: logits, shape }, target, { out }).loss;
      });
    })(),
  ],
];
console.log(`crossEntropy, JS float64 reference path, float32 logits ${N}×${V}, ${R} runs after a warm-up (1 thread)`);
const floor = rows[0]![1].median;
for (const [name, t] of rows) {
  console.log(
    `${name.padEnd(36)} median ${t.median.toFixed(3)} s  min ${t.min.toFixed(3)} s  (${(t.median / floor).toFixed(1)}× the read)`,
  );
}
if (Number.isNaN(sink)) console.log('');
