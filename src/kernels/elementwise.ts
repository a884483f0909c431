/**
 * The elementwise losses on the WebAssembly kernels, with the arguments of their float64 JS
 * reference kernels (src/loss/binary-cross-entropy-with-logits.ts, src/loss/kl-divergence.ts):
 * binaryCrossEntropyWithLogits and klDivergence for float32 inputs.
 *
 * Work is split into fixed chunks of ELEMENT_CHUNK elements (thread parts are whole chunks);
 * each chunk's float64 sum is written by the kernel and the chunk sums are added on the main
 * thread in order with Neumaier compensation, so the result is the same for every thread count.
 * Ordinary (non-wasm-resident) arrays are staged through bounded buffers, as for crossEntropy.
 */

import { NeumaierSum } from '../core/sum.js';
import type { FloatArray, Reduction } from '../core/tensor.js';
import { bceLogitsRange, ELEMENT_CHUNK, klRange } from './ce-kernels.js';
import { stageBytesNow } from './cross-entropy.js';
import { isKernelResident, kernelRuntime, Scratch } from './runtime.js';

/** One block of an elementwise call: inputs a and b, outputs, element range (see runElementwise). */
interface Block {
  a: number;
  b: number;
  i0: number;
  i1: number;
  writeLoss: boolean;
  writeGrad: boolean;
  loss: number;
  grad: number;
  partial: number;
}

/**
 * Runs an elementwise kernel over n elements. Inputs and outputs that are not wasm-resident are
 * staged through bounded buffers, a block of whole chunks at a time (copy in, run, copy out), so
 * the wasm memory needed stays O(n / ELEMENT_CHUNK) + a constant. `run(block)` runs the kernel on
 * one block: element range [i0, i1), the two inputs' and the outputs' base addresses (addressed
 * absolutely by element index) and which outputs to write.
 * Returns Σ of the per-chunk float64 sums, in chunk order (Neumaier).
 */
function runElementwise(
  a: Float32Array,
  b: Float32Array,
  lossOut: Float64Array | null,
  scale: number,
  gradOut: FloatArray | null,
  run: (block: Block) => void,
): number {
  const n = a.length;
  const rt = kernelRuntime();
  const sc = new Scratch(rt);
  try {
    const aRes = isKernelResident(a);
    const bRes = isKernelResident(b);
    const inPlace = gradOut === a;
    const gRes = gradOut === null || (inPlace ? aRes : gradOut instanceof Float32Array && isKernelResident(gradOut));
    const staged = !aRes || !bRes || !gRes || lossOut !== null;
    const block = staged
      ? Math.max(1, Math.floor(stageBytesNow() / 8 / ELEMENT_CHUNK)) * ELEMENT_CHUNK
      : Math.max(n, 1);
    const cap = Math.min(n, block);
    const as = aRes ? a.byteOffset : sc.alloc(cap * 4);
    const bs = bRes ? b.byteOffset : sc.alloc(cap * 4);
    const gs = gradOut === null ? 0 : inPlace ? as : gRes ? (gradOut as Float32Array).byteOffset : sc.alloc(cap * 4);
    const ls = lossOut === null ? 0 : sc.alloc(cap * 8);
    const chunks = Math.ceil(n / ELEMENT_CHUNK);
    const partialP = sc.alloc(chunks * 8);
    for (let e0 = 0; e0 < n; e0 += block) {
      const e1 = Math.min(n, e0 + block);
      const len = e1 - e0;
      if (!aRes) rt.f32(as, len).set(a.subarray(e0, e1));
      if (!bRes) rt.f32(bs, len).set(b.subarray(e0, e1));
      // Staged buffers hold elements [e0, e1) at their start; the kernel addresses element i at
      // base + 4i (8i for losses): pass base − 4·e0, wrapping modulo 2^32 like wasm32 addresses.
      const ap = aRes ? as : (as - e0 * 4) | 0;
      const bp = bRes ? bs : (bs - e0 * 4) | 0;
      const gp = gradOut === null ? 0 : (inPlace ? aRes : gRes) ? gs : (gs - e0 * 4) | 0;
      const lp = lossOut === null ? 0 : (ls - e0 * 8) | 0;
      run({
        a: ap,
        b: bp,
        i0: e0,
        i1: e1,
        writeLoss: lossOut !== null,
        writeGrad: gradOut !== null,
        loss: lp,
        grad: gp,
        partial: partialP,
      });
      if (gradOut !== null && !(inPlace ? aRes : gRes)) gradOut.set(rt.f32(gs, len), e0);
      if (lossOut !== null) {
        const l = rt.f64(ls, len);
        for (let i = 0; i < len; i++) lossOut[e0 + i] = scale * (l[i] as number);
      }
    }
    const parts = rt.f64(partialP, chunks);
    const s = new NeumaierSum();
    for (let k = 0; k < chunks; k++) s.add(parts[k] as number);
    return s.value;
  } finally {
    sc.release();
  }
}

/** binaryCrossEntropyWithLogitsUnchecked for float32 logits and targets (same arguments, same results). */
export function binaryCrossEntropyWithLogitsWasm(
  x: Float32Array,
  y: Float32Array,
  w: Float64Array | null,
  wp: number,
  pw: Float64Array | null,
  pwp: number,
  reduction: Reduction,
  scale: number,
  lossOut: Float64Array | null,
  gradOut: FloatArray | null,
  threads: number,
): number {
  const n = x.length;
  const rt = kernelRuntime();
  const sc = new Scratch(rt);
  try {
    const wPtr = w === null ? 0 : sc.f64(w);
    const pwPtr = pw === null ? 0 : sc.f64(pw);
    const gscale = reduction === 'mean' ? scale / n : scale;
    const sum = runElementwise(x, y, lossOut, scale, gradOut, (blk) =>
      bceLogitsRange(
        {
          i0: blk.i0,
          i1: blk.i1,
          writeLoss: blk.writeLoss,
          writeGrad: blk.writeGrad,
          loss: blk.loss,
          grad: blk.grad,
          partial: blk.partial,
          x: blk.a,
          y: blk.b,
          weight: wPtr,
          weightPeriod: wp,
          posWeight: pwPtr,
          posWeightPeriod: pwp,
          gradScale: gscale,
        },
        threads,
      ),
    );
    return reduction === 'mean' ? (scale * sum) / n : scale * sum;
  } finally {
    sc.release();
  }
}

/** klDivergenceUnchecked for float32 input and target (same arguments, same results). */
export function klDivergenceWasm(
  input: Float32Array,
  target: Float32Array,
  logTarget: boolean,
  reduction: 'batchmean' | 'mean' | 'sum' | 'none',
  batch: number,
  scale: number,
  lossOut: Float64Array | null,
  gradOut: FloatArray | null,
  threads: number,
): number {
  const n = input.length;
  const div = reduction === 'batchmean' ? batch : reduction === 'mean' ? n : 1;
  const sum = runElementwise(input, target, lossOut, scale, gradOut, (blk) =>
    klRange(
      {
        i0: blk.i0,
        i1: blk.i1,
        writeLoss: blk.writeLoss,
        writeGrad: blk.writeGrad,
        loss: blk.loss,
        grad: blk.grad,
        partial: blk.partial,
        input: blk.a,
        target: blk.b,
        logTarget,
        gradScale: scale / div,
      },
      threads,
    ),
  );
  return (scale * sum) / div;
}

/**
 * binaryCrossEntropyWithLogitsWasm with the exact signature of the JS reference kernel, so a
 * public function can swap one for the other without touching its call (callers pass only
 * Float32Array data when they choose the kernels).
 */
export function bceWithLogitsKernel(threads: number) {
  return (
    x: FloatArray,
    y: FloatArray,
    w: Float64Array | null,
    wp: number,
    pw: Float64Array | null,
    pwp: number,
    reduction: Reduction,
    scale: number,
    lossOut: Float64Array | null,
    gradOut: FloatArray | null,
  ): number =>
    binaryCrossEntropyWithLogitsWasm(
      x as Float32Array,
      y as Float32Array,
      w,
      wp,
      pw,
      pwp,
      reduction,
      scale,
      lossOut,
      gradOut,
      threads,
    );
}

/** klDivergenceWasm with the exact signature of the JS reference kernel (see bceWithLogitsKernel). */
export function klDivergenceKernel(threads: number) {
  return (
    input: FloatArray,
    target: FloatArray,
    logTarget: boolean,
    reduction: 'batchmean' | 'mean' | 'sum' | 'none',
    batch: number,
    scale: number,
    lossOut: Float64Array | null,
    gradOut: FloatArray | null,
  ): number =>
    klDivergenceWasm(
      input as Float32Array,
      target as Float32Array,
      logTarget,
      reduction,
      batch,
      scale,
      lossOut,
      gradOut,
      threads,
    );
}
