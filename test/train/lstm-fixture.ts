// The PyTorch reference of the LSTM language model (fixtures/train/lstm_reference.json, made by
// fixtures/train/make_lstm_fixture.py) and the checks its tests share: the cases, the batches
// both sides rebuild from xent's counter RNG, and the seed case's gradient summaries.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomTokens } from '../../src/core/rng.js';
import { type LstmParams, PARAM_NAMES, type ParamName } from '../../src/models/lstm/lstm.js';
import { REPO_ROOT } from '../helpers/shared.js';

export interface LstmCase {
  name: string;
  V: number;
  E: number;
  H: number;
  B: number;
  T: number;
  seed: number;
  inputs_stream: number;
  targets_stream: number;
  dtype: string;
  loss?: number;
  /** small_smoothing_ignore: PyTorch's plain cross-entropy (no smoothing) of the same logits. */
  ce_nats?: number;
  grads?: Record<ParamName, number[]>;
  label_smoothing?: number;
  ignored_positions?: number[];
  optimizer?: 'adam' | 'adamw';
  clip?: number;
  losses?: number[];
  grad_norms?: number[];
  params_after?: Record<ParamName, number[]>;
  grad_stats?: Record<
    ParamName,
    { sum: number; l2: number; max_abs: number; first64: number[]; rows?: Record<string, number[] | number> }
  >;
}

const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'train', 'lstm_reference.json'), 'utf8')) as {
  cases: LstmCase[];
};

export const lstmCase = (n: string): LstmCase => fixture.cases.find((c) => c.name === n)!;

/** The case's batch [B, T] (row-major b·T + t), as the generator draws it. */
export function lstmBatch(c: LstmCase): { x: Int32Array; y: Int32Array } {
  return {
    x: randomTokens(c.B * c.T, c.V, c.seed, c.inputs_stream),
    y: randomTokens(c.B * c.T, c.V, c.seed, c.targets_stream),
  };
}

/** max |a − b| / max(1e-30, max |b|) per tensor. */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0,
    s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / Math.max(s, 1e-30);
}

/**
 * The seed case's gradients against PyTorch's summaries: elementwise within 1e-4 of PyTorch's
 * largest |gradient| in the tensor, and matching L2 norm, max |g| and sum.
 */
export function checkSeedGrads(c: LstmCase, grads: LstmParams): void {
  for (const p of PARAM_NAMES) {
    const s = c.grad_stats![p];
    const g = grads[p];
    let sum = 0,
      sq = 0,
      mx = 0;
    for (let i = 0; i < g.length; i++) {
      sum += g[i]!;
      sq += g[i]! * g[i]!;
      mx = Math.max(mx, Math.abs(g[i]!));
    }
    const tol = 1e-4 * s.max_abs;
    assert.ok(Math.abs(Math.sqrt(sq) - s.l2) <= 1e-4 * s.l2, `${p}: L2 ${Math.sqrt(sq)} vs ${s.l2}`);
    assert.ok(Math.abs(mx - s.max_abs) <= tol, `${p}: max|g| ${mx} vs ${s.max_abs}`);
    assert.ok(Math.abs(sum - s.sum) <= 1e-4 * s.l2 * Math.sqrt(g.length) + 1e-9, `${p}: sum ${sum} vs ${s.sum}`);
    for (let i = 0; i < s.first64.length; i++)
      assert.ok(Math.abs(g[i]! - s.first64[i]!) <= tol, `${p}[${i}]: ${g[i]} vs ${s.first64[i]}`);
    if (s.rows) {
      for (const [tok, row] of Object.entries(s.rows)) {
        const t = Number(tok);
        if (typeof row === 'number') assert.ok(Math.abs(g[t]! - row) <= tol, `${p}[${t}]`);
        else
          for (let j = 0; j < row.length; j++)
            assert.ok(
              Math.abs(g[t * row.length + j]! - row[j]!) <= tol,
              `${p}[${t}, ${j}]: ${g[t * row.length + j]} vs ${row[j]}`,
            );
      }
    }
  }
}
