/**
 * Escaping for the HTML report. Everything that comes from data (evaluated text,
 * token strings, model and file names) is untrusted and passes through here.
 *
 * - `escapeHtml` for text content and double-quoted attribute values: the five
 *   characters that can end a text run or an attribute (& < > " ') become entities
 *   (OWASP XSS prevention cheat sheet, rules 1 and 2; we always quote attributes).
 * - `displayText` makes any JS string printable and well-formed first: lone UTF-16
 *   surrogates (what invalid UTF-8 can turn into) become U+FFFD, and C0/C1 control
 *   characters other than tab, newline and carriage return become visible
 *   (U+2400 control pictures for C0, U+FFFD for C1), because the HTML parser treats
 *   them as parse errors and U+0000 would otherwise vanish silently.
 * - `jsonForScript` serialises data for a `<script type="application/json">` block:
 *   `<`, `>`, `&`, U+2028 and U+2029 are written as \u escapes, so no `</script>`
 *   or `<!--` can ever appear inside the block, whatever the data holds.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(s: string): string {
  return displayText(s).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Replaces lone surrogates by U+FFFD and control characters by visible symbols.
 * Tab, LF and CR are kept (the token view preserves whitespace).
 */
export function displayText(s: string): string {
  // Fast path: most text has nothing to replace.
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff]/.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) out += String.fromCharCode(0x2400 + c);
    else if (c === 0x7f) out += '\u2421';
    else if (c >= 0x80 && c <= 0x9f) out += '\ufffd';
    else out += s[i]!;
  }
  return out;
}

/** JSON for an inert `<script type="application/json">` data block (see the file comment). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
