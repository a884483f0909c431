/**
 * `xent report <inputs…> -o out.html`: one self-contained HTML report from saved
 * `--json` results, `--tokens` JSONL and training curves; each input's kind is
 * detected from its content.
 */
import type { Command } from 'commander';
import { intOption } from './options.js';

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'Build one self-contained HTML report from saved results (eval/compare/kld --json, eval --tokens JSONL, training curves JSON).',
    )
    .argument('<inputs...>', 'result files; the kind of each is detected from its content')
    .requiredOption('-o, --out <file.html>', 'where to write the report (written atomically)')
    .option('--title <text>', 'report title', 'xent report')
    .option('--tokens-per-page <n>', 'tokens per page in the token view', '2000')
    .option('--max-tokens <n>', 'tokens embedded in each token view (statistics use all)', '200000')
    .option('--no-basics', 'leave out the "cross-entropy at a glance" reference charts')
    .action(
      async (
        inputs: string[],
        opts: { out: string; title: string; tokensPerPage: string; maxTokens: string; basics: boolean },
      ) => {
        const int = (flag: string, v: string): number => intOption('report', flag, v, 1);
        const tokensPerPage = int('--tokens-per-page', opts.tokensPerPage);
        const maxTokens = int('--max-tokens', opts.maxTokens);
        const { loadInputs, writeReport } = await import('../report/index.js');
        const sections = loadInputs(inputs);
        const bytes = writeReport(opts.out, sections, {
          title: opts.title,
          command: `xent report ${inputs.join(' ')}`,
          tokensPerPage,
          maxTokens,
          basics: opts.basics,
        });
        process.stdout.write(
          `report: ${opts.out} (${sections.map((s) => s.kind).join(', ')}; ${(bytes / 1024).toFixed(0)} KiB)\n`,
        );
      },
    );
}
