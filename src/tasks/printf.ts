/**
 * C's printf("%W.Df", x) for doubles, as glibc prints it: the exact binary value rounded
 * to D decimals, ties to even (JavaScript's toFixed rounds ties away from zero), minus sign
 * kept on a value that rounds to zero, padded on the left to W characters. llama-perplexity's
 * lines are compared with xent's character for character.
 */

const TEN = 10n;

export function cFixed(x: number, decimals: number, width = 0): string {
  let s: string;
  if (Number.isNaN(x)) s = 'nan';
  else if (!Number.isFinite(x)) s = x > 0 ? 'inf' : '-inf';
  else {
    const neg = x < 0 || Object.is(x, -0);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, Math.abs(x));
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    const biased = (hi >>> 20) & 0x7ff;
    let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    if (biased !== 0) mant |= 1n << 52n;
    const e = (biased === 0 ? 1 : biased) - 1075; // |x| = mant · 2^e
    const scaled = mant * TEN ** BigInt(decimals);
    let q: bigint;
    if (e >= 0) q = scaled << BigInt(e);
    else {
      const den = 1n << BigInt(-e);
      q = scaled / den;
      const r2 = (scaled % den) * 2n;
      if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
    }
    let digits = q.toString().padStart(decimals + 1, '0');
    if (decimals > 0) digits = `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
    s = neg ? `-${digits}` : digits;
  }
  return s.padStart(width);
}
