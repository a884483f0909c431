/**
 * The scorer's batched path: a model with `scoreBatch` gets the requests of the tasks decoded
 * together in one call (llama-perplexity's one HellaSwag or multiple-choice task; four
 * Winogrande tasks of 2 sequences, `taskSequences`; one JSONL task), whole, each with the number of tokens it
 * shares with the request before it in its task (the context of the choices, which a
 * batching engine decodes once), and every record is the one the per-request path gives. The model is a toy written here (characters as tokens,
 * log-probabilities from a hash of the two previous tokens); its `scoreBatch` checks each
 * declared prefix against the tokens and scores the requests one by one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LanguageModel, PositionScores, ScoreOptions } from '../../src/models/language-model.js';
import type { LoadedTasks } from '../../src/tasks/load-tasks.js';
import { runTasks, taskSequences } from '../../src/tasks/run-tasks.js';
import type { Task, TaskFormat } from '../../src/tasks/task.js';
import { commonPrefix } from '../../src/tasks/tokens.js';

const V = 128;

function nat(prev: number, cur: number, next: number): number {
  let h = Math.imul(prev * 131 + cur * 7919 + next * 104729 + 17, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  return 0.5 + (h % 1000) / 250;
}

const tokenize = (text: string): Int32Array => Int32Array.from([...text], (ch) => 1 + (ch.charCodeAt(0) % (V - 1)));

function score(tokens: Int32Array, { from }: ScoreOptions): PositionScores {
  const n = tokens.length - 1 - from;
  const nats = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const t = from + k;
    nats[k] = nat(t > 0 ? tokens[t - 1]! : 0, tokens[t]!, tokens[t + 1]!);
  }
  return {
    nats,
    rank: new Int32Array(n).fill(-1),
    top1: new Int32Array(n).fill(-1),
    top1Prob: new Float64Array(n).fill(Number.NaN),
  };
}

function toy(): LanguageModel {
  return {
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
    tokenize: async (text) => tokenize(text),
    tokenizeBytes: async (bytes) => tokenize(new TextDecoder().decode(bytes)),
    tokenText: (t) => String(t),
    tokenBytes: () => new Int32Array(V).fill(1),
    tokenPieces: async (tokens) => Array.from(tokens, () => new Uint8Array(1)),
    score: async (tokens, opts) => score(tokens, opts),
    close: async () => {},
  };
}

type Batch = Array<{ tokens: number[]; from: number; prefix: number }>;

/** The toy with `scoreBatch`: records each call, checks each prefix, scores one by one. */
function batchingToy(calls: Batch[]): LanguageModel {
  return Object.assign(toy(), {
    scoreBatch: async (requests: Array<{ tokens: Int32Array; from: number; prefix?: number }>) => {
      calls.push(requests.map((r) => ({ tokens: Array.from(r.tokens), from: r.from, prefix: r.prefix ?? 0 })));
      requests.forEach((r, i) => {
        const p = r.prefix ?? 0;
        if (p > 0) assert.ok(p <= commonPrefix([requests[i - 1]!.tokens, r.tokens]), `request ${i}: prefix ${p}`);
      });
      return requests.map((r) => score(r.tokens, { from: r.from }));
    },
  });
}

const TASKS: Record<TaskFormat, Task[]> = {
  hellaswag: [
    {
      kind: 'continuation',
      index: 0,
      where: 'line 1',
      context: 'Tom went to the park and',
      choices: ['played ball.', 'ate a cake.', 'saw a dog.', 'went home.'],
      gold: [2],
    },
    {
      kind: 'continuation',
      index: 1,
      where: 'line 7',
      context: 'Lily had a red hat.',
      choices: ['She liked it.', 'It was blue.', 'The sun set.', 'She lost it.'],
      gold: [0],
    },
  ],
  mc: [
    {
      kind: 'continuation',
      index: 0,
      where: 'byte 8',
      context: 'What is two and two?',
      choices: ['four', 'five', 'a fish'],
      gold: [0],
    },
  ],
  winogrande: [
    // Option words of one and of several tokens: llama.cpp scores the option itself when fewer than 4 tokens follow it.
    {
      kind: 'blank',
      index: 0,
      where: 'line 1',
      first: 'The cat sat on the mat because ',
      second: ' was tired after the long walk home.',
      options: ['Tom', 'it'],
      gold: [1],
    },
    {
      kind: 'blank',
      index: 1,
      where: 'line 2',
      first: 'Sue gave it to ',
      second: '.',
      options: ['A', 'Bo'],
      gold: [0],
    },
    ...['Ann', 'Ben', 'Cy'].map(
      (name, k): Task => ({
        kind: 'blank',
        index: 2 + k,
        where: `line ${3 + k}`,
        first: `${name} asked Max and `,
        second: ' to come and play.',
        options: ['Sam', 'the dog'],
        gold: [k % 2],
      }),
    ),
  ],
  jsonl: [
    {
      kind: 'continuation',
      index: 0,
      where: 'line 1',
      context: 'Once upon a time',
      choices: ['there was a cat.', 'the end.'],
      gold: [0],
    },
    {
      kind: 'blank',
      index: 1,
      where: 'line 2',
      first: 'Max hid the ball from ',
      second: ' because he wanted it.',
      options: ['Sam', 'the dog'],
      gold: [1],
    },
  ],
};

for (const format of ['hellaswag', 'mc', 'winogrande', 'jsonl'] as const) {
  test(`${format}: llama-perplexity's groups of tasks per scoreBatch call, whole sequences with their shared prefix, the same records`, async () => {
    const tasks = format === 'jsonl' ? TASKS.jsonl.slice(0, 1) : TASKS[format];
    const loaded: LoadedTasks = { format, tasks, tasksRead: tasks.length, dropped: [], selection: 'all, file order' };
    const calls: Batch[] = [];
    const plain = await runTasks(toy(), loaded, 'toy', { ctx: 512 });
    const batched = await runTasks(batchingToy(calls), loaded, 'toy', { ctx: 512 });
    assert.deepEqual(batched.records, plain.records);
    assert.deepEqual(batched.lines, plain.lines);
    // Winogrande: 2 sequences per task, so four tasks fill its 8 sequences (five tasks: two calls).
    const perCall = format === 'winogrande' ? taskSequences(format) / 2 : 1;
    if (format === 'winogrande') assert.equal(perCall, 4);
    assert.equal(calls.length, Math.ceil(tasks.length / perCall), 'calls');
    const perTask = calls.flatMap((call) => {
      const starts = call.flatMap((r, k) => (r.prefix === 0 && k > 0 ? [k] : []));
      return [0, ...starts].map((a, j) => call.slice(a, [...starts, call.length][j]));
    });
    assert.equal(perTask.length, tasks.length, 'a request with no shared prefix starts each task');
    for (const [i, call] of perTask.entries()) {
      const t = tasks[i]!;
      const n = t.kind === 'continuation' ? t.choices.length : t.options.length;
      assert.equal(call.length, n, `task ${i + 1}: one request per choice`);
      const P = commonPrefix(call.map((r) => Int32Array.from(r.tokens)));
      if (format === 'jsonl') {
        // lm-eval's requests: each shares what it has in common with the one before it.
        for (const [k, r] of call.entries())
          assert.equal(
            r.prefix,
            k === 0 ? 0 : commonPrefix([Int32Array.from(call[k - 1]!.tokens), Int32Array.from(r.tokens)]),
          );
      } else
        assert.deepEqual(
          call.map((r) => r.prefix),
          call.map((_, k) => (k === 0 ? 0 : P)),
          `task ${i + 1}: the context all choices share, declared once per choice after the first`,
        );
      if (t.kind === 'continuation' && format !== 'jsonl') {
        const seqs = t.choices.map((ch) => Array.from(tokenize(`${t.context} ${ch}`)));
        assert.deepEqual(
          call.map((r) => r.tokens),
          seqs.map((s) => [0, ...s]),
          `task ${i + 1}: BOS + context + " " + ending, whole`,
        );
      }
    }
  });
}

test('winogrande: both sequences sent whole (llama.cpp decodes every token of both)', async () => {
  const calls: Batch[] = [];
  const tasks = TASKS.winogrande;
  const loaded: LoadedTasks = {
    format: 'winogrande',
    tasks,
    tasksRead: tasks.length,
    dropped: [],
    selection: 'all, file order',
  };
  await runTasks(batchingToy(calls), loaded, 'toy', { ctx: 512 });
  assert.deepEqual(
    calls.map((c) => c.length),
    [8, 2],
    'four tasks in the first call, the fifth in the second',
  );
  const perTask = calls.flatMap((c) => Array.from({ length: c.length / 2 }, (_, k) => c.slice(2 * k, 2 * k + 2)));
  for (const [i, call] of perTask.entries()) {
    const t = tasks[i]!;
    assert.ok(t.kind === 'blank');
    const s = t.options.map((o) => [0, ...tokenize(t.first + o + t.second)]);
    const P = commonPrefix(s.map((x) => Int32Array.from(x)));
    const skipChoice = s[0]!.length - P > 3 && s[1]!.length - P > 3;
    // Without skipChoice the first sequence carries one more token: option 2's first token,
    // whose row llama.cpp reads from the end of sequence 1.
    assert.deepEqual(call[0]!.tokens, skipChoice ? s[0] : [...s[0]!, s[1]![P]!], `task ${i + 1}: sequence 1`);
    assert.deepEqual(call[1]!.tokens, s[1], `task ${i + 1}: sequence 2`);
  }
});
