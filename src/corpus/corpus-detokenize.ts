/**
 * Detokenisation of Brown-corpus lines ("The/at jury/nn said/vbd ``/`` no/at ''/'' ./.")
 * into natural text ('The jury said "no".'). Pure string code (browser-safe).
 *
 * Rules:
 *   - a token is word/TAG; the word is everything before the LAST '/' ("1-1/2/cd" → "1-1/2");
 *   - `` and '' (the Penn/Brown opening and closing double quotes) become ";
 *   - a lone ' is a single quote, alternately opening and closing within a line;
 *   - no space before , . ; : ? ! ) ] } % and closing quotes; none after opening quotes, ( [ { and a lone $;
 *   - the corpus's doubled sentence ends are undone: ";" right after ";" and "." right after a
 *     word ending in "." are dropped ("1937 ; ;" → "1937;", "Jr. ." → "Jr.").
 */

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', '%']);
const NO_SPACE_AFTER = new Set(['(', '[', '{', '$']);

/** The word of a Brown token (POS tag stripped). */
export function brownWord(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

/** Joins the words of one line into text with natural spacing and quotes. */
export function detokenizeWords(words: readonly string[]): string {
  let out = '';
  let glueNext = true; // no space before the first word
  let singleOpen = false;
  for (const raw of words) {
    let w = raw;
    if ((w === ';' && out.endsWith(';')) || (w === '.' && out.endsWith('.'))) continue;
    let attachLeft = NO_SPACE_BEFORE.has(w);
    let attachRight = NO_SPACE_AFTER.has(w);
    if (w === '``') {
      w = '"';
      attachRight = true;
    } else if (w === "''") {
      w = '"';
      attachLeft = true;
    } else if (w === "'") {
      if (singleOpen) attachLeft = true;
      else attachRight = true;
      singleOpen = !singleOpen;
    }
    if (!glueNext && !attachLeft && out.length > 0) out += ' ';
    out += w;
    glueNext = attachRight;
  }
  return out;
}

/** One line of a Brown file (whitespace-separated word/TAG tokens) as text. */
export function detokenizeBrownLine(line: string): string {
  const toks = line
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0);
  return detokenizeWords(toks.map(brownWord));
}

/** A whole Brown file as text: one source line (sentence or headline) per line, blank lines dropped. */
export function detokenizeBrownDocument(raw: string): string {
  const lines: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.trim().length === 0) continue;
    lines.push(detokenizeBrownLine(line));
  }
  return lines.join('\n');
}
