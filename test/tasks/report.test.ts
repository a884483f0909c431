/**
 * The `xent tasks` report section: the closest wins and the worst misses in the right
 * order with their texts escaped, the accuracy curve, and records that disagree with the
 * summary refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport } from '../../src/report/html.js';
import type { TaskRecord, TasksResult } from '../../src/results/tasks.js';

function rec(task: number, margin: number, context: string): TaskRecord {
  const correct = margin > 0;
  return {
    task,
    index: task - 1,
    where: `line ${task}`,
    context,
    choices: [
      { text: `right ${task}`, logprob_nats: -1, tokens: 2, chars: 7, score: correct ? -0.5 : -0.5 - Math.abs(margin) },
      { text: `wrong ${task}`, logprob_nats: -2, tokens: 2, chars: 7, score: correct ? -0.5 - margin : -0.5 },
    ],
    gold: [0],
    winner: correct ? 0 : 1,
    correct,
    margin,
  };
}

const records = [
  rec(1, 0.3, 'a'),
  rec(2, -2, '<script>alert(1)</script>'),
  rec(3, 0.01, 'close call'),
  rec(4, -0.1, 'near miss'),
];
const result: TasksResult = {
  format: 'hellaswag',
  protocol: 'llama.cpp',
  normalization: 'per_token',
  accuracy: 0.5,
  accuracy_pm: 0.2886751345948129,
  accuracy_ci95: [0.15003898915214947, 0.8499610108478506],
  correct: 2,
  tasks: 4,
  tasks_read: 4,
  lines_dropped: 0,
  dropped: [],
  selection: 'random order, seed 1',
  random_chance: 0.5,
  ctx: 512,
  model: 'm.gguf',
  data: 'd.txt',
  seconds: 1,
};

test('closest wins and worst misses, in order, texts escaped; the curve and the summary rows', () => {
  const html = buildReport([{ kind: 'tasks', result, records }], { generatedAt: 'fixed' });
  const wins = html.slice(html.indexOf('Closest wins'), html.indexOf('Worst misses'));
  assert.ok(wins.indexOf('close call') < wins.indexOf('>a<'), 'smallest positive margin first');
  const misses = html.slice(html.indexOf('Worst misses'));
  assert.ok(misses.indexOf('&lt;script&gt;') < misses.indexOf('near miss'), 'most negative margin first');
  assert.ok(!html.includes('<script>alert'), 'context escaped');
  assert.match(html, /Accuracy over the tasks/);
  assert.match(html, /Margins: best right choice minus best wrong choice/);
});

test('records that do not match the summary are refused', () => {
  assert.throws(
    () => buildReport([{ kind: 'tasks', result, records: records.slice(0, 3) }]),
    /3 task records for 4 tasks/,
  );
  const bad = { ...records[0]!, winner: 5 };
  assert.throws(
    () => buildReport([{ kind: 'tasks', result, records: [bad, ...records.slice(1)] }]),
    /"winner" must index a choice/,
  );
});
