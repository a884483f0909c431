/**
 * A tiny SVG chart module, rendered to a string at build time: linear and log
 * scales with "nice" ticks, a plot frame with axes, and marks (lines, points,
 * bars, error bars, reference rules, labels). Colours come from CSS classes
 * (`s0`…`s5` series, `muted`, `accent`) so the document's light and dark schemes
 * apply. Any mark with a `tip` gets `data-tip` and `tabindex="0"`: the report's
 * script shows the tip on hover and on keyboard focus.
 *
 * Coordinates are rounded to 0.1 px to keep the markup small.
 */
import { escapeHtml } from './escape.js';
import { fmtTick } from './format.js';

export interface AxisSpec {
  label: string;
  min: number;
  max: number;
  log?: boolean;
  /** Explicit tick values (default: nice ticks). */
  ticks?: number[];
  /** Tick label (default: by tick step). */
  format?: (v: number) => string;
}

/**
 * An extra y axis on the right showing the same quantity in other units:
 * `from` maps a primary-axis value to this axis' value (monotone increasing),
 * `to` maps it back. E.g. bits from nats: from = y / ln 2, to = b * ln 2.
 */
export interface SecondaryAxis {
  label: string;
  from: (y: number) => number;
  to: (v: number) => number;
  log?: boolean;
  format?: (v: number) => string;
}

export type Mark =
  | { type: 'line'; points: ReadonlyArray<readonly [number, number]>; cls: string; dashed?: boolean }
  | {
      type: 'points';
      points: ReadonlyArray<{ x: number; y: number; tip?: string }>;
      cls: string;
      r?: number;
      shape?: 'circle' | 'diamond' | 'square';
    }
  | {
      type: 'bars';
      bars: ReadonlyArray<{ x0: number; x1: number; y0?: number; y1: number; tip?: string }>;
      cls: string;
    }
  | {
      type: 'errorbars';
      items: ReadonlyArray<{ y: number; lo: number; hi: number; x: number; tip?: string }>;
      cls: string;
    }
  | { type: 'rule'; x?: number; y?: number; cls: string; label?: string }
  | {
      type: 'label';
      x: number;
      y: number;
      text: string;
      cls?: string;
      anchor?: 'start' | 'middle' | 'end';
      dx?: number;
      dy?: number;
    };

export interface ChartSpec {
  /** Accessible name of the chart (also the SVG <title>). */
  title: string;
  width?: number;
  height?: number;
  x: AxisSpec;
  y: AxisSpec;
  y2?: SecondaryAxis[];
  marks: Mark[];
  /** Extra left margin for long category labels, px. */
  marginLeft?: number;
}

export interface Scale {
  (v: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
  log: boolean;
}

/** Maps [d0, d1] to [r0, r1], linearly or in log10. */
export function scale(d0: number, d1: number, r0: number, r1: number, log = false): Scale {
  const f = log ? Math.log10 : (v: number): number => v;
  const a = f(d0);
  const b = f(d1);
  const k = b === a ? 0 : (r1 - r0) / (b - a);
  const s = ((v: number): number => r0 + (f(v) - a) * k) as Scale;
  s.domain = [d0, d1];
  s.range = [r0, r1];
  s.log = log;
  return s;
}

/** About `count` ticks at 1, 2 or 5 × 10^k steps covering [lo, hi] (Heckbert, Graphics Gems, 1990). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++)
    out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Ticks for a log axis: powers of ten, with 2 and 5 multiples when the span is short. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > lo)) return [lo];
  const e0 = Math.floor(Math.log10(lo));
  const e1 = Math.ceil(Math.log10(hi));
  const decades = Math.log10(hi / lo);
  const mults = decades <= 2.5 ? [1, 2, 5] : decades <= 4.5 ? [1, 3] : [1];
  const out: number[] = [];
  for (let e = e0; e <= e1; e++) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

/** Log ticks, or nice linear ticks when the span is too short for three log ticks. */
export function autoTicks(lo: number, hi: number, log: boolean, count: number): number[] {
  if (log) {
    const t = logTicks(lo, hi);
    if (t.length >= 3) return t;
  }
  return niceTicks(lo, hi, count);
}

/** Tick step of a sorted tick list, for label precision. */
function stepOf(ticks: number[]): number {
  return ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : Math.abs(ticks[0] ?? 1) || 1;
}

function defaultFormat(ticks: number[], log: boolean): (v: number) => string {
  // Log ticks (1, 2, 5, 10…) are unevenly spaced; each gets the precision of its own decade.
  const isLogSpaced =
    log && ticks.length > 2 && Math.abs(ticks[2]! - 2 * ticks[1]! + ticks[0]!) > 1e-9 * Math.abs(ticks[2]!);
  if (isLogSpaced) return (v) => fmtTick(v, 10 ** Math.floor(Math.log10(v)));
  const st = stepOf(ticks);
  return (v) => fmtTick(v, st);
}

const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function tipAttrs(tip: string | undefined): string {
  return tip === undefined ? '' : ` tabindex="0" data-tip="${escapeHtml(tip)}" aria-label="${escapeHtml(tip)}"`;
}

/** Renders a chart as an inline <svg> string. */
export function chart(spec: ChartSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 320;
  const y2s = spec.y2 ?? [];
  const m = { l: spec.marginLeft ?? 64, r: 16 + y2s.length * 62, t: 14, b: 46 };
  const xs = scale(spec.x.min, spec.x.max, m.l, W - m.r, spec.x.log);
  const ys = scale(spec.y.min, spec.y.max, H - m.b, m.t, spec.y.log);
  const clipX = (v: number): number => Math.max(m.l, Math.min(W - m.r, v));
  const clipY = (v: number): number => Math.max(m.t, Math.min(H - m.b, v));
  const out: string[] = [];
  out.push(
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="group" aria-label="${escapeHtml(spec.title)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  out.push(`<title>${escapeHtml(spec.title)}</title>`);

  // Grid and axes.
  const xt =
    spec.x.ticks ?? autoTicks(spec.x.min, spec.x.max, !!spec.x.log, Math.max(3, Math.round((W - m.l - m.r) / 90)));
  const yt =
    spec.y.ticks ?? autoTicks(spec.y.min, spec.y.max, !!spec.y.log, Math.max(3, Math.round((H - m.t - m.b) / 50)));
  const xf = spec.x.format ?? defaultFormat(xt, !!spec.x.log);
  const yf = spec.y.format ?? defaultFormat(yt, !!spec.y.log);
  out.push('<g class="grid">');
  for (const t of yt) out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${r1(ys(t))}" y2="${r1(ys(t))}"/>`);
  for (const t of xt) out.push(`<line y1="${m.t}" y2="${H - m.b}" x1="${r1(xs(t))}" x2="${r1(xs(t))}"/>`);
  out.push('</g>');
  out.push(`<g class="axis"><path d="M${m.l} ${m.t}V${H - m.b}H${W - m.r}${y2s.length ? `V${m.t}` : ''}"/>`);
  for (const t of xt)
    out.push(`<text x="${r1(xs(t))}" y="${H - m.b + 16}" text-anchor="middle">${escapeHtml(xf(t))}</text>`);
  for (const t of yt)
    out.push(`<text x="${m.l - 6}" y="${r1(ys(t) + 4)}" text-anchor="end">${escapeHtml(yf(t))}</text>`);
  out.push(
    `<text class="axis-label" x="${r1((m.l + W - m.r) / 2)}" y="${H - 8}" text-anchor="middle">${escapeHtml(spec.x.label)}</text>`,
  );
  out.push(
    `<text class="axis-label" transform="translate(14 ${r1((m.t + H - m.b) / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.y.label)}</text>`,
  );
  y2s.forEach((a, i) => {
    const x0 = W - m.r + i * 62;
    const lo = a.from(spec.y.min);
    const hi = a.from(spec.y.max);
    const ticks = autoTicks(lo, hi, !!a.log, Math.max(3, Math.round((H - m.t - m.b) / 50)));
    const f = a.format ?? defaultFormat(ticks, !!a.log);
    out.push(`<path d="M${x0 + (i ? 4 : 0)} ${m.t}V${H - m.b}"/>`);
    for (const t of ticks) {
      const y = ys(a.to(t));
      out.push(
        `<path d="M${x0 + (i ? 4 : 0)} ${r1(y)}h4"/><text x="${x0 + 7 + (i ? 4 : 0)}" y="${r1(y + 4)}">${escapeHtml(f(t))}</text>`,
      );
    }
    out.push(
      `<text class="axis-label" transform="translate(${x0 + 54} ${r1((m.t + H - m.b) / 2)}) rotate(90)" text-anchor="middle">${escapeHtml(a.label)}</text>`,
    );
  });
  out.push('</g>');

  // Marks, clipped to the plot area (points outside the domain are pinned to its edge).
  out.push('<g class="marks">');
  for (const mk of spec.marks) out.push(renderMark(mk, xs, ys, clipX, clipY, m, W, H));
  out.push('</g></svg>');
  return out.join('');
}

function renderMark(
  mk: Mark,
  xs: Scale,
  ys: Scale,
  clipX: (v: number) => number,
  clipY: (v: number) => number,
  m: { l: number; r: number; t: number; b: number },
  W: number,
  H: number,
): string {
  switch (mk.type) {
    case 'line': {
      if (mk.points.length === 0) return '';
      const d = mk.points.map(([x, y], i) => `${i ? 'L' : 'M'}${r1(clipX(xs(x)))} ${r1(clipY(ys(y)))}`).join('');
      return `<path class="line ${mk.cls}${mk.dashed ? ' dashed' : ''}" d="${d}"/>`;
    }
    case 'points':
      return mk.points
        .map((p) => {
          const cx = r1(clipX(xs(p.x)));
          const cy = r1(clipY(ys(p.y)));
          const r = mk.r ?? 3.5;
          if (mk.shape === 'diamond') {
            const s = r * 1.5;
            return `<path class="pt ${mk.cls}" d="M${cx} ${r1(Number(cy) - s)}l${s} ${s}l${-s} ${s}l${-s} ${-s}z"${tipAttrs(p.tip)}/>`;
          }
          if (mk.shape === 'square')
            return `<rect class="pt ${mk.cls}" x="${r1(Number(cx) - r)}" y="${r1(Number(cy) - r)}" width="${2 * r}" height="${2 * r}"${tipAttrs(p.tip)}/>`;
          return `<circle class="pt ${mk.cls}" cx="${cx}" cy="${cy}" r="${r}"${tipAttrs(p.tip)}/>`;
        })
        .join('');
    case 'bars':
      return mk.bars
        .map((b) => {
          const x0 = clipX(xs(b.x0));
          const x1 = clipX(xs(b.x1));
          const yTop = clipY(ys(b.y1));
          const yBase = clipY(ys(b.y0 ?? ys.domain[0]));
          const w = Math.max(0.5, Math.abs(x1 - x0) - 1);
          return `<rect class="bar ${mk.cls}" x="${r1(Math.min(x0, x1) + 0.5)}" y="${r1(Math.min(yTop, yBase))}" width="${r1(w)}" height="${r1(Math.max(0, Math.abs(yBase - yTop)))}"${tipAttrs(b.tip)}/>`;
        })
        .join('');
    case 'errorbars':
      return mk.items
        .map((e) => {
          const y = r1(ys(e.y));
          const lo = r1(clipX(xs(e.lo)));
          const hi = r1(clipX(xs(e.hi)));
          return `<g class="err ${mk.cls}"${tipAttrs(e.tip)}><path d="M${lo} ${y}H${hi}M${lo} ${r1(ys(e.y) - 6)}v12M${hi} ${r1(ys(e.y) - 6)}v12"/><circle cx="${r1(clipX(xs(e.x)))}" cy="${y}" r="4.5"/></g>`;
        })
        .join('');
    case 'rule': {
      if (mk.x !== undefined) {
        const x = r1(xs(mk.x));
        return `<path class="rule ${mk.cls}" d="M${x} ${m.t}V${H - m.b}"/>${mk.label ? `<text class="rule-label ${mk.cls}" x="${r1(xs(mk.x) + 4)}" y="${m.t + 12}">${escapeHtml(mk.label)}</text>` : ''}`;
      }
      const y = r1(ys(mk.y ?? 0));
      return `<path class="rule ${mk.cls}" d="M${m.l} ${y}H${W - m.r}"/>${mk.label ? `<text class="rule-label ${mk.cls}" x="${W - m.r - 4}" y="${r1(ys(mk.y ?? 0) - 5)}" text-anchor="end">${escapeHtml(mk.label)}</text>` : ''}`;
    }
    case 'label':
      return `<text class="${mk.cls ?? 'note'}" x="${r1(xs(mk.x) + (mk.dx ?? 0))}" y="${r1(ys(mk.y) + (mk.dy ?? 0))}" text-anchor="${mk.anchor ?? 'start'}">${escapeHtml(mk.text)}</text>`;
  }
}

/** An HTML legend: a swatch per series with its name (charts never rely on colour alone: marks also have tips). */
export function legend(
  items: ReadonlyArray<{
    cls: string;
    label: string;
    kind?: 'line' | 'dashed' | 'point' | 'bar' | 'diamond' | 'square';
  }>,
): string {
  const sw = (cls: string, kind: string): string => {
    switch (kind) {
      case 'point':
        return `<svg width="18" height="12" aria-hidden="true"><circle class="pt ${cls}" cx="9" cy="6" r="4"/></svg>`;
      case 'diamond':
        return `<svg width="18" height="12" aria-hidden="true"><path class="pt ${cls}" d="M9 1l5 5l-5 5l-5 -5z"/></svg>`;
      case 'square':
        return `<svg width="18" height="12" aria-hidden="true"><rect class="pt ${cls}" x="5" y="2" width="8" height="8"/></svg>`;
      case 'bar':
        return `<svg width="18" height="12" aria-hidden="true"><rect class="bar ${cls}" x="2" y="1" width="14" height="10"/></svg>`;
      default:
        return `<svg width="22" height="12" aria-hidden="true"><path class="line ${cls}${kind === 'dashed' ? ' dashed' : ''}" d="M1 6H21"/></svg>`;
    }
  };
  return `<ul class="legend">${items.map((i) => `<li>${sw(i.cls, i.kind ?? 'line')}${escapeHtml(i.label)}</li>`).join('')}</ul>`;
}
