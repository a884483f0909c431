/**
 * `xent tasks` end to end through the built CLI: llama-perplexity's printed lines (from its
 * logs in ../shared, and from its runs on stories260K committed under test/tasks/data by
 * scripts/tasks-fixtures.mjs: random subsets, Winogrande lines its reader skips, a task too
 * long for its window), --json, --out, --report, and bad input (one line, exit code 2).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { validateTaskRecord, validateTasksResult } from '../../src/results/tasks.js';
import { failsWith, runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import {
  DATA_DIR,
  logFile,
  modelFile,
  modelPath,
  readFixtureLog,
  readLlamaLog,
  taskFile,
  taskPath,
} from './helpers.js';

const MODEL = modelPath('stories260K');
const WINO = taskPath('winogrande.csv');
const MC = taskPath('mc.bin');
const skip = requires({
  shared: [
    modelFile('stories260K'),
    taskFile('winogrande.csv'),
    taskFile('mc.bin'),
    logFile('stories260K', 'winogrande'),
  ],
  native: true,
  cli: true,
});

const dir = mkdtempSync(join(tmpdir(), 'xent-tasks-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const xent = (...args: string[]) => runCli(['tasks', '--threads', '1', ...args]);

const taskLines = (out: string): string[] => out.split('\n').filter((l) => /^\d+\t/.test(l));

test('stories260K Winogrande: the lines llama-perplexity printed, --out records, --report', { skip }, () => {
  const log = readLlamaLog('stories260K', 'winogrande');
  const out = join(dir, 'wino.jsonl');
  const html = join(dir, 'wino.html');
  const r = xent('--model', MODEL, '--data', WINO, '--out', out, '--report', html);
  assert.equal(r.code, 0, r.stderr);
  const ours = taskLines(r.stdout);
  assert.equal(ours.length, log.taskLines.length);
  ours.forEach((l, i) => {
    const a = log.taskLines[i]!.split('\t');
    const b = l.split('\t');
    assert.deepEqual([b[0], b[1]], [a[0], a[1]]);
    assert.deepEqual(b[2]!.trim().split(/\s+/).slice(2), a[2]!.trim().split(/\s+/).slice(2));
  });
  assert.ok(r.stdout.includes(`\n${log.finals[0]}\n`), r.stdout);
  assert.match(
    r.stdout,
    /tasks: 399 scored of 399 read from winogrande\.csv .*1 line skipped as llama\.cpp skips them \(line 400: no line end/,
  );
  const records = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l, i) => validateTaskRecord(JSON.parse(l), { file: out, line: i + 1 }));
  assert.equal(records.length, 399);
  records.forEach((rec, i) => {
    const cols = ours[i]!.split('\t')[2]!.trim().split(/\s+/);
    assert.equal(rec.winner + 1, Number(cols[2]));
    assert.equal(rec.correct, cols[2] === cols[3]);
    assert.equal(rec.choices.length, 2);
    assert.equal(rec.choices[0]!.score.toFixed(6), Number(cols[0]).toFixed(6));
  });
  const page = readFileSync(html, 'utf8');
  for (const s of ['Log-likelihood benchmark', 'Closest wins', 'Worst misses', 'Accuracy over the tasks', '65.16'])
    assert.ok(page.includes(s), s);
});

test('--json: the documented keys, with llama.cpp figures', { skip }, () => {
  const r = xent('--model', MODEL, '--data', WINO, '--tasks', '100', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  validateTasksResult(j, { file: 'stdout' });
  for (const k of [
    'accuracy',
    'accuracy_pm',
    'accuracy_ci95',
    'tasks',
    'tasks_read',
    'format',
    'normalization',
    'model',
    'data',
    'seconds',
  ])
    assert.ok(k in j, k);
  assert.equal(j.tasks, 100);
  assert.equal(j.tasks_read, 399);
  assert.equal(j.format, 'winogrande');
  assert.equal(j.normalization, 'per_token');
  assert.equal(j.selection, 'random subset, seed 1');
});

test('random subsets as llama-perplexity drew and scored them: --winogrande-tasks 100 and --multiple-choice-tasks 30', {
  skip,
}, () => {
  const wl = readFixtureLog('stories260K-winogrande100.log');
  const w = xent('--model', MODEL, '--data', WINO, '--tasks', '100');
  assert.equal(w.code, 0, w.stderr);
  const ref = wl.taskLines;
  const ours = taskLines(w.stdout);
  assert.equal(ours.length, 100);
  ours.forEach((l, i) => {
    const a = ref[i]!.split('\t');
    const b = l.split('\t');
    assert.deepEqual(
      [b[1], ...b[2]!.trim().split(/\s+/).slice(2)],
      [a[1], ...a[2]!.trim().split(/\s+/).slice(2)],
      `task ${i + 1}`,
    );
  });
  const final = wl.finals.find((l) => l.startsWith('Final Winogrande score'))!;
  assert.ok(w.stdout.includes(final), final);

  const ml = readFixtureLog('stories260K-mc30.log');
  const m = xent('--model', MODEL, '--data', MC, '--tasks', '30');
  assert.equal(m.code, 0, m.stderr);
  assert.deepEqual(taskLines(m.stdout), ml.taskLines);
  assert.ok(!/Final result/.test(m.stdout), 'no final lines below 100 tasks of a subset, as llama.cpp');
});

test("--threads 2 (two contexts of one thread for this small model, the default) and --contexts 1: llama-perplexity's lines either way", {
  skip,
}, () => {
  const ml = readFixtureLog('stories260K-mc30.log');
  for (const [contexts, want] of [
    [[], 2],
    [['--contexts', '1'], 1],
  ] as const) {
    const args = ['tasks', '--threads', '2', ...contexts, '--model', MODEL, '--data', MC, '--tasks', '30'];
    const m = runCli(args);
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(taskLines(m.stdout), ml.taskLines, contexts.join(' ') || 'default');
    const j = JSON.parse(runCli([...args, '--json']).stdout) as { threads: number; contexts: number };
    assert.deepEqual([j.threads, j.contexts], [2, want], 'the threads and contexts --json reports');
  }
});

test("Winogrande lines llama.cpp's reader skips: the same tasks read and scored as llama-perplexity", {
  skip,
}, () => {
  // test/tasks/data/wg-bad.csv: a line with no blank, an answer of 3, too few commas, and an
  // unterminated last line, among lines llama.cpp reads.
  const p = join(DATA_DIR, 'wg-bad.csv');
  const ll = readFixtureLog('stories260K-wg-bad.log');
  const r = xent('--model', MODEL, '--data', p, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { tasks_read: number; lines_dropped: number };
  assert.equal(j.tasks_read, ll.tasksRead);
  assert.equal(j.lines_dropped, 4);
  const t = xent('--model', MODEL, '--data', p);
  assert.deepEqual(
    taskLines(t.stdout).map((l) => [l.split('\t')[1], ...l.split('\t')[2]!.trim().split(/\s+/).slice(2)]),
    ll.taskLines.map((l) => [l.split('\t')[1], ...l.split('\t')[2]!.trim().split(/\s+/).slice(2)]),
  );
});

test("a task longer than llama-perplexity's window: the task and the tokens it needs, as llama-perplexity counts them", {
  skip,
}, () => {
  // test/tasks/data/long.txt: a short task, then one whose context is 12 sentences.
  const p = join(DATA_DIR, 'long.txt');
  const r = xent('--model', MODEL, '--data', p, '--ctx', '16');
  failsWith(
    r,
    /long\.txt line 7 \(task \d\) needs (\d+) tokens .* more than llama-perplexity's window of 256 at --ctx 16/,
  );
  const ll = readFixtureLog('stories260K-long-c16.log').lines.join('\n');
  const need = /does not fit in the context window \(requires (\d+) tokens\)/.exec(ll);
  assert.ok(need, ll);
  assert.match(r.stderr, new RegExp(`needs ${need[1]} tokens`));
});

test('bad input: one line naming the file and the place, exit code 2', {
  skip: requires({ shared: [taskFile('mc.bin')], cli: true }),
}, () => {
  // Each file is refused before the model is loaded.
  const m = MODEL;
  const w = (name: string, content: string | Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const six = 'Ctx\n1\na\nb\nc\nd\n';
  failsWith(
    xent('--model', m, '--data', w('seven.txt', `${six}extra\n`), '--format', 'hellaswag'),
    /seven\.txt has 7 lines, not a multiple of 6.*line 7/,
  );
  failsWith(
    xent('--model', m, '--data', w('gold.txt', `${six}Ctx\n9\na\nb\nc\nd\n`)),
    /gold\.txt line 8 \(task 2\): the gold index must be 0, 1, 2 or 3, got "9"/,
  );
  failsWith(
    xent(
      '--model',
      m,
      '--data',
      w('nochoices.jsonl', '{"context": "C", "choices": ["a", "b"], "gold": 0}\n{"context": "C", "gold": 0}\n'),
    ),
    /nochoices\.jsonl line 2: no "choices"/,
  );
  failsWith(
    xent('--model', m, '--data', w('cut.bin', readFileSync(MC).subarray(0, 5000)), '--format', 'mc'),
    /cut\.bin is truncated: task \d+ needs \d+ bytes for .* at byte \d+, but the file ends at byte 5000/,
  );
  failsWith(
    xent('--model', m, '--data', w('nob.csv', '0,No blank.,A,B,1\n\n')),
    /nob\.csv has no Winogrande task llama\.cpp's reader accepts.*line 1: no _/,
  );
  failsWith(
    xent('--model', m, '--data', w('x.txt', `${six}`), '--format', 'csv'),
    /--format must be one of hellaswag, winogrande, mc, jsonl/,
  );
  failsWith(xent('--model', m, '--data', w('y.txt', `${six}`), '--tasks', '0'), /--tasks must be an integer ≥ 1/);
  for (const n of ['0', '5', '2.5'])
    failsWith(
      xent('--model', m, '--data', w('z.txt', `${six}`), '--contexts', n),
      new RegExp(`--contexts must be an integer in \\[1, 4\\], got "${n.replace('.', '\\.')}"`),
    );
});
