/**
 * `xent score`: metrics beside cross-entropy, from files.
 *
 *   xent score --hyp hyps.txt --ref refs.txt [--ref refs2.txt …] [--metrics bleu,chrf,rouge] [--json]
 *     One segment per line (UTF-8; CRLF accepted; empty lines are empty hypotheses, kept as
 *     sacrebleu keeps them). Every --ref file is one reference stream and must have as many
 *     lines as --hyp. Metrics: bleu (sacrebleu corpus BLEU, 13a, exp smoothing), chrf
 *     (sacrebleu chrF2), chrf++ (word order 2), rouge (rouge-score ROUGE-1/2/L/Lsum, mean
 *     over segments, best reference per segment). Scores are on the 0–100 scale, as
 *     sacrebleu and rouge-score's usual reporting.
 *
 *   xent score --tokens eval.jsonl [--metrics ce,top1,top5,ece] [--bins 15] [--json]
 *     Reads xent eval's per-token JSONL (position, token, text, nats, bits, p, rank, top1,
 *     and, for calibration, the top-1 probability as top1_p / p_top1 / top1Prob).
 *     Metrics: ce (mean nats and bits per token, perplexity), topK for any K (1-based rank ≤ K),
 *     ece (L1, L2 and max calibration error of the top-1 probability, torchmetrics binning)
 *     and reliability (the reliability-diagram bins).
 */
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { intOption } from './options.js';

interface ScoreOptions {
  hyp?: string;
  ref?: string[];
  tokens?: string;
  metrics?: string;
  json?: boolean;
  tokenize?: string;
  lowercase?: boolean;
  stem?: boolean;
  bins?: string;
}

const OP = 'score';
const TEXT_METRICS = ['bleu', 'chrf', 'chrf++', 'rouge'] as const;

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function parseMetrics(s: string | undefined, dflt: string): string[] {
  const list = (s ?? dflt)
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter((x) => x !== '');
  if (list.length === 0) throw new XentError('invalid_argument', OP, '--metrics is empty', { arg: '--metrics' });
  return [...new Set(list)];
}

const pct = (x: number): string => x.toFixed(2);

export function register(program: Command): void {
  program
    .command('score')
    .description(
      'BLEU, chrF, ROUGE of hypothesis files against references; top-k accuracy and calibration of per-token eval output.',
    )
    .option('--hyp <file>', 'hypotheses, one segment per line')
    .option('--ref <file>', 'references, one segment per line (repeat for several reference streams)', collect)
    .option('--tokens <file>', "per-token JSONL written by 'xent eval --tokens'")
    .option(
      '--metrics <list>',
      'comma-separated: bleu,chrf,chrf++,rouge (text) or ce,top1,top5,…,ece,reliability (tokens)',
    )
    .option('--tokenize <name>', 'BLEU tokenizer: 13a (default), intl, char, none', '13a')
    .option('--lowercase', 'case-insensitive BLEU and chrF')
    .option('--stem', "ROUGE with rouge-score's Porter stemmer")
    .option('--bins <n>', 'calibration bins (torchmetrics default 15)', '15')
    .option('--json', 'print one JSON object')
    .action(async (opts: ScoreOptions) => {
      if (opts.tokens !== undefined && (opts.hyp !== undefined || opts.ref !== undefined)) {
        throw new XentError('invalid_argument', OP, 'give either --tokens or --hyp with --ref, not both', {
          arg: '--tokens',
        });
      }
      if (opts.tokens !== undefined) return scoreTokens(opts);
      if (opts.hyp === undefined || opts.ref === undefined || opts.ref.length === 0) {
        throw new XentError(
          'invalid_argument',
          OP,
          'needs --hyp <file> and at least one --ref <file> (or --tokens <file.jsonl>)',
          { arg: '--hyp' },
        );
      }
      return scoreText(opts as ScoreOptions & { hyp: string; ref: string[] });
    });
}

async function scoreText(opts: ScoreOptions & { hyp: string; ref: string[] }): Promise<void> {
  const metrics = parseMetrics(opts.metrics, 'bleu,chrf,rouge');
  for (const m of metrics) {
    if (!(TEXT_METRICS as readonly string[]).includes(m)) {
      throw new XentError(
        'invalid_argument',
        OP,
        `unknown text metric '${m}'; use ${TEXT_METRICS.join(', ')} (ce, topK and ece need --tokens)`,
        { arg: '--metrics', value: m },
      );
    }
  }
  const { readLines } = await import('./score-input.js');
  const hyps = readLines(opts.hyp, '--hyp');
  const refs = opts.ref.map((f) => {
    const lines = readLines(f, '--ref');
    if (lines.length !== hyps.length) {
      throw new XentError(
        'shape_mismatch',
        OP,
        `line counts differ: --hyp ${opts.hyp} has ${hyps.length} lines but --ref ${f} has ${lines.length} lines`,
        { arg: '--ref', file: f, expected: hyps.length, actual: lines.length },
      );
    }
    return lines;
  });
  if (hyps.length === 0)
    throw new XentError('empty_input', OP, `--hyp ${opts.hyp} has no lines`, { arg: '--hyp', file: opts.hyp });
  const out: Record<string, unknown> = { hyp: opts.hyp, refs: opts.ref, segments: hyps.length };
  const text: string[] = [`${hyps.length} segments, ${refs.length} reference stream${refs.length > 1 ? 's' : ''}`];
  const tokenize = opts.tokenize as '13a' | 'intl' | 'char' | 'none';
  if (!['13a', 'intl', 'char', 'none'].includes(tokenize)) {
    throw new XentError('invalid_argument', OP, `--tokenize must be 13a, intl, char or none, got '${opts.tokenize}'`, {
      arg: '--tokenize',
      value: opts.tokenize,
    });
  }
  const lowercase = opts.lowercase === true;
  if (metrics.includes('bleu')) {
    const { corpusBleu } = await import('../metrics/bleu.js');
    const b = corpusBleu(hyps, refs, { tokenize, lowercase });
    out.bleu = {
      score_0_100: b.score,
      counts: b.counts,
      totals: b.totals,
      precisions_percent: b.precisions,
      brevity_penalty: b.bp,
      hyp_len_tokens: b.sysLen,
      ref_len_tokens: b.refLen,
      tokenize,
      smooth: 'exp',
      lowercase,
    };
    text.push(`${b.formatted}  [sacrebleu: tok ${tokenize}, smooth exp, case ${lowercase ? 'lc' : 'mixed'}; 0–100]`);
  }
  for (const m of ['chrf', 'chrf++'] as const) {
    if (!metrics.includes(m)) continue;
    const { corpusChrf } = await import('../metrics/chrf.js');
    const c = corpusChrf(hyps, refs, { wordOrder: m === 'chrf' ? 0 : 2, lowercase });
    out[m] = { score_0_100: c.score, name: c.name, char_order: c.charOrder, word_order: c.wordOrder, beta: c.beta };
    text.push(`${c.name} = ${pct(c.score)}  [sacrebleu: nc ${c.charOrder}, nw ${c.wordOrder}, β ${c.beta}; 0–100]`);
  }
  if (metrics.includes('rouge')) {
    const { corpusRouge } = await import('../metrics/rouge.js');
    const r = corpusRouge(hyps, refs, { useStemmer: opts.stem === true });
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (!v) continue;
      o[k] = { precision_0_100: 100 * v.precision, recall_0_100: 100 * v.recall, f_0_100: 100 * v.fmeasure };
      text.push(
        `${k.padEnd(9)} P ${pct(100 * v.precision)}  R ${pct(100 * v.recall)}  F ${pct(100 * v.fmeasure)}  [rouge-score, mean over segments${opts.stem ? ', Porter stemmer' : ''}; 0–100]`,
      );
    }
    out.rouge = {
      ...o,
      stemmer: opts.stem === true,
      aggregate: 'mean over segments; best reference (by F) per segment',
    };
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else process.stdout.write(`${text.join('\n')}\n`);
}

async function scoreTokens(opts: ScoreOptions): Promise<void> {
  const file = opts.tokens as string;
  const metrics = parseMetrics(opts.metrics, 'ce,top1,top5');
  const ks: number[] = [];
  for (const m of metrics) {
    const t = /^top(\d+)$/.exec(m);
    if (t) {
      const k = Number(t[1]);
      if (k < 1)
        throw new XentError('invalid_argument', OP, `--metrics ${m}: k must be ≥ 1`, { arg: '--metrics', value: m });
      ks.push(k);
    } else if (!['ce', 'ece', 'reliability', 'accuracy'].includes(m)) {
      throw new XentError(
        'invalid_argument',
        OP,
        `unknown token metric '${m}'; use ce, top1, top5 (any topK), accuracy, ece, reliability (bleu, chrf, rouge need --hyp/--ref)`,
        {
          arg: '--metrics',
          value: m,
        },
      );
    }
  }
  const nBins = intOption(OP, '--bins', opts.bins, 1);
  const { readTokenRecords, TOP1_PROB_FIELDS } = await import('./score-input.js');
  const cols = await readTokenRecords(file);
  const out: Record<string, unknown> = { tokens_file: file, tokens_scored: cols.n };
  const text: string[] = [`${cols.n} tokens from ${file}`];
  if (metrics.includes('ce')) {
    const { neumaierSum } = await import('../core/sum.js');
    const mean = neumaierSum(cols.nats) / cols.n;
    out.nats_per_token = mean;
    out.bits_per_token = mean / Math.LN2;
    out.perplexity = Math.exp(mean);
    text.push(
      `cross-entropy ${mean.toFixed(4)} nats/token = ${(mean / Math.LN2).toFixed(4)} bits/token, perplexity ${Math.exp(mean).toFixed(4)}`,
    );
  }
  if (metrics.includes('accuracy') && !ks.includes(1)) ks.unshift(1);
  for (const k of ks) {
    let hits = 0;
    if (k === 1) for (let i = 0; i < cols.n; i++) hits += cols.top1Correct[i] as number;
    else {
      if (cols.missingRank > 0) {
        throw new XentError(
          'invalid_file',
          OP,
          `top${k} needs the rank of the true token ("rank", 1 = top choice) in every record; ${cols.missingRank} of ${cols.n} records lack it (first at line ${cols.firstMissingRank} of ${file})`,
          {
            arg: '--tokens',
            file,
            line: cols.firstMissingRank,
          },
        );
      }
      for (let i = 0; i < cols.n; i++) if ((cols.rank[i] as number) <= k) hits++;
    }
    out[`top${k}_accuracy`] = hits / cols.n;
    text.push(`top-${k} accuracy ${(100 * (hits / cols.n)).toFixed(2)}% (${hits}/${cols.n} tokens)`);
  }
  if (metrics.includes('ece') || metrics.includes('reliability')) {
    if (cols.missingTop1Prob > 0) {
      throw new XentError(
        'invalid_file',
        OP,
        `ece/reliability need the probability of the model's top-1 token (field ${TOP1_PROB_FIELDS.join(' / ')}) in every record; ${cols.missingTop1Prob} of ${cols.n} records lack it (first at line ${cols.firstMissingTop1Prob} of ${file}). "p" is the probability of the TRUE token, which is not the confidence calibration measures.`,
        { arg: '--tokens', file, line: cols.firstMissingTop1Prob },
      );
    }
    const { reliabilityDiagram } = await import('../metrics/calibration.js');
    const d = reliabilityDiagram(cols.top1Prob, cols.top1Correct, { nBins });
    out.ece_l1 = d.ece;
    out.ece_l2 = d.l2;
    out.mce_max = d.mce;
    out.calibration_bins = nBins;
    out.mean_top1_confidence = d.meanConfidence;
    if (metrics.includes('reliability')) {
      out.reliability = d.bins.map((b) => ({
        lo: b.lo,
        hi: b.hi,
        count: b.count,
        mean_confidence: b.meanConfidence,
        accuracy: b.accuracy,
      }));
    }
    text.push(
      `calibration of p(top-1), ${nBins} bins [lo, hi): ECE ${d.ece.toFixed(4)}, L2 ${d.l2.toFixed(4)}, MCE ${d.mce.toFixed(4)} (probability units); mean confidence ${d.meanConfidence.toFixed(4)}, accuracy ${d.accuracy.toFixed(4)}`,
    );
    if (metrics.includes('reliability')) {
      for (const b of d.bins) {
        if (b.count === 0) continue;
        text.push(
          `  [${b.lo.toFixed(3)}, ${b.hi.toFixed(3)}${b.lo === 1 ? ']' : ')'}  n ${String(b.count).padStart(7)}  confidence ${b.meanConfidence.toFixed(4)}  accuracy ${b.accuracy.toFixed(4)}`,
        );
      }
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else process.stdout.write(`${text.join('\n')}\n`);
}
