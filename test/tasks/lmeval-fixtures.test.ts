/**
 * JSONL tasks under lm-evaluation-harness's protocol, without its venv: the cases of
 * lmeval.test.ts scored with made-up log-probabilities (`syntheticScorer`: coarse dyadic
 * values where ties between choices decide numpy's first-maximum argmax, and values with no
 * exact sum where the order of the additions shows), against lm-eval 0.4.13's own code run
 * on the same tokens and values by scripts/tasks-fixtures.mjs (test/tasks/lmeval_check.py),
 * committed as test/tasks/data/lmeval-<case>.json. The requests xent sends, each
 * log-likelihood, acc, acc_norm and their mean_stderr must equal lm-eval's to the last bit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { LanguageModel } from '../../src/models/language-model.js';
import { loadModel } from '../../src/models/load.js';
import { requires } from '../helpers/requires.js';
import { DATA_DIR, modelFile, modelPath, taskFile } from './helpers.js';
import { assertMatchesLmEval, LMEVAL_CASES, type LmEvalOut, recordRun, syntheticScorer } from './lmeval-cases.js';

const skip = requires({
  shared: [modelFile('stories260K'), taskFile('hellaswag.jsonl'), taskFile('winogrande.jsonl')],
  native: true,
});

let model: LanguageModel | undefined;
before(async () => {
  // Only the tokenizer is used: the scores are synthetic.
  if (!skip) model = await loadModel(modelPath('stories260K'), { ctx: 2048, threads: 1 });
});
after(async () => {
  await model?.close();
});

interface Fixture {
  case: string;
  max_length: number;
  take: number | null;
  synthetic: { levels: number; denom: number };
  lmeval: LmEvalOut;
}

for (const c of LMEVAL_CASES) {
  test(`${c.name}: lm-eval's requests, log-likelihoods, acc, acc_norm and stderr on given log-probabilities`, {
    skip,
  }, async () => {
    const fx = JSON.parse(readFileSync(join(DATA_DIR, `lmeval-${c.name}.json`), 'utf8')) as Fixture;
    assert.deepEqual(
      [fx.case, fx.max_length, fx.take, fx.synthetic],
      [c.name, c.maxLength, c.take ?? null, c.synthetic],
      'the fixture was made for this case',
    );
    const rec = await recordRun(model!, c, syntheticScorer(model!.vocabSize, c.synthetic));
    assertMatchesLmEval(rec, fx.lmeval);
    if (c.maxLength === 100) assert.ok((rec.run.truncated_requests ?? 0) > 0, 'some requests were cut');
  });
}
