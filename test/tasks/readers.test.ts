/**
 * The task file readers on small files written here: llama.cpp's reading rules (one trailing
 * newline dropped; Winogrande's skipped lines and its unterminated last line; the binary's
 * layout and offsets), format detection, and every bad input named with its file, line or
 * byte offset and task.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { detectFormat, loadTasks } from '../../src/tasks/load-tasks.js';
import { hellaswagOrder } from '../../src/tasks/mt19937.js';
import { requires } from '../helpers/requires.js';
import { taskFile, taskPath } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'xent-tasks-readers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(content: string | Uint8Array, ext = 'txt'): string {
  const p = join(dir, `f${n++}.${ext}`);
  writeFileSync(p, content);
  return p;
}

function throwsXent(fn: () => unknown, re: RegExp, fields: Record<string, unknown> = {}): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof XentError, String(e));
    assert.match(e.message, re);
    for (const [k, v] of Object.entries(fields)) assert.equal(e.fields[k], v, `field ${k}`);
    return true;
  });
}

const hs = (ctx: string, gold: string, e = ['a', 'b', 'c', 'd']): string => [ctx, gold, ...e].join('\n');

test('HellaSwag: 6 lines per task, gold 0–3; random order even when every task is scored', () => {
  const p = file(`${hs('C1', '2')}\n${hs('C2', '0', ['w', 'x', 'y', 'z'])}\n`);
  const r = loadTasks(p);
  assert.equal(r.format, 'hellaswag');
  assert.equal(r.tasksRead, 2);
  assert.equal(r.selection, 'random order, seed 1');
  const order = hellaswagOrder(2, 2);
  assert.deepEqual(
    r.tasks.map((t) => t.index),
    order,
  );
  const t = r.tasks.find((x) => x.index === 1)!;
  assert.equal(t.kind, 'continuation');
  assert.deepEqual(t.kind === 'continuation' && t.choices, ['w', 'x', 'y', 'z']);
  assert.deepEqual(t.gold, [0]);
});

test('HellaSwag: a line count that is not a multiple of 6 names the incomplete task and its line', () => {
  const p = file(`${hs('C1', '2')}\nC2\n1\n`);
  throwsXent(() => loadTasks(p, { format: 'hellaswag' }), /has 8 lines, not a multiple of 6.*task 2 starts at line 7/, {
    file: p,
    line: 7,
  });
});

test('HellaSwag: a gold index out of range names the line and the task', () => {
  const p = file(`${hs('C1', '2')}\n${hs('C2', '4')}`);
  throwsXent(
    () => loadTasks(p, { format: 'hellaswag' }),
    /line 8 \(task 2\): the gold index must be 0, 1, 2 or 3, got "4"/,
    {
      line: 8,
      task: 2,
    },
  );
  const q = file(hs('C1', 'two'));
  throwsXent(() => loadTasks(q, { format: 'hellaswag' }), /line 2 \(task 1\)/);
});

test("Winogrande CSV: llama.cpp's reader skips unparsable lines and the unterminated last one, and says which", () => {
  const p = file(
    '0,Tim saw _ at the park.,Lily,Max,1\n1,No blank here.,Lily,Max,1\n2,"Then, _ ran home.",Sue,Tom,2\n3,Bad answer _ here.,A,B,3\n4,too,few,commas\n5,_ was happy.,Lily,Ben,2\n6,The last line _ has no newline.,A,B,1',
    'csv',
  );
  const r = loadTasks(p);
  assert.equal(r.format, 'winogrande');
  assert.equal(r.tasksRead, 3);
  assert.deepEqual(
    r.dropped.map((d) => d.line),
    [2, 4, 5, 7],
  );
  assert.match(r.dropped[0]!.reason, /no _/);
  assert.match(r.dropped[1]!.reason, /not 1 or 2/);
  assert.match(r.dropped[2]!.reason, /commas/);
  assert.match(r.dropped[3]!.reason, /no line end/);
  const t = r.tasks[1]!;
  assert.ok(t.kind === 'blank');
  assert.equal(t.first, 'Then, ');
  assert.equal(t.second, ' ran home.');
  assert.deepEqual(t.options, ['Sue', 'Tom']);
  assert.deepEqual(t.gold, [1]);
  // With one more newline at the end (the file ends with an empty line) the last task is read.
  const q = file(`${readFileSync(p, 'utf8')}\n\n`, 'csv');
  assert.equal(loadTasks(q).tasksRead, 4);
});

function mcBinary(tasks: Array<{ q: string; answers: string[]; labels: number[] }>): Uint8Array {
  const parts: Buffer[] = [];
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    return b;
  };
  const str = (s: string): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
  const bodies = tasks.map((t) => {
    const labels = Buffer.alloc(4 * t.labels.length);
    for (const [i, l] of t.labels.entries()) labels.writeInt32LE(l, 4 * i);
    return Buffer.concat([str(t.q), u32(t.answers.length), ...t.answers.map(str), labels, u32(0)]);
  });
  let pos = 4 + 4 * tasks.length;
  parts.push(u32(tasks.length));
  for (const b of bodies) {
    parts.push(u32(pos));
    pos += b.length;
  }
  return Buffer.concat([...parts, ...bodies]);
}

test('multiple-choice binary: read, detected, labels to gold; a truncated file names the task and the byte offset', () => {
  const bin = mcBinary([
    { q: 'Q one', answers: ['a', 'b', 'c'], labels: [0, 1, 0] },
    { q: 'Q two', answers: ['x', 'y'], labels: [1, 1] },
  ]);
  const p = file(bin, 'bin');
  assert.equal(detectFormat(bin, p), 'mc');
  const r = loadTasks(p);
  assert.equal(r.tasksRead, 2);
  assert.deepEqual(
    r.tasks.map((t) => t.gold),
    [[1], [0, 1]],
  );
  const cut = file(bin.subarray(0, bin.length - 6), 'bin');
  throwsXent(
    () => loadTasks(cut, { format: 'mc' }),
    /is truncated: task 2 needs 4 bytes for .* at byte \d+, but the file ends at byte \d+/,
    {
      task: 2,
    },
  );
  const header = file(bin.subarray(0, 6), 'bin');
  throwsXent(() => loadTasks(header, { format: 'mc' }), /truncated: its header announces 2 tasks/);
});

test('multiple-choice binary: the shared file, and a random subset read at its offsets as llama.cpp does', {
  skip: requires({ shared: [taskFile('mc.bin')] }),
}, () => {
  const p = taskPath('mc.bin');
  const all = loadTasks(p);
  assert.equal(all.tasksRead, 400);
  const sub = loadTasks(p, { take: 50 });
  assert.equal(sub.tasks.length, 50);
  assert.equal(sub.selection, 'random subset, seed 1');
  for (const t of sub.tasks) assert.deepEqual(t, all.tasks[t.index]);
});

test('JSONL: both shapes; a line without "choices" or with a bad gold names the line', () => {
  const p = file(
    '{"context": "C", "choices": ["a", "b"], "gold": 1}\n\n{"context": "D", "choices": ["x", "y", "z"], "gold": 0}\n',
    'jsonl',
  );
  const r = loadTasks(p);
  assert.equal(r.format, 'jsonl');
  assert.equal(r.tasksRead, 2);
  const w = file('{"sentence": "A _ b.", "option1": "x", "option2": "y", "answer": "2"}\n', 'jsonl');
  const t = loadTasks(w).tasks[0]!;
  assert.ok(t.kind === 'blank');
  assert.deepEqual(t.gold, [1]);
  throwsXent(
    () => loadTasks(file('{"context": "C", "choices": ["a"], "gold": 0}\n{"context": "C", "gold": 0}\n', 'jsonl')),
    /line 2: no "choices"/,
    {
      line: 2,
    },
  );
  throwsXent(
    () => loadTasks(file('{"context": "C", "choices": ["a", "b"], "gold": 2}\n', 'jsonl')),
    /line 1: "gold" must be an integer in \[0, 2\), got 2/,
  );
  throwsXent(
    () => loadTasks(file('{"context": "C", "choices": ["a", "b"], "gold": 1}\n{oops\n', 'jsonl')),
    /line 2: not valid JSON/,
  );
});

test('a file of no known format asks for --format', () => {
  throwsXent(() => loadTasks(file('just some text\nand more\n')), /cannot tell the format.*--format/);
  throwsXent(() => loadTasks(join(dir, 'missing.txt')), /task file .* does not exist/);
});
