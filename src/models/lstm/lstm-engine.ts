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
 * allocated right before hs, c0 right before cs). Every product is the kernel `mm` (out = A · B,
 * B packed into 8-column panels by `packB`, A read in place, row-major or transposed; the
 * typed entry points of src/kernels/train-kernels.ts):
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

/**
 * What trainers and distillation students use of an engine, whichever kernels run it:
 * LstmEngine (WebAssembly) and NativeLstmEngine (lstm-native-engine.ts, the native binding).
 */
export interface LstmTrainEngine {
  readonly backend: 'wasm' | 'native';
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  readonly P: number;
  readonly model: LstmModel;
  readonly grads: LstmParams | undefined;
  readonly threads: number;
  forward(inputs: Int32Array, op?: string): void;
  forEachBlock(fn: BlockFn, grad?: boolean, fromRow?: number): void;
  backward(): void;
  close(): void;
}

export class LstmEngine implements LstmTrainEngine {
  readonly backend = 'wasm' as const;
  readonly config: Readonly<Required<LstmConfig>>;
  readonly B: number;
  readonly T: number;
  readonly R: number;
  readonly model: LstmModel;
  readonly grads: LstmParams | undefined;
  private readonly k: TrainKernels;
  /** P: the number of parameters (the length of the flat parameter vector). */
  readonly P: number;
  /** Byte offsets in kernel memory of the buffers (see the constructor), of each parameter and of its gradient. */
  private readonly buf: Record<string, number> = {};
  private readonly paramPtr: Record<string, number> = {};
  private readonly gradPtr: Record<string, number> = {};
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
    // Buffers in kernel memory, by name. A `…_packed` buffer is the B operand of a product,
    // packed into 8-column panels by packB; `…T_packed` packs the transpose of that matrix.
    const sizes: [string, number][] = [
      ['params', P], // the flat parameter vector (lstm.ts's layout)
      ['gateBias', G], // b_ih + b_hh
      ['x', N * E], // embeddings of the inputs, time-major [N, E]
      ['xg', N * G], // x · W_ihᵀ + gateBias [N, 4H]
      ['act', N * G], // gate activations (σ(i), σ(f), tanh(g), σ(o)) [N, 4H]
      ['h0', B * H + N * H], // h_0 [B, H] followed by hs [N, H]
      ['c0', B * H + N * H], // c_0 [B, H] followed by cs [N, H]
      ['gh', B * G], // h_{t−1} · W_hhᵀ of one step [B, 4H]
      ['block', R * V], // one block of logits (or their gradient) [R, V]
      ['wOutT_packed', pk(H, V)], // W_outᵀ [H, V]: logits = hs · W_outᵀ
      ['wIhT_packed', pk(E, G)], // W_ihᵀ [E, 4H]: xg = x · W_ihᵀ
      ['wHhT_packed', pk(H, G)], // W_hhᵀ [H, 4H]: gh = h_{t−1} · W_hhᵀ
    ];
    if (train) {
      sizes.push(
        ['grads', P], // gradients, the parameters' layout
        ['wOut_packed', pk(V, H)], // W_out [V, H]: dhs = dz · W_out
        ['wHh_packed', pk(G, H)], // W_hh [4H, H]: dh_{t−1} = dz_t · W_hh
        ['wIh_packed', pk(G, E)], // W_ih [4H, E]: dx = dz · W_ih
        ['dhs', N * H], // d loss / d hs [N, H]
        ['hsChunk_packed', pk(R, H)], // one block's hs [R, H]: dW_out += dzᵀ · hs
        ['dz', N * G], // d loss / d gate pre-activations [N, 4H]
        ['dhNext', B * H], // the backward recurrence's carried dh [B, H]
        ['dcNext', B * H], // and dc [B, H]
        ['hPrev_packed', pk(N, H)], // [h_0; hs[0 … N−B)] [N, H]: dW_hh += dzᵀ · h_{t−1}
        ['x_packed', pk(N, E)], // x [N, E]: dW_ih += dzᵀ · x
        ['dx', N * E], // d loss / d x [N, E]
      );
    }
    for (const [name, n] of Object.entries(opts.extraBuffers ?? {})) sizes.push([`extra:${name}`, n]);
    const bytes = sizes.reduce((s, [, n]) => s + Math.ceil((n * 4) / 64) * 64, 0);
    this.k = new TrainKernels({ bytes, ...(opts.threads !== undefined ? { threads: opts.threads } : {}) });
    for (const [name, n] of sizes) this.buf[name] = this.k.alloc(n);
    this.buf.hs = this.buf.h0! + B * H * 4;
    this.buf.cs = this.buf.c0! + B * H * 4;
    const flat = this.k.f32(this.buf.params!, P);
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
      if (name !== 'flat') this.paramPtr[name] = view.byteOffset;
    if (train) {
      this.grads = paramViews(cfg, this.k.f32(this.buf.grads!, P));
      for (const [name, view] of Object.entries(this.grads)) if (name !== 'flat') this.gradPtr[name] = view.byteOffset;
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
    const ptr = name === 'block' || name === 'params' || name === 'grads' ? this.buf[name] : this.buf[`extra:${name}`];
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
    const { B, T, k, buf, paramPtr } = this;
    const N = B * T;
    const G = 4 * H;
    if (!(inputs instanceof Int32Array) || inputs.length !== N) {
      throw new XentError('shape_mismatch', op, `inputs must be an Int32Array of B·T = ${N} ids`, {
        arg: 'inputs',
        expected: N,
        actual: (inputs as { length?: number })?.length,
      });
    }
    const x = k.f32(buf.x!, N * E);
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
    const gateBias = k.f32(buf.gateBias!, G);
    const { bIh, bHh } = this.model.params;
    for (let j = 0; j < G; j++) gateBias[j] = bIh[j]! + bHh[j]!;
    k.f32(buf.h0!, B * H).fill(0);
    k.f32(buf.c0!, B * H).fill(0);
    // W_ihᵀ [E, G] and W_hhᵀ [H, G] from the row-major W_ih [G, E] and W_hh [G, H]
    k.packB({ packed: buf.wIhT_packed!, b: paramPtr.wIh!, strideK: 1, strideN: E, K: E, N: G });
    k.packB({ packed: buf.wHhT_packed!, b: paramPtr.wHh!, strideK: 1, strideN: H, K: H, N: G });
    k.mm({
      out: buf.xg!,
      a: buf.x!,
      sam: E,
      sak: 1,
      packedB: buf.wIhT_packed!,
      bias: buf.gateBias!,
      M: N,
      K: E,
      N: G,
      accumulate: false,
    });
    // all T steps in one call: each thread owns a share of the batch rows (no per-step sync)
    k.lstmForward({
      gh: buf.gh!,
      xg: buf.xg!,
      act: buf.act!,
      c0: buf.c0!,
      h0: buf.h0!,
      whhT_packed: buf.wHhT_packed!,
      B,
      H,
      T,
    });
  }

  /**
   * Logits of the last `forward`, block by block (from row `fromRow` on, without `grad`).
   * With `grad`, `fn` writes d loss / d logits into each block, and the output layer's
   * gradients and d loss / d h accumulate.
   */
  forEachBlock(fn: BlockFn, grad = false, fromRow = 0): void {
    const { V, H } = this.config;
    const { B, T, R, k, buf, paramPtr, gradPtr } = this;
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
      k.packB({ packed: buf.wOut_packed!, b: paramPtr.wOut!, strideK: H, strideN: 1, K: V, N: H }); // W_out [V, H]
    }
    // W_outᵀ [H, V], packed here: the parameters may have changed since forward
    k.packB({ packed: buf.wOutT_packed!, b: paramPtr.wOut!, strideK: 1, strideN: H, K: H, N: V });
    const block = k.f32(buf.block!, R * V);
    // Inference may start at `fromRow` (rows before it are not needed); training needs all.
    const start = grad ? 0 : Math.max(0, Math.min(N, Math.floor(fromRow)));
    for (let r0 = start; r0 < N; r0 += R) {
      const rows = Math.min(R, N - r0);
      const hsChunk = buf.hs! + r0 * H * 4;
      k.mm({
        out: buf.block!,
        a: hsChunk,
        sam: H,
        sak: 1,
        packedB: buf.wOutT_packed!,
        bias: paramPtr.bOut!,
        M: rows,
        K: H,
        N: V,
        accumulate: false,
      });
      fn(r0, rows, rows === R ? block : block.subarray(0, rows * V));
      if (grad) {
        k.colSumAcc({ out: gradPtr.bOut!, a: buf.block!, M: rows, N: V });
        k.packB({ packed: buf.hsChunk_packed!, b: hsChunk, strideK: H, strideN: 1, K: rows, N: H });
        // dW_out += dzᵀ · hs_chunk (dz read transposed)
        k.mm({
          out: gradPtr.wOut!,
          a: buf.block!,
          sam: 1,
          sak: V,
          packedB: buf.hsChunk_packed!,
          bias: 0,
          M: V,
          K: rows,
          N: H,
          accumulate: true,
        });
        // dhs_chunk = dz · W_out
        k.mm({
          out: buf.dhs! + r0 * H * 4,
          a: buf.block!,
          sam: V,
          sak: 1,
          packedB: buf.wOut_packed!,
          bias: 0,
          M: rows,
          K: V,
          N: H,
          accumulate: false,
        });
      }
    }
  }

  /** Backward through time after `forEachBlock(fn, true)`: fills `grads`. */
  backward(): void {
    const { E, H } = this.config;
    const { B, T, k, buf, paramPtr, gradPtr } = this;
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
    k.packB({ packed: buf.wHh_packed!, b: paramPtr.wHh!, strideK: H, strideN: 1, K: G, N: H }); // W_hh [G, H]
    k.packB({ packed: buf.wIh_packed!, b: paramPtr.wIh!, strideK: E, strideN: 1, K: G, N: E }); // W_ih [G, E]
    k.f32(buf.dhNext!, B * H).fill(0);
    k.f32(buf.dcNext!, B * H).fill(0);
    k.lstmBackward({
      act: buf.act!,
      c0: buf.c0!,
      dhs: buf.dhs!,
      dhNext: buf.dhNext!,
      dcNext: buf.dcNext!,
      dz: buf.dz!,
      whh_packed: buf.wHh_packed!,
      B,
      H,
      T,
    });
    k.packB({ packed: buf.hPrev_packed!, b: buf.h0!, strideK: H, strideN: 1, K: N, N: H });
    k.packB({ packed: buf.x_packed!, b: buf.x!, strideK: E, strideN: 1, K: N, N: E });
    // dW_hh += dzᵀ · h_prev and dW_ih += dzᵀ · x (dz read transposed)
    k.mm({
      out: gradPtr.wHh!,
      a: buf.dz!,
      sam: 1,
      sak: G,
      packedB: buf.hPrev_packed!,
      bias: 0,
      M: G,
      K: N,
      N: H,
      accumulate: true,
    });
    k.mm({
      out: gradPtr.wIh!,
      a: buf.dz!,
      sam: 1,
      sak: G,
      packedB: buf.x_packed!,
      bias: 0,
      M: G,
      K: N,
      N: E,
      accumulate: true,
    });
    k.colSumAcc({ out: gradPtr.bIh!, a: buf.dz!, M: N, N: G });
    grads.bHh.set(grads.bIh);
    // dx = dz · W_ih
    k.mm({
      out: buf.dx!,
      a: buf.dz!,
      sam: G,
      sak: 1,
      packedB: buf.wIh_packed!,
      bias: 0,
      M: N,
      K: G,
      N: E,
      accumulate: false,
    });
    const dx = k.f32(buf.dx!, N * E);
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
