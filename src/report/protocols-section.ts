/**
 * The report section of `xent eval --protocol all`: each perplexity protocol's figures for one
 * model and text side by side (per token, per word, per byte, tokens scored, context per
 * scored token, BOS), what each one scores, and why each pair differs.
 */
import { type ProtocolComparison, validateProtocolComparison } from '../results/protocols.js';
import { escapeHtml } from './escape.js';
import { fmt, fmtInt } from './format.js';
import type { SummaryRow } from './summary.js';

export function renderProtocols(
  result: ProtocolComparison,
  id: string,
  source: string | undefined,
): { title: string; html: string; summary: { title: string; rows: SummaryRow[] } } {
  const r = validateProtocolComparison(result);
  const head =
    '<tr><th>protocol</th><th class="num">PPL per token</th><th class="num">PPL per word</th><th class="num">PPL per byte</th>' +
    '<th class="num">bits per byte</th><th class="num">tokens scored</th><th class="num">context (mean)</th><th class="num">context (min)</th><th>BOS</th></tr>';
  const body = r.rows
    .map(
      (x) =>
        `<tr><td><b>${escapeHtml(x.protocol)}</b><div class="sub">${escapeHtml(x.description)}</div></td>` +
        `<td class="num">${fmt(x.perplexity_per_token, 4)}</td><td class="num">${fmt(x.perplexity_per_word, 4)}</td>` +
        `<td class="num">${fmt(x.perplexity_per_byte, 4)}</td><td class="num">${fmt(x.bits_per_byte, 5)}</td>` +
        `<td class="num">${fmtInt(x.tokens_scored)}</td><td class="num">${fmt(x.context_mean, 1)}</td>` +
        `<td class="num">${fmtInt(x.context_min)}</td><td>${escapeHtml(x.bos)}</td></tr>`,
    )
    .join('');
  const why = `<h3>Why they differ</h3><ul>${r.differences.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>`;
  const title = 'Perplexity protocols side by side';
  const sub = `model <code>${escapeHtml(r.model)}</code> on <code>${escapeHtml(r.data)}</code> · ${fmtInt(r.documents)} document(s), ${fmtInt(r.text_tokens)} tokens, ${fmtInt(r.text_words)} words, ${fmtInt(r.text_bytes)} bytes · --ctx ${r.ctx} · stride ${r.stride}`;
  const rows: SummaryRow[] = r.rows.flatMap((x) => [
    { figure: `${x.protocol}: perplexity per token`, value: fmt(x.perplexity_per_token, 6), unit: 'PPL' },
    { figure: `${x.protocol}: perplexity per word`, value: fmt(x.perplexity_per_word, 6), unit: 'PPL' },
    { figure: `${x.protocol}: bits per byte`, value: fmt(x.bits_per_byte, 6), unit: 'bits/byte' },
  ]);
  return {
    title,
    html: `<section id="${escapeHtml(id)}"><h2>${title}</h2><p class="sub">${sub}</p><div class="wrap"><table><thead>${head}</thead><tbody>${body}</tbody></table></div>${why}</section>`,
    summary: { title: `${title}: ${r.model} on ${r.data}${source ? ` (${source})` : ''}`, rows },
  };
}
