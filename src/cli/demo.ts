import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('demo')
    .description('Cross-entropy at work on the embedded default (no arguments needed).')
    .action(() => {
      throw new Error('demo: not built yet');
    });
}
