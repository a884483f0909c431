/**
 * JSONL tasks under lm-evaluation-harness's protocol, the parts both lm-eval tests share:
 * a run of xent that records every string it tokenised and every request it sent with the
 * log-probabilities it got, the input lm-eval's own code (test/tasks/lmeval_check.py) takes
 * from that, and the comparison of xent's figures with lm-eval's.
 *
 *  - lmeval.test.ts: the real model's log-probabilities, lm-eval run live in its venv;
 *  - lmeval-fixtures.test.ts: synthetic log-probabilities (`syntheticScorer`), lm-eval's
 *    answers committed under test/tasks/data by scripts/tasks-fixtures.mjs, so no venv.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LanguageModel } from '../../src/models/language-model.js';
import { loadTasks } from '../../src/tasks/load-tasks.js';
import { runTasks, type TasksRun } from '../../src/tasks/run-tasks.js';
import { type LogProbRequest, type LogProbScorer, modelScorer } from '../../src/tasks/scorer.js';
import { DATA_DIR, taskPath } from './helpers.js';

/** lm-eval 0.4.13's venv: XENT_LMEVAL_VENV, default /root/.cache/xent-lmeval-venv. */
export const LMEVAL_VENV = process.env.XENT_LMEVAL_VENV ?? '/root/.cache/xent-lmeval-venv';
export const LMEVAL_PYTHON = join(LMEVAL_VENV, 'bin', 'python');
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'lmeval_check.py');

/** The cases both tests run: a shared JSONL file or one under data/, lm-eval's max_length, the first `take` tasks. */
export interface LmEvalCase {
  name: string;
  file: () => string;
  maxLength: number;
  take?: number;
  /** Synthetic log-probabilities: `levels` values k/`denom` (coarse dyadic ones make ties). */
  synthetic: { levels: number; denom: number };
}

export const LMEVAL_CASES: readonly LmEvalCase[] = [
  {
    name: 'winogrande',
    file: () => taskPath('winogrande.jsonl'),
    maxLength: 2048,
    synthetic: { levels: 16, denom: 4 },
  },
  {
    name: 'hellaswag60',
    file: () => taskPath('hellaswag.jsonl'),
    maxLength: 2048,
    take: 60,
    synthetic: { levels: 100003, denom: 977 },
  },
  {
    name: 'hellaswag20-max100',
    file: () => taskPath('hellaswag.jsonl'),
    maxLength: 100,
    take: 20,
    synthetic: { levels: 100003, denom: 977 },
  },
  // An empty context (the prefix token), trailing spaces (moved to the continuation), a tab.
  {
    name: 'edge',
    file: () => join(DATA_DIR, 'lmeval-edge.jsonl'),
    maxLength: 2048,
    synthetic: { levels: 8, denom: 2 },
  },
];

/** What lm-eval's code prints (lmeval_check.py). */
export interface LmEvalOut {
  tasks: Array<{ inputs: number[][]; ctxlens: number[]; lls: number[]; acc: number; acc_norm: number }>;
  acc: number;
  acc_stderr: number;
  acc_norm: number;
  acc_norm_stderr: number;
}

export interface Recorded {
  run: TasksRun;
  /** Per task, the requests xent sent and the log-probabilities it got for them. */
  sent: Array<Array<{ req: LogProbRequest; lp: number[] }>>;
  /** lmeval_check.py's input. */
  input: {
    max_length: number;
    bos: number | undefined;
    tokens: Record<string, number[]>;
    scores: number[][][];
    tasks: unknown[];
  };
}

/**
 * A scorer with made-up log-probabilities: the value at a position depends on the token it
 * predicts, the one before it and how far into the request it is, −(1 + h mod levels)/denom.
 */
export function syntheticScorer(V: number, s: LmEvalCase['synthetic']): LogProbScorer {
  return {
    vocabSize: V,
    async score(reqs) {
      return reqs.map((r) => {
        const n = r.tokens.length - 1 - r.from;
        const logProbs = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const t = r.from + k;
          let h = Math.imul(r.tokens[t]! * 7919 + r.tokens[t + 1]! * 104729 + t * 31 + 1, 0x9e3779b1);
          h ^= h >>> 15;
          h = Math.imul(h, 0x85ebca6b) >>> 0;
          logProbs[k] = -(1 + (h % s.levels)) / s.denom;
        }
        return { logProbs };
      });
    },
  };
}

/** Runs xent on the case, recording what it tokenised and what it sent; `inner` scores (default: the model). */
export async function recordRun(m: LanguageModel, c: LmEvalCase, inner?: LogProbScorer): Promise<Recorded> {
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
  const scoring = inner ?? modelScorer(recorder, { llamaArithmetic: false });
  const sent: Recorded['sent'] = [[]];
  const scorer: LogProbScorer = {
    vocabSize: scoring.vocabSize,
    async score(reqs) {
      const res = await scoring.score(reqs);
      for (const [i, req] of reqs.entries()) sent[sent.length - 1]!.push({ req, lp: Array.from(res[i]!.logProbs) });
      return res;
    },
  };
  const file = c.file();
  const loaded = loadTasks(file, c.take ? { take: c.take } : {});
  const run = await runTasks(recorder, loaded, file, { ctx: c.maxLength, scorer, onTask: () => void sent.push([]) });
  const docs = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, run.tasks)
    .map((l) => JSON.parse(l) as unknown);
  return {
    run,
    sent: sent.slice(0, run.tasks),
    input: {
      max_length: c.maxLength,
      bos: m.bosToken,
      tokens,
      scores: sent.slice(0, run.tasks).map((reqs) => reqs.map((s) => s.lp)),
      tasks: docs,
    },
  };
}

/** lm-eval's own code (lmeval_check.py in its venv) on a recorded run. */
export function runLmEval(input: Recorded['input']): LmEvalOut {
  const py = spawnSync(LMEVAL_PYTHON, [SCRIPT], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(py.status, 0, py.stderr ?? py.error?.message);
  return JSON.parse(py.stdout) as LmEvalOut;
}

/**
 * Every request xent sent (tokens and ctxlen) equals the one lm-eval builds from the same
 * tokenizer, every log-likelihood equals parse_logprobs' sum of the same per-token values,
 * and acc, acc_norm and their mean_stderr equal lm-eval's, to the last bit.
 */
export function assertMatchesLmEval({ run, sent }: Recorded, ref: LmEvalOut): void {
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
}
