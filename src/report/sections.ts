/**
 * One renderer per kind of report section. Each returns the section's HTML and its
 * group of rows for the summary table. Every input is validated first (the types
 * say what callers must pass; the checks catch a producer that drifts from them).
 */
import { XentError } from '../core/errors.js';
import type { ProtocolComparison } from '../results/protocols.js';
import {
  type CompareResult,
  type EvalResult,
  type KldResult,
  type TokenRecord,
  type TrainCurves,
  validateCompareResult,
  validateEvalResult,
  validateKldResult,
  validateTokenRecord,
  validateTrainCurves,
} from '../results/schema.js';
import type { TaskRecord, TasksResult } from '../results/tasks.js';
import { calibrationChart, reliability } from './charts/calibration.js';
import { compareChart, pairsChart } from './charts/compare.js';
import { kldChart } from './charts/kld.js';
import { surprisalHistogram } from './charts/surprisal.js';
import { bestPoint, describePoint, trainChart } from './charts/train.js';
import { escapeHtml } from './escape.js';
import { fmt, fmtInt } from './format.js';
import { renderProtocols } from './protocols-section.js';
import { rowsFromObject, type SummaryGroup, type SummaryRow } from './summary.js';
import { renderTasks } from './tasks-section.js';
import { surprisingTable, tokenView } from './tokens.js';

/** What a report is made of. `source` names the file (or command) the data came from. */
export type ReportSection =
  | { kind: 'eval'; result: EvalResult; source?: string }
  | { kind: 'tokens'; records: readonly TokenRecord[]; source?: string; title?: string }
  | { kind: 'train'; curves: TrainCurves; source?: string }
  | { kind: 'compare'; result: CompareResult; source?: string }
  | { kind: 'kld'; result: KldResult; source?: string }
  /** `xent tasks`: the summary and, for the curve and the tables, the per-task records. */
  | { kind: 'tasks'; result: TasksResult; records: readonly TaskRecord[]; source?: string }
  /** `xent eval --protocol all`: every perplexity protocol on one model and text. */
  | { kind: 'protocols'; result: ProtocolComparison; source?: string }
  /**
   * Any other figures (e.g. `xent demo`'s): `data`'s scalar keys, whose names carry
   * their units (`nats_per_token`, `forward_ms`), become cards and summary rows.
   */
  | {
      kind: 'figures';
      title: string;
      data: Record<string, unknown>;
      sub?: string;
      lines?: readonly string[];
      source?: string;
    };

export interface RenderContext {
  /** Unique id for this section (anchors, token view ids). */
  id: string;
  tokensPerPage: number;
  maxTokens: number;
}

export interface Rendered {
  title: string;
  html: string;
  summary: SummaryGroup;
}

function card(labelText: string, value: string, unit: string): string {
  return `<div class="card"><div class="label">${escapeHtml(labelText)}</div><div class="value">${escapeHtml(value)}<span class="unit">${escapeHtml(unit)}</span></div></div>`;
}

function section(id: string, title: string, sub: string, body: string): string {
  return `<section id="${escapeHtml(id)}"><h2>${escapeHtml(title)}</h2>${sub ? `<p class="sub">${sub}</p>` : ''}${body}</section>`;
}

function figure(svg: string, caption: string): string {
  return svg ? `<figure>${svg}<figcaption>${caption}</figcaption></figure>` : '';
}

const originOf = (s: { source?: string }, what: string): { file: string } => ({ file: s.source ?? what });

function renderEval(s: Extract<ReportSection, { kind: 'eval' }>, ctx: RenderContext): Rendered {
  const r = validateEvalResult(s.result, originOf(s, 'eval result'));
  const cards = [
    card('perplexity', fmt(r.perplexity), r.perplexity_pm !== undefined ? `± ${fmt(r.perplexity_pm, 3)}` : ''),
    card('cross-entropy', fmt(r.nats_per_token), 'nats/token'),
    card('cross-entropy', fmt(r.bits_per_token), 'bits/token'),
    card('cross-entropy', fmt(r.bits_per_byte), 'bits/byte'),
    r.top1_accuracy !== undefined ? card('top-1 accuracy', fmt(r.top1_accuracy * 100, 3), '%') : '',
    card('tokens scored', fmtInt(r.tokens_scored), 'tokens'),
  ].join('');
  const settings = [
    r.mode ? `mode ${escapeHtml(r.mode)}` : '',
    r.ctx !== undefined ? `ctx ${fmtInt(r.ctx)}` : '',
    r.chunks !== undefined ? `${fmtInt(r.chunks)} chunks` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const sub = `model <code>${escapeHtml(r.model)}</code> on <code>${escapeHtml(r.data)}</code>${settings ? ` · ${settings}` : ''}`;
  const title = 'Evaluation';
  return {
    title,
    html: section(ctx.id, title, sub, `<div class="cards">${cards}</div>`),
    summary: { title: `${title}: ${r.model} on ${r.data}${s.source ? ` (${s.source})` : ''}`, rows: rowsFromObject(r) },
  };
}

function renderTokens(s: Extract<ReportSection, { kind: 'tokens' }>, ctx: RenderContext): Rendered {
  const file = s.source ?? 'token records';
  const all = s.records.map((rec, i) => validateTokenRecord(rec, { file, line: i + 1 }));
  if (all.length === 0) throw new XentError('empty_input', 'report', `${file}: no token records`, { file });
  const records = all.length > ctx.maxTokens ? all.slice(0, ctx.maxTokens) : all;
  let bits = 0;
  let top1 = 0;
  for (const r of all) {
    bits += r.bits;
    if (r.top1 === r.token) top1++;
  }
  const meanBits = bits / all.length;
  const rel = reliability(all);
  const title = s.title ?? 'Where the model is surprised';
  const truncated =
    all.length > records.length
      ? `<p class="note-box">Showing the first ${fmtInt(records.length)} of ${fmtInt(all.length)} tokens (the statistics cover all of them).</p>`
      : '';
  const cards = [
    card('mean surprisal', fmt(meanBits), 'bits/token'),
    card('mean surprisal', fmt(meanBits * Math.LN2), 'nats/token'),
    card('top-1 accuracy', fmt((100 * top1) / all.length, 3), '%'),
    rel ? card('calibration error (ECE)', fmt(rel.ece * 100, 3), '%') : '',
    card('tokens', fmtInt(all.length), 'tokens'),
  ].join('');
  const calib = rel
    ? figure(
        calibrationChart(rel),
        `Reliability diagram over ${fmtInt(rel.n)} positions; expected calibration error ${fmt(rel.ece * 100, 3)}%. Bars below the diagonal: over-confident.`,
      )
    : `<p class="note-box">Calibration diagram skipped: the token records have no <code>top1_p</code> (the model's probability of its top token).</p>`;
  const body =
    `<div class="cards">${cards}</div>${truncated}` +
    tokenView(records, { id: `${ctx.id}-tokens`, tokensPerPage: ctx.tokensPerPage }) +
    `<div class="figs">${figure(surprisalHistogram(all), 'Tokens per 1-bit surprisal bin, coloured as in the text above.')}${calib}</div>` +
    `<h3>Most surprising tokens</h3>${surprisingTable(all)}`;
  const rows: SummaryRow[] = [
    { figure: 'mean surprisal', value: fmt(meanBits, 6), unit: 'bits/token' },
    { figure: 'mean surprisal', value: fmt(meanBits * Math.LN2, 6), unit: 'nats/token' },
    {
      figure: 'top-1 accuracy',
      value: `${fmt(top1 / all.length, 4)} (${fmt((100 * top1) / all.length, 4)}%)`,
      unit: 'fraction',
    },
    { figure: 'tokens', value: fmtInt(all.length), unit: 'tokens' },
  ];
  if (rel) rows.push({ figure: 'expected calibration error (10 bins)', value: fmt(rel.ece, 4), unit: 'fraction' });
  return {
    title,
    html: section(
      ctx.id,
      title,
      `per-token records${s.source ? ` from <code>${escapeHtml(s.source)}</code>` : ''}; colour = surprisal −log₂ p(true token)`,
      body,
    ),
    summary: { title: `Per-token records${s.source ? ` (${s.source})` : ''}`, rows },
  };
}

function renderTrain(s: Extract<ReportSection, { kind: 'train' }>, ctx: RenderContext): Rendered {
  const c = validateTrainCurves(s.curves, originOf(s, 'training curves'));
  const best = bestPoint(c);
  const last = c.train[c.train.length - 1];
  const cards = [
    best ? card('best validation loss', fmt(best.nats_per_token), 'nats/token') : '',
    best ? card('best validation loss', fmt(best.nats_per_token / Math.LN2), 'bits/token') : '',
    best ? card('best validation perplexity', fmt(Math.exp(best.nats_per_token)), '') : '',
    best?.bits_per_byte !== undefined ? card('best validation', fmt(best.bits_per_byte), 'bits/byte') : '',
    best ? card('best step', fmtInt(best.step), '') : '',
  ].join('');
  const title = 'Training';
  const what = [
    c.arch ? `arch <code>${escapeHtml(c.arch)}</code>` : '',
    c.model ? `model <code>${escapeHtml(c.model)}</code>` : '',
    c.data ? `data <code>${escapeHtml(c.data)}</code>` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const caption = best ? `${escapeHtml(describePoint(best, 'Best checkpoint'))}.` : 'No validation points.';
  const rows: SummaryRow[] = [];
  if (best) {
    rows.push({ figure: 'best step', value: fmtInt(best.step), unit: 'steps' });
    rows.push({ figure: 'best validation cross-entropy', value: fmt(best.nats_per_token, 6), unit: 'nats/token' });
    rows.push({
      figure: 'best validation cross-entropy',
      value: fmt(best.nats_per_token / Math.LN2, 6),
      unit: 'bits/token',
    });
    rows.push({
      figure: 'best validation perplexity',
      value: fmt(Math.exp(best.nats_per_token), 6),
      unit: 'e^(nats/token)',
    });
    if (best.bits_per_byte !== undefined)
      rows.push({ figure: 'best validation cross-entropy', value: fmt(best.bits_per_byte, 6), unit: 'bits/byte' });
  }
  if (last)
    rows.push({
      figure: `final training loss (step ${fmtInt(last.step)})`,
      value: fmt(last.nats_per_token, 6),
      unit: 'nats/token',
    });
  rows.push(...rowsFromObject(c, new Set(['best_step'])));
  for (const [k, v] of Object.entries(c.settings ?? {}))
    rows.push({ figure: `setting: ${k}`, value: String(v), unit: '' });
  return {
    title,
    html: section(ctx.id, title, what, `<div class="cards">${cards}</div>${figure(trainChart(c), caption)}`),
    summary: { title: `${title}${s.source ? ` (${s.source})` : ''}`, rows },
  };
}

function renderCompare(s: Extract<ReportSection, { kind: 'compare' }>, ctx: RenderContext): Rendered {
  const r = validateCompareResult(s.result, originOf(s, 'compare result'));
  const title = 'Model comparison';
  const ranked = [...r.models].sort((a, b) => a.bits_per_byte - b.bits_per_byte);
  const rows: SummaryRow[] = ranked.map((m) => ({
    figure: `${m.model}: cross-entropy`,
    value:
      fmt(m.bits_per_byte, 6) +
      (m.bits_per_byte_ci95_lo !== undefined
        ? ` [${fmt(m.bits_per_byte_ci95_lo, 5)}, ${fmt(m.bits_per_byte_ci95_hi!, 5)}]`
        : ''),
    unit: 'bits/byte (95% CI)',
  }));
  for (const p of r.pairs ?? [])
    rows.push({
      figure: `${p.a} − ${p.b}`,
      value: `${fmt(p.diff_bits_per_byte, 5)} [${fmt(p.diff_ci95_lo, 4)}, ${fmt(p.diff_ci95_hi, 4)}]`,
      unit: 'bits/byte (95% CI)',
    });
  rows.push(...rowsFromObject(r));
  const body =
    figure(
      compareChart(r),
      `Bits per byte over the same ${r.bytes_scored !== undefined ? `${fmtInt(r.bytes_scored)} ` : ''}bytes: comparable across tokenizers. Best model: <code>${escapeHtml(ranked[0]!.model)}</code>.`,
    ) +
    figure(
      pairsChart(r),
      'Paired differences (bootstrap 95% intervals). An interval that excludes 0 ranks the pair at 95% confidence.',
    );
  return {
    title,
    html: section(ctx.id, title, r.data ? `data <code>${escapeHtml(r.data)}</code>` : '', body),
    summary: { title: `${title}${s.source ? ` (${s.source})` : ''}`, rows },
  };
}

function renderKld(s: Extract<ReportSection, { kind: 'kld' }>, ctx: RenderContext): Rendered {
  const r = validateKldResult(s.result, originOf(s, 'kld result'));
  const title = 'KL divergence from the base model';
  const cards = [
    card('mean KLD', fmt(r.kld_mean), r.kld_mean_pm !== undefined ? `± ${fmt(r.kld_mean_pm, 3)} nats` : 'nats'),
    r.kld_p99 !== undefined ? card('99th percentile KLD', fmt(r.kld_p99), 'nats') : '',
    r.same_top_p !== undefined ? card('same top token', fmt(r.same_top_p * 100, 4), '%') : '',
    r.ppl_model !== undefined && r.ppl_base !== undefined
      ? card('perplexity model / base', `${fmt(r.ppl_model)} / ${fmt(r.ppl_base)}`, '')
      : '',
  ].join('');
  const who = [
    r.model ? `model <code>${escapeHtml(r.model)}</code>` : '',
    r.base ? `base <code>${escapeHtml(r.base)}</code>` : '',
    r.data ? `data <code>${escapeHtml(r.data)}</code>` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return {
    title,
    html: section(
      ctx.id,
      title,
      who,
      `<div class="cards">${cards}</div>${figure(kldChart(r), 'KL(base ‖ model) per scored token, in nats: 0 means identical next-token distributions.')}`,
    ),
    summary: { title: `${title}${s.source ? ` (${s.source})` : ''}`, rows: rowsFromObject(r) },
  };
}

function renderFigures(s: Extract<ReportSection, { kind: 'figures' }>, ctx: RenderContext): Rendered {
  const file = s.source ?? 'figures';
  if (typeof s.title !== 'string' || s.title === '')
    throw new XentError('invalid_argument', 'report', `${file}: a figures section needs a non-empty "title"`, {
      file,
      arg: 'title',
    });
  if (typeof s.data !== 'object' || s.data === null || Array.isArray(s.data)) {
    throw new XentError(
      'invalid_argument',
      'report',
      `${file}: a figures section needs "data", an object of named figures`,
      { file, arg: 'data' },
    );
  }
  for (const [k, v] of Object.entries(s.data)) {
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new XentError('invalid_argument', 'report', `${file}: figure "${k}" is ${v}, not a finite number`, {
        file,
        arg: k,
        value: v,
      });
  }
  const rows = rowsFromObject(s.data);
  const cards = rows
    .slice(0, 12)
    .map((r) => card(r.figure, r.value, r.unit))
    .join('');
  return {
    title: s.title,
    html: section(
      ctx.id,
      s.title,
      s.sub ? escapeHtml(s.sub) : '',
      `<div class="cards">${cards}</div>${s.lines?.length ? `<pre class="lines">${s.lines.map((l) => escapeHtml(String(l))).join('\n')}</pre>` : ''}`,
    ),
    summary: { title: `${s.title}${s.source ? ` (${s.source})` : ''}`, rows },
  };
}

export function renderSection(s: ReportSection, ctx: RenderContext): Rendered {
  switch (s.kind) {
    case 'eval':
      return renderEval(s, ctx);
    case 'tokens':
      return renderTokens(s, ctx);
    case 'train':
      return renderTrain(s, ctx);
    case 'compare':
      return renderCompare(s, ctx);
    case 'kld':
      return renderKld(s, ctx);
    case 'figures':
      return renderFigures(s, ctx);
    case 'tasks':
      return renderTasks(s.result, s.records, ctx.id, s.source);
    case 'protocols':
      return renderProtocols(s.result, ctx.id, s.source);
  }
}
