/**
 * JSONL tasks under lm-evaluation-harness's protocol, checked against lm-eval 0.4.13's own
 * Python code (test/tasks/lmeval_check.py, run in the venv at XENT_LMEVAL_VENV, default
 * /root/.cache/xent-lmeval-venv; skipped where it is absent): on the shared JSONL twins and on
 * edge cases (an empty context, trailing spaces, contexts cut to max_length − 1), every
 * request xent sent (tokens and ctxlen) equals the one lm-eval builds from the same
 * tokenizer, every log-likelihood equals parse_logprobs' sum of the same per-token values,
 * and acc, acc_norm and their mean_stderr equal lm-eval's, to the last bit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LanguageModel } from '../../src/models/language-model.js';
import { loadModel } from '../../src/models/load.js';
import { loadTasks } from '../../src/tasks/load-tasks.js';
import { runTasks } from '../../src/tasks/run-tasks.js';
import { type LogProbRequest, type LogProbScorer, modelScorer } from '../../src/tasks/scorer.js';
import { modelPath, needs, taskPath } from './helpers.js';

const VENV = process.env.XENT_LMEVAL_VENV ?? '/root/.cache/xent-lmeval-venv';
const PYTHON = join(VENV, 'bin', 'python');
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'lmeval_check.py');
const MODEL = modelPath('stories260K');
const skipShared = needs(MODEL, taskPath('hellaswag.jsonl'), taskPath('winogrande.jsonl'));
const venvOk =
  existsSync(PYTHON) &&
  spawnSync(
    PYTHON,
    [
      '-c',
      "import sys, types; sys.modules.setdefault('sacrebleu', types.ModuleType('sacrebleu')); import lm_eval.api.task",
    ],
    { encoding: 'utf8' },
  ).status === 0;
const skip = skipShared || (venvOk ? false : `needs lm-eval 0.4.13 in ${VENV} (absent here)`);

const dir = mkdtempSync(join(tmpdir(), 'xent-lmeval-'));
let model: LanguageModel | undefined;
before(async () => {
  if (!skip) model = await loadModel(MODEL!, { ctx: 2048, threads: 1, flashAttention: true });
});
after(async () => {
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface LmEvalOut {
  tasks: Array<{ inputs: number[][]; ctxlens: number[]; lls: number[]; acc: number; acc_norm: number }>;
  acc: number;
  acc_stderr: number;
  acc_norm: number;
  acc_norm_stderr: number;
}

/** Runs xent on `file` and lm-eval's code on what xent tokenised and scored; compares everything. */
async function check(file: string, maxLength: number, take?: number): Promise<{ truncated: number }> {
  const m = model!;
  const tokens: Record<string, number[]> = {};
  const recorder: LanguageModel = {
    id: m.id,
    name: m.name,
    kind: m.kind,
    engine: m.engine,
    vocabSize: m.vocabSize,
    trainContextLength: m.trainContextLength,
    addsBos: m.addsBos,
    bosToken: m.bosToken,
    byteExact: m.byteExact,
    pipelined: m.pipelined,
    fullDistributions: m.fullDistributions,
    threads: m.threads,
    tokenize: async (text) => {
      const t = await m.tokenize(text);
      tokens[text] = Array.from(t);
      return t;
    },
    tokenizeBytes: (b) => m.tokenizeBytes(b),
    tokenText: (t) => m.tokenText(t),
    tokenBytes: () => m.tokenBytes(),
    tokenPieces: (t) => m.tokenPieces(t),
    score: (t, o) => m.score(t, o),
    close: () => m.close(),
  };
  const inner = modelScorer(recorder, { llamaArithmetic: false });
  const sent: Array<Array<{ req: LogProbRequest; lp: number[] }>> = [[]];
  const scorer: LogProbScorer = {
    vocabSize: inner.vocabSize,
    async score(reqs) {
      const res = await inner.score(reqs);
      for (const [i, req] of reqs.entries()) sent[sent.length - 1]!.push({ req, lp: Array.from(res[i]!.logProbs) });
      return res;
    },
  };
  const loaded = loadTasks(file, take ? { take } : {});
  const run = await runTasks(recorder, loaded, file, { ctx: maxLength, scorer, onTask: () => void sent.push([]) });
  const docs = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, run.tasks)
    .map((l) => JSON.parse(l) as unknown);
  const input = {
    max_length: maxLength,
    bos: m.bosToken,
    tokens,
    scores: sent.slice(0, run.tasks).map((reqs) => reqs.map((s) => s.lp)),
    tasks: docs,
  };
  const py = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(py.status, 0, py.stderr);
  const ref = JSON.parse(py.stdout) as LmEvalOut;
  assert.equal(ref.tasks.length, run.records.length);
  run.records.forEach((rec, i) => {
    const want = ref.tasks[i]!;
    // The requests xent sent: lm-eval's inputs, scored from ctxlen on (empty continuations send none).
    const expected = want.inputs
      .map((inp, k) => ({ tokens: inp, from: want.ctxlens[k]! - 1 }))
      .filter((r, k) => r.tokens.length > want.ctxlens[k]!);
    assert.deepEqual(
      sent[i]!.map((s) => ({ tokens: Array.from(s.req.tokens), from: s.req.from })),
      expected,
      `task ${i + 1}: requests`,
    );
    assert.deepEqual(
      rec.choices.map((c) => c.logprob_nats),
      want.lls,
      `task ${i + 1}: log-likelihoods`,
    );
    assert.equal(rec.acc, want.acc, `task ${i + 1}: acc`);
    assert.equal(rec.acc_norm, want.acc_norm, `task ${i + 1}: acc_norm`);
  });
  assert.equal(run.acc, ref.acc);
  assert.equal(run.acc_stderr, ref.acc_stderr);
  assert.equal(run.acc_norm, ref.acc_norm);
  assert.equal(run.acc_norm_stderr, ref.acc_norm_stderr);
  return { truncated: run.truncated_requests ?? 0 };
}

test("winogrande.jsonl: lm-eval's partial scoring (contexts up to the blank + option), acc and acc_norm", {
  skip,
}, async () => {
  await check(taskPath('winogrande.jsonl')!, 2048);
});

test("hellaswag.jsonl (first 60 tasks): lm-eval's requests, sums, acc, acc_norm and stderr", { skip }, async () => {
  await check(taskPath('hellaswag.jsonl')!, 2048, 60);
});

test('max_length 100: requests cut on the left exactly as lm-eval cuts them', { skip }, async () => {
  const { truncated } = await check(taskPath('hellaswag.jsonl')!, 100, 20);
  assert.ok(truncated > 0, 'some requests were cut');
});

test('an empty context (the prefix token) and trailing spaces (moved to the continuation)', { skip }, async () => {
  const p = join(dir, 'edge.jsonl');
  writeFileSync(
    p,
    [
      { context: '', choices: ['Once upon a time', 'The end.'], gold: 0 },
      { context: 'Tom went to the park.  ', choices: ['He played.', 'Blue cheese.'], gold: 0 },
      { context: 'Lily had a cat named\t', choices: ['Tom', 'Kitty', 'a'], gold: 1 },
    ]
      .map((o) => JSON.stringify(o))
      .join('\n'),
  );
  await check(p, 2048);
});
