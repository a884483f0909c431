/**
 * The token view: the evaluated text with every token coloured by its surprisal
 * in bits (GLTR-style; Gehrmann, Strobelt & Rush, ACL 2019 demo), with probability,
 * rank and the model's top prediction on hover and keyboard focus.
 *
 * Long texts stay fast: the tokens travel as one inert JSON data block (column
 * arrays, escaped by `jsonForScript`) and the page script renders one page of
 * `tokensPerPage` spans at a time. The first page is also rendered here, so the
 * text is readable with scripts off.
 */

import type { TokenRecord } from '../results/schema.js';
import { SURPRISAL_EDGES_BITS, surprisalClass } from './charts/surprisal.js';
import { displayText, escapeHtml, jsonForScript } from './escape.js';
import { fmt, fmtInt } from './format.js';

export interface TokenViewOptions {
  /** Element id prefix, unique in the document. */
  id: string;
  tokensPerPage: number;
}

/** The JSON shape the page script reads (one array per field, indexed by token). */
interface TokenData {
  text: string[];
  id: number[];
  pos: number[];
  bits: number[];
  p: number[];
  rank: number[];
  top: Array<string | null>;
  topId: number[];
  topP: Array<number | null> | null;
  edges: readonly number[];
}

/** Rounds for the data block: 6 significant digits are plenty for display and halve its size. */
const r6 = (x: number): number => Number(x.toPrecision(6));

function tokenData(records: readonly TokenRecord[]): TokenData {
  const hasTopP = records.some((r) => r.top1_p !== undefined);
  return {
    text: records.map((r) => displayText(r.text)),
    id: records.map((r) => r.token),
    pos: records.map((r) => r.position),
    bits: records.map((r) => r6(r.bits)),
    p: records.map((r) => r6(r.p)),
    rank: records.map((r) => r.rank),
    top: records.map((r) => (r.top1_text === undefined ? null : displayText(r.top1_text))),
    topId: records.map((r) => r.top1),
    topP: hasTopP ? records.map((r) => (r.top1_p === undefined ? null : r6(r.top1_p))) : null,
    edges: SURPRISAL_EDGES_BITS,
  };
}

/** The colour key: the surprisal classes with their ranges in bits. */
export function surprisalScale(): string {
  const e = SURPRISAL_EDGES_BITS;
  const cells = [`<span class="t0">&lt; ${e[0]} bit</span>`];
  for (let i = 1; i < e.length; i++) cells.push(`<span class="t${i}">${e[i - 1]}–${e[i]}</span>`);
  cells.push(`<span class="t${e.length}">≥ ${e[e.length - 1]} bits</span>`);
  return `<div class="scale" role="img" aria-label="surprisal colour key, in bits: ${e.map((x) => String(x)).join(', ')}">${cells.join('')}</div>`;
}

export function tokenView(records: readonly TokenRecord[], opts: TokenViewOptions): string {
  const per = Math.max(1, Math.floor(opts.tokensPerPage));
  const pages = Math.max(1, Math.ceil(records.length / per));
  // The first page, as the page script renders it (gaps where positions jump), for reading without the script.
  const first = records
    .slice(0, per)
    .map((r, i) => {
      const prev = i > 0 ? records[i - 1]!.position : r.position - 1;
      const gap =
        r.position !== prev + 1 && i > 0
          ? `<span class="gap" aria-hidden="true">${r.position > prev ? ` ⋯ ${r.position - prev - 1} unscored tokens ⋯ ` : ' ⋯ '}</span>`
          : '';
      return `${gap}<span class="tk t${surprisalClass(r.bits)}" data-i="${i}" tabindex="${i === 0 ? 0 : -1}">${escapeHtml(r.text)}</span>`;
    })
    .join('');
  const dataId = `${opts.id}-data`;
  return (
    `<div class="tokens" id="${escapeHtml(opts.id)}" data-src="${escapeHtml(dataId)}" data-per="${per}">` +
    surprisalScale() +
    `<div class="bar-row"><button type="button" class="prev" disabled>◀ Previous</button>` +
    `<label>Page <input class="page" type="number" min="1" max="${pages}" value="1" aria-label="page number"> of ${fmtInt(pages)}</label>` +
    `<button type="button" class="next"${pages > 1 ? '' : ' disabled'}>Next ▶</button>` +
    `<span class="status" aria-live="polite">tokens 1–${Math.min(per, records.length)} of ${fmtInt(records.length)}</span>` +
    `<span>· hover or focus a token (Tab, then ← →; PgUp/PgDn change page)</span></div>` +
    `<div class="tk-text" role="group" aria-label="evaluated text, tokens coloured by surprisal">${first}</div>` +
    `<script type="application/json" id="${escapeHtml(dataId)}">${jsonForScript(tokenData(records))}</script>` +
    `</div>`
  );
}

/** The `n` most surprising tokens as a table (static: readable without the script). */
export function surprisingTable(records: readonly TokenRecord[], n = 12): string {
  const idx = records
    .map((_, i) => i)
    .sort((a, b) => records[b]!.bits - records[a]!.bits)
    .slice(0, n);
  const q = (s: string | undefined, id: number): string =>
    s === undefined ? `id ${id}` : `<code>${escapeHtml(JSON.stringify(displayText(s)))}</code>`;
  const rows = idx.map((i) => {
    const r = records[i]!;
    return `<tr><td class="num">${fmtInt(r.position)}</td><td>${q(r.text, r.token)}</td><td class="num">${fmt(r.bits)}</td><td class="num">${fmt(r.p, 3)}</td><td class="num">${fmtInt(r.rank)}</td><td>${q(r.top1_text, r.top1)}${r.top1_p !== undefined ? ` <span class="sub">(p = ${fmt(r.top1_p, 3)})</span>` : ''}</td></tr>`;
  });
  return `<div class="wrap"><table><thead><tr><th class="num">position</th><th>token</th><th class="num">surprisal (bits)</th><th class="num">p(token)</th><th class="num">rank</th><th>model's top prediction</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}
