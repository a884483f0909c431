import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { sectionFromText } from '../../src/report/load.js';
import {
  detectKind,
  validateCompareResult,
  validateEvalResult,
  validateKldResult,
  validateTokenRecord,
  validateTrainCurves,
} from '../../src/results/schema.js';
import { compareResult, evalResult, kldResult, tokenRecords, trainCurves } from './fixtures.js';

/** Asserts `fn` throws an XentError whose message contains every `parts`. */
function rejects(fn: () => unknown, ...parts: string[]): XentError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof XentError, `expected XentError, got ${String(e)}`);
    for (const p of parts)
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    return e;
  }
  assert.fail('did not throw');
}

const O = { file: 'r.json' };

test('valid fixtures pass validation unchanged', () => {
  assert.deepEqual(validateEvalResult(evalResult(), O), evalResult());
  for (const [i, r] of tokenRecords(500, { hostile: true }).entries())
    assert.deepEqual(validateTokenRecord(r, { file: 't.jsonl', line: i + 1 }), r);
  validateTrainCurves(trainCurves(), O);
  validateCompareResult(compareResult(), O);
  validateKldResult(kldResult(), O);
  validateKldResult(kldResult(false), O);
});

test('eval result: missing, mistyped and inconsistent fields are named with the file', () => {
  const { model: _m, ...noModel } = evalResult();
  let e = rejects(() => validateEvalResult(noModel, O), 'report: r.json: field "model" must be a string, got nothing');
  assert.equal(e.code, 'invalid_file');
  assert.equal(e.fields.file, 'r.json');
  assert.equal(e.fields.arg, 'model');
  rejects(
    () => validateEvalResult({ ...evalResult(), tokens_scored: 1.5 }, O),
    'field "tokens_scored" must be an integer ≥ 1, got 1.5',
  );
  rejects(
    () => validateEvalResult({ ...evalResult(), top1_accuracy: 53 }, O),
    'field "top1_accuracy" must be a number in [0, 1], got 53',
  );
  rejects(
    () => validateEvalResult({ ...evalResult(), bits_per_token: 2 }, O),
    'field "bits_per_token" = 2 disagrees with nats_per_token / ln 2',
  );
  rejects(
    () => validateEvalResult({ ...evalResult(), perplexity: 9 }, O),
    'field "perplexity" = 9 disagrees with exp(nats_per_token)',
  );
  rejects(
    () => validateEvalResult({ ...evalResult(), nats_per_token: 'x' }, O),
    'field "nats_per_token" must be a number in [0, ∞], got "x"',
  );
  e = rejects(() => validateEvalResult([1], O), 'r.json: expected an eval result (a JSON object), got [1]');
  assert.equal(e.code, 'invalid_file');
});

test('token records: errors name file, line and field', () => {
  const r = tokenRecords(1)[0]!;
  const at = { file: 't.jsonl', line: 7 };
  rejects(
    () => validateTokenRecord({ ...r, p: 1.5 }, at),
    'report: t.jsonl line 7: field "p" must be a number in [0, 1], got 1.5',
  );
  rejects(
    () => validateTokenRecord({ ...r, rank: 0 }, at),
    't.jsonl line 7: field "rank" must be a 1-based rank ≥ 1 (1 = the model\'s top choice), got 0',
  );
  rejects(
    () => validateTokenRecord({ ...r, rank: 2.5 }, at),
    't.jsonl line 7: field "rank" must be an integer ≥ 1, got 2.5',
  );
  rejects(() => validateTokenRecord({ ...r, bits: r.bits + 1 }, at), 'field "bits"', 'disagrees with nats / ln 2');
  rejects(() => validateTokenRecord({ ...r, p: r.p * 1.01 + 0.001 }, at), 'field "p"', 'exp(-nats)');
  rejects(() => validateTokenRecord({ ...r, text: 5 }, at), 'field "text" must be a string, got 5');
  rejects(() => validateTokenRecord({ ...r, top1_p: r.p / 2 }, at), 'field "top1_p" must be ≥ p');
  const { top1_p: tp, ...rest } = { ...r, top1_p: 0.999 };
  assert.equal(validateTokenRecord({ ...rest, p_top1: tp }, at).top1_p, 0.999, 'p_top1 is accepted as top1_p');
});

test('train curves, compare and kld: structural errors', () => {
  const c = trainCurves(300, 100);
  rejects(
    () =>
      validateTrainCurves(
        {
          ...c,
          val: [
            { step: 2, nats_per_token: 1 },
            { step: 2, nats_per_token: 1 },
          ],
        },
        O,
      ),
    'field "val[1].step" must be an integer greater than the previous step (2)',
  );
  rejects(
    () => validateTrainCurves({ ...c, best_step: 150 }, O),
    'field "best_step" must be the step of one of the val points, got 150',
  );
  rejects(() => validateTrainCurves({ ...c, train: 'x' }, O), 'field "train" must be an array');
  rejects(() => validateTrainCurves({ ...c, settings: { lr: [1] } }, O), 'field "settings.lr"');
  const cr = compareResult();
  rejects(() => validateCompareResult({ ...cr, models: [] }, O), 'field "models" must be a non-empty array');
  rejects(
    () =>
      validateCompareResult(
        {
          ...cr,
          models: [{ model: 'a', bits_per_byte: 1, bits_per_byte_ci95_lo: 1.1, bits_per_byte_ci95_hi: 1.2 }],
          pairs: [],
        },
        O,
      ),
    'models[0].bits_per_byte_ci95_lo',
  );
  rejects(
    () => validateCompareResult({ ...cr, pairs: [{ ...cr.pairs![0]!, b: 'nope' }] }, O),
    'field "pairs[0].b" must be the name of one of the models, got "nope"',
  );
  rejects(
    () => validateKldResult({ ...kldResult(), kld_histogram: { edges_nats: [0, 1, 2], counts: [1] } }, O),
    'field "kld_histogram.counts" must be 2 non-negative integers',
  );
  rejects(
    () => validateKldResult({ ...kldResult(), same_top_p: 97 }, O),
    'field "same_top_p" must be a number in [0, 1]',
  );
});

test('detectKind and sectionFromText recognise each input by content', () => {
  assert.equal(detectKind(evalResult()), 'eval');
  assert.equal(detectKind(trainCurves(200)), 'train');
  assert.equal(detectKind(compareResult()), 'compare');
  assert.equal(detectKind(kldResult()), 'kld');
  assert.equal(detectKind(tokenRecords(1)[0]), 'tokens');
  assert.equal(detectKind({ hello: 1 }), undefined);
  assert.equal(sectionFromText(JSON.stringify(evalResult()), 'a.txt').kind, 'eval');
  assert.equal(sectionFromText(JSON.stringify(kldResult()), 'k').kind, 'kld');
  const recs = tokenRecords(50);
  const jsonl = `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`;
  const s = sectionFromText(jsonl, 'x.json');
  assert.equal(s.kind, 'tokens');
  assert.equal(s.kind === 'tokens' && s.records.length, 50);
  const one = sectionFromText(JSON.stringify(recs[0]), 'one.jsonl');
  assert.equal(one.kind === 'tokens' && one.records.length, 1);
  assert.equal(sectionFromText(JSON.stringify(recs), 'arr.json').kind, 'tokens');
  rejects(
    () => sectionFromText(jsonl.replace(/\n[^\n]*\n[^\n]*\n/, '\n{oops\n'), 't.jsonl'),
    'report: t.jsonl line 2: not valid JSON',
  );
  rejects(() => sectionFromText('{"hello": 1}', 'h.json'), 'h.json: not a result xent knows');
  rejects(() => sectionFromText('  \n', 'e.json'), 'e.json is empty');
});
