/**
 * One training step of the LSTM language model (Embedding → LSTM → Linear, cross-entropy,
 * clipping, Adam) composed from the native training kernels alone (src/kernels/native-train.ts):
 * what `npm run bench -- native-train` times against PyTorch's step, and what
 * test/kernels/native-train-lstm.test.ts checks against the reference gradients of
 * src/models/lstm/lstm-grad.ts. The products follow LstmEngine's layout
 * (src/models/lstm/lstm-engine.ts), rows time-major (n = t·B + b):
 *   xg = x · W_ihᵀ + (b_ih + b_hh)                       sgemm, transB
 *   recurrence                                           lstmForward
 *   z = hs_chunk · W_outᵀ + b_out, per chunk of R rows   sgemm, transB; ceRows (loss, dz in place)
 *   db_out += Σ dz;  dW_out += dzᵀ·hs_chunk;  dhs = dz·W_out
 *   dz_gates                                             lstmBackward
 *   dW_hh = dzᵀ·h_prev;  dW_ih = dzᵀ·x;  db = Σ dz;  dx = dz·W_ih, scattered into the embedding rows
 * Parameters and gradients are flat vectors in PyTorch's order (paramViews), so the norm,
 * clipping and Adam run over one array each.
 */
import type { NativeTrainKernels } from '../../src/kernels/native-train.js';
import { type LstmConfig, type LstmParams, paramViews } from '../../src/models/lstm/lstm.js';
import type { AdamOptions } from '../../src/train/adam.js';

export interface NativeStepOptions {
  B: number;
  T: number;
  /** Rows of logits held at once (default all B·T). */
  rowsPerChunk?: number;
  labelSmoothing?: number;
  ignoreIndex?: number;
}

export class NativeLstmStep {
  readonly params: LstmParams;
  readonly grads: LstmParams;
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  adamT = 0;
  private readonly x: Float32Array;
  private readonly bsum: Float32Array;
  private readonly xg: Float32Array;
  private readonly act: Float32Array;
  private readonly h: Float32Array;
  private readonly c: Float32Array;
  private readonly block: Float32Array;
  private readonly dhs: Float32Array;
  private readonly dz: Float32Array;
  private readonly dh: Float32Array;
  private readonly dc: Float32Array;
  private readonly dx: Float32Array;
  private readonly tg: Int32Array;
  private readonly lossRows: Float64Array;
  private readonly ceRows: Float64Array;
  private readonly R: number;

  constructor(
    private readonly nt: NativeTrainKernels,
    private readonly cfg: Required<LstmConfig>,
    private readonly o: NativeStepOptions,
    initial: Float32Array,
  ) {
    const { V, E, H } = cfg;
    const { B, T } = o;
    const N = B * T;
    const G = 4 * H;
    this.params = paramViews(cfg, Float32Array.from(initial));
    this.grads = paramViews(cfg);
    this.adamM = new Float32Array(initial.length);
    this.adamV = new Float32Array(initial.length);
    this.R = Math.max(1, Math.min(N, o.rowsPerChunk ?? N));
    this.x = new Float32Array(N * E);
    this.bsum = new Float32Array(G);
    this.xg = new Float32Array(N * G);
    this.act = new Float32Array(N * G);
    this.h = new Float32Array((T + 1) * B * H);
    this.c = new Float32Array((T + 1) * B * H);
    this.block = new Float32Array(this.R * V);
    this.dhs = new Float32Array(N * H);
    this.dz = new Float32Array(N * G);
    this.dh = new Float32Array(B * H);
    this.dc = new Float32Array(B * H);
    this.dx = new Float32Array(N * E);
    this.tg = new Int32Array(N);
    this.lossRows = new Float64Array(this.R);
    this.ceRows = new Float64Array(this.R);
  }

  /** Loss (nats per token, smoothed when set) and gradients of predicting targets [B, T] from inputs [B, T]. */
  lossAndGrad(inputs: Int32Array, targets: Int32Array): { loss: number; ceNats: number; count: number } {
    const { nt, cfg, params: p, grads: g } = this;
    const { V, E, H } = cfg;
    const { B, T } = this.o;
    const N = B * T;
    const G = 4 * H;
    const ignore = this.o.ignoreIndex ?? -100;
    let count = 0;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const n = t * B + b;
        this.x.set(p.emb.subarray(inputs[b * T + t]! * E, inputs[b * T + t]! * E + E), n * E);
        this.tg[n] = targets[b * T + t]!;
        if (this.tg[n] !== ignore) count++;
      }
    for (let j = 0; j < G; j++) this.bsum[j] = p.bIh[j]! + p.bHh[j]!;
    const f32 = (a: LstmParams[keyof LstmParams]): Float32Array => a as Float32Array;
    nt.sgemm({ M: N, N: G, K: E, A: this.x, B: f32(p.wIh), transB: true, C: this.xg, bias: this.bsum });
    this.h.fill(0, 0, B * H);
    this.c.fill(0, 0, B * H);
    nt.lstmForward({ xg: this.xg, wHh: f32(p.wHh), h: this.h, c: this.c, act: this.act, B, H, T });
    const hs = this.h.subarray(B * H);
    let sumNats = 0;
    let sumCe = 0;
    for (let r0 = 0; r0 < N; r0 += this.R) {
      const rows = Math.min(this.R, N - r0);
      const z = this.block.subarray(0, rows * V);
      const hsChunk = hs.subarray(r0 * H, (r0 + rows) * H);
      nt.sgemm({ M: rows, N: V, K: H, A: hsChunk, B: f32(p.wOut), transB: true, C: z, bias: f32(p.bOut) });
      const lossOut = this.lossRows.subarray(0, rows);
      const ceOut = this.ceRows.subarray(0, rows);
      nt.ceRows({
        z,
        V,
        targets: this.tg.subarray(r0, r0 + rows),
        labelSmoothing: this.o.labelSmoothing ?? 0,
        ignoreIndex: ignore,
        scale: count > 0 ? 1 / count : 0,
        grad: true,
        lossOut,
        ceOut,
      });
      for (let r = 0; r < rows; r++) {
        sumNats += lossOut[r]!;
        sumCe += ceOut[r]!;
      }
      const first = r0 === 0;
      nt.colSum({ a: z, M: rows, N: V, out: f32(g.bOut), accumulate: !first });
      nt.sgemm({ M: V, N: H, K: rows, A: z, transA: true, B: hsChunk, C: f32(g.wOut), accumulate: !first });
      nt.sgemm({ M: rows, N: H, K: V, A: z, B: f32(p.wOut), C: this.dhs.subarray(r0 * H, (r0 + rows) * H) });
    }
    this.dh.fill(0);
    this.dc.fill(0);
    nt.lstmBackward({
      act: this.act,
      c: this.c,
      dhs: this.dhs,
      wHh: f32(p.wHh),
      dz: this.dz,
      dh: this.dh,
      dc: this.dc,
      B,
      H,
      T,
    });
    nt.sgemm({ M: G, N: H, K: N, A: this.dz, transA: true, B: this.h.subarray(0, N * H), C: f32(g.wHh) });
    nt.sgemm({ M: G, N: E, K: N, A: this.dz, transA: true, B: this.x, C: f32(g.wIh) });
    nt.colSum({ a: this.dz, M: N, N: G, out: f32(g.bIh) });
    g.bHh.set(g.bIh);
    nt.sgemm({ M: N, N: E, K: G, A: this.dz, B: f32(p.wIh), C: this.dx });
    g.emb.fill(0);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const o = inputs[b * T + t]! * E;
        const d = (t * B + b) * E;
        for (let e = 0; e < E; e++) g.emb[o + e] = g.emb[o + e]! + this.dx[d + e]!;
      }
    return { loss: count > 0 ? sumNats / count : NaN, ceNats: count > 0 ? sumCe / count : NaN, count };
  }

  /** torch.nn.utils.clip_grad_norm_; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    const flat = this.grads.flat as Float32Array;
    const norm = Math.sqrt(this.nt.sumSq(flat));
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) this.nt.scale(flat, coef);
    return norm;
  }

  /** One Adam(W) step (the formulas of src/train/adam.ts). */
  adamStep(a: AdamOptions): void {
    const beta1 = a.beta1 ?? 0.9;
    const beta2 = a.beta2 ?? 0.999;
    const wd = a.weightDecay ?? 0;
    this.adamT += 1;
    this.nt.adam({
      p: this.params.flat as Float32Array,
      g: this.grads.flat as Float32Array,
      m: this.adamM,
      v: this.adamV,
      stepSize: a.lr / (1 - beta1 ** this.adamT),
      beta1,
      beta2,
      eps: a.eps ?? 1e-8,
      bc2Sqrt: Math.sqrt(1 - beta2 ** this.adamT),
      decay: a.decoupled ? 1 - a.lr * wd : 1,
      l2: a.decoupled ? 0 : wd,
    });
  }

  /** lossAndGrad, clipping, Adam: the step PyTorch's bench times. */
  step(inputs: Int32Array, targets: Int32Array, adam: AdamOptions, clip: number): number {
    const r = this.lossAndGrad(inputs, targets);
    this.clipGradNorm(clip);
    this.adamStep(adam);
    return r.loss;
  }
}
