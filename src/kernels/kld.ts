/**
 * The per-row KL-divergence sums on WebAssembly SIMD (src/kernels/assembly/kld.ts) for
 * large vocabularies: the same arithmetic as kld-rows.ts with SIMD e^x instead of
 * Math.exp (float64-accurate and rounded to float32, as expf, for llama.cpp's arithmetic; a
 * float32 polynomial, 1.6e-7 relative, for the exact mode's sum), Math.exp being what
 * dominates at V = 32,000. Used from KLD_WASM_MIN_VOCAB on (below it the JavaScript path
 * runs); XENT_KLD_WASM=0 turns it off.
 *
 * Memory: the module's own, holding three rows (two float32 [V], one uint16 [nv]) copied in
 * per call.
 */
import { WASM_BASE64 } from './generated/kld.wasm.js';
import type { KldRow } from './kld-rows.js';
import { decodeBase64 } from './runtime.js';

export const KLD_WASM_MIN_VOCAB = 2048;

interface Exports {
  memory: WebAssembly.Memory;
  sumExp(x: number, V: number, mx: number): number;
  kldLlama(x: number, q: number, V: number, scale: number, minLp: number, top: number): number;
  sumExpF(x: number, V: number, mx: number): number;
  quantRow(x: number, V: number, floor: number, inv: number, q: number): void;
  minMax(x: number, V: number, out: number): void;
  kldLlamaF(x: number, q: number, V: number, scale: number, minLp: number, top: number): number;
  kldExact(b: number, m: number, V: number): number;
}

const f = Math.fround;
const BASE = 65536; // above the module's static data

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
    private readonly e: Exports,
    readonly exactExp = true,
  ) {}

  private sum(V: number, mx: number): number {
    return this.exactExp ? this.e.sumExpF(this.xp, V, mx) : this.e.sumExp(this.xp, V, mx);
  }

  private ensure(V: number): void {
    if (V === this.V) return;
    const row = Math.ceil((V * 4) / 64) * 64;
    this.xp = BASE;
    this.bp = BASE + row;
    this.qp = BASE + 2 * row;
    this.sp = this.qp + Math.ceil(((V + 8) * 2) / 64) * 64;
    const need = this.sp + 64;
    const have = this.e.memory.buffer.byteLength;
    if (need > have) this.e.memory.grow(Math.ceil((need - have) / 65536));
    const buf = this.e.memory.buffer;
    this.x = new Float32Array(buf, this.xp, V);
    this.b = new Float32Array(buf, this.bp, V);
    this.q = new Uint16Array(buf, this.qp, V);
    this.s = new Float32Array(buf, this.sp, 2);
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
    this.e.minMax(this.xp, V, this.sp);
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
      this.e.quantRow(this.xp, V, minL, f(1 / scale), this.qp);
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
    r.kld = (this.exactExp ? this.e.kldLlamaF : this.e.kldLlama)(this.xp, this.qp, V, scale, minLogProb, top);
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
    r.kld = this.e.kldExact(this.bp, this.xp, V);
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
    const mod = new WebAssembly.Module(decodeBase64(WASM_BASE64) as BufferSource);
    const inst = new WebAssembly.Instance(mod, {
      env: {
        abort: () => {
          throw new Error('wasm abort');
        },
      },
    });
    cached = new KldKernels(inst.exports as unknown as Exports);
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}
