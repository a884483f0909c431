/**
 * JSONL task files, one task per line, in the two shapes lm-evaluation-harness's
 * multiple-choice tasks take:
 *   {"context": "...", "choices": ["...", ...], "gold": 2}                (HellaSwag, ARC, …)
 *   {"sentence": "... _ ...", "option1": "...", "option2": "...", "answer": 1}   (Winogrande)
 * `answer` may be 1, 2, "1" or "2" (the Hugging Face dataset has strings). Blank lines are
 * skipped; anything else that is not such a task is an error naming the line.
 */
import { XentError } from '../core/errors.js';
import type { Task, TaskFile } from './task.js';

const OP = 'tasks';

function fail(file: string, line: number, message: string, extra: Record<string, unknown> = {}): XentError {
  return new XentError('invalid_file', OP, `${file} line ${line}: ${message}`, { file, line, ...extra });
}

function parseLine(raw: string, file: string, line: number, index: number): Task {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw fail(file, line, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(file, line, 'expected a JSON object');
  const o = v as Record<string, unknown>;
  const where = `line ${line}`;
  if ('sentence' in o && !('choices' in o)) {
    const { sentence, option1, option2, answer } = o;
    if (typeof sentence !== 'string') throw fail(file, line, '"sentence" must be a string');
    if (typeof option1 !== 'string' || typeof option2 !== 'string')
      throw fail(file, line, '"option1" and "option2" must be strings');
    const blank = sentence.indexOf('_');
    if (blank < 0) throw fail(file, line, 'the sentence has no _ (the blank the options fill)');
    const a = typeof answer === 'string' && /^[12]$/.test(answer) ? Number(answer) : answer;
    if (a !== 1 && a !== 2)
      throw fail(file, line, `"answer" must be 1 or 2, got ${JSON.stringify(answer)}`, { value: answer });
    return {
      kind: 'blank',
      index,
      where,
      first: sentence.slice(0, blank),
      second: sentence.slice(blank + 1),
      options: [option1, option2],
      gold: [a - 1],
    };
  }
  if (!('choices' in o)) throw fail(file, line, 'no "choices" (expected {"context", "choices", "gold"})');
  const { context, choices, gold } = o;
  if (typeof context !== 'string') throw fail(file, line, '"context" must be a string');
  if (!Array.isArray(choices) || choices.length === 0 || !choices.every((c) => typeof c === 'string'))
    throw fail(file, line, '"choices" must be a non-empty array of strings');
  const empty = choices.indexOf('');
  if (empty >= 0)
    throw fail(file, line, `choice ${empty} is empty (its length normalises acc_norm: lm-eval divides by 0)`);
  if (!Number.isInteger(gold) || (gold as number) < 0 || (gold as number) >= choices.length) {
    throw fail(file, line, `"gold" must be an integer in [0, ${choices.length}), got ${JSON.stringify(gold)}`, {
      value: gold,
    });
  }
  return { kind: 'continuation', index, where, context, choices: choices as string[], gold: [gold as number] };
}

export function readJsonlTasks(text: string, file: string): TaskFile {
  const tasks: Task[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    tasks.push(parseLine(raw, file, i + 1, tasks.length));
  });
  if (tasks.length === 0) throw new XentError('empty_input', OP, `${file} has no tasks`, { file });
  return { format: 'jsonl', tasks, dropped: [] };
}
