/**
 * The per-row KL-divergence sums on WebAssembly SIMD (module `kld`:
 * src/kernels/assembly/kld.ts) for large vocabularies: the same arithmetic as kld-rows.ts with
 * SIMD e^x instead of Math.exp (float64-accurate and rounded to float32, as expf, for
 * llama.cpp's arithmetic; a float32 polynomial, 1.6e-7 relative, for the exact mode's sum),
 * Math.exp being what dominates at V = 32,000. Used from KLD_WASM_MIN_VOCAB on (below it the
 * JavaScript path runs); XENT_KLD_WASM=0 turns it off.
 *
 * The typed entry points (one per export) run on the calling thread, on the module's kernel
 * instance (runtime.ts: its own memory and allocator, holding three rows, two float32 [V] and
 * one uint16 [V], copied in per call); a trap throws the kernel XentError.
 */
import type { KldRow } from './kld-rows.js';
import { KLD_MODULE, type KldKernel } from './modules.js';
import { KernelInstance, loadModule } from './runtime.js';

export const KLD_WASM_MIN_VOCAB = 2048;

const f = Math.fround;

export class KldKernels {
  private V = 0;
  private xp = 0;
  private bp = 0;
  private qp = 0;
  private sp = 0;
  private s!: Float32Array;
  private x!: Float32Array;
  private b!: Float32Array;
  private q!: Uint16Array;

  /**
   * `exactExp`: e^x computed in float64 and rounded to float32 (expf to within ~1e-7 of its
   * inputs: llama.cpp's figures to every printed digit) instead of the faster float32
   * polynomial (1.6e-7 relative). The llama methods use it; the exact-mode sum does not need it.
   */
  constructor(
    readonly instance: KernelInstance<KldKernel>,
    readonly exactExp = true,
  ) {}

  // ---- the typed entry points (pointers: byte offsets in the instance's memory) ----

  /** Σ_v e^(x_v − max) of float32 x [V] (float32 polynomial e^x, float64 sum). */
  sumExp(a: { x: number; V: number; max: number }): number {
    return this.instance.call('sumExp', a.x, a.V, a.max);
  }

  /** sumExp with llama.cpp's expf (e^x in float64, rounded to float32). */
  sumExpF(a: { x: number; V: number; max: number }): number {
    return this.instance.call('sumExpF', a.x, a.V, a.max);
  }

  /**
   * llama.cpp's kl_divergence sum of model logits x [V] against a uint16 base row q [V]:
   * Σ_{plb > −16} e^plb·((plb − x_v) + top), plb = scale·q_v + minLogProb.
   */
  kldLlama(a: { x: number; q: number; V: number; scale: number; minLogProb: number; top: number }): number {
    return this.instance.call('kldLlama', a.x, a.q, a.V, a.scale, a.minLogProb, a.top);
  }

  /** kldLlama with llama.cpp's expf. */
  kldLlamaF(a: { x: number; q: number; V: number; scale: number; minLogProb: number; top: number }): number {
    return this.instance.call('kldLlamaF', a.x, a.q, a.V, a.scale, a.minLogProb, a.top);
  }

  /** Σ_v e^(base_v)·(base_v − model_v) of float32 log-probability rows [V] (base_v = −inf adds 0). */
  kldExact(a: { base: number; model: number; V: number }): number {
    return this.instance.call('kldExact', a.base, a.model, a.V);
  }

  /** llama.cpp's uint16 quantisation of float32 x [V] into q [V]: nearest(inv·(x − floor)) above floor, else 0. */
  quantRow(a: { x: number; V: number; floor: number; inv: number; q: number }): void {
    this.instance.call('quantRow', a.x, a.V, a.floor, a.inv, a.q);
  }

  /** The row maximum and minimum of float32 x [V] into float32 out[0], out[1]. */
  minMax(a: { x: number; V: number; out: number }): void {
    this.instance.call('minMax', a.x, a.V, a.out);
  }

  /** Tests only: part `trapPart` of `threads` parts traps (kind 0: unreachable, 1: out-of-bounds load). */
  trapForTesting(a: { trapPart: number; kind: 0 | 1 }, threads: number): void {
    this.instance.run('trapForTesting', threads, (part, parts) => [a.trapPart, a.kind, part, parts]);
  }

  // ---- rows (kld-rows.ts's functions with the SIMD sums) ----

  private sum(V: number, mx: number): number {
    return this.exactExp ? this.sumExpF({ x: this.xp, V, max: mx }) : this.sumExp({ x: this.xp, V, max: mx });
  }

  /** Buffers for rows of V: x and b float32 [V], q uint16 [V + 8], s float32 [2]. */
  private ensure(V: number): void {
    if (V === this.V) return;
    const k = this.instance;
    if (this.V !== 0) for (const p of [this.xp, this.bp, this.qp, this.sp]) k.release(p);
    this.xp = k.alloc(V * 4);
    this.bp = k.alloc(V * 4);
    this.qp = k.alloc((V + 8) * 2);
    this.sp = k.alloc(8);
    this.x = k.f32(this.xp, V);
    this.b = k.f32(this.bp, V);
    this.q = k.u16(this.qp, V);
    this.s = k.f32(this.sp, 2);
    this.V = V;
  }

  /** llama.cpp's base-pass quantisation (kld-rows.ts quantizeBaseRow) with the SIMD exp sum. */
  quantizeBaseRow(
    x: Float32Array,
    o: number,
    V: number,
    tok: number,
    out: Uint16Array,
    f32: Float32Array,
    bo: number,
  ): number {
    this.ensure(V);
    this.x.set(x.subarray(o, o + V));
    this.minMax({ x: this.xp, V, out: this.sp });
    const mx = this.s[0]!;
    const mn = this.s[1]!;
    const minL = Math.max(mn, f(mx - 16));
    const lse = f(Math.log(this.sum(V, mx)));
    const minLogProb = f(f(minL - mx) - lse);
    const scale = f(f(mx - minL) / 65535);
    f32[bo >> 1] = scale;
    f32[(bo >> 1) + 1] = minLogProb;
    const q = bo + 4;
    if (scale !== 0) {
      this.quantRow({ x: this.xp, V, floor: minL, inv: f(1 / scale), q: this.qp });
      out.set(this.q, q);
    } else {
      out.fill(0, q, q + V);
    }
    return f(f(mx + lse) - x[o + tok]!);
  }

  /** kld-rows.ts kldRowLlama with the SIMD sums. */
  kldRowLlama(
    x: Float32Array,
    o: number,
    V: number,
    base: Uint16Array,
    f32: Float32Array,
    bo: number,
    tok: number,
    r: KldRow,
  ): void {
    this.ensure(V);
    let mx = x[o]!;
    let imax = 0;
    for (let v = 1; v < V; v++) {
      const y = x[o + v]!;
      if (y > mx) {
        mx = y;
        imax = v;
      }
    }
    this.x.set(x.subarray(o, o + V));
    const lse = f(Math.log(this.sum(V, mx)));
    const scale = f32[bo >> 1]!;
    const minLogProb = f32[(bo >> 1) + 1]!;
    const qo = bo + 4;
    // The base's top token: the first largest stored value (ln p is increasing in q when scale > 0).
    let qmax = base[qo]!;
    let imaxBase = 0;
    for (let v = 1; v < V; v++) {
      if (base[qo + v]! > qmax) {
        qmax = base[qo + v]!;
        imaxBase = v;
      }
    }
    this.q.set(base.subarray(qo, qo + V));
    const top = f(mx + lse);
    const nll = f(top - x[o + tok]!);
    const nllBase = -f(f(scale * base[qo + tok]!) + minLogProb);
    const sums = { x: this.xp, q: this.qp, V, scale, minLogProb, top };
    r.kld = this.exactExp ? this.kldLlamaF(sums) : this.kldLlama(sums);
    r.nllModel = nll;
    r.nllBase = nllBase;
    r.sameTop = imax === (scale !== 0 ? imaxBase : 0);
    r.pDiff = f(f(Math.exp(-nll)) - f(Math.exp(-nllBase)));
    r.jsd = NaN;
    r.topkOverlap = NaN;
  }

  /** kld-rows.ts kldRowExact without JSD/top-k, with the SIMD sum. */
  kldRowExact(b: Float32Array, bo: number, m: Float32Array, mo: number, V: number, tok: number, r: KldRow): void {
    this.ensure(V);
    let bmax = -Infinity;
    let ib = 0;
    let mmax = -Infinity;
    let im = 0;
    for (let v = 0; v < V; v++) {
      const lb = b[bo + v]!;
      const lm = m[mo + v]!;
      if (lb > bmax) {
        bmax = lb;
        ib = v;
      }
      if (lm > mmax) {
        mmax = lm;
        im = v;
      }
    }
    this.b.set(b.subarray(bo, bo + V));
    this.x.set(m.subarray(mo, mo + V));
    r.kld = this.kldExact({ base: this.bp, model: this.xp, V });
    r.nllBase = -b[bo + tok]!;
    r.nllModel = -m[mo + tok]!;
    r.sameTop = ib === im;
    r.pDiff = Math.exp(-r.nllModel) - Math.exp(-r.nllBase);
    r.jsd = NaN;
    r.topkOverlap = NaN;
  }
}

let cached: KldKernels | null | undefined;

/** The SIMD kernels, or undefined where WebAssembly SIMD is unavailable or XENT_KLD_WASM=0. */
export function kldKernels(): KldKernels | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  if (typeof process !== 'undefined' && process.env.XENT_KLD_WASM === '0') return undefined;
  try {
    cached = new KldKernels(new KernelInstance(loadModule(KLD_MODULE)));
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}
