/**
 * The relaxed-SIMD build (ce-relaxed.wasm: fused multiply-add) is loaded where the engine
 * accepts it; Node 20 needs --experimental-wasm-relaxed-simd, so this runs a child process
 * with that flag and checks the build it picked against the float64 JS path: random rows in
 * every option, confident rows, ±1e4 and −inf, threads bit-identical. Skipped where the engine
 * offers no relaxed SIMD even with the flag.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/shared.js';

const SCRIPT = `
const xent = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src', 'index.ts')).href)});
const rt = await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src', 'kernels', 'runtime.ts')).href)});
const out = { available: xent.kernelsAvailable(), build: rt.kernelBuild(), worst: 0, worstGrad: 0, identical: true };
let s = 7;
const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
for (const [n, v] of [[5, 3], [7, 1001], [3, 4099], [64, 2050]]) {
  const x = new Float32Array(n * v).map(() => (r() - 0.5) * 16);
  x[0] = 1e4; x[1] = -Infinity;
  const t = new Int32Array(n).map((_, i) => (i % 4 === 3 ? -100 : Math.floor(r() * v)));
  for (let i = 0; i < n; i += 5) for (let j = 0; j < v; j++) x[i * v + j] = j === t[i] ? 0 : -20; // confident rows
  for (const o of [{}, { labelSmoothing: 0.1, weight: Array.from({ length: v }, () => 0.5 + r()) }, { zLoss: 1e-3, reduction: 'none' }]) {
    const a = xent.crossEntropy({ data: x, shape: [n, v] }, t, { ...o, grad: true, backend: 'wasm', threads: 1 });
    const b = xent.crossEntropy({ data: Float64Array.from(x), shape: [n, v] }, t, { ...o, grad: true, backend: 'js' });
    const c = xent.crossEntropy({ data: x, shape: [n, v] }, t, { ...o, grad: true, backend: 'wasm', threads: 3 });
    const la = typeof a.loss === 'number' ? [a.loss] : a.loss, lb = typeof b.loss === 'number' ? [b.loss] : b.loss, lc = typeof c.loss === 'number' ? [c.loss] : c.loss;
    for (let i = 0; i < la.length; i++) {
      if (lb[i] !== 0) out.worst = Math.max(out.worst, Math.abs(la[i] - lb[i]) / Math.abs(lb[i]));
      if (!Object.is(la[i], lc[i])) out.identical = false;
    }
    let m = 0;
    for (let i = 0; i < n * v; i++) m = Math.max(m, Math.abs(b.grad[i]));
    for (let i = 0; i < n * v; i++) {
      // In units of the kernel tests' tolerance (1e-5 relative + 1e-6 of the largest entry): ≤ 1 passes.
      out.worstGrad = Math.max(out.worstGrad, Math.abs(a.grad[i] - b.grad[i]) / (1e-5 * Math.abs(b.grad[i]) + 1e-6 * m + 1e-12));
      if (!Object.is(a.grad[i], c.grad[i])) out.identical = false;
    }
  }
}
console.log(JSON.stringify(out));
process.exit(0);
`;

test('relaxed-SIMD build (fused multiply-add): chosen when the engine validates it, same answers as the JS path', () => {
  const r = spawnSync(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '--input-type=module', '--eval', SCRIPT],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0 && /bad option|unknown|not allowed/i.test(r.stderr)) return; // the flag is gone (relaxed SIMD on by default): the main suite already runs that build
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
    available: boolean;
    build: string;
    worst: number;
    worstGrad: number;
    identical: boolean;
  };
  assert.ok(out.available);
  assert.equal(out.build, 'relaxed-simd');
  assert.ok(out.worst <= 1e-5, `worst relative loss error ${out.worst}`);
  assert.ok(out.worstGrad <= 1, `worst gradient error ${out.worstGrad} × the tolerance`);
  assert.ok(out.identical, 'threads changed a bit');
});
