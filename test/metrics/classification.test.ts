import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  accuracy,
  f1Score,
  fbetaScore,
  precisionRecallFscoreSupport,
  precisionScore,
  recallScore,
  topKAccuracy,
} from '../../src/index.js';
import { close, closeArray, isCode, REF } from './helpers.js';

// Expected values marked "sklearn docs" are the docstring examples of scikit-learn 1.2
// (sklearn/metrics/_classification.py, _ranking.py); the exact fractions follow from the
// counts spelled out next to them.

test('accuracy: sklearn docs example and sample weights', () => {
  // sklearn docs: accuracy_score([0, 2, 1, 3], [0, 1, 2, 3]) = 0.5, normalize=False → 2
  assert.equal(accuracy([0, 2, 1, 3], [0, 1, 2, 3]), 0.5);
  assert.equal(accuracy([0, 2, 1, 3], [0, 1, 2, 3], { normalize: false }), 2);
  // weighted: hits at rows 0 and 3 → (1 + 4) / (1 + 2 + 3 + 4)
  close(accuracy([0, 2, 1, 3], [0, 1, 2, 3], { sampleWeight: [1, 2, 3, 4] }), 0.5);
  assert.equal(accuracy(['cat', 'dog'], ['cat', 'cat']), 0.5);
  assert.throws(() => accuracy([0, 1], [0]), isCode('shape_mismatch', /yPred has length 1 but yTrue has length 2/));
  assert.throws(() => accuracy([0, 1], ['a', 'b']), isCode('invalid_argument', /labels must be of one type/));
  assert.throws(() => accuracy([], []), isCode('empty_input'));
});

test('topKAccuracy: sklearn docs example, normalize=False, ties toward the higher index, k ≥ V', () => {
  // sklearn docs (top_k_accuracy_score): y_true [0, 1, 2, 2], k=2 → 0.75; normalize=False → 3
  const scores = {
    data: Float64Array.from([0.5, 0.2, 0.2, 0.3, 0.4, 0.2, 0.2, 0.4, 0.3, 0.7, 0.2, 0.1]),
    shape: [4, 3] as const,
  };
  assert.equal(topKAccuracy([0, 1, 2, 2], scores, { k: 2 }).value, 0.75);
  assert.equal(topKAccuracy([0, 1, 2, 2], scores, { k: 2, normalize: false }).value, 3);
  // Row 0 = [0.5, 0.2, 0.2]: the k=2 set is {0, 2} (stable argsort reversed puts index 2 before 1).
  const row = { data: Float64Array.from([0.5, 0.2, 0.2]), shape: [1, 3] as const };
  assert.equal(topKAccuracy([2], row, { k: 2 }).value, 1);
  assert.equal(topKAccuracy([1], row, { k: 2 }).value, 0);
  const r = topKAccuracy([1], row, { k: 3 });
  assert.equal(r.value, 1);
  assert.equal(r.meaningless, true);
  assert.throws(
    () => topKAccuracy([3], row, { k: 1 }),
    isCode('index_out_of_range', /target\[0\] = 3 is out of range \[0, 3\)/),
  );
  assert.throws(() => topKAccuracy([0], row, { k: 0 }), isCode('invalid_argument', /k must be an integer ≥ 1/));
});

test('precision/recall/F: sklearn docs examples (string labels, labels order, averages)', () => {
  // sklearn docs (precision_recall_fscore_support): macro (0.22…, 0.33…, 0.26…), micro 0.33…, weighted
  // (0.22…, 0.33…, 0.26…). Counts: cat tp 2 / pred 3 / true 2; dog 0 / 2 / 2; pig 0 / 1 / 2.
  const yt = ['cat', 'dog', 'pig', 'cat', 'dog', 'pig'];
  const yp = ['cat', 'pig', 'dog', 'cat', 'cat', 'dog'];
  const macro = precisionRecallFscoreSupport(yt, yp, { average: 'macro' });
  close(macro.precision, 2 / 9); // cat 2/3, dog 0, pig 0
  close(macro.recall, 1 / 3);
  close(macro.fScore, 0.8 / 3);
  const micro = precisionRecallFscoreSupport(yt, yp, { average: 'micro' });
  close(micro.precision, 1 / 3);
  close(micro.recall, 1 / 3);
  close(micro.fScore, 1 / 3);
  const weighted = precisionRecallFscoreSupport(yt, yp, { average: 'weighted' });
  close(weighted.precision, 2 / 9);
  close(weighted.fScore, 0.8 / 3);
  // sklearn docs: average=None, labels=['pig', 'dog', 'cat'] → P [0, 0, 0.66…], R [0, 0, 1], F [0, 0, 0.8], support [2, 2, 2]
  const per = precisionRecallFscoreSupport(yt, yp, { average: 'none', labels: ['pig', 'dog', 'cat'] });
  assert.deepEqual(per.labels, ['pig', 'dog', 'cat']);
  closeArray(per.precision, [0, 0, 2 / 3]);
  closeArray(per.recall, [0, 0, 1]);
  closeArray(per.fScore, [0, 0, 0.8]);
  assert.deepEqual(per.support, [2, 2, 2]);
  // sklearn docs (f1_score): y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1] → macro 0.26…, micro 0.33…, None [0.8, 0, 0]
  const t = [0, 1, 2, 0, 1, 2];
  const p = [0, 2, 1, 0, 0, 1];
  close(f1Score(t, p, { average: 'macro' }), 0.8 / 3);
  close(f1Score(t, p, { average: 'micro' }), 1 / 3);
  close(f1Score(t, p, { average: 'weighted' }), 0.8 / 3);
  closeArray(f1Score(t, p, { average: 'none' }), [0.8, 0, 0]);
  close(precisionScore(t, p, { average: 'macro' }), 2 / 9);
  close(recallScore(t, p, { average: 'macro' }), 1 / 3);
  // fbeta docs: beta=0.5 → macro 0.23…, micro 0.33…, None [0.71…, 0, 0]
  close(fbetaScore(t, p, { average: 'macro', beta: 0.5 }), (1.25 * (2 / 3)) / (0.25 * (2 / 3) + 1) / 3);
  closeArray(fbetaScore(t, p, { average: 'none', beta: 0.5 }), [(1.25 * (2 / 3)) / (0.25 * (2 / 3) + 1), 0, 0]);
});

test('binary average (the scikit-learn default) and zeroDivision 0 / 1 / NaN / warn', () => {
  // sklearn docs (f1_score): all-zero y_true and y_pred: posLabel 1 never occurs →
  // 0 with a warning by default, 1 with zero_division=1, NaN with zero_division=NaN (≥ 1.3).
  const z = [0, 0, 0, 0, 0, 0];
  const warned: string[] = [];
  assert.equal(f1Score(z, z, { onWarning: (m) => warned.push(m) }), 0);
  assert.equal(warned.length, 1);
  assert.match(
    warned[0] as string,
    /^F-score is ill-defined and being set to 0\.0 due to no true nor predicted samples/,
  );
  assert.equal(f1Score(z, z, { zeroDivision: 1 }), 1);
  assert.ok(Number.isNaN(f1Score(z, z, { zeroDivision: NaN })));
  // binary: P = tp/pred for class 1: y_true [0,1,1,0], y_pred [1,1,0,0] → P 1/2, R 1/2
  const r = precisionRecallFscoreSupport([0, 1, 1, 0], [1, 1, 0, 0]);
  assert.equal(r.average, 'binary');
  close(r.precision, 0.5);
  close(r.recall, 0.5);
  close(r.fScore, 0.5);
  close(precisionScore(['a', 'b', 'b'], ['b', 'b', 'a'], { posLabel: 'a' }), 0);
  assert.throws(
    () => f1Score([0, 1, 2], [0, 1, 2]),
    isCode('invalid_argument', /target is multiclass \(3 labels\) but average='binary'/),
  );
  assert.throws(
    () => f1Score([0, 1], [0, 1], { posLabel: 2 }),
    isCode('invalid_argument', /posLabel=2 is not a valid label/),
  );
  // precision warns for a class never predicted; recall for a class never true; both silent with zeroDivision set.
  const w2 = precisionRecallFscoreSupport([0, 1, 2], [0, 0, 1], { average: 'macro' });
  assert.deepEqual(
    w2.warnings.map((m) => m.split(' ')[0]),
    ['Precision'],
  );
  const w3 = precisionRecallFscoreSupport([0, 0, 1], [0, 1, 2], { average: 'macro' });
  assert.deepEqual(
    w3.warnings.map((m) => m.split(' ')[0]),
    ['Recall'],
  );
  assert.deepEqual(
    precisionRecallFscoreSupport([0, 1, 2], [0, 0, 1], { average: 'macro', zeroDivision: 0 }).warnings,
    [],
  );
});

test('labels argument: classes absent from yPred or from both, order kept', () => {
  // class 5 appears nowhere; class 2 is never predicted.
  const r = precisionRecallFscoreSupport([0, 1, 2, 2], [0, 1, 1, 1], {
    average: 'none',
    labels: [5, 2, 1, 0],
    zeroDivision: 1,
  });
  closeArray(r.precision, [1, 1, 1 / 3, 1]); // 5: 0/0 → 1; 2: 0/0 → 1; 1: 1/3; 0: 1/1
  closeArray(r.recall, [1, 0, 1, 1]); // 5: 0/0 → 1; 2: 0/2
  closeArray(r.fScore, [1, 0, 0.5, 1]);
  assert.deepEqual(r.support, [0, 2, 1, 1]);
  // macro over a label subset
  close(f1Score([0, 1, 2, 2], [0, 1, 1, 1], { average: 'macro', labels: [1, 2] }), 0.25);
  // weighted with no true sample of any reported label: scikit-learn 1.2 returns (0, zd, 0) when something was predicted
  const w = precisionRecallFscoreSupport([0, 0], [1, 1], { average: 'weighted', labels: [1, 2], zeroDivision: 1 });
  assert.deepEqual([w.precision, w.recall, w.fScore], [0, 1, 0]);
  assert.throws(() => f1Score([0.5], [0.5], { average: 'micro' }), isCode('invalid_argument', /not an integer/));
  assert.throws(
    () => f1Score([0, 1], [0, 1], { average: 'macro', zeroDivision: 2 }),
    isCode('invalid_argument', /zeroDivision must be/),
  );
  assert.throws(
    () => f1Score([0, 1], [0, 1], { average: 'samples' as never }),
    isCode('invalid_argument', /average must be one of/),
  );
});

test(`precision/recall/F equal scikit-learn on ${REF.sklearn.cases.length} random cases (${REF.sklearn.version}; see data/make_reference_cases.py)`, () => {
  const nan = (x: (number | null)[] | null): number[] | null =>
    x === null ? null : x.map((v) => (v === null ? NaN : v));
  for (const c of REF.sklearn.cases) {
    const r = precisionRecallFscoreSupport(c.y_true, c.y_pred, {
      labels: c.labels ?? undefined,
      average: c.average ?? 'none',
      zeroDivision: c.zero_division === 'nan' ? NaN : c.zero_division,
      beta: c.beta,
      sampleWeight: c.sample_weight ?? undefined,
    });
    const what = JSON.stringify(c).slice(0, 200);
    const arr = (x: number | number[]): number[] => (Array.isArray(x) ? x : [x]);
    closeArray(arr(r.precision), nan(c.precision) as number[], 1e-12, `precision ${what}`);
    closeArray(arr(r.recall), nan(c.recall) as number[], 1e-12, `recall ${what}`);
    closeArray(arr(r.fScore), nan(c.f) as number[], 1e-12, `f ${what}`);
    if (c.support !== null) closeArray(r.support as number[], nan(c.support) as number[], 1e-12, `support ${what}`);
  }
});

test('properties: F between min and max of P and R; micro F1 = accuracy over all labels; scores in [0, 1]', () => {
  const labelsArb = fc
    .integer({ min: 1, max: 40 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }),
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }),
      ),
    );
  fc.assert(
    fc.property(labelsArb, ([t, p]) => {
      const r = precisionRecallFscoreSupport(t, p, { average: 'none', zeroDivision: 0 });
      r.fScore.forEach((f, i) => {
        const P = r.precision[i] as number;
        const R = r.recall[i] as number;
        assert.ok(f >= 0 && f <= 1);
        if (P > 0 && R > 0) assert.ok(f >= Math.min(P, R) - 1e-15 && f <= Math.max(P, R) + 1e-15);
      });
      close(f1Score(t, p, { average: 'micro' }), accuracy(t, p));
    }),
    { numRuns: 200 },
  );
});
