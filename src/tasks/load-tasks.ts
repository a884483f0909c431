/**
 * Reading a task file: the format found from its content (or forced), the tasks read, and
 * the ones scored, in the order llama-perplexity scores them:
 *
 *  - HellaSwag: always a random order (seed 1), of all tasks or of `take` of them;
 *  - Winogrande CSV and multiple choice: file order, or a random subset of `take`;
 *  - JSONL: the first `take` tasks (lm-evaluation-harness's --limit).
 */
import { readFileSync } from 'node:fs';
import { XentError } from '../core/errors.js';
import { assertUtf8 } from '../core/utf8.js';
import { hellaswagOrder, swapPopSubset } from './mt19937.js';
import { readJsonlTasks } from './read-jsonl.js';
import { readHellaswag, readWinograndeCsv } from './read-llama-text.js';
import { readMcAll, readMcAt, readMcHeader } from './read-mc.js';
import type { DroppedLine, Task, TaskFormat } from './task.js';

const OP = 'tasks';

export interface LoadedTasks {
  format: TaskFormat;
  /** The tasks to score, in scoring order. */
  tasks: Task[];
  /** Tasks in the file, as llama.cpp counts them ("loaded N tasks"; the binary's header count). */
  tasksRead: number;
  /** Lines the format's reader skipped (Winogrande CSV). */
  dropped: DroppedLine[];
  /** How the scored tasks were chosen. */
  selection: 'all, file order' | 'random order, seed 1' | 'random subset, seed 1' | 'first N';
}

/** The format of a task file from its first bytes. */
export function detectFormat(buf: Uint8Array, file: string): TaskFormat {
  if (buf.length >= 8) {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = view.getUint32(0, true);
    // The binary's first offset points just past its offsets table.
    if (n > 0 && 4 + 4 * n <= buf.length && view.getUint32(4, true) === 4 + 4 * n) return 'mc';
  }
  const head = Buffer.from(buf.subarray(0, 65536)).toString('utf8');
  if (/^\s*\{/.test(head)) return 'jsonl';
  const lines = head.split('\n');
  if (/^[^,"]*,("[^"]*"|[^",]*),[^,]*,[^,]*,\s*[12]\s*$/.test(lines[0] ?? '')) return 'winogrande';
  if (lines.length >= 6 && /^\s*\d+\s*$/.test(lines[1] ?? '')) return 'hellaswag';
  throw new XentError(
    'invalid_file',
    OP,
    `cannot tell the format of ${file} (not llama.cpp's HellaSwag text, Winogrande CSV or multiple-choice binary, nor JSONL): give --format hellaswag|winogrande|mc|jsonl`,
    { file, arg: '--format' },
  );
}

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new XentError(
      'invalid_file',
      OP,
      code === 'ENOENT' ? `task file ${file} does not exist` : `cannot read task file ${file} (${code})`,
      { file, arg: '--data' },
    );
  }
}

/** `take`: how many tasks to score (llama.cpp's --hellaswag-tasks / --winogrande-tasks / --multiple-choice-tasks). */
export function loadTasks(file: string, opts: { format?: TaskFormat; take?: number } = {}): LoadedTasks {
  const buf = readBytes(file);
  const format = opts.format ?? detectFormat(buf, file);
  const take = opts.take;
  if (format === 'mc') {
    const { count } = readMcHeader(buf, file);
    if (take !== undefined && take > 0 && take < count) {
      return {
        format,
        tasks: readMcAt(buf, file, swapPopSubset(count, take)),
        tasksRead: count,
        dropped: [],
        selection: 'random subset, seed 1',
      };
    }
    return { format, tasks: readMcAll(buf, file).tasks, tasksRead: count, dropped: [], selection: 'all, file order' };
  }
  assertUtf8(OP, buf, file);
  const text = buf.toString('utf8');
  if (format === 'hellaswag') {
    const r = readHellaswag(text, file);
    const order = hellaswagOrder(r.tasks.length, take ?? r.tasks.length);
    return {
      format,
      tasks: order.map((i) => r.tasks[i]!),
      tasksRead: r.tasks.length,
      dropped: [],
      selection: 'random order, seed 1',
    };
  }
  const r = format === 'winogrande' ? readWinograndeCsv(text, file) : readJsonlTasks(text, file);
  const n = r.tasks.length;
  if (take !== undefined && take > 0 && take < n) {
    if (format === 'jsonl')
      return { format, tasks: r.tasks.slice(0, take), tasksRead: n, dropped: r.dropped, selection: 'first N' };
    return {
      format,
      tasks: swapPopSubset(n, take).map((i) => r.tasks[i]!),
      tasksRead: n,
      dropped: r.dropped,
      selection: 'random subset, seed 1',
    };
  }
  return { format, tasks: r.tasks, tasksRead: n, dropped: r.dropped, selection: 'all, file order' };
}
