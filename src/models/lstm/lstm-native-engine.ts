/**
 * The LSTM language model on the native training kernels (src/kernels/native-train.ts,
 * native/xent-train*.c): LstmEngine's interface and products (src/models/lstm/lstm-engine.ts)
 * over plain Float32Arrays instead of WebAssembly memory. Same flat parameter layout
 * (lstm.ts's `paramViews`), same rows, time-major n = t·B + b, so a trainer or a distillation
 * student swaps one engine for the other and sees the same numbers up to float32 summation
 * order (the two backends block their sums differently).
 *
 *   xg   = x · W_ihᵀ + (b_ih + b_hh)                        sgemm, transB          [N, 4H]
 *   recurrence over T steps                                 lstmForward (h, c [(T+1)·B, H])
 *   output layer on hs [N, H] (`hs`), giving dW_out, db_out and dhs [N, H] (`dhs`):
 *     training: the trainer's linearCrossEntropy           lceForward/lceBackward, blocks of V
 *     forEachBlock: z = hs_chunk · W_outᵀ + b_out per chunk of R rows   sgemm     [R, V]
 *       db_out += Σ_n dz;  dW_out += dzᵀ · hs_chunk;  dhs_chunk = dz · W_out
 *   dz_gates                                                lstmBackward           [N, 4H]
 *   dW_hh = dz_gatesᵀ · h_prev;  dW_ih = dz_gatesᵀ · x;  db = Σ_n dz_gates;  dx = dz_gates · W_ih
 *
 * Plain training (src/train/native-trainer.ts) computes the output layer and its loss with the
 * loss library's linearCrossEntropy on `hs`, which writes dW_out, db_out and `dhs` in place: the
 * vocabulary in blocks with an online log-sum-exp, each block recomputed for the gradients, so
 * no [N, V] and no [R, V] row block exists in training. That takes four [N, H]×[H, V]-sized
 * products per step where row blocks take three (the logits once, then dW_out and dhs from
 * them). Measured per lossAndGrad at the seed shape (N = 1600, H = 256, V = 10000, 2 threads,
 * both in one process, interleaved, medians of 6 on a machine loaded to 3–4 by other jobs): row
 * blocks of R = 419 240 ms, linearCrossEntropy 256 ms at its default block (Vb = 2560) and
 * 277–279 ms at Vb = 512 and 1024; at V = 4096, 140 ms against 155–161 ms. So 7–15 % slower, in
 * exchange for an output layer whose memory is one [N, Vb] block whatever V.
 *
 * `forEachBlock` stays for what needs each block of logits in hand: distillation (teacher and
 * student rows side by side, src/train/distill.ts) and inference. Its [R, V] block (default ~4M
 * floats, 16 MB: R = 419 at V = 10000, 1024 at V = 4096) is allocated on its first call, so a
 * trainer that never calls it holds none; dW_out += dzᵀ·hs accumulates over only a few blocks
 * (each pass reads and writes the [V, H] gradient, which made R = 128 more than twice as slow).
 */
import { XentError } from '../../core/errors.js';
import type { NativeTrainKernels } from '../../kernels/native-train.js';
import { availableCores } from '../../kernels/pool.js';
import {
  checkConfig,
  type LstmConfig,
  type LstmModel,
  type LstmParams,
  lstmModelFromParams,
  paramCount,
  paramViews,
} from './lstm.js';
import type { BlockFn } from './lstm-engine.js';

export interface NativeLstmEngineOptions {
  B: number;
  T: number;
  /** Kernel threads including the caller's (default min(2, cores)); the addon's pool is per process. */
  threads?: number;
  /** Rows of logits `forEachBlock` holds at once (default: a block of about 4M floats, at least 128 rows; see above). */
  rowsPerChunk?: number;
  /** Allocate gradient buffers (default false: inference only). */
  train?: boolean;
}

const f32 = (a: LstmParams[keyof LstmParams]): Float32Array => a as Float32Array;

export class NativeLstmEngine {
  readonly backend = 'native' as const;
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  readonly P: number;
  readonly model: LstmModel;
  readonly grads: LstmParams | undefined;
  readonly threads: number;
  private readonly x: Float32Array; // embeddings of the inputs [N, E]
  private readonly bsum: Float32Array; // b_ih + b_hh [4H]
  private readonly xg: Float32Array; // [N, 4H]
  private readonly act: Float32Array; // gate activations [N, 4H]
  private readonly h: Float32Array; // [h_0; hs] [(T+1)·B, H]
  private readonly c: Float32Array; // [c_0; cs] [(T+1)·B, H]
  private block: Float32Array | undefined; // one block of logits or their gradient [R, V], on first forEachBlock
  private readonly dhsBuf: Float32Array | undefined; // [N, H]
  private readonly dz: Float32Array | undefined; // [N, 4H]
  private readonly dh: Float32Array | undefined; // [B, H]
  private readonly dc: Float32Array | undefined; // [B, H]
  private readonly dx: Float32Array | undefined; // [N, E]
  private lastInputs: Int32Array | undefined;

  constructor(
    private readonly nt: NativeTrainKernels,
    config: LstmConfig,
    opts: NativeLstmEngineOptions,
    initial?: Float32Array,
  ) {
    const cfg = checkConfig('NativeLstmEngine', config);
    this.config = cfg;
    const { V, E, H } = cfg;
    const { B, T } = opts;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
      throw new XentError(
        'invalid_argument',
        'NativeLstmEngine',
        `B and T must be positive integers, got B=${B}, T=${T}`,
        { arg: 'B, T' },
      );
    }
    this.B = B;
    this.T = T;
    const N = B * T;
    const G = 4 * H;
    this.R = Math.max(1, Math.min(N, Math.floor(opts.rowsPerChunk ?? Math.max(128, 4_194_304 / V))));
    this.P = paramCount(cfg);
    const threads = Math.floor(opts.threads ?? Math.min(2, availableCores()));
    if (!(threads >= 1 && threads <= 64))
      throw new XentError('invalid_argument', 'NativeLstmEngine', `threads must be in [1, 64], got ${opts.threads}`, {
        arg: 'threads',
        value: opts.threads,
      });
    this.threads = threads;
    const flat = new Float32Array(this.P);
    if (initial) {
      if (initial.length !== this.P)
        throw new XentError(
          'shape_mismatch',
          'NativeLstmEngine',
          `initial parameters have ${initial.length} values, the config needs ${this.P}`,
          { expected: this.P, actual: initial.length },
        );
      flat.set(initial);
    }
    this.model = lstmModelFromParams(cfg, flat);
    this.x = new Float32Array(N * E);
    this.bsum = new Float32Array(G);
    this.xg = new Float32Array(N * G);
    this.act = new Float32Array(N * G);
    this.h = new Float32Array((T + 1) * B * H);
    this.c = new Float32Array((T + 1) * B * H);
    if (opts.train === true) {
      this.grads = paramViews(cfg, new Float32Array(this.P));
      this.dhsBuf = new Float32Array(N * H);
      this.dz = new Float32Array(N * G);
      this.dh = new Float32Array(B * H);
      this.dc = new Float32Array(B * H);
      this.dx = new Float32Array(N * E);
    }
  }

  /** The native kernels, set to this engine's thread count (the pool is the process's). */
  get kernels(): NativeTrainKernels {
    this.nt.setThreads(this.threads);
    return this.nt;
  }

  close(): void {}

  /** The hidden states of the last `forward` [N, H] (time-major rows t·B + b): the output layer's input. */
  get hs(): Float32Array {
    const { B, T } = this;
    const H = this.config.H;
    return this.h.subarray(B * H, (T + 1) * B * H);
  }

  /**
   * d loss / d hs [N, H], which `backward` reads (training engines only): written by
   * `forEachBlock(fn, true)`, or by the caller's own output layer (the trainer's
   * linearCrossEntropy writes its dHidden here).
   */
  get dhs(): Float32Array | undefined {
    return this.dhsBuf;
  }

  /** Runs the recurrence on inputs [B, T] (row-major, b·T + t) from a zero state; `op` names the caller in errors. */
  forward(inputs: Int32Array, op = 'NativeLstmEngine.forward'): void {
    const { V, E, H } = this.config;
    const { B, T } = this;
    const N = B * T;
    const G = 4 * H;
    if (!(inputs instanceof Int32Array) || inputs.length !== N) {
      throw new XentError('shape_mismatch', op, `inputs must be an Int32Array of B·T = ${N} ids`, {
        arg: 'inputs',
        expected: N,
        actual: (inputs as { length?: number })?.length,
      });
    }
    const p = this.model.params;
    const emb = f32(p.emb);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const tok = inputs[b * T + t]!;
        if (tok < 0 || tok >= V)
          throw new XentError('index_out_of_range', op, `inputs[${b}, ${t}] = ${tok} is out of range [0, ${V})`, {
            arg: 'inputs',
            row: b,
            column: t,
            value: tok,
          });
        this.x.set(emb.subarray(tok * E, tok * E + E), (t * B + b) * E);
      }
    }
    this.lastInputs = inputs;
    for (let j = 0; j < G; j++) this.bsum[j] = p.bIh[j]! + p.bHh[j]!;
    const nt = this.kernels;
    nt.sgemm({ M: N, N: G, K: E, A: this.x, B: f32(p.wIh), transB: true, C: this.xg, bias: this.bsum });
    this.h.fill(0, 0, B * H);
    this.c.fill(0, 0, B * H);
    nt.lstmForward({ xg: this.xg, wHh: f32(p.wHh), h: this.h, c: this.c, act: this.act, B, H, T });
  }

  /**
   * Logits of the last `forward`, block by block (from row `fromRow` on, without `grad`).
   * With `grad`, `fn` writes d loss / d logits into each block, and the output layer's
   * gradients and d loss / d h accumulate.
   */
  forEachBlock(fn: BlockFn, grad = false, fromRow = 0): void {
    const { V, H } = this.config;
    const { B, T, R } = this;
    const N = B * T;
    const g = this.grads;
    if (grad && !g)
      throw new XentError(
        'invalid_argument',
        'NativeLstmEngine.forEachBlock',
        'this engine was built for inference (train: false)',
        {},
      );
    const nt = this.kernels;
    const p = this.model.params;
    const hs = this.h.subarray(B * H);
    const start = grad ? 0 : Math.max(0, Math.min(N, Math.floor(fromRow)));
    this.block ??= new Float32Array(R * V);
    const block = this.block;
    for (let r0 = start; r0 < N; r0 += R) {
      const rows = Math.min(R, N - r0);
      const z = rows === R ? block : block.subarray(0, rows * V);
      const hsChunk = hs.subarray(r0 * H, (r0 + rows) * H);
      nt.sgemm({ M: rows, N: V, K: H, A: hsChunk, B: f32(p.wOut), transB: true, C: z, bias: f32(p.bOut) });
      fn(r0, rows, z);
      if (grad && g) {
        const first = r0 === 0;
        nt.colSum({ a: z, M: rows, N: V, out: f32(g.bOut), accumulate: !first });
        nt.sgemm({ M: V, N: H, K: rows, A: z, transA: true, B: hsChunk, C: f32(g.wOut), accumulate: !first });
        nt.sgemm({ M: rows, N: H, K: V, A: z, B: f32(p.wOut), C: this.dhsBuf!.subarray(r0 * H, (r0 + rows) * H) });
      }
    }
  }

  /** Backward through time once `dhs` holds d loss / d hs (forEachBlock(fn, true) or the trainer's output layer): fills the LSTM's `grads`. */
  backward(): void {
    const { E, H } = this.config;
    const { B, T } = this;
    const g = this.grads;
    const inputs = this.lastInputs;
    if (!g || !inputs)
      throw new XentError(
        'invalid_argument',
        'NativeLstmEngine.backward',
        'needs a training engine and a forward pass first',
        {},
      );
    const N = B * T;
    const G = 4 * H;
    const nt = this.kernels;
    const p = this.model.params;
    const dz = this.dz!;
    const dx = this.dx!;
    this.dh!.fill(0);
    this.dc!.fill(0);
    nt.lstmBackward({
      act: this.act,
      c: this.c,
      dhs: this.dhsBuf!,
      wHh: f32(p.wHh),
      dz,
      dh: this.dh!,
      dc: this.dc!,
      B,
      H,
      T,
    });
    nt.sgemm({ M: G, N: H, K: N, A: dz, transA: true, B: this.h.subarray(0, N * H), C: f32(g.wHh) });
    nt.sgemm({ M: G, N: E, K: N, A: dz, transA: true, B: this.x, C: f32(g.wIh) });
    nt.colSum({ a: dz, M: N, N: G, out: f32(g.bIh) });
    g.bHh.set(g.bIh);
    nt.sgemm({ M: N, N: E, K: G, A: dz, B: f32(p.wIh), C: dx });
    const ge = g.emb;
    ge.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = inputs[b * T + t]! * E;
        const d = (t * B + b) * E;
        for (let e = 0; e < E; e++) ge[o + e] = ge[o + e]! + dx[d + e]!;
      }
    }
  }
}
