/**
 * `buildReport(sections, meta)`: one self-contained HTML document. Charts are
 * inline SVG rendered here; the one stylesheet and the one script are inline and
 * allowed by their SHA-256 hashes in a strict Content-Security-Policy:
 *
 *   default-src 'none'; style-src 'sha256-…'; script-src 'sha256-…';
 *   img-src 'none'; base-uri 'none'; form-action 'none'
 *
 * so nothing can be fetched, and no script or style from the data can apply even
 * if escaping had a hole (defence in depth; escaping is in `escape.ts`).
 * Token data travels in `<script type="application/json">` blocks, which browsers
 * never execute (HTML Living Standard §4.12.1, "data block").
 */

import { XentError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { binaryCrossEntropyChart, crossEntropyChart, type LossTableRow, lossTableHtml } from './charts/basics.js';
import { CLIENT_SCRIPT } from './client.js';
import { escapeHtml } from './escape.js';
import { type ReportSection, renderSection } from './sections.js';
import { cspHash } from './sha256.js';
import { STYLE } from './style.js';
import { summaryTable } from './summary.js';

export interface ReportMeta {
  /** Document title (default "xent report"). */
  title?: string;
  /** The command line that produced the data, shown under the title. */
  command?: string;
  /** Timestamp shown in the header; default now (pass a fixed string for reproducible files). */
  generatedAt?: string;
  /** Include the "cross-entropy at a glance" pair of reference charts (default true). */
  basics?: boolean;
  /** Tokens per page in token views (default 2000). */
  tokensPerPage?: number;
  /** Tokens embedded per token view; statistics still use all (default 200,000). */
  maxTokens?: number;
  /** Rows of a loss table (`xent demo`'s) drawn on the "at a glance" pair; losses in nats. */
  lossTable?: readonly LossTableRow[];
  /** Put the "at a glance" pair first instead of last (the demo's report is about it). */
  basicsFirst?: boolean;
}

function checkLossTable(rows: unknown): readonly LossTableRow[] | undefined {
  if (rows === undefined) return undefined;
  if (!Array.isArray(rows))
    throw new XentError('invalid_argument', 'buildReport', 'meta.lossTable must be an array of { p, ce_nats, … }', {
      arg: 'meta.lossTable',
    });
  rows.forEach((r: Partial<LossTableRow> | null, i) => {
    const p = r?.p;
    if (typeof p !== 'number' || !(p > 0 && p < 1))
      throw new XentError(
        'invalid_argument',
        'buildReport',
        `meta.lossTable[${i}].p must be a probability in (0, 1), got ${JSON.stringify(p)}`,
        { arg: `meta.lossTable[${i}].p`, value: p },
      );
    for (const k of ['ce_nats', 'bce_label1_nats', 'bce_label0_nats'] as const) {
      const v = r?.[k];
      if (v === undefined && k !== 'ce_nats') continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new XentError(
          'invalid_argument',
          'buildReport',
          `meta.lossTable[${i}].${k} must be a finite loss ≥ 0 nats, got ${JSON.stringify(v)}`,
          { arg: `meta.lossTable[${i}].${k}`, value: v },
        );
    }
  });
  return rows as LossTableRow[];
}

/** The CSP the report carries (exported for tests). */
export function reportCsp(): string {
  return `default-src 'none'; style-src ${cspHash(STYLE)}; script-src ${cspHash(CLIENT_SCRIPT)}; img-src 'none'; base-uri 'none'; form-action 'none'`;
}

export function buildReport(sections: readonly ReportSection[], meta: ReportMeta = {}): string {
  if (!Array.isArray(sections))
    throw new XentError('invalid_argument', 'buildReport', 'sections must be an array of report sections', {
      arg: 'sections',
      value: sections,
    });
  const tokensPerPage = meta.tokensPerPage ?? 2000;
  const maxTokens = meta.maxTokens ?? 200_000;
  for (const [arg, v] of [
    ['tokensPerPage', tokensPerPage],
    ['maxTokens', maxTokens],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new XentError(
        'invalid_argument',
        'buildReport',
        `meta.${arg} must be a positive integer, got ${String(v)}`,
        { arg: `meta.${arg}`, value: v },
      );
  }
  const rendered = sections.map((s, i) => {
    const kinds = ['eval', 'tokens', 'train', 'compare', 'kld', 'figures', 'tasks', 'protocols'];
    if (!s || !kinds.includes((s as { kind?: string }).kind ?? '')) {
      throw new XentError(
        'invalid_argument',
        'buildReport',
        `sections[${i}].kind must be one of ${kinds.join(', ')}, got ${JSON.stringify((s as { kind?: unknown })?.kind)}`,
        { arg: `sections[${i}].kind` },
      );
    }
    return renderSection(s, { id: `s${i + 1}-${s.kind}`, tokensPerPage, maxTokens });
  });
  const table = checkLossTable(meta.lossTable);
  const title = meta.title ?? 'xent report';
  const generated = meta.generatedAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const firstEval = sections.find((s): s is Extract<ReportSection, { kind: 'eval' }> => s.kind === 'eval');
  const basics =
    meta.basics === false
      ? ''
      : `<section id="basics"><h2>Cross-entropy at a glance</h2><p class="sub">How a predicted probability becomes a loss: 1 nat = 1/ln 2 ≈ 1.443 bits; perplexity = e^(nats per token) = 2^(bits per token).</p><div class="figs">` +
        `<figure>${crossEntropyChart(firstEval ? { label: firstEval.result.model.split('/').pop() ?? 'model', natsPerToken: firstEval.result.nats_per_token } : undefined, table)}<figcaption>Cross-entropy of one prediction: −ln p(true class). Certainty costs 0; p = ½ costs 1 bit; the loss grows without bound as p → 0.${firstEval ? ' The diamond marks the evaluated model at p = 1/perplexity.' : ''}${table ? ' Squares: the loss table, as the library computed it (rows above 4.7 nats are off the chart).' : ''}</figcaption></figure>` +
        `<figure>${binaryCrossEntropyChart(table)}<figcaption>Binary cross-entropy for true label 1 (−ln p) and true label 0 (−ln(1 − p)): confident mistakes are what cost the most.</figcaption></figure></div>${table ? `<h3>The loss table, as computed by crossEntropy and binaryCrossEntropy</h3>${lossTableHtml(table)}` : ''}</section>`;
  const basicsLink = meta.basics === false ? '' : '<a href="#basics">Cross-entropy at a glance</a>';
  const toc = [
    meta.basicsFirst ? basicsLink : '',
    ...rendered.map((r, i) => `<a href="#s${i + 1}-${sections[i]!.kind}">${escapeHtml(r.title)}</a>`),
    '<a href="#summary">Summary table</a>',
    meta.basicsFirst ? '' : basicsLink,
  ].join('');
  const summary = `<section id="summary"><h2>Summary table</h2><p class="sub">Every figure with its unit, and where it came from.</p>${
    rendered.length
      ? summaryTable([
          ...rendered.map((r) => r.summary),
          {
            title: 'Report',
            rows: [
              { figure: 'xent version', value: VERSION, unit: '' },
              { figure: 'generated', value: generated, unit: 'UTC' },
            ],
          },
        ])
      : '<p class="sub">No inputs.</p>'
  }</section>`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(reportCsp())}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="color-scheme" content="light dark">' +
    `<meta name="generator" content="xent ${escapeHtml(VERSION)}">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>` +
    `<header><h1>${escapeHtml(title)}</h1><p class="sub">xent ${escapeHtml(VERSION)} · ${escapeHtml(generated)}${meta.command ? ` · <code>${escapeHtml(meta.command)}</code>` : ''}</p><nav class="toc">${toc}</nav></header>` +
    `<main>${meta.basicsFirst ? basics : ''}${rendered.map((r) => r.html).join('')}${summary}${meta.basicsFirst ? '' : basics}</main>` +
    `<footer>Self-contained report: no network, no external files. Charts are SVG; hover or focus a mark for its numbers.</footer>` +
    `<div id="tip" role="tooltip" hidden></div>` +
    `<script>${CLIENT_SCRIPT}</script></body></html>\n`
  );
}
