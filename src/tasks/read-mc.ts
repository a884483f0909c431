/**
 * llama-perplexity's multiple-choice binary (`--multiple-choice -bf FILE`; read by
 * `multiple_choice_score` in tools/perplexity/perplexity.cpp), little-endian:
 *
 *   u32 n_task, u32 offset[n_task] (byte offset of each task), then per task:
 *   string question; answers mc1; answers mc2
 *   string  = u32 length, that many bytes (UTF-8)
 *   answers = u32 n (at most 100), n strings, n int32 labels (1 = right)
 *
 * mc2 (several right answers) is read and ignored, as llama.cpp does. All tasks are read in
 * sequence after the offsets table; a random subset is read at its offsets, as llama.cpp
 * seeks to them. A truncated or malformed file is an error naming the task and byte offset.
 */
import { XentError } from '../core/errors.js';
import type { ContinuationTask } from './task.js';

const OP = 'tasks';
const MAX_ANSWERS = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Cursor {
  constructor(
    private readonly buf: Uint8Array,
    private readonly view: DataView,
    public pos: number,
    private readonly file: string,
    private readonly task: number,
  ) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new XentError(
        'invalid_file',
        OP,
        `${this.file} is truncated: task ${this.task} needs ${n} bytes for ${what} at byte ${this.pos}, but the file ends at byte ${this.buf.length}`,
        { file: this.file, offset: this.pos, task: this.task },
      );
    }
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  str(what: string): string {
    const n = this.u32(`the length of ${what}`);
    this.need(n, what);
    const at = this.pos;
    this.pos += n;
    try {
      return utf8.decode(this.buf.subarray(at, at + n));
    } catch {
      throw new XentError(
        'invalid_text',
        OP,
        `${this.file}: task ${this.task}: ${what} at byte ${at} is not valid UTF-8`,
        { file: this.file, offset: at, task: this.task },
      );
    }
  }

  answers(set: string): { answers: string[]; labels: number[] } {
    const at = this.pos;
    const n = this.u32(`the answer count of ${set}`);
    if (n > MAX_ANSWERS) {
      throw new XentError(
        'invalid_file',
        OP,
        `${this.file}: task ${this.task}: ${set} claims ${n} answers at byte ${at} (llama.cpp reads at most ${MAX_ANSWERS})`,
        { file: this.file, offset: at, task: this.task, value: n },
      );
    }
    const answers: string[] = [];
    for (let i = 0; i < n; i++) answers.push(this.str(`answer ${i + 1} of ${set}`));
    const labels: number[] = [];
    for (let i = 0; i < n; i++) labels.push(this.i32(`label ${i + 1} of ${set}`));
    return { answers, labels };
  }
}

export interface McFile {
  /** n_task from the header. */
  count: number;
  /** The offsets table. */
  offsets: number[];
  /** Byte where the first task starts (after the offsets table). */
  body: number;
}

export function readMcHeader(buf: Uint8Array, file: string): McFile {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4)
    throw new XentError('invalid_file', OP, `${file} has ${buf.length} bytes: too short for a task count`, {
      file,
      offset: 0,
    });
  const count = view.getUint32(0, true);
  if (count === 0)
    throw new XentError('empty_input', OP, `${file}: the task count is 0 (no tasks)`, { file, offset: 0 });
  if (4 + 4 * count > buf.length) {
    throw new XentError(
      'invalid_file',
      OP,
      `${file} is truncated: its header announces ${count} tasks, whose offsets table needs bytes 4–${4 + 4 * count}, but the file has ${buf.length} bytes`,
      { file, offset: 4, value: count },
    );
  }
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(view.getUint32(4 + 4 * i, true));
  return { count, offsets, body: 4 + 4 * count };
}

/** Reads the task at byte `pos` (1-based `task` for messages); returns it and the byte after it. */
export function readMcTask(
  buf: Uint8Array,
  file: string,
  pos: number,
  index: number,
  task: number,
): { task: ContinuationTask; end: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const c = new Cursor(buf, view, pos, file, task);
  const question = c.str('the question');
  const mc1 = c.answers('mc1');
  c.answers('mc2');
  const where = `byte ${pos}`;
  // multiple_choice_prepare_one_task refuses these and llama.cpp stops.
  if (question === '' || mc1.answers.length === 0) {
    throw new XentError(
      'invalid_file',
      OP,
      `${file}: task ${task} at byte ${pos} has ${question === '' ? 'an empty question' : 'no mc1 answers'}`,
      { file, offset: pos, task },
    );
  }
  const empty = mc1.answers.indexOf('');
  if (empty >= 0) {
    throw new XentError('invalid_file', OP, `${file}: task ${task} at byte ${pos}: mc1 answer ${empty + 1} is empty`, {
      file,
      offset: pos,
      task,
    });
  }
  const gold: number[] = [];
  mc1.labels.forEach((l, i) => {
    if (l === 1) gold.push(i);
  });
  return {
    task: { kind: 'continuation', index, where, context: question, choices: mc1.answers, gold },
    end: c.pos,
  };
}

/** All tasks in sequence (llama.cpp's path when no subset is asked for). */
export function readMcAll(buf: Uint8Array, file: string): { tasks: ContinuationTask[]; offsets: number[] } {
  const h = readMcHeader(buf, file);
  const tasks: ContinuationTask[] = [];
  let pos = h.body;
  for (let i = 0; i < h.count; i++) {
    const r = readMcTask(buf, file, pos, i, i + 1);
    tasks.push(r.task);
    pos = r.end;
  }
  return { tasks, offsets: h.offsets };
}

/** The tasks at these 0-based indices, each read at its offset (llama.cpp's subset path). */
export function readMcAt(buf: Uint8Array, file: string, indices: readonly number[]): ContinuationTask[] {
  const h = readMcHeader(buf, file);
  return indices.map((i) => readMcTask(buf, file, h.offsets[i]!, i, i + 1).task);
}
