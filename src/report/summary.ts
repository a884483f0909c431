/**
 * The summary table: every figure of every input with its unit, and the model,
 * data, settings and xent version it came from. Known keys get a readable name
 * and unit; unknown keys of a result are still listed, with the unit read from the
 * key name (`…_bits_per_byte`, `…_nats`, …), so nothing a command reports is lost.
 */
import { escapeHtml } from './escape.js';
import { fmt, fmtInt } from './format.js';

export interface SummaryRow {
  figure: string;
  value: string;
  unit: string;
}

export interface SummaryGroup {
  title: string;
  rows: SummaryRow[];
}

const KNOWN: Record<string, [string, string]> = {
  perplexity: ['perplexity', 'e^(nats/token)'],
  perplexity_pm: ['perplexity ± (llama.cpp)', 'e^(nats/token)'],
  nats_per_token: ['cross-entropy', 'nats/token'],
  bits_per_token: ['cross-entropy', 'bits/token'],
  bits_per_byte: ['cross-entropy', 'bits/byte'],
  tokens_scored: ['tokens scored', 'tokens'],
  bytes_scored: ['bytes scored', 'bytes (UTF-8)'],
  chunks: ['chunks', 'chunks'],
  top1_accuracy: ['top-1 accuracy', 'fraction'],
  tokens_per_second: ['speed', 'tokens/s'],
  ctx: ['context', 'tokens'],
  stride: ['stride', 'tokens'],
  kld_mean: ['KL divergence, mean', 'nats/token'],
  kld_mean_pm: ['KL divergence, mean ±', 'nats/token'],
  kld_max: ['KL divergence, maximum', 'nats'],
  kld_min: ['KL divergence, minimum', 'nats'],
  kld_median: ['KL divergence, median', 'nats'],
  same_top_p: ['same top token', 'fraction'],
  same_top_p_pm: ['same top token ±', 'fraction'],
  delta_p_rms: ['Δp RMS', 'probability'],
  ppl_model: ['perplexity of the model', 'e^(nats/token)'],
  ppl_base: ['perplexity of the base', 'e^(nats/token)'],
  ln_ppl_ratio: ['mean ln(PPL ratio)', 'nats/token'],
  ln_ppl_ratio_pm: ['mean ln(PPL ratio) ±', 'nats/token'],
  val_nats_per_token: ['validation cross-entropy', 'nats/token'],
  val_bits_per_byte: ['validation cross-entropy', 'bits/byte'],
  steps: ['steps', 'steps'],
};

/** The unit implied by a key name, for keys the table does not know. */
export function unitFromKey(key: string): string {
  const k = key.toLowerCase();
  const rules: Array<[RegExp, string]> = [
    [/bits_per_byte/, 'bits/byte'],
    [/bits_per_token/, 'bits/token'],
    [/nats_per_token/, 'nats/token'],
    [/tokens_per_s(econd)?$/, 'tokens/s'],
    [/^kld_p\d+$/, 'nats'],
    [/(^|_)ppl($|_)|perplexity/, 'e^(nats/token)'],
    [/_nats$|^nats_/, 'nats'],
    [/_bits$|^bits_/, 'bits'],
    [/_(ms)$/, 'ms'],
    [/_(s|seconds)$/, 's'],
    [/_bytes$|^bytes_/, 'bytes'],
    [/_tokens$|^tokens_/, 'tokens'],
    [/accuracy|_p$|_fraction$/, 'fraction'],
  ];
  for (const [re, u] of rules) if (re.test(k)) return u;
  return '';
}

function label(key: string): string {
  const pct = /^kld_p(\d+)$/.exec(key);
  if (pct) {
    const d = pct[1]!;
    const q = d.length > 2 ? `${d.slice(0, 2)}.${d.slice(2)}` : d.replace(/^0/, '');
    return `KL divergence, ${q}th percentile`;
  }
  return KNOWN[key]?.[0] ?? key.replace(/_/g, ' ');
}

/** Formats one value: integers with separators, fractions with a percentage beside them. */
export function formatValue(key: string, v: number): string {
  if (Number.isInteger(v) && Math.abs(v) >= 1 && !/nats|bits|ppl|perplexity|kld/.test(key)) return fmtInt(v);
  const unit = KNOWN[key]?.[1] ?? unitFromKey(key);
  if (unit === 'fraction') return `${fmt(v, 4)} (${fmt(v * 100, 4)}%)`;
  return fmt(v, 6);
}

/** Rows for every scalar key of a result object (nested objects and arrays are skipped). */
export function rowsFromObject(obj: Record<string, unknown>, skip: ReadonlySet<string> = new Set()): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (skip.has(k)) continue;
    if (typeof v === 'number')
      rows.push({ figure: label(k), value: formatValue(k, v), unit: KNOWN[k]?.[1] ?? unitFromKey(k) });
    else if (typeof v === 'string' || typeof v === 'boolean')
      rows.push({ figure: label(k), value: String(v), unit: '' });
  }
  return rows;
}

export function summaryTable(groups: readonly SummaryGroup[]): string {
  const body = groups
    .map(
      (g) =>
        `<tr class="group"><td colspan="3">${escapeHtml(g.title)}</td></tr>` +
        g.rows
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.figure)}</td><td class="num">${escapeHtml(r.value)}</td><td>${escapeHtml(r.unit)}</td></tr>`,
          )
          .join(''),
    )
    .join('');
  return `<div class="wrap"><table class="summary"><thead><tr><th>figure</th><th class="num">value</th><th>unit</th></tr></thead><tbody>${body}</tbody></table></div>`;
}
