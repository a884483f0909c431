/**
 * The fast LSTM language-model trainer: the same math as the plain TypeScript
 * reference (src/train/lstm-grad.ts, src/train/output-ce.ts, src/train/adam.ts,
 * src/train/clip.ts), on WebAssembly SIMD kernels (src/kernels/assembly/train-kernels.ts)
 * over one shared memory, split across threads.
 *
 * Internally rows are time-major, n = t·B + b, so the B rows of one time step are
 * contiguous, and h_{t−1} for all steps is one matrix [h0; hs[0 … N−B)] (h0 is
 * allocated right before hs, c0 right before cs). Every product is mm_pb (out = A · B,
 * B packed into 8-column panels by pack_b, A read in place, row-major or transposed):
 *   xg      = x · W_ihᵀ + b_ih + b_hh                  [N, 4H]     B = W_ihᵀ packed once per step
 *   gh_t    = h_{t−1} · W_hhᵀ                           [B, 4H] per step, B = W_hhᵀ packed once
 *   z       = hs_chunk · W_outᵀ + b_out                 [R, V] per chunk of R rows (never [N, V])
 *   dW_out += dzᵀ · hs_chunk (A = dz read transposed)   dhs_chunk = dz · W_out
 *   dh_{t−1} = dz_t · W_hh;  dW_hh += dzᵀ h_prev;  dW_ih += dzᵀ x;  dx = dz · W_ih
 * so no operand is ever transposed in memory; the weights are packed once per step.
 */
import { XentError } from '../errors.js';
import { checkAdamOptions, type AdamOptions } from './adam.js';
import { checkConfig, lstmModelFromParams, paramCount, paramViews, type LstmConfig, type LstmModel, type LstmParams } from './lstm.js';
import { TrainKernels } from './wasm-kernels.js';

export interface FastTrainerOptions {
  /** Batch size B and sequence length T of every step. */
  B: number;
  T: number;
  /** Threads including the main one (default min(2, cores)). */
  threads?: number;
  /** Rows of the output block (default 128): memory for logits is R·V floats, not B·T·V. */
  rowsPerChunk?: number;
  labelSmoothing?: number;
  ignoreIndex?: number;
}

export interface StepResult {
  /** Mean training loss (label-smoothed when set), nats per token. */
  loss: number;
  /** Mean plain cross-entropy, nats per token. */
  ceNats: number;
  /** Scored positions. */
  count: number;
  /** Global L2 norm of the gradient before clipping (when computed). */
  gradNorm?: number;
}

export class FastLstmTrainer {
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  readonly k: TrainKernels;
  /** The model; its parameters live in the kernels' memory. */
  readonly model: LstmModel;
  /** Gradients of the last `lossAndGrad`/`step`, same layout as the parameters. */
  readonly grads: LstmParams;
  /** Adam moments and step count. */
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  adamT = 0;
  private readonly labelSmoothing: number;
  private readonly ignoreIndex: number;
  private readonly P: number;
  // pointers (bytes) into kernel memory
  private readonly p: Record<string, number> = {};
  private readonly gp: Record<string, number> = {};

  constructor(config: LstmConfig, opts: FastTrainerOptions, initial?: Float32Array) {
    const cfg = checkConfig('FastLstmTrainer', config);
    this.config = cfg;
    const { V, E, H } = cfg;
    const { B, T } = opts;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
      throw new XentError('invalid_argument', 'FastLstmTrainer', `B and T must be positive integers, got B=${B}, T=${T}`, { arg: 'B, T' });
    }
    this.B = B;
    this.T = T;
    const N = B * T;
    const R = Math.max(1, Math.min(N, opts.rowsPerChunk ?? 128));
    this.R = R;
    this.labelSmoothing = opts.labelSmoothing ?? 0;
    this.ignoreIndex = opts.ignoreIndex ?? -100;
    const G = 4 * H;
    const P = paramCount(cfg);
    this.P = P;
    // float32 element counts of every buffer
    const pk = TrainKernels.packedSize;
    // packed B operands (…P): <weight><Pf: forward use | Pb: backward use>
    const sizes: [string, number][] = [
      ['params', P], ['grads', P], ['adamM', P], ['adamV', P],
      ['woutPz', pk(H, V)], ['woutPd', pk(V, H)], ['wihPf', pk(E, G)], ['whhPf', pk(H, G)],
      ['whhPb', pk(G, H)], ['wihPb', pk(G, E)], ['bsum', G],
      ['x', N * E], ['xg', N * G], ['act', N * G],
      ['h0', B * H + N * H], // h0 then hs: hprev = [h0; hs] is contiguous
      ['c0', B * H + N * H], // c0 then cs
      ['gh', B * G], ['block', R * V], ['dhs', N * H], ['targets', N], ['lossRows', 2 * R], ['ceRows', 2 * R],
      ['hsP', pk(R, H)], ['dz', N * G], ['dhNext', B * H], ['dcNext', B * H],
      ['hprevP', pk(N, H)], ['xP', pk(N, E)], ['dx', N * E], ['partial', 64],
    ];
    const bytes = sizes.reduce((s, [, n]) => s + Math.ceil((n * 4) / 64) * 64, 0);
    this.k = new TrainKernels({ bytes, threads: opts.threads });
    for (const [name, n] of sizes) this.p[name] = this.k.alloc(n);
    this.p.hs = this.p.h0! + B * H * 4;
    this.p.cs = this.p.c0! + B * H * 4;
    const flat = this.k.f32(this.p.params!, P);
    if (initial) flat.set(initial);
    this.model = lstmModelFromParams(cfg, flat);
    this.grads = paramViews(cfg, this.k.f32(this.p.grads!, P));
    this.adamM = this.k.f32(this.p.adamM!, P);
    this.adamV = this.k.f32(this.p.adamV!, P);
    // byte offsets of each named parameter / gradient
    for (const [name, view] of Object.entries(this.model.params)) if (name !== 'flat') this.p['w_' + name] = view.byteOffset;
    for (const [name, view] of Object.entries(this.grads)) if (name !== 'flat') this.gp[name] = view.byteOffset;
  }

  close(): void {
    this.k.close();
  }

  private loadTokens(op: string, inputs: Int32Array, targets: Int32Array | null): number {
    const { V, E } = this.config;
    const { B, T } = this;
    const N = B * T;
    if (!(inputs instanceof Int32Array) || inputs.length !== N) {
      throw new XentError('shape_mismatch', op, `inputs must be an Int32Array of B·T = ${N} ids`, { arg: 'inputs', expected: N, actual: (inputs as { length?: number })?.length });
    }
    if (targets && (!(targets instanceof Int32Array) || targets.length !== N)) {
      throw new XentError('shape_mismatch', op, `targets must be an Int32Array of B·T = ${N} ids`, { arg: 'targets', expected: N });
    }
    const x = this.k.f32(this.p.x!, N * E);
    const emb = this.model.params.emb;
    const tg = this.k.i32(this.p.targets!, N);
    let count = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const tok = inputs[b * T + t]!;
        if (tok < 0 || tok >= V) {
          throw new XentError('index_out_of_range', op, `inputs[${b}, ${t}] = ${tok} is out of range [0, ${V})`, { arg: 'inputs', row: b, column: t, value: tok });
        }
        const n = t * B + b;
        x.set(emb.subarray(tok * E, tok * E + E), n * E);
        if (targets) {
          const y = targets[b * T + t]!;
          if (y !== this.ignoreIndex && (y < 0 || y >= V)) {
            throw new XentError('index_out_of_range', op, `targets[${b}, ${t}] = ${y} is out of range [0, ${V})`, { arg: 'targets', row: b, column: t, value: y });
          }
          if (y !== this.ignoreIndex) count++;
          tg[n] = y;
        }
      }
    }
    return count;
  }

  private forwardRecurrence(): void {
    const { H } = this.config;
    const { B, T, k, p } = this;
    const G = 4 * H;
    const N = B * T;
    const bsum = k.f32(p.bsum!, G);
    const { bIh, bHh } = this.model.params;
    for (let j = 0; j < G; j++) bsum[j] = bIh[j]! + bHh[j]!;
    const E = this.config.E;
    k.pack(p.wihPf!, p.w_wIh!, 1, E, E, G); // W_ihᵀ [E, G]
    k.pack(p.whhPf!, p.w_wHh!, 1, H, H, G); // W_hhᵀ [H, G]
    k.mm(p.xg!, p.x!, E, 1, p.wihPf!, p.bsum!, N, E, G, false);
    // all T steps in one call: each thread owns a share of the batch rows (no per-step sync)
    k.run('lstm_forward', p.gh!, p.xg!, p.act!, p.c0!, p.h0!, p.whhPf!, B, H, T);
  }

  /** Output layer + cross-entropy over chunks of rows; with `grad`, accumulates dW_out, db_out and writes dhs. */
  private outputLayer(grad: boolean, count: number): { sumNats: number; sumCe: number } {
    const { V, H } = this.config;
    const { B, T, R, k, p, gp } = this;
    const N = B * T;
    const scale = count > 0 ? 1 / count : 0;
    k.pack(p.woutPz!, p.w_wOut!, 1, H, H, V); // W_outᵀ [H, V]
    if (grad) k.pack(p.woutPd!, p.w_wOut!, H, 1, V, H); // W_out [V, H]
    const lossRows = k.f64(p.lossRows!, R);
    const ceRows = k.f64(p.ceRows!, R);
    let sumNats = 0;
    let sumCe = 0;
    for (let r0 = 0; r0 < N; r0 += R) {
      const rows = Math.min(R, N - r0);
      const hsChunk = p.hs! + r0 * H * 4;
      k.mm(p.block!, hsChunk, H, 1, p.woutPz!, p.w_bOut!, rows, H, V, false);
      k.run('ce_rows', p.block!, p.targets! + r0 * 4, rows, V, this.labelSmoothing, this.ignoreIndex, scale, grad ? 1 : 0, p.lossRows!, p.ceRows!);
      for (let r = 0; r < rows; r++) {
        sumNats += lossRows[r]!;
        sumCe += ceRows[r]!;
      }
      if (grad) {
        k.run('col_sum_acc', gp.bOut!, p.block!, rows, V);
        k.pack(p.hsP!, hsChunk, H, 1, rows, H);
        k.mm(gp.wOut!, p.block!, 1, V, p.hsP!, 0, V, rows, H, true); // dzᵀ · hs_chunk
        k.mm(p.dhs! + r0 * H * 4, p.block!, V, 1, p.woutPd!, 0, rows, V, H, false);
      }
    }
    return { sumNats, sumCe };
  }

  private backwardRecurrence(): void {
    const { E, H } = this.config;
    const { B, T, k, p, gp } = this;
    const G = 4 * H;
    const N = B * T;
    k.pack(p.whhPb!, p.w_wHh!, H, 1, G, H); // W_hh [G, H]
    k.pack(p.wihPb!, p.w_wIh!, E, 1, G, E); // W_ih [G, E]
    k.f32(p.dhNext!, B * H).fill(0);
    k.f32(p.dcNext!, B * H).fill(0);
    k.run('lstm_backward', p.act!, p.c0!, p.dhs!, p.dhNext!, p.dcNext!, p.dz!, p.whhPb!, B, H, T);
    k.pack(p.hprevP!, p.h0!, H, 1, N, H);
    k.pack(p.xP!, p.x!, E, 1, N, E);
    k.mm(gp.wHh!, p.dz!, 1, G, p.hprevP!, 0, G, N, H, true); // dzᵀ · hprev
    k.mm(gp.wIh!, p.dz!, 1, G, p.xP!, 0, G, N, E, true); // dzᵀ · x
    k.run('col_sum_acc', gp.bIh!, p.dz!, N, G);
    this.grads.bHh.set(this.grads.bIh);
    k.mm(p.dx!, p.dz!, G, 1, p.wihPb!, 0, N, G, E, false);
  }

  private scatterEmbeddingGrad(inputs: Int32Array): void {
    const { E } = this.config;
    const { B, T } = this;
    const dx = this.k.f32(this.p.dx!, B * T * E);
    const g = this.grads.emb;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = inputs[b * T + t]! * E;
        const d = (t * B + b) * E;
        for (let e = 0; e < E; e++) g[o + e] = g[o + e]! + dx[d + e]!;
      }
    }
  }

  /** Loss and gradients (into `this.grads`) of predicting targets [B, T] from inputs [B, T], from a zero state. */
  lossAndGrad(inputs: Int32Array, targets: Int32Array): StepResult {
    const count = this.loadTokens('FastLstmTrainer.lossAndGrad', inputs, targets);
    this.grads.flat.fill(0);
    this.forwardRecurrence();
    const { sumNats, sumCe } = this.outputLayer(true, count);
    this.backwardRecurrence();
    this.scatterEmbeddingGrad(inputs);
    return { loss: count > 0 ? sumNats / count : NaN, ceNats: count > 0 ? sumCe / count : NaN, count };
  }

  /** Loss only (no gradients): sum over non-ignored positions, nats. */
  evaluate(inputs: Int32Array, targets: Int32Array): { sumNats: number; sumCeNats: number; count: number } {
    const count = this.loadTokens('FastLstmTrainer.evaluate', inputs, targets);
    this.forwardRecurrence();
    const { sumNats, sumCe } = this.outputLayer(false, count);
    return { sumNats, sumCeNats: sumCe, count };
  }

  /** Global L2 norm of the current gradients (float64 accumulation). */
  gradNorm(): number {
    const parts = this.k.threads;
    this.k.run('sum_sq', this.p.grads!, this.P, this.p.partial!);
    const partial = this.k.f64(this.p.partial!, parts);
    let s = 0;
    for (let i = 0; i < parts; i++) s += partial[i]!;
    return Math.sqrt(s);
  }

  /** torch.nn.utils.clip_grad_norm_ semantics; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    const norm = this.gradNorm();
    const coef = maxNorm / (norm + 1e-6);
    if (coef < 1) this.k.run('scale', this.p.grads!, this.P, coef);
    return norm;
  }

  /** One Adam(W) step on the current gradients (same formulas as src/train/adam.ts). */
  adamStep(options: AdamOptions): void {
    const o = checkAdamOptions('FastLstmTrainer.adamStep', options);
    this.adamT += 1;
    const stepSize = o.lr / (1 - o.beta1 ** this.adamT);
    const bc2Sqrt = Math.sqrt(1 - o.beta2 ** this.adamT);
    const decay = o.decoupled ? 1 - o.lr * o.weightDecay : 1;
    const l2 = o.decoupled ? 0 : o.weightDecay;
    this.k.run('adam', this.p.params!, this.p.grads!, this.p.adamM!, this.p.adamV!, this.P, stepSize, o.beta1, o.beta2, o.eps, bc2Sqrt, decay, l2);
  }

  /** lossAndGrad, optional clipping, Adam step. */
  step(inputs: Int32Array, targets: Int32Array, adam: AdamOptions, clip?: number): StepResult {
    const r = this.lossAndGrad(inputs, targets);
    const gradNorm = clip !== undefined && clip > 0 ? this.clipGradNorm(clip) : undefined;
    if (Number.isFinite(r.loss) && (gradNorm === undefined || Number.isFinite(gradNorm))) this.adamStep(adam);
    return gradNorm === undefined ? r : { ...r, gradNorm };
  }
}
