/**
 * Every row of the log-likelihood table in ../shared/reference/README.md for one model:
 * xent's run of each task file against llama-perplexity's log of it (the llama.cpp that
 * node-llama-cpp 3.21.1 ships, `-c 512 -b 512 -t 2`, flash attention on by its default
 * `-fa auto`), parsed here. Checked exactly: the tasks read, every per-task line of
 * HellaSwag (running acc_norm and its Wilson interval, so the task order drawn with
 * std::mt19937(1) too) and of multiple choice, the running accuracy, winner and answer
 * columns of every Winogrande line, and the final lines.
 *
 * The 100-task HellaSwag row reuses the full run's first 100 tasks (see `full` below).
 *
 * Winogrande's two score columns are the one thing not reproduced to the printed digit.
 * xent decodes four tasks (eight sequences) per batch where llama.cpp decodes two
 * (`taskSequences`), and not token for token as llama.cpp does: it asks for logits only at the rows it scores, and
 * appends one token to sequence 1 to read option 2's first value (llama.cpp's FIXME read),
 * and llama.cpp's CPU flash attention takes its tiled path (64-query tiles over 64-cell KV
 * tiles, online-softmax rescaling per tile) at 64 or more tokens per batch, so the logits
 * can differ in their last bits and a mean log-probability by up to ~1e-3 nats/token (none
 * on llama-2-tiny-random; at most 6.6e-4 on stories260K, measured). Those columns are
 * checked to 1e-3 and the differences reported; the accuracy is exact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LanguageModel } from '../../src/models/language-model.js';
import { loadModel } from '../../src/models/load.js';
import { loadTasks } from '../../src/tasks/load-tasks.js';
import { cFixed } from '../../src/tasks/printf.js';
import { runTasks, taskModelOptions } from '../../src/tasks/run-tasks.js';
import { modelScorer } from '../../src/tasks/scorer.js';
import { requires } from '../helpers/requires.js';
import {
  LOG_RUNS,
  logFile,
  modelFile,
  modelPath,
  readLlamaLog,
  type SharedModel,
  taskFile,
  taskPath,
} from './helpers.js';

export function referenceSuite(name: SharedModel): void {
  const path = modelPath(name);
  const skip = requires({
    shared: [modelFile(name), ...LOG_RUNS.flatMap((r) => [taskFile(r.file), logFile(name, r.log)])],
    native: true,
  });
  let model: LanguageModel | undefined;
  before(async () => {
    // As `xent tasks --threads 2` loads it: both shared models are small enough for two
    // contexts of one thread each, whose decodes must print llama-perplexity's lines too.
    if (skip) return;
    model = await loadModel(path, { ctx: 512, threads: 2, flashAttention: true, ...taskModelOptions(512) });
    assert.equal(model.concurrency, 2, 'two contexts, as xent tasks gives a small model');
  });
  after(async () => {
    await model?.close();
  });

  // The full HellaSwag run, kept for the 100-task row: llama.cpp draws its 100 tasks as the
  // first 100 draws of the same sequence, so they are the full run's first 100 tasks, in order,
  // and each task is scored on its own.
  let full: { tasks: number[]; run: Awaited<ReturnType<typeof runTasks>> } | undefined;

  for (const run of LOG_RUNS) {
    test(`${name} ${run.log}: llama-perplexity's accuracy, intervals, tasks read and per-task lines`, {
      skip,
    }, async (t) => {
      const log = readLlamaLog(name, run.log);
      const file = taskPath(run.file);
      const loaded = loadTasks(file, run.take ? { take: run.take } : {});
      let r: Awaited<ReturnType<typeof runTasks>>;
      if (run.log === 'hellaswag100' && full) {
        assert.deepEqual(
          loaded.tasks.map((x) => x.index),
          full.tasks.slice(0, run.take),
          'the 100 tasks drawn are the first 100 of the full run',
        );
        const records = full.run.records.slice(0, run.take);
        const correct = records.filter((x) => x.correct).length;
        r = {
          ...full.run,
          records,
          lines: full.run.lines.slice(0, 2 + records.length),
          tasks: records.length,
          correct,
          accuracy: correct / records.length,
        };
      } else r = await runTasks(model!, loaded, file, { ctx: 512 });
      if (run.log === 'hellaswag') full = { tasks: loaded.tasks.map((x) => x.index), run: r };

      assert.equal(r.tasks_read, log.tasksRead, 'tasks read');
      assert.equal(r.tasks, log.taskLines.length, 'tasks scored');
      const ours = r.lines.filter((l) => /^\d+\t/.test(l));
      assert.equal(ours.length, log.taskLines.length);
      assert.deepEqual(
        r.lines.filter((l) => /^(Final |Random chance: )/.test(l)),
        log.finals,
        'final lines',
      );
      // The JSON figure is the one printed: llama.cpp's last running accuracy.
      const lastAcc = log.taskLines[log.taskLines.length - 1]!.split('\t')[1]!.replace('%', '');
      assert.equal(cFixed(100 * r.accuracy, run.log === 'winogrande' ? 4 : 8), lastAcc);

      if (run.log !== 'winogrande') {
        assert.deepEqual(ours, log.taskLines, 'every per-task line');
        return;
      }
      let maxDiff = 0;
      const differ: string[] = [];
      ours.forEach((line, i) => {
        const a = log.taskLines[i]!.split('\t');
        const b = line.split('\t');
        assert.equal(b[0], a[0]);
        assert.equal(b[1], a[1], `running accuracy after task ${i + 1}`);
        const ra = a[2]!.trim().split(/\s+/);
        const rb = b[2]!.trim().split(/\s+/);
        assert.deepEqual(rb.slice(2), ra.slice(2), `winner and answer of task ${i + 1}`);
        for (const k of [0, 1]) {
          const d = Math.abs(Number(ra[k]) - Number(rb[k]));
          maxDiff = Math.max(maxDiff, d);
          assert.ok(d <= 1e-3, `task ${i + 1} score ${k + 1}: ${rb[k]} against llama.cpp's ${ra[k]}`);
        }
        if (rb[0] !== ra[0] || rb[1] !== ra[1]) differ.push(`${i + 1}`);
      });
      t.diagnostic(
        `Winogrande scores (6 decimals) differ from llama.cpp's on ${differ.length} of ${ours.length} tasks, by at most ${maxDiff.toExponential(2)} nats/token; winners all equal`,
      );
    });
  }

  // The engine computes llama-perplexity's arithmetic on llama.cpp's rows in C; the JavaScript
  // reference (src/tasks/llama-arith.ts, on raw logits copied out) must give llama.cpp's lines
  // too, and the same scores up to float32 rounding (its expf is Math.exp rounded to float).
  test(`${name} hellaswag100 with the JavaScript reference arithmetic: llama-perplexity's per-task lines, the engine's scores`, {
    skip,
  }, async () => {
    const run = LOG_RUNS.find((x) => x.log === 'hellaswag100')!;
    const log = readLlamaLog(name, run.log);
    const file = taskPath(run.file);
    const loaded = loadTasks(file, { take: run.take! });
    const js = await runTasks(model!, loaded, file, {
      ctx: 512,
      scorer: modelScorer(model!, { llamaArithmetic: true, jsArithmetic: true }),
    });
    assert.deepEqual(
      js.lines.filter((l) => /^\d+\t/.test(l)),
      log.taskLines,
      'every per-task line',
    );
    const c = await runTasks(model!, loaded, file, { ctx: 512 });
    js.records.forEach((r, i) => {
      r.choices.forEach((ch, k) => {
        const want = c.records[i]!.choices[k]!.score;
        assert.ok(
          Math.abs(ch.score - want) <= 1e-5 * (1 + Math.abs(want)),
          `task ${i + 1} choice ${k + 1}: ${ch.score} vs ${want}`,
        );
      });
    });
  });
}
