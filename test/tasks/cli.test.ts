/**
 * `xent tasks` end to end through the built CLI: llama-perplexity's printed lines (from its
 * logs in ../shared, and from the llama-perplexity binary run here on files written here,
 * where one is built), --json, --out, --report, and bad input (one line, exit code 2).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { validateTaskRecord, validateTasksResult } from '../../src/results/tasks.js';
import { failsWith, runCli } from '../helpers/cli.js';
import { CLI, REPO_ROOT } from '../helpers/shared.js';
import { modelPath, needs, readLlamaLog, taskPath } from './helpers.js';

const MODEL = modelPath('stories260K');
const WINO = taskPath('winogrande.csv');
const MC = taskPath('mc.bin');
const skip = needs(MODEL, WINO, MC) || (existsSync(CLI) ? false : 'needs the built CLI (npm run build)');
const LLAMA = [
  process.env.LLAMA_PERPLEXITY,
  join(REPO_ROOT, 'build', 'llama-perplexity'),
  join(REPO_ROOT, '..', 'llama.cpp', 'build', 'bin', 'llama-perplexity'),
].find((p): p is string => p !== undefined && existsSync(p));
const skipLlama = skip || (LLAMA ? false : 'needs a llama-perplexity binary (LLAMA_PERPLEXITY)');

const dir = mkdtempSync(join(tmpdir(), 'xent-tasks-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const xent = (...args: string[]) => runCli(['tasks', '--threads', '1', ...args]);

/**
 * llama-perplexity's output lines (timestamps stripped) for a task run at -c 512, 1 thread.
 * Its logger writes from a thread it does not wait for at exit (common/log.cpp: "logs may be
 * lost if not flushed before the program exits"), so under load the last lines can go
 * missing: a run whose output `complete` rejects is run again.
 */
function llamaPerplexity(args: string[], complete: (lines: string[]) => boolean): string[] {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync(LLAMA!, ['-m', MODEL!, '-c', '512', '-b', '512', '-t', '1', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.replace(/^\d+\.\d+\.\d+\.\d+ [IWE] /, ''));
    if (complete(lines)) return lines;
    assert.ok(attempt < 8, `llama-perplexity ${args.join(' ')} lost the end of its output 8 times`);
  }
}

/** Complete when it printed `n` per-task lines. */
const printed = (n: number) => (lines: string[]) => lines.filter((l) => /^\d+\t/.test(l)).length === n;

const taskLines = (out: string): string[] => out.split('\n').filter((l) => /^\d+\t/.test(l));

test('stories260K Winogrande: the lines llama-perplexity printed, --out records, --report', { skip }, () => {
  const log = readLlamaLog('stories260K', 'winogrande')!;
  const out = join(dir, 'wino.jsonl');
  const html = join(dir, 'wino.html');
  const r = xent('--model', MODEL!, '--data', WINO!, '--out', out, '--report', html);
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
  const r = xent('--model', MODEL!, '--data', WINO!, '--tasks', '100', '--json');
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

test('random subsets against llama-perplexity run here: --winogrande-tasks 100 and --multiple-choice-tasks 30', {
  skip: skipLlama,
}, () => {
  const wl = llamaPerplexity(
    ['--winogrande', '--winogrande-tasks', '100', '-f', WINO!],
    (ls) => printed(100)(ls) && ls.some((l) => l.startsWith('Final Winogrande score')),
  );
  const w = xent('--model', MODEL!, '--data', WINO!, '--tasks', '100');
  assert.equal(w.code, 0, w.stderr);
  const ref = wl.filter((l) => /^\d+\t/.test(l));
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
  const final = wl.find((l) => l.startsWith('Final Winogrande score'))!;
  assert.ok(w.stdout.includes(final), final);

  const ml = llamaPerplexity(['--multiple-choice', '--multiple-choice-tasks', '30', '-bf', MC!], printed(30));
  const m = xent('--model', MODEL!, '--data', MC!, '--tasks', '30');
  assert.equal(m.code, 0, m.stderr);
  assert.deepEqual(
    taskLines(m.stdout),
    ml.filter((l) => /^\d+\t/.test(l)),
  );
  assert.ok(!/Final result/.test(m.stdout), 'no final lines below 100 tasks of a subset, as llama.cpp');
});

test("Winogrande lines llama.cpp's reader skips: the same tasks read and scored as llama-perplexity", {
  skip: skipLlama,
}, () => {
  const p = join(dir, 'wg-bad.csv');
  writeFileSync(
    p,
    '0,Tim saw _ at the park.,Lily,Max,1\n1,No blank here.,Lily,Max,1\n2,"Then, _ ran home.",Sue,Tom,2\n3,Bad answer _ here.,A,B,3\n4,too,few,commas\n5,_ was happy.,Lily,Ben,2\n6,The last line _ has no newline.,A,B,1',
  );
  const loadedIn = (ls: string[]): number => Number(/loaded (\d+) tasks/.exec(ls.join('\n'))?.[1]);
  const ll = llamaPerplexity(['--winogrande', '-f', p], (ls) => printed(loadedIn(ls))(ls));
  const loaded = loadedIn(ll);
  const r = xent('--model', MODEL!, '--data', p, '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { tasks_read: number; lines_dropped: number };
  assert.equal(j.tasks_read, loaded);
  assert.equal(j.lines_dropped, 4);
  const t = xent('--model', MODEL!, '--data', p);
  const ref = ll.filter((l) => /^\d+\t/.test(l));
  assert.deepEqual(
    taskLines(t.stdout).map((l) => [l.split('\t')[1], ...l.split('\t')[2]!.trim().split(/\s+/).slice(2)]),
    ref.map((l) => [l.split('\t')[1], ...l.split('\t')[2]!.trim().split(/\s+/).slice(2)]),
  );
});

test("a task longer than llama-perplexity's window: the task and the tokens it needs, as llama-perplexity counts them", {
  skip,
}, () => {
  const p = join(dir, 'long.txt');
  const ctx =
    'Once upon a time there was a little girl who liked to play in the park with her friends every day. '.repeat(12);
  writeFileSync(p, `Short story.\n1\nA.\nB.\nC.\nD.\n${ctx}\n0\nThe end.\nA dog.\nThe cat.\nA bird.\n`);
  const r = xent('--model', MODEL!, '--data', p, '--ctx', '16');
  failsWith(
    r,
    /long\.txt line 7 \(task \d\) needs (\d+) tokens .* more than llama-perplexity's window of 256 at --ctx 16/,
  );
  if (LLAMA) {
    const fits = /does not fit in the context window \(requires (\d+) tokens\)/;
    const ll = llamaPerplexity(['--hellaswag', '-f', p, '-c', '16'], (ls) => ls.some((l) => fits.test(l))).join('\n');
    const need = fits.exec(ll);
    assert.ok(need, ll);
    assert.match(r.stderr, new RegExp(`needs ${need[1]} tokens`));
  }
});

test('bad input: one line naming the file and the place, exit code 2', {
  skip: existsSync(CLI) ? false : 'needs the built CLI',
}, () => {
  const m = MODEL ?? 'model.gguf';
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
  if (MC) {
    const bin = readFileSync(MC);
    failsWith(
      xent('--model', m, '--data', w('cut.bin', bin.subarray(0, 5000)), '--format', 'mc'),
      /cut\.bin is truncated: task \d+ needs \d+ bytes for .* at byte \d+, but the file ends at byte 5000/,
    );
  }
  failsWith(
    xent('--model', m, '--data', w('nob.csv', '0,No blank.,A,B,1\n\n')),
    /nob\.csv has no Winogrande task llama\.cpp's reader accepts.*line 1: no _/,
  );
  failsWith(
    xent('--model', m, '--data', w('x.txt', `${six}`), '--format', 'csv'),
    /--format must be one of hellaswag, winogrande, mc, jsonl/,
  );
  failsWith(xent('--model', m, '--data', w('y.txt', `${six}`), '--tasks', '0'), /--tasks must be an integer ≥ 1/);
});
