/**
 * `xent demo`: cross-entropy at work on the embedded default, no arguments needed.
 */
import type { Command } from 'commander';
import type { DemoSection } from '../demo/section.js';
import { intOption } from './options.js';

interface DemoOptions {
  json?: boolean;
  seed: string;
  /** Where to write the HTML report; false with --no-report. */
  report: string | false;
  /** A model to evaluate in section 4 (and its text, tokens per chunk, chunks). */
  model?: string;
  data?: string;
  ctx: string;
  chunks: string;
  /** LSTM steps of the Brown training section (0 = skip it), and test chunks it scores. */
  trainSteps: string;
  trainEvalChunks?: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('Cross-entropy at work: a random LSTM language model, naive vs stable loss, loss vs probability.')
    .option('--json', 'print one JSON object instead of text')
    .option('--seed <n>', 'seed of the random model and inputs', '0')
    .option('--report <file.html>', 'where to write the self-contained HTML report', 'xent-demo-report.html')
    .option('--no-report', 'do not write the HTML report')
    .option('--model <path>', 'also evaluate this model (a .gguf file or a directory written by xent train)')
    .option('--data <file>', 'text for --model (default: the Brown corpus test split)')
    .option('--ctx <n>', 'tokens per chunk for --model', '128')
    .option('--chunks <k>', 'chunks scored at most for --model', '40')
    .option('--train-steps <n>', 'LSTM steps of the Brown training section (0 skips it)', '600')
    .option('--train-eval-chunks <k>', 'test-split chunks the training section scores (default: all)')
    .action(async (opts: DemoOptions) => {
      const seed = intOption('demo', '--seed', opts.seed, 0);
      if (opts.report !== false) (await import('../report/write.js')).checkReportPath('demo', '--report', opts.report);
      const { randomLstmSection } = await import('../demo/random-lstm.js');
      const { stabilitySection } = await import('../demo/stability.js');
      const { lossTableSection } = await import('../demo/loss-table.js');
      const sections: DemoSection[] = [];
      const emit = (s: DemoSection): void => {
        sections.push(s);
        if (!opts.json) process.stdout.write(`\n${s.title}\n${s.lines.map((l) => `  ${l}`).join('\n')}\n`);
      };
      if (!opts.json) process.stdout.write('xent demo — cross-entropy, exact and visible\n');
      emit(randomLstmSection({ seed }));
      emit(stabilitySection(seed));
      emit(lossTableSection());
      const { evalSection } = await import('../demo/eval-section.js');
      emit(
        await evalSection({
          ...(opts.model !== undefined ? { model: opts.model } : {}),
          ...(opts.data !== undefined ? { data: opts.data } : {}),
          ctx: intOption('demo', '--ctx', opts.ctx, 1),
          chunks: intOption('demo', '--chunks', opts.chunks, 1),
        }),
      );
      const trainSteps = intOption('demo', '--train-steps', opts.trainSteps, 0);
      if (trainSteps > 0)
        emit(
          await (await import('../demo/train-brown.js')).trainBrownSection({
            steps: trainSteps,
            seed,
            ...(opts.trainEvalChunks !== undefined
              ? { evalChunks: intOption('demo', '--train-eval-chunks', opts.trainEvalChunks, 1) }
              : {}),
            onNote: (m) => process.stderr.write(`${m}\n`),
          }),
        );
      if (opts.json)
        process.stdout.write(`${JSON.stringify(Object.fromEntries(sections.map((s) => [s.key, s.data])), null, 2)}\n`);
      if (opts.report !== false) {
        const [{ writeDemoReport }, { resolve }] = await Promise.all([
          import('../report/demo-report.js'),
          import('node:path'),
        ]);
        const bytes = writeDemoReport(opts.report, sections, `xent ${process.argv.slice(2).join(' ')}`);
        // With --json, stdout holds only the JSON object: the path goes to stderr.
        (opts.json ? process.stderr : process.stdout).write(
          `\nreport: ${resolve(opts.report)} (${(bytes / 1024).toFixed(0)} KiB; open it in a browser)\n`,
        );
      }
    });
}
