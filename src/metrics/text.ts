/**
 * Python string semantics the text metrics need to match their Python anchors
 * (sacrebleu, rouge-score): Python's `str.split()` / `str.rstrip()` whitespace set and
 * code-point (not UTF-16) indexing.
 */

/**
 * Python's str.isspace() characters: JavaScript's \s minus U+FEFF, plus U+001C–U+001F
 * (information separators) and U+0085 (NEL).
 */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPLIT_RE = new RegExp(`[${PY_WS}]+`);
const RSTRIP_RE = new RegExp(`[${PY_WS}]+$`);

/** Python `s.split()`: split on runs of whitespace, no empty strings. */
export function pySplit(s: string): string[] {
  const parts = s.split(SPLIT_RE);
  const out: string[] = [];
  for (const p of parts) if (p !== '') out.push(p);
  return out;
}

/** Python `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(RSTRIP_RE, '');
}

/** Code points of s (Python indexes strings by code point). */
export function codePoints(s: string): string[] {
  return Array.from(s);
}

/**
 * Python `s.lower()`: the default Unicode full lowercasing, context-sensitive Final_Sigma
 * included (ΟΔΟΣ → οδος, as Python ≥ 3.3), which is what JavaScript's toLowerCase does
 * (up to the two engines' Unicode versions).
 */
export function pyLower(s: string): string {
  return s.toLowerCase();
}
