/**
 * Every deliberate error of the loss library: an XentError with the right code, the op
 * that refused the input, and a message that starts with the op and names the argument
 * and the offending shape / row / column / value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { XentErrorCode } from '../../src/index.js';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  distillationLoss,
  entropy,
  klDivergence,
  logLoss,
  logSoftmax,
  logSoftmaxBackward,
  logSumExp,
  naiveCrossEntropy,
  nllLoss,
  perplexity,
  relativeEntropy,
  StreamingCrossEntropy,
  StreamingLogSumExp,
  softmax,
  wassersteinDistance,
  XentError,
} from '../../src/index.js';

function throwsXent(
  fn: () => unknown,
  code: XentErrorCode,
  op: string,
  message: RegExp,
  fields: Record<string, unknown> = {},
): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof XentError, `expected an XentError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.op, op);
    assert.ok(e.message.startsWith(`${op}: `), e.message);
    assert.match(e.message, message);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(e.fields[k], v, `fields.${k} in ${e.message}`);
    return true;
  });
}

const X = { data: Float64Array.from({ length: 3 * 7 }, (_, k) => Math.sin(k)), shape: [3, 7] as const };
const Y = Int32Array.of(0, 6, 3);
const bad = (k: number, x: number) => ({ data: X.data.map((v, i) => (i === k ? x : v)), shape: X.shape });

test('crossEntropy: invalid_argument for bad option types and values', () => {
  const op = 'crossEntropy';
  throwsXent(() => crossEntropy(null as never, Y), 'invalid_argument', op, /logits must be/);
  throwsXent(
    () => crossEntropy({ data: [1, 2] as never, shape: [1, 2] }, Int32Array.of(0)),
    'invalid_argument',
    op,
    /logits\.data must be a Float32Array or Float64Array, got an Array/,
  );
  throwsXent(() => crossEntropy(X, Y, 'mean' as never), 'invalid_argument', op, /options must be an object/);
  throwsXent(
    () => crossEntropy(X, Y, { reduction: 'avg' as never }),
    'invalid_argument',
    op,
    /reduction must be one of 'mean', 'sum', 'none', got string avg/,
  );
  throwsXent(
    () => crossEntropy(X, Y, { unit: 'nats' as never }),
    'invalid_argument',
    op,
    /unit must be 'nat' or 'bit'/,
  );
  throwsXent(
    () => crossEntropy(X, Y, { labelSmoothing: 1.5 }),
    'invalid_argument',
    op,
    /labelSmoothing = 1\.5 is outside \[0, 1\]/,
    { arg: 'labelSmoothing', value: 1.5 },
  );
  throwsXent(
    () => crossEntropy(X, Y, { labelSmoothing: -0.1 }),
    'invalid_argument',
    op,
    /labelSmoothing = -0\.1 is outside/,
  );
  throwsXent(
    () => crossEntropy(X, Y, { labelSmoothing: NaN }),
    'non_finite',
    op,
    /labelSmoothing must be a finite number/,
  );
  throwsXent(() => crossEntropy(X, Y, { zLoss: -1 }), 'invalid_argument', op, /zLoss = -1 is outside \[0, ∞\)/);
  throwsXent(
    () => crossEntropy(X, Y, { weight: [1, 2, 3] }),
    'invalid_argument',
    op,
    /weight has length 3 but logits have V = 7 classes/,
    { arg: 'weight', expected: 7, actual: 3 },
  );
  throwsXent(() => crossEntropy(X, Y, { weight: [1, 1, 1, NaN, 1, 1, 1] }), 'non_finite', op, /weight\[3\] is NaN/);
  throwsXent(
    () => crossEntropy(X, Y, { weight: 'heavy' as never }),
    'invalid_argument',
    op,
    /weight must be an array of numbers/,
  );
  throwsXent(
    () => crossEntropy(X, Float32Array.of(0, 1, 2) as never),
    'invalid_argument',
    op,
    /target must be an Int32Array of class indices.*got a Float32Array of length 3/,
  );
  throwsXent(() => crossEntropy(X, [0, 1, 2] as never), 'invalid_argument', op, /target must be an Int32Array/);
  throwsXent(() => crossEntropy(X, Y, { ignoreIndex: 0.5 }), 'invalid_argument', op, /ignoreIndex must be an integer/);
  throwsXent(
    () => crossEntropy(X, Y, { backend: 'gpu' as never }),
    'invalid_argument',
    op,
    /backend must be 'auto', 'js' or 'wasm', got string gpu/,
  );
  throwsXent(() => crossEntropy(X, Y, { threads: 0 }), 'invalid_argument', op, /threads must be a positive integer/);
  throwsXent(() => crossEntropy(X, Y, { grad: 'yes' as never }), 'invalid_argument', op, /grad must be a boolean/);
  throwsXent(
    () => crossEntropy(X, Y, { out: new Float64Array(21), inPlace: true }),
    'invalid_argument',
    op,
    /either out or inPlace/,
  );
  throwsXent(
    () => crossEntropy(X, Y, { out: new Array(21) as never }),
    'invalid_argument',
    op,
    /out must be a Float32Array or Float64Array/,
  );
  throwsXent(
    () => crossEntropy(X, { data: new Float64Array(21).fill(1 / 7), shape: [3, 7] }, { ignoreIndex: 3 }),
    'invalid_argument',
    op,
    /ignoreIndex = 3 cannot be used with probability \(soft\) targets/,
  );
});

test('crossEntropy: shape_mismatch names both shapes', () => {
  const op = 'crossEntropy';
  throwsXent(
    () => crossEntropy({ data: new Float64Array(20), shape: [3, 7] }, Y),
    'shape_mismatch',
    op,
    /logits\.shape \[3, 7\] needs 21 elements but logits\.data has 20/,
  );
  throwsXent(
    () => crossEntropy(X, Int32Array.of(0, 1)),
    'shape_mismatch',
    op,
    /target has 2 entries but logits have N = 3 rows/,
    { expected: [3], actual: [2] },
  );
  throwsXent(
    () => crossEntropy(X, { data: new Float64Array(14), shape: [2, 7] }),
    'shape_mismatch',
    op,
    /target\.shape \[2, 7\] differs from logits\.shape \[3, 7\]/,
  );
  throwsXent(
    () => crossEntropy(X, Y, { out: new Float32Array(20) }),
    'shape_mismatch',
    op,
    /out has length 20 but logits has 21 elements/,
  );
});

test('crossEntropy: index_out_of_range names the row and the value', () => {
  const op = 'crossEntropy';
  throwsXent(
    () => crossEntropy(X, Int32Array.of(0, 7, 1)),
    'index_out_of_range',
    op,
    /^crossEntropy: target\[1\] = 7 is out of range \[0, 7\) and is not ignoreIndex \(-100\)$/,
    { row: 1, value: 7 },
  );
  throwsXent(
    () => crossEntropy(X, Int32Array.of(0, 1, -1)),
    'index_out_of_range',
    op,
    /target\[2\] = -1 is out of range/,
    { row: 2, value: -1 },
  );
  // -100 is ignored by default but not once ignoreIndex is changed.
  throwsXent(
    () => crossEntropy(X, Int32Array.of(-100, 1, 2), { ignoreIndex: 0 }),
    'index_out_of_range',
    op,
    /target\[0\] = -100 is out of range \[0, 7\) and is not ignoreIndex \(0\)/,
  );
});

test('crossEntropy: non_finite names the row and the column of NaN / +Infinity logits', () => {
  const op = 'crossEntropy';
  throwsXent(
    () => crossEntropy(bad(1 * 7 + 3, NaN), Y),
    'non_finite',
    op,
    /^crossEntropy: logits\[1, 3\] is NaN; logits must be finite or -Infinity$/,
    { row: 1, column: 3 },
  );
  throwsXent(() => crossEntropy(bad(2 * 7 + 6, Infinity), Y), 'non_finite', op, /logits\[2, 6\] is Infinity/, {
    row: 2,
    column: 6,
  });
  const f32 = { data: Float32Array.from(bad(5, NaN).data), shape: X.shape };
  throwsXent(() => crossEntropy(f32, Y), 'non_finite', op, /logits\[0, 5\] is NaN/);
  const soft = { data: new Float64Array(21).fill(1 / 7), shape: [3, 7] as const };
  soft.data[9] = NaN;
  throwsXent(() => crossEntropy(X, soft), 'non_finite', op, /target\[1, 2\] is NaN/);
  // −Infinity is allowed (a masked class).
  assert.ok(Number.isFinite(crossEntropy(bad(1, -Infinity), Y).loss));
});

test('empty_input: V = 0 classes for every row-wise op', () => {
  const empty = { data: new Float64Array(0), shape: [3, 0] as const };
  throwsXent(
    () => crossEntropy(empty, Int32Array.of(0, 0, 0)),
    'empty_input',
    'crossEntropy',
    /logits\.shape \[3, 0\] has V = 0 classes/,
  );
  throwsXent(() => nllLoss(empty, Int32Array.of(0, 0, 0)), 'empty_input', 'nllLoss', /V = 0 classes/);
  throwsXent(() => logSumExp(empty), 'empty_input', 'logSumExp', /x\.shape \[3, 0\] has V = 0/);
  throwsXent(() => softmax(empty), 'empty_input', 'softmax', /V = 0/);
  throwsXent(() => logSoftmax(empty), 'empty_input', 'logSoftmax', /V = 0/);
  throwsXent(() => distillationLoss(empty, empty), 'empty_input', 'distillationLoss', /V = 0/);
  throwsXent(() => naiveCrossEntropy(empty, Int32Array.of(0, 0, 0)), 'empty_input', 'naiveCrossEntropy', /V = 0/);
  throwsXent(() => new StreamingLogSumExp().logSumExp, 'empty_input', 'StreamingLogSumExp', /no logits were pushed/);
  throwsXent(
    () => new StreamingCrossEntropy(0).push([]).result(),
    'empty_input',
    'StreamingCrossEntropy',
    /no logits were pushed/,
  );
  throwsXent(
    () => logLoss(new Int32Array(0), { data: new Float64Array(0), shape: [0, 3] }),
    'empty_input',
    'logLoss',
    /no rows/,
  );
  throwsXent(() => entropy([]), 'empty_input', 'entropy', /pk is empty/);
  throwsXent(() => wassersteinDistance([], [1]), 'empty_input', 'wassersteinDistance', /uValues is empty/);
});

test('nllLoss, logSumExp, softmax, logSoftmax, logSoftmaxBackward: their own op name in errors', () => {
  throwsXent(
    () => nllLoss(X, Int32Array.of(0, 1, 9)),
    'index_out_of_range',
    'nllLoss',
    /target\[2\] = 9 is out of range \[0, 7\)/,
  );
  throwsXent(() => nllLoss(bad(0, NaN), Y), 'non_finite', 'nllLoss', /logProbs\[0, 0\] is NaN/);
  throwsXent(
    () => nllLoss(X, Y, { weight: [1] }),
    'invalid_argument',
    'nllLoss',
    /weight has length 1 but logProbs have V = 7 classes/,
  );
  throwsXent(() => logSumExp(bad(20, NaN)), 'non_finite', 'logSumExp', /x\[2, 6\] is NaN/);
  throwsXent(() => softmax(bad(0, Infinity)), 'non_finite', 'softmax', /x\[0, 0\] is Infinity/);
  throwsXent(
    () => logSoftmax({ data: new Float64Array(3), shape: [2, 2] }),
    'shape_mismatch',
    'logSoftmax',
    /needs 4 elements/,
  );
  throwsXent(
    () => logSoftmaxBackward(X, { data: new Float64Array(14), shape: [2, 7] }),
    'shape_mismatch',
    'logSoftmaxBackward',
    /gradLogProbs\.shape \[3, 7\] differs from logProbs\.shape \[2, 7\]/,
  );
  throwsXent(
    () => naiveCrossEntropy(X, Int32Array.of(0, 1, 7)),
    'index_out_of_range',
    'naiveCrossEntropy',
    /^naiveCrossEntropy: target\[2\] = 7 is out of range \[0, 7\)$/,
  );
});

test('binaryCrossEntropy and binaryCrossEntropyWithLogits', () => {
  const p = { data: Float64Array.of(0.1, 0.5, 0.9, 0.2, 0.3, 0.4), shape: [2, 3] };
  const y = { data: Float64Array.of(0, 1, 1, 0, 0, 1), shape: [2, 3] };
  let op = 'binaryCrossEntropy';
  throwsXent(
    () => binaryCrossEntropy({ data: Float64Array.of(0.1, 1.5), shape: [2] }, Float64Array.of(0, 1)),
    'invalid_argument',
    op,
    /probs\[1\] = 1\.5 is outside \[0, 1\]/,
  );
  throwsXent(
    () => binaryCrossEntropy(p, { data: y.data.map((v, i) => (i === 4 ? -0.5 : v)), shape: [2, 3] }),
    'invalid_argument',
    op,
    /target\[1, 1\] = -0\.5 is outside \[0, 1\]/,
  );
  throwsXent(
    () => binaryCrossEntropy({ data: p.data.map((v, i) => (i === 5 ? NaN : v)), shape: [2, 3] }, y),
    'non_finite',
    op,
    /probs\[1, 2\] is NaN/,
  );
  throwsXent(
    () => binaryCrossEntropy(p, { data: y.data, shape: [3, 2] }),
    'shape_mismatch',
    op,
    /target\.shape \[3, 2\] differs from probs\.shape \[2, 3\]/,
  );
  throwsXent(
    () => binaryCrossEntropy(p, y, { weight: [1, 2] }),
    'shape_mismatch',
    op,
    /weight has length 2; it must be a number, or have length 3 \(the last dimension\) or 6/,
  );
  throwsXent(
    () => binaryCrossEntropy({ data: p.data, shape: [2, 2] }, y),
    'shape_mismatch',
    op,
    /probs\.shape \[2, 2\] needs 4 elements but probs\.data has 6/,
  );
  op = 'binaryCrossEntropyWithLogits';
  throwsXent(
    () => binaryCrossEntropyWithLogits({ data: Float64Array.of(1, Infinity), shape: [1, 2] }, Float64Array.of(0, 1)),
    'shape_mismatch',
    op,
    /target\.shape \[2\] differs from logits\.shape \[1, 2\]/,
  );
  throwsXent(
    () => binaryCrossEntropyWithLogits(Float64Array.of(1, Infinity), Float64Array.of(0, 1)),
    'non_finite',
    op,
    /logits\[1\] is Infinity; logits must be finite/,
  );
  throwsXent(
    () => binaryCrossEntropyWithLogits(Float64Array.of(1, -Infinity), Float64Array.of(0, 1)),
    'non_finite',
    op,
    /logits\[1\] is -Infinity/,
  );
  throwsXent(
    () => binaryCrossEntropyWithLogits(p, y, { posWeight: [1, 2, 3, 4] }),
    'shape_mismatch',
    op,
    /posWeight has length 4/,
  );
  throwsXent(() => binaryCrossEntropyWithLogits(p, y, { posWeight: NaN }), 'non_finite', op, /posWeight\[0\] is NaN/);
  throwsXent(
    () => binaryCrossEntropyWithLogits(p, y, { reduction: 'batchmean' as never }),
    'invalid_argument',
    op,
    /reduction must be one of/,
  );
});

test('klDivergence and distillationLoss', () => {
  let op = 'klDivergence';
  const t = { data: new Float64Array(21).fill(1 / 7), shape: [3, 7] };
  throwsXent(
    () => klDivergence(X, { data: t.data, shape: [7, 3] }),
    'shape_mismatch',
    op,
    /target\.shape \[7, 3\] differs from input\.shape \[3, 7\]/,
  );
  throwsXent(
    () => klDivergence(bad(8, NaN), t),
    'non_finite',
    op,
    /input\[1, 1\] is NaN; input must be finite or -Infinity/,
  );
  throwsXent(
    () => klDivergence(X, { data: t.data.map((v, i) => (i === 0 ? -Infinity : v)), shape: [3, 7] }),
    'non_finite',
    op,
    /target\[0, 0\] is -Infinity; target must be finite$/,
  );
  throwsXent(
    () => klDivergence(X, t, { reduction: 'avg' as never }),
    'invalid_argument',
    op,
    /reduction must be one of 'batchmean', 'mean', 'sum', 'none'/,
  );
  throwsXent(
    () => klDivergence(X, t, { logTarget: 1 as never }),
    'invalid_argument',
    op,
    /logTarget must be a boolean/,
  );
  op = 'distillationLoss';
  throwsXent(
    () => distillationLoss(X, { data: new Float64Array(14), shape: [2, 7] }),
    'shape_mismatch',
    op,
    /teacherLogits\.shape \[2, 7\] differs from studentLogits\.shape \[3, 7\]/,
  );
  throwsXent(() => distillationLoss(X, X, { temperature: 0 }), 'invalid_argument', op, /temperature must be > 0/);
  throwsXent(() => distillationLoss(X, X, { temperature: -1 }), 'invalid_argument', op, /temperature = -1 is outside/);
  throwsXent(() => distillationLoss(X, X, { target: Y }), 'invalid_argument', op, /alpha is required with target/);
  throwsXent(() => distillationLoss(X, X, { alpha: 0.5 }), 'invalid_argument', op, /alpha = 0\.5 needs a target/);
  throwsXent(
    () => distillationLoss(X, X, { alpha: 2, target: Y }),
    'invalid_argument',
    op,
    /alpha = 2 is outside \[0, 1\]/,
  );
  throwsXent(
    () => distillationLoss(X, X, { alpha: 0.5, target: Int32Array.of(0, 0, 8) }),
    'index_out_of_range',
    op,
    /target\[2\] = 8/,
  );
  throwsXent(() => distillationLoss(X, bad(3, NaN)), 'non_finite', op, /teacherLogits\[0, 3\] is NaN/);
});

test('perplexity, streaming, logLoss, entropy, wasserstein', () => {
  throwsXent(() => perplexity({} as never), 'invalid_argument', 'perplexity', /give exactly one of nats or bits/);
  throwsXent(() => perplexity({ nats: 1, bits: 1 } as never), 'invalid_argument', 'perplexity', /exactly one/);
  throwsXent(() => perplexity({ nats: NaN }), 'non_finite', 'perplexity', /nats is NaN/);
  throwsXent(() => perplexity({ bits: -1 }), 'invalid_argument', 'perplexity', /bits = -1 is negative/);
  throwsXent(
    () => new StreamingCrossEntropy(2).push([1, NaN]),
    'non_finite',
    'StreamingCrossEntropy',
    /logit at column 1 \(chunk\[1\]\) is NaN/,
  );
  throwsXent(
    () => new StreamingCrossEntropy(2).push([1, 2]).push([Infinity]),
    'non_finite',
    'StreamingCrossEntropy',
    /logit at column 2 \(chunk\[0\]\) is Infinity/,
    { column: 2 },
  );
  throwsXent(
    () => new StreamingCrossEntropy(5).push([1, 2]).result(),
    'index_out_of_range',
    'StreamingCrossEntropy',
    /target = 5 is out of range \[0, 2\)/,
  );
  throwsXent(
    () => new StreamingCrossEntropy(-1),
    'invalid_argument',
    'StreamingCrossEntropy',
    /target must be a class index/,
  );
  throwsXent(
    () => new StreamingLogSumExp().push('abc' as never),
    'invalid_argument',
    'StreamingLogSumExp',
    /chunk must be an array of numbers/,
  );
  const yPred = { data: Float64Array.of(0.2, 0.8, 0.5, 0.5), shape: [2, 2] as const };
  throwsXent(
    () => logLoss(Int32Array.of(0, 2), yPred),
    'index_out_of_range',
    'logLoss',
    /^logLoss: yTrue\[1\] = 2 is out of range \[0, 2\)$/,
  );
  throwsXent(
    () => logLoss(Int32Array.of(0, 1), yPred, { sampleWeight: [1] }),
    'invalid_argument',
    'logLoss',
    /sampleWeight has length 1 but yPred has N = 2 rows/,
  );
  throwsXent(() => entropy([0.5, -0.5]), 'invalid_argument', 'entropy', /pk\[1\] = -0\.5 is negative/);
  throwsXent(() => entropy([0, 0]), 'invalid_argument', 'entropy', /pk sums to 0/);
  throwsXent(
    () => relativeEntropy([0.5, 0.5], [1]),
    'shape_mismatch',
    'relativeEntropy',
    /qk has length 1 but pk has 2/,
  );
  throwsXent(() => wassersteinDistance([1, NaN], [1]), 'non_finite', 'wassersteinDistance', /uValues\[1\] is NaN/);
  throwsXent(
    () => wassersteinDistance([1, 2], [1], [1, -1]),
    'invalid_argument',
    'wassersteinDistance',
    /uWeights\[1\] = -1 is negative/,
  );
  throwsXent(
    () => wassersteinDistance([1, 2], [1], [1]),
    'shape_mismatch',
    'wassersteinDistance',
    /uWeights has length 1 but uValues has 2/,
  );
});
