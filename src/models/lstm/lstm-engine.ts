/**
 * An LSTM language model on the trainer's WebAssembly kernels with a pluggable output
 * loss: the forward and backward recurrence of FastLstmTrainer (fast-trainer.ts,
 * validated against PyTorch, which is this engine with the fused cross-entropy kernel
 * as its loss); the caller sees each block of logits and, for
 * training, writes the gradient w.r.t. those logits back into the block. Used for
 *   - scoring (lstm-language-model.ts): logits of one sequence, block by block, and
 *   - distillation (distill.ts): d loss / d logits comes from distillationLoss.
 *
 * `forEachBlock` hands out blocks of R consecutive rows, [rows, V] row-major.
 *
 * Rows are time-major, n = t·B + b, so the B rows of one time step are
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
import { XentError } from '../../core/errors.js';
import { TrainKernels } from '../../kernels/train-kernels.js';
import {
  checkConfig,
  type LstmConfig,
  type LstmModel,
  type LstmParams,
  lstmModelFromParams,
  paramCount,
  paramViews,
} from './lstm.js';

export interface LstmEngineOptions {
  B: number;
  T: number;
  threads?: number;
  /** Rows of logits held at once (default 128): memory for logits is R·V floats, not B·T·V. */
  rowsPerChunk?: number;
  /** Allocate gradient buffers (default false: inference only); optimisers add theirs as `extraBuffers`. */
  train?: boolean;
  /** Extra float32 buffers in the kernels' memory, by name (see `pointer`). */
  extraBuffers?: Readonly<Record<string, number>>;
}

/**
 * Called once per block of rows r0 … r0+rows−1 (time-major). `logits` is a [rows, V]
 * view into kernel memory, valid only during the call. In a backward pass the callback
 * must overwrite it with d loss / d logits.
 */
export type BlockFn = (r0: number, rows: number, logits: Float32Array) => void;

export class LstmEngine {
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  readonly model: LstmModel;
  readonly grads: LstmParams | undefined;
  private readonly k: TrainKernels;
  /** P: the number of parameters (the length of the flat parameter vector). */
  readonly P: number;
  private readonly p: Record<string, number> = {};
  private readonly gp: Record<string, number> = {};
  private lastInputs: Int32Array | undefined;

  constructor(config: LstmConfig, opts: LstmEngineOptions, initial?: Float32Array) {
    const cfg = checkConfig('LstmEngine', config);
    this.config = cfg;
    const { V, E, H } = cfg;
    const { B, T } = opts;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
      throw new XentError('invalid_argument', 'LstmEngine', `B and T must be positive integers, got B=${B}, T=${T}`, {
        arg: 'B, T',
      });
    }
    this.B = B;
    this.T = T;
    const N = B * T;
    const R = Math.max(1, Math.min(N, opts.rowsPerChunk ?? 128));
    this.R = R;
    const G = 4 * H;
    const P = paramCount(cfg);
    this.P = P;
    const train = opts.train === true;
    const pk = TrainKernels.packedSize;
    // packed B operands of the products (see the header): …Pf forward, …Pb/…Pd backward
    const sizes: [string, number][] = [
      ['params', P],
      ['bsum', G],
      ['x', N * E],
      ['xg', N * G],
      ['act', N * G],
      ['h0', B * H + N * H],
      ['c0', B * H + N * H],
      ['gh', B * G],
      ['block', R * V],
      ['woutPz', pk(H, V)],
      ['wihPf', pk(E, G)],
      ['whhPf', pk(H, G)],
    ];
    if (train) {
      sizes.push(
        ['grads', P],
        ['woutPd', pk(V, H)],
        ['whhPb', pk(G, H)],
        ['wihPb', pk(G, E)],
        ['dhs', N * H],
        ['hsP', pk(R, H)],
        ['dz', N * G],
        ['dhNext', B * H],
        ['dcNext', B * H],
        ['hprevP', pk(N, H)],
        ['xP', pk(N, E)],
        ['dx', N * E],
      );
    }
    for (const [name, n] of Object.entries(opts.extraBuffers ?? {})) sizes.push([`extra:${name}`, n]);
    const bytes = sizes.reduce((s, [, n]) => s + Math.ceil((n * 4) / 64) * 64, 0);
    this.k = new TrainKernels({ bytes, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
    for (const [name, n] of sizes) this.p[name] = this.k.alloc(n);
    this.p.hs = this.p.h0! + B * H * 4;
    this.p.cs = this.p.c0! + B * H * 4;
    const flat = this.k.f32(this.p.params!, P);
    if (initial) {
      if (initial.length !== P)
        throw new XentError(
          'shape_mismatch',
          'LstmEngine',
          `initial parameters have ${initial.length} values, the config needs ${P}`,
          { expected: P, actual: initial.length },
        );
      flat.set(initial);
    }
    this.model = lstmModelFromParams(cfg, flat);
    for (const [name, view] of Object.entries(this.model.params))
      if (name !== 'flat') this.p[`w_${name}`] = view.byteOffset;
    if (train) {
      this.grads = paramViews(cfg, this.k.f32(this.p.grads!, P));
      for (const [name, view] of Object.entries(this.grads)) if (name !== 'flat') this.gp[name] = view.byteOffset;
    }
  }

  get threads(): number {
    return this.k.threads;
  }

  /** The kernels and their memory, for callers that run kernels on the engine's buffers. */
  get kernels(): TrainKernels {
    return this.k;
  }

  /**
   * Byte offset in kernel memory of an `extraBuffers` entry, of the logit block ('block'), of
   * the flat parameters ('params') or of their gradients ('grads', training engines).
   */
  pointer(name: string): number {
    const ptr = name === 'block' || name === 'params' || name === 'grads' ? this.p[name] : this.p[`extra:${name}`];
    if (ptr === undefined)
      throw new XentError('invalid_argument', 'LstmEngine.pointer', `no buffer named ${name}`, {
        arg: 'name',
        value: name,
      });
    return ptr;
  }

  close(): void {
    this.k.close();
  }

  /** Runs the recurrence on inputs [B, T] (row-major, b·T + t) from a zero state; `op` names the caller in errors. */
  forward(inputs: Int32Array, op = 'LstmEngine.forward'): void {
    const { V, E, H } = this.config;
    const { B, T, k, p } = this;
    const N = B * T;
    const G = 4 * H;
    if (!(inputs instanceof Int32Array) || inputs.length !== N) {
      throw new XentError('shape_mismatch', op, `inputs must be an Int32Array of B·T = ${N} ids`, {
        arg: 'inputs',
        expected: N,
        actual: (inputs as { length?: number })?.length,
      });
    }
    const x = k.f32(p.x!, N * E);
    const emb = this.model.params.emb;
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
        x.set(emb.subarray(tok * E, tok * E + E), (t * B + b) * E);
      }
    }
    this.lastInputs = inputs;
    const bsum = k.f32(p.bsum!, G);
    const { bIh, bHh } = this.model.params;
    for (let j = 0; j < G; j++) bsum[j] = bIh[j]! + bHh[j]!;
    k.f32(p.h0!, B * H).fill(0);
    k.f32(p.c0!, B * H).fill(0);
    k.pack(p.wihPf!, p.w_wIh!, 1, E, E, G); // W_ihᵀ [E, G]
    k.pack(p.whhPf!, p.w_wHh!, 1, H, H, G); // W_hhᵀ [H, G]
    k.mm(p.xg!, p.x!, E, 1, p.wihPf!, p.bsum!, N, E, G, false);
    // all T steps in one call: each thread owns a share of the batch rows (no per-step sync)
    k.run('lstm_forward', p.gh!, p.xg!, p.act!, p.c0!, p.h0!, p.whhPf!, B, H, T);
  }

  /**
   * Logits of the last `forward`, block by block (from row `fromRow` on, without `grad`).
   * With `grad`, `fn` writes d loss / d logits into each block, and the output layer's
   * gradients and d loss / d h accumulate.
   */
  forEachBlock(fn: BlockFn, grad = false, fromRow = 0): void {
    const { V, H } = this.config;
    const { B, T, R, k, p, gp } = this;
    const N = B * T;
    if (grad) {
      if (!this.grads)
        throw new XentError(
          'invalid_argument',
          'LstmEngine.forEachBlock',
          'this engine was built for inference (train: false)',
          {},
        );
      this.grads.flat.fill(0);
      k.pack(p.woutPd!, p.w_wOut!, H, 1, V, H); // W_out [V, H]
    }
    k.pack(p.woutPz!, p.w_wOut!, 1, H, H, V); // W_outᵀ [H, V], packed here: the parameters may have changed since forward
    const block = k.f32(p.block!, R * V);
    // Inference may start at `fromRow` (rows before it are not needed); training needs all.
    const start = grad ? 0 : Math.max(0, Math.min(N, Math.floor(fromRow)));
    for (let r0 = start; r0 < N; r0 += R) {
      const rows = Math.min(R, N - r0);
      const hsChunk = p.hs! + r0 * H * 4;
      k.mm(p.block!, hsChunk, H, 1, p.woutPz!, p.w_bOut!, rows, H, V, false);
      fn(r0, rows, rows === R ? block : block.subarray(0, rows * V));
      if (grad) {
        k.run('col_sum_acc', gp.bOut!, p.block!, rows, V);
        k.pack(p.hsP!, hsChunk, H, 1, rows, H);
        k.mm(gp.wOut!, p.block!, 1, V, p.hsP!, 0, V, rows, H, true); // dzᵀ · hs_chunk
        k.mm(p.dhs! + r0 * H * 4, p.block!, V, 1, p.woutPd!, 0, rows, V, H, false);
      }
    }
  }

  /** Backward through time after `forEachBlock(fn, true)`: fills `grads`. */
  backward(): void {
    const { E, H } = this.config;
    const { B, T, k, p, gp } = this;
    const grads = this.grads;
    const inputs = this.lastInputs;
    if (!grads || !inputs)
      throw new XentError(
        'invalid_argument',
        'LstmEngine.backward',
        'needs a training engine and a forward pass first',
        {},
      );
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
    grads.bHh.set(grads.bIh);
    k.mm(p.dx!, p.dz!, G, 1, p.wihPb!, 0, N, G, E, false);
    const dx = k.f32(p.dx!, N * E);
    const g = grads.emb;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = inputs[b * T + t]! * E;
        const d = (t * B + b) * E;
        for (let e = 0; e < E; e++) g[o + e] = g[o + e]! + dx[d + e]!;
      }
    }
  }
}
