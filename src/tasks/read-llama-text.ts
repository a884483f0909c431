/**
 * llama-perplexity's two text task formats, read as tools/perplexity/perplexity.cpp reads
 * them after `-f` (common/arg.cpp drops one trailing '\n' from the file first):
 *
 *  - HellaSwag (`hellaswag_score`): 6 lines per task, context, gold index 0–3, four endings;
 *    lines split on '\n' by std::getline (a '\r' stays part of its line).
 *  - Winogrande CSV (`load_winogrande_from_csv`): `index,sentence,option1,option2,answer`, a
 *    sentence with a comma in double quotes. The reader skips a line it cannot parse (fewer
 *    than four commas outside quotes, no `_` in the sentence, an answer other than 1 or 2),
 *    and stops at the last line when no '\n' follows it: with the trailing '\n' gone, that is
 *    the file's last line unless the file ends with two. Skipped lines are returned as
 *    `dropped`, so that `tasks_read` equals llama.cpp's "loaded N tasks".
 */
import { XentError } from '../core/errors.js';
import type { BlankTask, ContinuationTask, DroppedLine, TaskFile } from './task.js';

const OP = 'tasks';

/** The text llama.cpp works on after `-f`: the file less one trailing '\n'. */
function promptText(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

export function readHellaswag(text: string, file: string): TaskFile {
  const s = promptText(text);
  const lines = s === '' ? [] : s.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new XentError('empty_input', OP, `${file} has no HellaSwag tasks`, { file });
  if (lines.length % 6 !== 0) {
    const start = lines.length - (lines.length % 6) + 1;
    throw new XentError(
      'invalid_file',
      OP,
      `${file} has ${lines.length} lines, not a multiple of 6 (HellaSwag: context, gold index, 4 endings per task); the incomplete task ${Math.floor(lines.length / 6) + 1} starts at line ${start}`,
      { file, line: start },
    );
  }
  const tasks: ContinuationTask[] = [];
  for (let k = 0; k < lines.length / 6; k++) {
    const goldLine = lines[6 * k + 1]!;
    const m = /^\s*(\d+)\s*$/.exec(goldLine);
    const gold = m ? Number(m[1]) : Number.NaN;
    if (!(gold >= 0 && gold <= 3)) {
      throw new XentError(
        'invalid_file',
        OP,
        `${file} line ${6 * k + 2} (task ${k + 1}): the gold index must be 0, 1, 2 or 3, got ${JSON.stringify(goldLine)}`,
        { file, line: 6 * k + 2, value: goldLine, task: k + 1 },
      );
    }
    tasks.push({
      kind: 'continuation',
      index: k,
      where: `line ${6 * k + 1}`,
      context: lines[6 * k]!,
      choices: lines.slice(6 * k + 2, 6 * k + 6),
      gold: [gold],
    });
  }
  return { format: 'hellaswag', tasks, dropped: [] };
}

/** C++'s `stream >> int` on the answer field: leading space, optional sign, digits; the rest ignored. */
function cppReadInt(s: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

export function readWinograndeCsv(text: string, file: string): TaskFile {
  const segments = promptText(text).split('\n');
  // std::getline then `if (in.eof()) break`: the segment after the last '\n' is never used.
  const last = segments.pop()!;
  const dropped: DroppedLine[] = [];
  const tasks: BlankTask[] = [];
  segments.forEach((line, i) => {
    const lineNo = i + 1;
    const commas: number[] = [];
    let quoted = false;
    for (let c = 0; c < line.length && commas.length < 4; c++) {
      const ch = line[c];
      if (quoted) {
        if (ch === '"') quoted = false;
      } else if (ch === ',') commas.push(c);
      else if (ch === '"') quoted = true;
    }
    if (commas.length !== 4) {
      dropped.push({ line: lineNo, reason: 'fewer than 4 commas outside double quotes' });
      return;
    }
    const [c0, c1, c2, c3] = commas as [number, number, number, number];
    const sentence = line[c0 + 1] === '"' ? line.slice(c0 + 2, c1 - 1) : line.slice(c0 + 1, c1);
    const where = sentence.indexOf('_');
    if (where < 0) {
      dropped.push({ line: lineNo, reason: 'no _ in the sentence' });
      return;
    }
    const answer = cppReadInt(line.slice(c3 + 1));
    if (answer !== 1 && answer !== 2) {
      dropped.push({ line: lineNo, reason: `answer ${JSON.stringify(line.slice(c3 + 1))} is not 1 or 2` });
      return;
    }
    tasks.push({
      kind: 'blank',
      index: tasks.length,
      where: `line ${lineNo}`,
      first: sentence.slice(0, where),
      second: sentence.slice(where + 1),
      options: [line.slice(c1 + 1, c2), line.slice(c2 + 1, c3)],
      gold: [answer - 1],
    });
  });
  if (last !== '')
    dropped.push({
      line: segments.length + 1,
      reason: "no line end after it (llama.cpp's reader stops at the end of the file: end the file with an empty line)",
    });
  if (tasks.length === 0)
    throw new XentError(
      'empty_input',
      OP,
      `${file} has no Winogrande task llama.cpp's reader accepts (${dropped.length} lines skipped${dropped[0] ? `; line ${dropped[0].line}: ${dropped[0].reason}` : ''})`,
      { file },
    );
  return { format: 'winogrande', tasks, dropped };
}
