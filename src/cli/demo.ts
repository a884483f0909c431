/**
 * `xent demo`: cross-entropy at work on the embedded default, no arguments needed.
 */
import type { Command } from 'commander';
import type { DemoSection } from '../demo/section.js';

interface DemoOptions {
  json?: boolean;
  seed: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('Cross-entropy at work: a random LSTM language model, naive vs stable loss, loss vs probability.')
    .option('--json', 'print one JSON object instead of text')
    .option('--seed <n>', 'seed of the random model and inputs', '0')
    .action(async (opts: DemoOptions) => {
      const seed = Number(opts.seed);
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
      if (opts.json) process.stdout.write(`${JSON.stringify(Object.fromEntries(sections.map((s) => [s.key, s.data])), null, 2)}\n`);
    });
}
