/**
 * Modified Kneser–Ney discounts from counts of counts (Chen & Goodman 1998, eq. 26):
 *
 *   Y   = n1 / (n1 + 2·n2)
 *   D1  = 1 − 2·Y·n2/n1      (for n-grams seen once)
 *   D2  = 2 − 3·Y·n3/n2      (twice)
 *   D3+ = 3 − 4·Y·n4/n3      (three times or more)
 *
 * where n_r is the number of n-grams of that order with (KN) count exactly r.
 * Degenerate statistics (tiny corpora: some n_r = 0, or a D outside (0, r]) would
 * give NaN, zero or too-large discounts; each such D_r falls back to the fixed value
 * FALLBACK_DISCOUNTS[r−1] = 0.5, 1.0, 1.5 (each within (0, r], so every probability
 * stays positive and every distribution sums to 1).
 */
export const FALLBACK_DISCOUNTS: readonly [number, number, number] = [0.5, 1.0, 1.5];

/** [D1, D2, D3+] from [n1, n2, n3, n4]. */
export function modifiedKneserNeyDiscounts(n: readonly [number, number, number, number]): [number, number, number] {
  const [n1, n2, n3, n4] = n;
  const y = n1 / (n1 + 2 * n2);
  const raw = [1 - (2 * y * n2) / n1, 2 - (3 * y * n3) / n2, 3 - (4 * y * n4) / n3];
  return raw.map((d, i) => (Number.isFinite(d) && d > 0 && d <= i + 1 ? d : (FALLBACK_DISCOUNTS[i] as number))) as [
    number,
    number,
    number,
  ];
}
