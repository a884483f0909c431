/**
 * The classic LSTM language model, Embedding(V, E) → LSTM(E → H) → Linear(H → V),
 * with PyTorch's parameter layout and semantics (torch.nn.Embedding, torch.nn.LSTM
 * with batch_first=True and one layer, torch.nn.Linear).
 *
 * Shapes (DEVELOPING.md letters): tokens [B, T] row-major Int32Array; row n = b·T + t
 * of every [B·T, ·] matrix is batch element b at time t.
 *
 * Parameters (PyTorch names in brackets), all float32, stored back to back in one
 * Float32Array (`params.flat`) so optimisers and checkpoints see a single vector:
 *   emb   [V, E]   (embedding.weight)        init N(0, 1)
 *   wIh   [4H, E]  (lstm.weight_ih_l0)       init U(−1/√H, 1/√H)
 *   wHh   [4H, H]  (lstm.weight_hh_l0)       init U(−1/√H, 1/√H)
 *   bIh   [4H]     (lstm.bias_ih_l0)         init U(−1/√H, 1/√H)
 *   bHh   [4H]     (lstm.bias_hh_l0)         init U(−1/√H, 1/√H)
 *   wOut  [V, H]   (decoder.weight)          init U(−1/√H, 1/√H)  (kaiming_uniform(a=√5) = this bound)
 *   bOut  [V]      (decoder.bias)            init U(−1/√H, 1/√H)
 * Gate order inside the 4H rows is PyTorch's: input i, forget f, cell g, output o.
 *   i = σ(W_ii x + b_ii + W_hi h + b_hi), f = σ(…), g = tanh(…), o = σ(…)
 *   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
 * The distributions are PyTorch's defaults; the random stream is xent's counter-based
 * generator (src/core/rng.ts) so the fixture script can rebuild the same weights.
 */
import { XentError } from '../../core/errors.js';
import { type Floats, matmulABt } from '../../core/matmul.js';
import { fillNormal, fillUniform } from '../../core/rng.js';
import type { Matrix } from '../../core/tensor.js';

export interface LstmConfig {
  /** Vocabulary size. */
  V: number;
  /** Embedding width. */
  E: number;
  /** Hidden width. */
  H: number;
  /** Seed of the initial weights (uint32; default 0). */
  seed?: number;
}

export const PARAM_NAMES = ['emb', 'wIh', 'wHh', 'bIh', 'bHh', 'wOut', 'bOut'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** PyTorch's name of each parameter, for fixtures and exports. */
export const TORCH_NAMES: Record<ParamName, string> = {
  emb: 'embedding.weight',
  wIh: 'lstm.weight_ih_l0',
  wHh: 'lstm.weight_hh_l0',
  bIh: 'lstm.bias_ih_l0',
  bHh: 'lstm.bias_hh_l0',
  wOut: 'decoder.weight',
  bOut: 'decoder.bias',
};

/** Named float32 views into one flat parameter (or gradient) vector. */
export type LstmParams = { readonly flat: Floats } & { readonly [K in ParamName]: Floats };

export interface LstmModel {
  readonly config: Readonly<Required<LstmConfig>>;
  readonly params: LstmParams;
}

/** Recurrent state carried between calls: h and c, each [B, H]. */
export interface LstmState {
  h: Floats;
  c: Floats;
}

/** A zero-filled array of the same precision as `like`. */
export function alloc(like: Floats, n: number): Floats {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}

/** [rows, cols] of every parameter (biases are [1, n]). */
export function paramShapes(cfg: LstmConfig): Record<ParamName, [number, number]> {
  const { V, E, H } = cfg;
  return {
    emb: [V, E],
    wIh: [4 * H, E],
    wHh: [4 * H, H],
    bIh: [1, 4 * H],
    bHh: [1, 4 * H],
    wOut: [V, H],
    bOut: [1, V],
  };
}

export function paramCount(cfg: LstmConfig): number {
  const s = paramShapes(cfg);
  return PARAM_NAMES.reduce((acc, n) => acc + s[n][0] * s[n][1], 0);
}

/** Named views over `flat` (allocated with zeros when omitted). */
export function paramViews(cfg: LstmConfig, flat: Floats = new Float32Array(paramCount(cfg))): LstmParams {
  const s = paramShapes(cfg);
  const out: Record<string, Floats> = { flat };
  let off = 0;
  for (const n of PARAM_NAMES) {
    const len = s[n][0] * s[n][1];
    out[n] = flat.subarray(off, off + len);
    off += len;
  }
  if (off !== flat.length) {
    throw new XentError(
      'shape_mismatch',
      'lstm',
      `parameter vector has ${flat.length} values but V=${cfg.V}, E=${cfg.E}, H=${cfg.H} needs ${off}`,
      {
        expected: off,
        actual: flat.length,
      },
    );
  }
  return out as LstmParams;
}

export function checkConfig(op: string, cfg: LstmConfig): Required<LstmConfig> {
  for (const k of ['V', 'E', 'H'] as const) {
    const v = cfg[k];
    if (!Number.isInteger(v) || v < 1 || v > 1 << 24) {
      throw new XentError('invalid_argument', op, `config.${k} must be an integer in [1, 2^24], got ${String(v)}`, {
        arg: `config.${k}`,
        value: v,
      });
    }
  }
  const seed = cfg.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new XentError('invalid_argument', op, `config.seed must be an integer in [0, 2^32), got ${String(seed)}`, {
      arg: 'config.seed',
      value: seed,
    });
  }
  return { V: cfg.V, E: cfg.E, H: cfg.H, seed };
}

/** Random streams of the initial weights (fixed: the fixture generator depends on them). */
export const INIT_STREAMS: Record<ParamName, number> = { emb: 1, wIh: 2, wHh: 3, bIh: 4, bHh: 5, wOut: 6, bOut: 7 };

/**
 * A freshly initialised model with PyTorch's default distributions (see the file
 * header), deterministic in `config.seed`.
 */
export function createLstmModel(config: LstmConfig): LstmModel {
  const cfg = checkConfig('createLstmModel', config);
  const params = paramViews(cfg);
  const k = 1 / Math.sqrt(cfg.H);
  fillNormal(params.emb, cfg.seed, INIT_STREAMS.emb, 0, 1);
  for (const n of ['wIh', 'wHh', 'bIh', 'bHh', 'wOut', 'bOut'] as const)
    fillUniform(params[n], cfg.seed, INIT_STREAMS[n], -k, k);
  return { config: cfg, params };
}

/** Wraps an existing parameter vector (e.g. read from a checkpoint) as a model. */
export function lstmModelFromParams(config: LstmConfig, flat: Floats): LstmModel {
  const cfg = checkConfig('lstmModelFromParams', config);
  return { config: cfg, params: paramViews(cfg, flat) };
}

/** Validates tokens [B, T] against V; throws naming the first bad position. */
export function checkTokens(op: string, tokens: unknown, B: number, T: number, V: number, arg = 'tokens'): Int32Array {
  if (!(tokens instanceof Int32Array)) {
    throw new XentError('invalid_argument', op, `${arg} must be an Int32Array of B·T token ids`, { arg });
  }
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
    throw new XentError('invalid_argument', op, `B and T must be positive integers, got B=${B}, T=${T}`, {
      arg: 'B, T',
      value: [B, T],
    });
  }
  if (tokens.length !== B * T) {
    throw new XentError(
      'shape_mismatch',
      op,
      `${arg} has ${tokens.length} ids but [B, T] = [${B}, ${T}] needs ${B * T}`,
      {
        arg,
        expected: B * T,
        actual: tokens.length,
      },
    );
  }
  for (let i = 0; i < tokens.length; i++) {
    const x = tokens[i]!;
    if (x < 0 || x >= V) {
      throw new XentError(
        'index_out_of_range',
        op,
        `${arg}[${Math.floor(i / T)}, ${i % T}] = ${x} is out of range [0, ${V})`,
        {
          arg,
          row: Math.floor(i / T),
          column: i % T,
          value: x,
        },
      );
    }
  }
  return tokens;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** xg[n, :] = emb[tokens[n]] · W_ihᵀ + b_ih + b_hh for every n: [B·T, 4H]. */
export function inputGates(model: LstmModel, tokens: Int32Array): { x: Floats; xg: Floats } {
  const { E, H } = model.config;
  const p = model.params;
  const N = tokens.length;
  const x = alloc(p.flat, N * E);
  for (let n = 0; n < N; n++) x.set(p.emb.subarray(tokens[n]! * E, tokens[n]! * E + E), n * E);
  const bias = alloc(p.flat, 4 * H);
  for (let j = 0; j < 4 * H; j++) bias[j] = p.bIh[j]! + p.bHh[j]!;
  const xg = alloc(p.flat, N * 4 * H);
  matmulABt(xg, x, p.wIh, N, E, 4 * H, bias);
  return { x, xg };
}

/**
 * Runs the recurrence over T steps and returns every hidden state hs [B·T, H] and
 * the final state. `state` (h, c of [B, H]) defaults to zeros and is not modified.
 */
export function lstmHiddenStates(
  model: LstmModel,
  tokens: Int32Array,
  B: number,
  T: number,
  state?: LstmState,
): { hs: Floats; state: LstmState } {
  const { V, H } = model.config;
  checkTokens('lstmHiddenStates', tokens, B, T, V);
  const p = model.params;
  const G = 4 * H;
  const { xg } = inputGates(model, tokens);
  const h = alloc(p.flat, B * H);
  const c = alloc(p.flat, B * H);
  if (state) {
    h.set(state.h);
    c.set(state.c);
  }
  const hs = alloc(p.flat, B * T * H);
  const gates = alloc(p.flat, B * G);
  for (let t = 0; t < T; t++) {
    // gates[b, :] = h[b] · W_hhᵀ, then add the precomputed input part.
    matmulABt(gates, h, p.wHh, B, H, G);
    for (let b = 0; b < B; b++) {
      const go = b * G;
      const xo = (b * T + t) * G;
      for (let j = 0; j < H; j++) {
        const gi = sigmoid(gates[go + j]! + xg[xo + j]!);
        const gf = sigmoid(gates[go + H + j]! + xg[xo + H + j]!);
        const gg = Math.tanh(gates[go + 2 * H + j]! + xg[xo + 2 * H + j]!);
        const gout = sigmoid(gates[go + 3 * H + j]! + xg[xo + 3 * H + j]!);
        const cn = gf * c[b * H + j]! + gi * gg;
        c[b * H + j] = cn;
        const hn = gout * Math.tanh(cn);
        h[b * H + j] = hn;
        hs[(b * T + t) * H + j] = hn;
      }
    }
  }
  return { hs, state: { h, c } };
}

/**
 * The forward pass: logits [B·T, V] for tokens [B, T] (float32), from a zero state
 * unless `state` is given. Row b·T + t holds the scores of the token after
 * tokens[b, t].
 */
export function lstmForward(model: LstmModel, tokens: Int32Array, B: number, T: number, state?: LstmState): Matrix {
  const { V, H } = model.config;
  const { hs } = lstmHiddenStates(model, tokens, B, T, state);
  const logits = alloc(model.params.flat, B * T * V);
  matmulABt(logits, hs, model.params.wOut, B * T, H, V, model.params.bOut);
  return { data: logits, shape: [B * T, V] };
}
