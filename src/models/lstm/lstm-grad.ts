/**
 * Loss and gradients of the LSTM language model (src/models/lstm/lstm.ts), reference
 * version: forward with a cache, fused output + cross-entropy, backward through
 * time. Plain TypeScript over Float32Array (float32 model) or Float64Array (float64
 * model, used by the finite-difference tests); the WebAssembly trainer
 * (src/train/fast-trainer.ts) is validated against it.
 *
 * Loss = mean over non-ignored positions of CE(logits[b·T + t], targets[b, t])
 * (torch.nn.functional.cross_entropy, reduction 'mean', optional label smoothing).
 *
 * Backward through time (per step t, per unit j; σ' = s(1−s), tanh' = 1−g²):
 *   dh  = dhs[t] + dh_next                    dc = dc_next + dh·o·(1 − tanh²c_t)
 *   do  = dh·tanh c_t    di = dc·g    dg = dc·i    df = dc·c_{t−1}    dc_next = dc·f
 *   dz  = [di·i(1−i), df·f(1−f), dg(1−g²), do·o(1−o)]   (pre-activation, [B, 4H])
 *   dh_next = dz · W_hh;   dW_hh += dzᵀ h_{t−1};  dW_ih += dzᵀ x_t;  db_ih = db_hh += Σ dz
 *   demb[token] += dz · W_ih
 */
import { XentError } from '../../core/errors.js';
import { type Floats, matmulAB, matmulABt, matmulAtB } from '../../core/matmul.js';
import {
  alloc,
  checkTokens,
  inputGates,
  type LstmModel,
  type LstmParams,
  type LstmState,
  paramViews,
  sigmoid,
} from './lstm.js';
import { type OutputCeOptions, outputCrossEntropyRef } from './output-ce.js';

export interface LossOptions extends OutputCeOptions {
  /** Initial state (h, c of [B, H]); zeros when omitted. */
  state?: LstmState;
}

export interface LossAndGrad {
  /** Mean training loss (with label smoothing when set), nats per token. */
  loss: number;
  /** Mean plain cross-entropy, nats per token. */
  ceNats: number;
  /** Scored (non-ignored) positions. */
  count: number;
  /** Gradients, same layout as the parameters. */
  grads: LstmParams;
  /** Final state, for carrying across batches. */
  state: LstmState;
}

/** Forward cache of one batch: what backward needs. All [B·T, ·] rows n = b·T + t. */
interface Cache {
  x: Floats; // [N, E] embeddings
  act: Floats; // [N, 4H] activated gates i, f, g, o
  cs: Floats; // [N, H] cell states c_t
  hs: Floats; // [N, H] hidden states h_t
  h0: Floats; // [B, H]
  c0: Floats; // [B, H]
}

function forwardCached(model: LstmModel, tokens: Int32Array, B: number, T: number, state?: LstmState): Cache {
  const { H } = model.config;
  const p = model.params;
  const G = 4 * H;
  const N = B * T;
  const { x, xg } = inputGates(model, tokens);
  const h0 = alloc(p.flat, B * H);
  const c0 = alloc(p.flat, B * H);
  if (state) {
    h0.set(state.h);
    c0.set(state.c);
  }
  const act = alloc(p.flat, N * G);
  const cs = alloc(p.flat, N * H);
  const hs = alloc(p.flat, N * H);
  const hp = alloc(p.flat, B * H);
  const gates = alloc(p.flat, B * G);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++)
      hp.set(t === 0 ? h0.subarray(b * H, b * H + H) : hs.subarray((b * T + t - 1) * H, (b * T + t) * H), b * H);
    matmulABt(gates, hp, p.wHh, B, H, G);
    for (let b = 0; b < B; b++) {
      const n = b * T + t;
      const go = b * G;
      const xo = n * G;
      for (let j = 0; j < H; j++) {
        const gi = sigmoid(gates[go + j]! + xg[xo + j]!);
        const gf = sigmoid(gates[go + H + j]! + xg[xo + H + j]!);
        const gg = Math.tanh(gates[go + 2 * H + j]! + xg[xo + 2 * H + j]!);
        const gout = sigmoid(gates[go + 3 * H + j]! + xg[xo + 3 * H + j]!);
        act[xo + j] = gi;
        act[xo + H + j] = gf;
        act[xo + 2 * H + j] = gg;
        act[xo + 3 * H + j] = gout;
        const cprev = t === 0 ? c0[b * H + j]! : cs[(n - 1) * H + j]!;
        const cn = gf * cprev + gi * gg;
        cs[n * H + j] = cn;
        hs[n * H + j] = gout * Math.tanh(cn);
      }
    }
  }
  return { x, act, cs, hs, h0, c0 };
}

/**
 * Mean cross-entropy of predicting targets [B, T] from inputs [B, T], and its
 * gradient with respect to every parameter. `opts.ignoreIndex` (default −100)
 * marks target positions to skip.
 */
export function lstmLossAndGrad(
  model: LstmModel,
  inputs: Int32Array,
  targets: Int32Array,
  B: number,
  T: number,
  opts: LossOptions = {},
): LossAndGrad {
  const op = 'lstmLossAndGrad';
  const { V, E, H } = model.config;
  checkTokens(op, inputs, B, T, V, 'inputs');
  const ignore = opts.ignoreIndex ?? -100;
  if (!(targets instanceof Int32Array) || targets.length !== B * T) {
    throw new XentError('shape_mismatch', op, `targets must be an Int32Array of B·T = ${B * T} ids`, {
      arg: 'targets',
    });
  }
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i]!;
    if (y !== ignore && (y < 0 || y >= V)) {
      throw new XentError(
        'index_out_of_range',
        op,
        `targets[${Math.floor(i / T)}, ${i % T}] = ${y} is out of range [0, ${V})`,
        { arg: 'targets', value: y },
      );
    }
  }
  const p = model.params;
  const G = 4 * H;
  const N = B * T;
  const cache = forwardCached(model, inputs, B, T, opts.state);
  const grads = paramViews(model.config, alloc(p.flat, p.flat.length));

  let count = 0;
  for (let i = 0; i < N; i++) if (targets[i] !== ignore) count++;
  const dhs = alloc(p.flat, N * H);
  const ce = outputCrossEntropyRef(cache.hs, N, H, p.wOut, p.bOut, V, targets, opts, {
    dW: grads.wOut,
    db: grads.bOut,
    dhs,
    scale: count > 0 ? 1 / count : 0,
  });

  // Backward through time.
  const dz = alloc(p.flat, N * G); // pre-activation gate gradients, all steps
  const dhNext = alloc(p.flat, B * H);
  const dcNext = alloc(p.flat, B * H);
  const dzt = alloc(p.flat, B * G);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const n = b * T + t;
      const ao = n * G;
      for (let j = 0; j < H; j++) {
        const gi = cache.act[ao + j]!,
          gf = cache.act[ao + H + j]!,
          gg = cache.act[ao + 2 * H + j]!,
          go = cache.act[ao + 3 * H + j]!;
        const c = cache.cs[n * H + j]!;
        const cprev = t === 0 ? cache.c0[b * H + j]! : cache.cs[(n - 1) * H + j]!;
        const tc = Math.tanh(c);
        const dh = dhs[n * H + j]! + dhNext[b * H + j]!;
        const dc = dcNext[b * H + j]! + dh * go * (1 - tc * tc);
        const zo = b * G;
        dzt[zo + j] = dc * gg * gi * (1 - gi);
        dzt[zo + H + j] = dc * cprev * gf * (1 - gf);
        dzt[zo + 2 * H + j] = dc * gi * (1 - gg * gg);
        dzt[zo + 3 * H + j] = dh * tc * go * (1 - go);
        dcNext[b * H + j] = dc * gf;
      }
      dz.set(dzt.subarray(b * G, b * G + G), n * G);
    }
    dhNext.fill(0);
    matmulAB(dhNext, dzt, p.wHh, B, G, H);
  }
  // Weight gradients over all steps at once: h_{t−1} rows (h0 for t = 0).
  const hprev = alloc(p.flat, N * H);
  for (let b = 0; b < B; b++) {
    hprev.set(cache.h0.subarray(b * H, b * H + H), b * T * H);
    if (T > 1) hprev.set(cache.hs.subarray(b * T * H, (b * T + T - 1) * H), (b * T + 1) * H);
  }
  matmulAtB(grads.wHh, dz, hprev, N, G, H);
  matmulAtB(grads.wIh, dz, cache.x, N, G, E);
  for (let n = 0; n < N; n++) for (let j = 0; j < G; j++) grads.bIh[j] = grads.bIh[j]! + dz[n * G + j]!;
  grads.bHh.set(grads.bIh);
  const dx = alloc(p.flat, N * E);
  matmulAB(dx, dz, p.wIh, N, G, E);
  for (let n = 0; n < N; n++) {
    const o = inputs[n]! * E;
    for (let e = 0; e < E; e++) grads.emb[o + e] = grads.emb[o + e]! + dx[n * E + e]!;
  }
  const hT = alloc(p.flat, B * H);
  const cT = alloc(p.flat, B * H);
  for (let b = 0; b < B; b++) {
    hT.set(cache.hs.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
    cT.set(cache.cs.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  }
  return {
    loss: count > 0 ? ce.sumNats / count : NaN,
    ceNats: count > 0 ? ce.sumCeNats / count : NaN,
    count,
    grads,
    state: { h: hT, c: cT },
  };
}
