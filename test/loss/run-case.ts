/**
 * Runs one reference case (../shared/fixtures format) through xent: maps the PyTorch /
 * SciPy / scikit-learn op and parameter names to xent's and returns, per checked
 * quantity, [xent's value, the reference value]. An unmapped op throws, so a case xent
 * cannot run fails rather than being skipped.
 */
import assert from 'node:assert/strict';
import type { FloatArray, Matrix } from '../../src/index.js';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  bitsToNats,
  crossEntropy,
  distillationLoss,
  entropy,
  klDivergence,
  logLoss,
  logSoftmax,
  logSoftmaxBackward,
  logSumExp,
  naiveCrossEntropy,
  natsToBits,
  nllLoss,
  perplexity,
  relativeEntropy,
  softmax,
  wassersteinDistance,
} from '../../src/index.js';
import type { FixtureCase } from './fixture.js';
import { flat, num } from './fixture.js';

export type Dtype = 'float64' | 'float32';
export const TOL: Record<Dtype, { rtol: number; atol: number }> = {
  float64: { rtol: 1e-9, atol: 1e-13 },
  float32: { rtol: 1e-5, atol: 1e-8 },
};

export interface Outcome {
  /** name → [got, expected] */
  values: Record<string, [ArrayLike<number>, ArrayLike<number>]>;
}

function arr(dtype: Dtype, xs: number[]): FloatArray {
  return dtype === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs);
}

/** [N, V] matrix from a fixture input; leading dimensions (B, T, …) are flattened into N. */
function matrix(dtype: Dtype, c: FixtureCase, key: string): Matrix {
  // numpy inputs (sklearn/scipy cases) carry no `_shape`: take it from the nesting.
  const nested = c.inputs[key] as unknown[][];
  const shape = (c.inputs[`${key}_shape`] as number[] | undefined) ?? [nested.length, (nested[0] as unknown[]).length];
  const v = shape[shape.length - 1] as number;
  const data = arr(dtype, flat(c.inputs[key]));
  return { data, shape: [data.length / v, v] };
}

function tensor(dtype: Dtype, c: FixtureCase, key: string): { data: FloatArray; shape: number[] } {
  return { data: arr(dtype, flat(c.inputs[key])), shape: c.inputs[`${key}_shape`] as number[] };
}

function lossArray(loss: number | Float64Array): ArrayLike<number> {
  return typeof loss === 'number' ? [loss] : loss;
}

function checkGradType(dtype: Dtype, g: FloatArray | undefined): FloatArray {
  assert.ok(g !== undefined, 'gradient missing');
  assert.ok(
    dtype === 'float32' ? g instanceof Float32Array : g instanceof Float64Array,
    `gradient type ${g.constructor.name} for ${dtype} input`,
  );
  return g;
}

function weightParam(p: unknown): number | number[] | undefined {
  if (p === null || p === undefined) return undefined;
  return typeof p === 'number' ? p : flat(p);
}

export function runCase(c: FixtureCase, dtype: Dtype): Outcome {
  const p = c.params;
  const expected = c.op === 'perplexity' ? [] : flat(c.expected);
  const values: Outcome['values'] = {};
  switch (c.op) {
    case 'cross_entropy': {
      const logits = matrix(dtype, c, 'logits');
      const target = c.target_kind === 'probs' ? matrix(dtype, c, 'target') : Int32Array.from(flat(c.inputs.target));
      const r = crossEntropy(logits, target, {
        reduction: p.reduction as 'mean' | 'sum' | 'none',
        ignoreIndex: p.ignore_index as number,
        labelSmoothing: p.label_smoothing as number,
        weight: weightParam(p.weight) as number[] | undefined,
        zLoss: (p.z_loss as number | undefined) ?? 0,
        grad: true,
      });
      values.loss = [lossArray(r.loss), expected];
      values.grad = [checkGradType(dtype, r.grad), flat(c.grad)];
      break;
    }
    case 'nll_loss': {
      const r = nllLoss(matrix(dtype, c, 'log_probs'), Int32Array.from(flat(c.inputs.target)), {
        reduction: p.reduction as 'mean' | 'sum' | 'none',
        ignoreIndex: p.ignore_index as number,
        weight: weightParam(p.weight) as number[] | undefined,
        grad: true,
      });
      values.loss = [lossArray(r.loss), expected];
      values.grad = [checkGradType(dtype, r.grad), flat(c.grad)];
      break;
    }
    case 'kl_div_input': {
      // F.kl_div on raw (N-D) tensors, gradient w.r.t. its input.
      const r = klDivergence(tensor(dtype, c, 'input'), tensor(dtype, c, 'target'), {
        reduction: p.reduction as 'batchmean' | 'mean' | 'sum' | 'none',
        logTarget: p.log_target as boolean,
        grad: true,
      });
      values.loss = [lossArray(r.loss), expected];
      values.grad = [checkGradType(dtype, r.grad), flat(c.grad)];
      break;
    }
    case 'softmax':
    case 'log_softmax': {
      assert.equal(p.dim, -1);
      const x = matrix(dtype, c, 'x');
      values.out = [(c.op === 'softmax' ? softmax(x) : logSoftmax(x)).data, expected];
      break;
    }
    case 'binary_cross_entropy_with_logits': {
      const r = binaryCrossEntropyWithLogits(tensor(dtype, c, 'logits'), tensor(dtype, c, 'target'), {
        reduction: p.reduction as 'mean' | 'sum' | 'none',
        weight: weightParam(p.weight),
        posWeight: weightParam(p.pos_weight),
        grad: true,
      });
      values.loss = [lossArray(r.loss), expected];
      values.grad = [checkGradType(dtype, r.grad), flat(c.grad)];
      break;
    }
    case 'binary_cross_entropy': {
      const r = binaryCrossEntropy(tensor(dtype, c, 'probs'), tensor(dtype, c, 'target'), {
        reduction: p.reduction as 'mean' | 'sum' | 'none',
        weight: weightParam(p.weight),
        grad: true,
      });
      values.loss = [lossArray(r.loss), expected];
      values.grad = [checkGradType(dtype, r.grad), flat(c.grad)];
      break;
    }
    case 'kl_div': {
      const input = matrix(dtype, c, 'input_logprobs');
      const target = matrix(dtype, c, 'target');
      const r = klDivergence(input, target, {
        reduction: p.reduction as 'batchmean' | 'mean' | 'sum' | 'none',
        logTarget: p.log_target as boolean,
        grad: true,
      });
      values.loss = [lossArray(r.loss), expected];
      // The fixture's gradient is w.r.t. the student logits: chain through log_softmax.
      const g = logSoftmaxBackward({ data: checkGradType(dtype, r.grad), shape: input.shape }, input);
      values.grad = [g.data, flat(c.grad)];
      break;
    }
    case 'distillation': {
      assert.equal(p.reduction, 'batchmean');
      const target = c.inputs.target === undefined ? undefined : Int32Array.from(flat(c.inputs.target));
      const r = distillationLoss(matrix(dtype, c, 'student_logits'), matrix(dtype, c, 'teacher_logits'), {
        temperature: p.temperature as number,
        ...(p.alpha === null ? {} : { alpha: p.alpha as number }),
        ...(target === undefined ? {} : { target }),
        t2Scaling: p.t2_scaling as boolean,
        grad: true,
      });
      values.loss = [[r.loss], expected];
      if (c.soft_part !== undefined) values.soft = [[r.softLoss], [num(c.soft_part)]];
      if (c.hard_part !== undefined) values.hard = [[r.hardLoss ?? NaN], [num(c.hard_part)]];
      values.grad = [checkGradType(dtype, r.grad), flat(c.grad)];
      break;
    }
    case 'perplexity': {
      const e = c.expected as Record<string, unknown>;
      const logits = matrix(dtype, c, 'logits');
      const target = Int32Array.from(flat(c.inputs.target));
      const nats = crossEntropy(logits, target, { ignoreIndex: p.ignore_index as number }).loss;
      const bits = crossEntropy(logits, target, { ignoreIndex: p.ignore_index as number, unit: 'bit' }).loss;
      values.mean_ce_nats = [[nats], [num(e.mean_ce_nats)]];
      values.mean_ce_bits = [[bits], [num(e.mean_ce_bits)]];
      values.nats_to_bits = [[natsToBits(nats)], [num(e.mean_ce_bits)]];
      values.bits_to_nats = [[bitsToNats(bits)], [num(e.mean_ce_nats)]];
      values.perplexity = [[perplexity({ nats })], [num(e.perplexity)]];
      values.perplexity_base2 = [[perplexity({ bits })], [num(e.perplexity_base2)]];
      break;
    }
    case 'sklearn_log_loss': {
      assert.equal(p.eps, 'auto');
      const yPred = matrix(dtype, c, 'y_pred');
      const sw = c.inputs.sample_weight === undefined ? undefined : flat(c.inputs.sample_weight);
      // eps 'auto' follows the input float type (as sklearn); the fixture's inputs are float64.
      const got = logLoss(Int32Array.from(flat(c.inputs.y_true)), yPred, {
        eps: dtype === 'float64' ? 'auto' : 2 ** -52,
        ...(sw === undefined ? {} : { sampleWeight: sw }),
      });
      values.loss = [[got], expected];
      break;
    }
    case 'scipy_wasserstein_distance': {
      const i = c.inputs;
      const got = wassersteinDistance(
        arr(dtype, flat(i.u_values)),
        arr(dtype, flat(i.v_values)),
        i.u_weights === undefined ? undefined : arr(dtype, flat(i.u_weights)),
        i.v_weights === undefined ? undefined : arr(dtype, flat(i.v_weights)),
      );
      values.distance = [[got], expected];
      break;
    }
    case 'scipy_entropy': {
      const base = p.base;
      assert.ok(base === null || base === 2, `scipy base ${String(base)} has no xent unit`);
      const unit = base === 2 ? 'bit' : 'nat';
      const pk = arr(dtype, flat(c.inputs.pk));
      const got =
        c.inputs.qk === undefined
          ? entropy(pk, { unit })
          : relativeEntropy(pk, arr(dtype, flat(c.inputs.qk)), { unit });
      values.entropy = [[got], expected];
      break;
    }
    case 'manual_softmax_gather_log_eps': {
      const logits = matrix(dtype, c, 'logits');
      const target = Int32Array.from(flat(c.inputs.target));
      values.naive = [[naiveCrossEntropy(logits, target, { eps: p.eps as number }).loss], expected];
      values.torch_cross_entropy = [[crossEntropy(logits, target).loss], [num(c.torch_cross_entropy)]];
      break;
    }
    case 'logsumexp': {
      assert.equal(p.dim, -1);
      values.lse = [logSumExp(matrix(dtype, c, 'x')), expected];
      break;
    }
    default:
      throw new Error(`fixture case ${c.name}: op '${c.op}' is not mapped to xent`);
  }
  return { values };
}
