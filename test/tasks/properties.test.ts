/**
 * Properties of task scoring (fast-check), under both protocols:
 *  - a task whose right answer is the model's own greedy continuation wins (the wrong
 *    choices differ from it in the last character, so they share its context and length);
 *  - permuting the choices (and the gold index with them) permutes the per-choice scores and
 *    the winner, and changes neither the verdict nor any score.
 * Winogrande is left out of the second: llama.cpp scores its two options asymmetrically
 * (a tie goes to option 2, and option 2's first value is read from option 1's sequence when
 * the option itself is scored), and xent keeps that.
 *
 * The model is a toy written here (characters as tokens, a next-character distribution that
 * depends on the two previous tokens), so the properties run in milliseconds; a few runs
 * with stories260K check the permutation on a real GGUF model with llama.cpp's arithmetic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { XentError } from '../../src/core/errors.js';
import type { LanguageModel, PositionScores } from '../../src/models/language-model.js';
import { loadModel } from '../../src/models/load.js';
import type { LoadedTasks } from '../../src/tasks/load-tasks.js';
import { runTasks } from '../../src/tasks/run-tasks.js';
import type { ContinuationTask, TaskFormat } from '../../src/tasks/task.js';
import { requires } from '../helpers/requires.js';
import { modelFile, modelPath } from './helpers.js';

const ALPHABET = " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'-()";
const V = ALPHABET.length + 1; // token 0 is BOS

function logits(prev2: number, prev: number): Float64Array {
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) {
    let h = Math.imul(prev2 * 131 + prev * 7919 + v * 104729 + 17, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    out[v] = ((h >>> 0) / 2 ** 32) * 6;
  }
  return out;
}

function logProbs(prev2: number, prev: number): Float64Array {
  const l = logits(prev2, prev);
  let m = -Infinity;
  for (const x of l) m = Math.max(m, x);
  let s = 0;
  for (const x of l) s += Math.exp(x - m);
  const lse = m + Math.log(s);
  return l.map((x) => x - lse);
}

const toyTokenize = (text: string): Int32Array =>
  Int32Array.from([...text], (ch) => {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error(`toy tokenizer: ${JSON.stringify(ch)}`);
    return i + 1;
  });
const toyText = (t: number): string => (t === 0 ? '<s>' : ALPHABET[t - 1]!);

const toy: LanguageModel = {
  id: 'toy',
  name: 'toy',
  kind: 'ngram',
  engine: 'js',
  vocabSize: V,
  trainContextLength: Infinity,
  addsBos: true,
  bosToken: 0,
  byteExact: false,
  pipelined: false,
  fullDistributions: false,
  threads: undefined,
  tokenize: async (text) => toyTokenize(text),
  tokenizeBytes: async (bytes) => toyTokenize(new TextDecoder().decode(bytes)),
  tokenText: toyText,
  tokenBytes: () => Int32Array.from({ length: V }, (_, t) => new TextEncoder().encode(toyText(t)).length),
  tokenPieces: async (tokens) => Array.from(tokens, (t) => new TextEncoder().encode(toyText(t))),
  score: async (tokens, { from }): Promise<PositionScores> => {
    const n = tokens.length - 1 - from;
    const nats = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const t = from + k;
      nats[k] = -logProbs(t > 0 ? tokens[t - 1]! : 0, tokens[t]!)[tokens[t + 1]!]!;
    }
    return {
      nats,
      rank: new Int32Array(n).fill(-1),
      top1: new Int32Array(n).fill(-1),
      top1Prob: new Float64Array(n).fill(Number.NaN),
    };
  },
  close: async () => {},
};

/** The toy's greedy continuation of `text`, `k` characters. */
function greedy(text: string, k: number): string {
  const ids = [...text].map((ch) => ALPHABET.indexOf(ch) + 1);
  let out = '';
  for (let i = 0; i < k; i++) {
    const lp = logProbs(ids.length > 1 ? ids[ids.length - 2]! : 0, ids[ids.length - 1]!);
    let best = 1;
    for (let v = 2; v < V; v++) if (lp[v]! > lp[best]!) best = v;
    ids.push(best);
    out += ALPHABET[best - 1];
  }
  return out;
}

const word = fc.string({ unit: fc.constantFrom(...ALPHABET.slice(1)), minLength: 1, maxLength: 12 });

function one(format: TaskFormat, task: ContinuationTask): LoadedTasks {
  return { format, tasks: [task], tasksRead: 1, dropped: [], selection: 'all, file order' };
}

for (const format of ['hellaswag', 'mc', 'jsonl'] as const) {
  test(`${format}: the model's own greedy continuation wins`, async () => {
    await fc.assert(
      fc.asyncProperty(
        word,
        fc.integer({ min: 1, max: 5 }),
        fc.uniqueArray(fc.constantFrom(...ALPHABET.slice(1)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        async (context, k, lastChars, slot) => {
          const g = greedy(`${context} `, k);
          const wrong = lastChars.filter((c) => c !== g[k - 1]).map((c) => g.slice(0, k - 1) + c);
          fc.pre(wrong.length > 0);
          const gold = slot % (wrong.length + 1);
          const choices = [...wrong.slice(0, gold), g, ...wrong.slice(gold)];
          const task: ContinuationTask = {
            kind: 'continuation',
            index: 0,
            where: 'line 1',
            context,
            choices,
            gold: [gold],
          };
          const r = await runTasks(toy, one(format, task), 'prop', { ctx: 512 });
          const rec = r.records[0]!;
          assert.equal(rec.winner, gold, JSON.stringify(rec.choices));
          assert.ok(rec.correct);
          if (format === 'jsonl') assert.equal(rec.acc, 1, 'acc (sums) too');
        },
      ),
      { numRuns: 60 },
    );
  });

  test(`${format}: permuting the choices permutes the scores and the winner, nothing else`, async () => {
    await fc.assert(
      fc.asyncProperty(
        word,
        fc.uniqueArray(word, { minLength: 2, maxLength: 5 }),
        fc.nat(),
        fc.array(fc.integer(), { minLength: 5, maxLength: 5 }),
        async (context, choices, goldSeed, keys) => {
          const gold = goldSeed % choices.length;
          const perm = [...choices.keys()].sort((a, b) => keys[a]! - keys[b]! || a - b);
          const base: ContinuationTask = {
            kind: 'continuation',
            index: 0,
            where: 'line 1',
            context,
            choices,
            gold: [gold],
          };
          const moved: ContinuationTask = {
            ...base,
            choices: perm.map((i) => choices[i]!),
            gold: [perm.indexOf(gold)],
          };
          // A choice that is a prefix of another ("(" beside "(a") adds no token to what the
          // choices share under llama.cpp's protocol: the task is refused, in either order.
          const score = (t: ContinuationTask) =>
            runTasks(toy, one(format, t), 'prop', { ctx: 512 }).then(
              (r) => r.records[0]!,
              (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
            );
          const [a, b] = await Promise.all([score(base), score(moved)]);
          if (a instanceof Error || b instanceof Error) {
            assert.ok(a instanceof XentError && b instanceof XentError, `${a} / ${b}`);
            assert.equal(b.code, a.code);
            assert.match(a.message, /adds no token to what all choices share/);
            return;
          }
          const top = Math.max(...a.choices.map((c) => c.score));
          fc.pre(a.choices.filter((c) => c.score === top).length === 1);
          assert.deepEqual(
            b.choices,
            perm.map((i) => a.choices[i]),
          );
          assert.equal(perm[b.winner], a.winner);
          assert.equal(b.correct, a.correct);
          assert.equal(b.margin, a.margin);
        },
      ),
      { numRuns: 60 },
    );
  });
}

const STORIES = modelPath('stories260K');
test('stories260K, llama.cpp arithmetic: permuting HellaSwag endings permutes the scores exactly', {
  skip: requires({ shared: [modelFile('stories260K')], native: true }),
}, async () => {
  const model = await loadModel(STORIES, { ctx: 512, threads: 1, flashAttention: true });
  try {
    const context = 'Story: Tom had a red ball. He liked to play with it in the park.';
    const choices = ['One day, he lost it.', 'The sun was hot.', 'Lily baked a cake.', 'He threw the ball to his dog.'];
    const base: ContinuationTask = { kind: 'continuation', index: 0, where: 'line 1', context, choices, gold: [3] };
    const a = (await runTasks(model, one('hellaswag', base), 'prop', { ctx: 512 })).records[0]!;
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }), async (perm) => {
        const moved: ContinuationTask = { ...base, choices: perm.map((i) => choices[i]!), gold: [perm.indexOf(3)] };
        const b = (await runTasks(model, one('hellaswag', moved), 'prop', { ctx: 512 })).records[0]!;
        assert.deepEqual(
          b.choices,
          perm.map((i) => a.choices[i]),
        );
        assert.equal(perm[b.winner], a.winner);
        assert.equal(b.correct, a.correct);
      }),
      { numRuns: 4 },
    );
  } finally {
    await model.close();
  }
});
