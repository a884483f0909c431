/**
 * `xent tasks --model M --data FILE`: a log-likelihood benchmark. Each choice of each task
 * is scored by the log-probability the model gives it; accuracy is how often the right one
 * ranks first. llama.cpp's formats (HellaSwag text, Winogrande CSV, multiple-choice binary)
 * follow llama-perplexity exactly and print its lines; JSONL follows lm-evaluation-harness
 * (acc, acc_norm and their stderr). The logic is in src/tasks/.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { MAX_CONTEXTS } from '../models/gguf/gguf-lane.js';
import type { TaskRecord, TasksFigures } from '../results/tasks.js';
import type { TaskFormat } from '../tasks/task.js';
import { intOption } from './options.js';

interface TasksCliOptions {
  model: string;
  data: string;
  format?: string;
  tasks?: string;
  ctx?: string;
  threads?: string;
  contexts?: string;
  engine: string;
  flashAttn: boolean;
  bos?: boolean;
  json?: boolean;
  out?: string;
  report?: string;
}

const OP = 'tasks';
const FORMATS = ['hellaswag', 'winogrande', 'mc', 'jsonl'];

export function register(program: Command): void {
  program
    .command('tasks')
    .description(
      'log-likelihood benchmarks (HellaSwag, Winogrande, multiple choice): accuracy identical to llama-perplexity, or to lm-evaluation-harness for JSONL',
    )
    .requiredOption('--model <path>', 'a .gguf model file, or a directory of a model trained by xent')
    .requiredOption(
      '--data <file>',
      "task file: llama.cpp's HellaSwag text, Winogrande CSV or multiple-choice binary, or JSONL {context, choices, gold}",
    )
    .option('--format <f>', 'hellaswag | winogrande | mc | jsonl (default: found from the file)')
    .option(
      '--tasks <n>',
      "score N tasks: llama.cpp's random choice with std::mt19937(1) (HellaSwag always shuffles), the first N for JSONL",
    )
    .option(
      '--ctx <n>',
      "llama-perplexity's -c (default 512; tasks may use 4 × ctx), or lm-eval's max_length for JSONL (default 2048)",
    )
    .option('--threads <n>', 'CPU threads for llama.cpp (default: min(4, cores))')
    .option(
      '--contexts <n>',
      `GGUF: llama.cpp contexts (1 to ${MAX_CONTEXTS}) decoding tasks side by side, sharing the threads (default 2 for a file of at most 512 MiB with a vocabulary of at most 65536 tokens, else 1; each holds its own KV cache of 4 × ctx cells and compute buffer)`,
    )
    .option('--engine <e>', 'GGUF engine: auto | native | map', 'auto')
    .option('--no-flash-attn', "turn off llama.cpp flash attention (llama-perplexity's default -fa auto turns it on)")
    .option(
      '--bos',
      'JSONL: prepend BOS to each request (lm-eval with a tokenizer that adds it; off for local-completions)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option(
      '--out <file.jsonl>',
      "one JSON record per task: every choice's log-probability, tokens, characters, score; winner, right or wrong",
    )
    .option('--report <file.html>', 'also write a self-contained HTML report')
    .addHelpText(
      'after',
      `
llama.cpp formats: each choice scored by the mean log-probability of its tokens (nats per
token), tokenised as llama-perplexity does; its per-task lines and final lines are printed.
JSONL: lm-eval's acc (sum of the log-probabilities of " " + choice) and acc_norm (that sum
per character), with lm-eval's stderr; requests longer than max_length − 1 = ctx − 1 tokens
are cut from the left, as lm-eval does.`,
    )
    .action(async (o: TasksCliOptions) => {
      await runTasksCommand(o);
    });
}

async function runTasksCommand(o: TasksCliOptions): Promise<void> {
  const t0 = performance.now();
  if (o.format !== undefined && !FORMATS.includes(o.format))
    throw new XentError(
      'invalid_argument',
      OP,
      `--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(o.format)}`,
      {
        arg: '--format',
        value: o.format,
      },
    );
  if (!['auto', 'native', 'map'].includes(o.engine))
    throw new XentError(
      'invalid_argument',
      OP,
      `--engine must be auto, native or map, got ${JSON.stringify(o.engine)}`,
      {
        arg: '--engine',
        value: o.engine,
      },
    );
  const take = intOption(OP, '--tasks', o.tasks, 1);
  const threads = intOption(OP, '--threads', o.threads, 1);
  const contextsOpt = intOption(OP, '--contexts', o.contexts, 1, MAX_CONTEXTS);
  const ctxOpt = intOption(OP, '--ctx', o.ctx, 4);
  const [{ loadTasks }, { runTasks, taskModelOptions }, { llamaHeader }, { loadModel }, { Progress }, { VERSION }] =
    await Promise.all([
      import('../tasks/load-tasks.js'),
      import('../tasks/run-tasks.js'),
      import('../tasks/llama-lines.js'),
      import('../models/load.js'),
      import('./progress.js'),
      import('../core/version.js'),
    ]);
  if (o.report) (await import('../report/write.js')).checkReportPath(OP, '--report', o.report);
  // The file first: a malformed one is reported before a model is loaded.
  const loaded = loadTasks(o.data, {
    ...(o.format ? { format: o.format as TaskFormat } : {}),
    ...(take ? { take } : {}),
  });
  const lmEval = loaded.format === 'jsonl';
  const ctx = ctxOpt ?? (lmEval ? 2048 : 512);
  let outFd: number | undefined;
  if (o.out) {
    try {
      outFd = openSync(o.out, 'w');
    } catch (e) {
      throw new XentError('invalid_file', OP, `cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code}`, {
        file: o.out,
        arg: '--out',
      });
    }
  }
  const model = await loadModel(o.model, {
    ctx,
    engine: o.engine as 'auto' | 'native' | 'map',
    flashAttention: o.flashAttn,
    ...taskModelOptions(ctx, contextsOpt ?? 'auto'),
    ...(threads !== undefined ? { threads } : {}),
  });
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    process.stderr.write('\nxent tasks: interrupted; finishing the current task (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  const header = lmEval ? [] : llamaHeader(loaded.format);
  const say = (lines: readonly string[]): void => {
    if (!o.json) for (const l of lines) process.stdout.write(`${l}\n`);
  };
  const progress = new Progress({ total: loaded.tasks.length, label: 'tasks', unit: 'task', silent: o.json === true });
  let run: Awaited<ReturnType<typeof runTasks>>;
  try {
    say(header);
    run = await runTasks(model, loaded, o.data, {
      ctx,
      bos: o.bos === true,
      signal: ac.signal,
      onTask: (rec: TaskRecord, lines, done) => {
        if (outFd !== undefined) writeSync(outFd, `${JSON.stringify(rec)}\n`);
        say(lines);
        progress.update(done);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
    progress.finish();
    if (outFd !== undefined) closeSync(outFd);
    await model.close();
  }
  const { records, lines, ...figures } = run;
  const result = {
    ...figures,
    model: o.model,
    data: o.data,
    seconds: (performance.now() - t0) / 1000,
    ...(model.threads !== undefined ? { threads: model.threads } : {}),
    contexts: model.concurrency ?? 1,
    xent_version: VERSION,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    say(lines.slice(header.length + records.length));
    say(summaryLines(result));
  }
  if (o.report) {
    const { writeReport } = await import('../report/write.js');
    writeReport(o.report, [{ kind: 'tasks', result, records, source: 'xent tasks' }], {
      title: `xent tasks: ${basename(o.model)} on ${basename(o.data)}${run.interrupted ? ' (interrupted: partial figures)' : ''}`,
      command: `xent tasks ${process.argv.slice(3).join(' ')}`,
    });
    process.stderr.write(`xent tasks: report written to ${resolve(o.report)}\n`);
  }
  if (run.interrupted) process.exitCode = 130;
}

type Summary = TasksFigures & { data: string; seconds: number };

/** xent's own lines after llama.cpp's: what was read, skipped and scored, and the accuracy with both intervals. */
export function summaryLines(r: Summary): string[] {
  const pct = (x: number): string => `${(100 * x).toFixed(4)}%`;
  const out: string[] = [];
  if (r.protocol === 'lm-eval') {
    out.push(`acc       ${r.acc!.toFixed(4)} ± ${r.acc_stderr?.toFixed(4) ?? 'n/a'}`);
    out.push(`acc_norm  ${r.acc_norm!.toFixed(4)} ± ${r.acc_norm_stderr?.toFixed(4) ?? 'n/a'}`);
  }
  const skipped = r.lines_dropped
    ? `; ${r.lines_dropped} line${r.lines_dropped === 1 ? '' : 's'} skipped as llama.cpp skips them (${r.dropped
        .slice(0, 3)
        .map((d) => `line ${d.line}: ${d.reason}`)
        .join('; ')}${r.dropped.length > 3 ? '; …' : ''})`
    : '';
  const cut =
    r.protocol === 'lm-eval'
      ? `; ${r.truncated_requests} request${r.truncated_requests === 1 ? '' : 's'} cut on the left to max_length − 1 = ${r.ctx - 1} tokens (${r.truncated_tokens} tokens)`
      : '';
  out.push(
    `tasks: ${r.tasks} scored of ${r.tasks_read} read from ${basename(r.data)} (${r.format}, ${r.protocol} protocol, ${r.selection})${skipped}${cut}`,
  );
  const ranked = {
    per_token: 'mean log-probability per token (nats/token)',
    per_char: "log-likelihood per character (lm-eval's acc_norm)",
    none: "summed log-likelihood (lm-eval's acc)",
  }[r.normalization];
  out.push(
    `accuracy: ${pct(r.accuracy)}${r.accuracy_pm !== null ? ` ± ${pct(r.accuracy_pm)}` : ''}, Wilson 95% [${pct(r.accuracy_ci95[0])}, ${pct(r.accuracy_ci95[1])}]; ranked by ${ranked}; ${r.seconds.toFixed(1)} s${r.interrupted ? '; interrupted: partial figures' : ''}`,
  );
  return out;
}
