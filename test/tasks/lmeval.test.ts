/**
 * JSONL tasks under lm-evaluation-harness's protocol, checked against lm-eval 0.4.13's own
 * Python code run live (test/tasks/lmeval_check.py in the venv at XENT_LMEVAL_VENV, default
 * /root/.cache/xent-lmeval-venv) on stories260K's real log-probabilities: on the shared JSONL
 * twins and on edge cases (an empty context, trailing spaces, contexts cut to
 * max_length − 1), every request xent sent (tokens and ctxlen) equals the one lm-eval builds
 * from the same tokenizer, every log-likelihood equals parse_logprobs' sum of the same
 * per-token values, and acc, acc_norm and their mean_stderr equal lm-eval's, to the last bit.
 *
 * The venv is required (under CI its absence fails this file): lmeval-fixtures.test.ts checks
 * the same cases against lm-eval's committed answers without it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LanguageModel } from '../../src/models/language-model.js';
import { loadModel } from '../../src/models/load.js';
import { requires } from '../helpers/requires.js';
import { modelFile, modelPath, taskFile } from './helpers.js';
import { assertMatchesLmEval, LMEVAL_CASES, LMEVAL_PYTHON, recordRun, runLmEval } from './lmeval-cases.js';

const skip = requires({
  shared: [modelFile('stories260K'), taskFile('hellaswag.jsonl'), taskFile('winogrande.jsonl')],
  native: true,
  // lm-eval 0.4.13 installed in its venv (pip install lm-eval==0.4.13).
  files: [LMEVAL_PYTHON],
});

let model: LanguageModel | undefined;
before(async () => {
  if (!skip) model = await loadModel(modelPath('stories260K'), { ctx: 2048, threads: 1, flashAttention: true });
});
after(async () => {
  await model?.close();
});

const CASE = Object.fromEntries(LMEVAL_CASES.map((c) => [c.name, c]));

/** Runs xent on the case and lm-eval's code on what xent tokenised and scored; compares everything. */
async function check(name: string): Promise<{ truncated: number }> {
  const rec = await recordRun(model!, CASE[name]!);
  assertMatchesLmEval(rec, runLmEval(rec.input));
  return { truncated: rec.run.truncated_requests ?? 0 };
}

test("winogrande.jsonl: lm-eval's partial scoring (contexts up to the blank + option), acc and acc_norm", {
  skip,
}, async () => {
  await check('winogrande');
});

test("hellaswag.jsonl (first 60 tasks): lm-eval's requests, sums, acc, acc_norm and stderr", { skip }, async () => {
  await check('hellaswag60');
});

test('max_length 100: requests cut on the left exactly as lm-eval cuts them', { skip }, async () => {
  const { truncated } = await check('hellaswag20-max100');
  assert.ok(truncated > 0, 'some requests were cut');
});

test('an empty context (the prefix token) and trailing spaces (moved to the continuation)', { skip }, async () => {
  await check('edge');
});
