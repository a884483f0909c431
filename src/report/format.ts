/**
 * Number formatting for the report: significant digits without float noise
 * (0.30000000000000004 → "0.3"), thousands separators for counts, and tick labels
 * whose precision follows the tick step.
 */

/** `x` with up to `digits` significant digits, trailing zeros trimmed; exponent form outside [1e-4, 1e7). */
export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e7 || a < 1e-4)
    return x
      .toExponential(Math.max(0, digits - 1))
      .replace(/\.?0+e/, 'e')
      .replace(/-/g, '−');
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return trimZeros(x.toFixed(Math.min(decimals, 20))).replace(/-/g, '−');
}

/** Integers with thousands separators: 1234567 → "1,234,567". */
export function fmtInt(x: number): string {
  return Math.round(x)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',')
    .replace('-', '−');
}

/** Fixed decimals: 0.123456, 3 → "0.123". */
export function fmtFixed(x: number, decimals: number): string {
  return x.toFixed(decimals).replace('-', '−');
}

/** A tick label for value `v` on an axis whose ticks are `step` apart. */
export function fmtTick(v: number, step: number): string {
  if (Math.abs(v) < step * 1e-9) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || (a < 1e-3 && a > 0)) return fmt(v, 3);
  // As many decimals as the step needs to be exact: step 0.25 → 2, step 0.5 → 1, step 20 → 0.
  let decimals = 0;
  while (
    decimals < 10 &&
    Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6 * step * 10 ** decimals
  )
    decimals++;
  return fmtFixed(v, decimals);
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
