/**
 * crossEntropy on the WebAssembly kernels: the same `CrossEntropyArgs` as the float64 JS
 * reference kernel (src/loss/cross-entropy-kernel.ts) and the same results (within float32
 * rounding of the per-element work), for float32 logits.
 *
 * Split of work:
 *   wasm, per row (parallel over rows):  m = max x, logS = ln Σ e^(x−m), Σ x or Σ w·x (label
 *     smoothing), x_target, and — fused in the same sweep while the row is in cache — the
 *     gradient g = α·p − cc·w − cb·[v = t] written to `out` or over the logits.
 *   JS, per row in row order (O(N), float64, Neumaier): the row losses and the reduction,
 *     with the formulas of cross-entropy-kernel.ts (PyTorch 1.13 semantics).
 * The 'mean' denominators depend on the targets only, so every row's gradient coefficients
 * are known before the sweep: forward+backward reads the logits from memory once.
 *
 * Extra memory: O(N) (stats 32 B/row, coefficients 32 B/row) when the logits (and `out`)
 * are wasm-resident (allocFloat32). Otherwise the N×V arrays are staged through 16 MiB
 * buffers in wasm memory, a block of rows at a time (copy in, run, copy the gradient out):
 * O(N) + a constant, at the price of one copy pass over each staged array.
 *
 * NaN or +Infinity in the logits is detected by the kernel (the row's logS is NaN) and
 * reported exactly as the JS validator does (first offending row, then its first column); the
 * JS path's separate validation pass over the logits is skipped. The offending row is never
 * overwritten, but with `inPlace` other rows may already hold their gradient when the error is
 * thrown (the JS path validates before writing anything).
 *
 * Accuracy (float32 logits, against the float64 path): forward-only row sums use a degree-4 exp
 * whose error bound keeps every loss within 6.6e-6 relative (see expClampLo4); with a gradient,
 * sums and gradient use the degree-5 exp (1.6e-7), since logS enters every p_v and label-
 * smoothing gradients α·p − cc cancel; the target entry α·expm1(·) + (α − cb) is float64.
 */
import {
  type CrossEntropyArgs,
  crossEntropyCoefficients,
  crossEntropyDenominators,
  reduceCrossEntropy,
} from '../core/cross-entropy-coefficients.js';
import { NeumaierSum } from '../core/sum.js';
import type { FloatArray } from '../core/tensor.js';
import { ceRows, ceSoftRows } from './ce-kernels.js';
import { isKernelResident, kernelRuntime, Scratch } from './runtime.js';

/** Bytes per staging buffer when an N×V array is not wasm-resident (rows are copied through it). */
export const STAGE_BYTES = 16 * 2 ** 20;
let stageBytes = STAGE_BYTES;

/** The staging buffer size in bytes (STAGE_BYTES unless a test changed it). */
export function stageBytesNow(): number {
  return stageBytes;
}

/** Internal, for tests: a smaller staging size exercises the row-block loop on small inputs. Returns the previous size. */
export function setStageBytesForTesting(bytes: number): number {
  const prev = stageBytes;
  stageBytes = bytes;
  return prev;
}

export interface WasmRunOptions {
  /** Threads to use (1 = the calling thread only). */
  threads: number;
  /** Called with (row) when the kernel found NaN or +Infinity in that row; must throw. */
  onNonFinite: (row: number) => never;
}

/** Runs crossEntropy for float32 logits on the kernels. Returns the reduced loss (for 'none': Σ lossOut). */
export function crossEntropyWasm(a: CrossEntropyArgs, run: WasmRunOptions): number {
  const { n, v, target, softTarget, weight, ignoreIndex, scale, gradOut, lossOut } = a;
  const x = a.logits as Float32Array;
  const eps = a.labelSmoothing;
  const z = a.zLoss;
  const soft = softTarget !== null;
  const rt = kernelRuntime();
  const sc = new Scratch(rt);
  try {
    // 'mean' denominators and reduction coefficients: the JS kernel's own.
    const den = crossEntropyDenominators(a);
    const { weightTotal } = den;
    const co = crossEntropyCoefficients(a, den);
    const { epsOverV, cMain, cSmooth, cZ } = co;

    // O(N) and O(V) inputs in wasm memory.
    const wp = weight === null ? 0 : sc.f32(weight);
    const wp64 = weight === null ? 0 : sc.f64(weight);
    const statsP = sc.alloc(n * 32);
    const wantGrad = gradOut !== null;
    const inPlace = gradOut === x;

    // N×V arrays: used where they are when wasm-resident; otherwise staged through bounded
    // buffers, STAGE_BYTES at a time (copy rows in, run, copy the gradient rows out), so the
    // extra memory stays O(N) + a constant whatever the input size.
    const xRes = isKernelResident(x);
    const gRes = !wantGrad || (inPlace ? xRes : gradOut instanceof Float32Array && isKernelResident(gradOut));
    const q = softTarget;
    const qRes = q === null || (q instanceof Float32Array && isKernelResident(q));
    const chunkRows = xRes && gRes && qRes ? Math.max(n, 1) : Math.max(1, Math.floor(stageBytes / (v * 4)));
    const stage = (resident: boolean, a: { byteOffset: number } | null): number =>
      resident ? (a as { byteOffset: number }).byteOffset : sc.alloc(Math.min(n, chunkRows) * v * 4);
    const xs = stage(xRes, x);
    const gs = !wantGrad ? 0 : inPlace ? xs : stage(gRes, gradOut as Float32Array);
    const qs = q === null ? 0 : stage(qRes, q as Float32Array);

    let coefP = 0;
    let tk = 0;
    if (soft) {
      if (wantGrad) {
        coefP = sc.alloc(n * 16);
        const cf = rt.f64(coefP, 2 * n);
        const zc = z > 0 ? 2 * cZ : 0;
        for (let i = 0; i < n; i++) {
          cf[2 * i] = cMain;
          cf[2 * i + 1] = zc;
        }
      }
    } else {
      const t = target as Int32Array;
      tk = sc.i32(t);
      // Rows whose target is the ignore index must have no target element in the kernel even
      // when ignoreIndex lies in [0, V): pass a copy with such rows set to −1.
      if (ignoreIndex >= 0 && ignoreIndex < v) {
        tk = sc.alloc(n * 4);
        const tv = rt.i32(tk, n);
        for (let i = 0; i < n; i++) tv[i] = t[i] === ignoreIndex ? -1 : (t[i] as number);
      }
      if (wantGrad) {
        coefP = sc.alloc(n * 32);
        const cf = rt.f64(coefP, 4 * n);
        const zc = z > 0 ? 2 * cZ : 0;
        for (let i = 0; i < n; i++) {
          const y = t[i] as number;
          const o = 4 * i;
          if (y === ignoreIndex) {
            cf[o] = cf[o + 1] = cf[o + 2] = cf[o + 3] = 0;
            continue;
          }
          const wy = weight === null ? 1 : (weight[y] as number);
          cf[o] = cMain * wy + (eps > 0 ? cSmooth * weightTotal : 0);
          cf[o + 1] = zc;
          cf[o + 2] = cMain * wy;
          cf[o + 3] = eps > 0 ? cSmooth : 0;
        }
      }
    }

    for (let r0 = 0; r0 < n; r0 += chunkRows) {
      const r1 = Math.min(n, r0 + chunkRows);
      const len = (r1 - r0) * v;
      // A staged buffer holds rows [r0, r1) at its start: the kernels address row r at
      // base + r·V·4, so pass base − r0·V·4 (wrapping modulo 2^32 like the wasm32 address).
      const base = (p: number, resident: boolean): number => (resident ? p : (p - r0 * v * 4) | 0);
      if (!xRes) rt.f32(xs, len).set(x.subarray(r0 * v, r1 * v));
      if (!qRes) rt.f32(qs, len).set((q as Float32Array | Float64Array).subarray(r0 * v, r1 * v));
      const xp = base(xs, xRes);
      const gp = !wantGrad ? 0 : base(gs, inPlace ? xRes : gRes);
      if (soft) {
        const probs = base(qs, qRes);
        ceSoftRows(
          {
            x: xp,
            probs,
            grad: gp,
            V: v,
            r0,
            r1,
            stats: statsP,
            weight32: wp,
            weight64: wp64,
            labelSmoothing: eps,
            coef: coefP,
          },
          run.threads,
        );
      } else {
        ceRows(
          {
            x: xp,
            grad: gp,
            V: v,
            r0,
            r1,
            stats: statsP,
            targets: tk,
            smooth: eps > 0,
            weight32: wp,
            weight64: wp64,
            coef: coefP,
          },
          run.threads,
        );
      }
      if (wantGrad && !(inPlace ? xRes : gRes)) (gradOut as FloatArray).set(rt.f32(gs, len), r0 * v);
    }

    // Per-row losses and the reduction, in row order (deterministic whatever the threads).
    const st = rt.f64(statsP, 4 * n);
    for (let i = 0; i < n; i++) if (Number.isNaN(st[4 * i + 1])) run.onNonFinite(i);
    const sumMain = new NeumaierSum();
    const sumSmooth = new NeumaierSum();
    const sumZ = new NeumaierSum();
    for (let i = 0; i < n; i++) {
      const o = 4 * i;
      const m = st[o] as number;
      const logSum = st[o + 1] as number;
      let main: number;
      let smooth = 0;
      if (soft) {
        main = (st[o + 2] as number) * logSum - (st[o + 3] as number); // S·logS − T
      } else {
        const y = (target as Int32Array)[i] as number;
        if (y === ignoreIndex) {
          if (lossOut !== null) lossOut[i] = 0;
          continue;
        }
        const lpy = (st[o + 3] as number) - m - logSum;
        main = weight === null ? -lpy : -(weight[y] as number) * lpy;
        // −Σ_c w_c·lp_c = W·(m + logS) − Σ_c w_c·x_c
        if (eps > 0) smooth = weightTotal * m + weightTotal * logSum - (st[o + 2] as number);
      }
      const lse = m + logSum;
      const zi = z > 0 ? lse * lse : 0;
      sumMain.add(main);
      if (eps > 0 && !soft) sumSmooth.add(smooth);
      if (z > 0) sumZ.add(zi);
      if (lossOut !== null) {
        let li = soft ? main : eps > 0 ? (1 - eps) * main + epsOverV * smooth : main;
        if (z > 0) li += z * zi;
        lossOut[i] = scale * li;
      }
    }
    const loss = reduceCrossEntropy(a, den, co, { main: sumMain.value, smooth: sumSmooth.value, z: sumZ.value });
    return loss;
  } finally {
    sc.release();
  }
}
