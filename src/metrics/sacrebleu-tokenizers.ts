/**
 * sacrebleu 2.x tokenizers, re-implemented from their definitions
 * (sacrebleu/tokenizers/tokenizer_13a.py, tokenizer_re.py, tokenizer_intl.py,
 * tokenizer_char.py): '13a' (default; mteval-v13a.pl), 'intl' (mteval-v14.pl
 * international), 'char' and 'none'. Each returns the tokenized line with single spaces.
 */
import { codePoints, pySplit } from './text.js';

export type BleuTokenizer = '13a' | 'intl' | 'char' | 'none';
export const BLEU_TOKENIZERS: readonly BleuTokenizer[] = ['13a', 'intl', 'char', 'none'];

// tokenizer_re.py: the "common post-processing" of 13a, applied in order.
const RE_13A: readonly [RegExp, string][] = [
  // ASCII punctuation and symbols: { | } ~  [ \ ] ^ _ `  space ! " # $ % &  ( ) * +  : ; < = > ? @  /
  [/([{-~[-` -&(-+:-@/])/g, ' $1 '],
  // period and comma unless preceded by a digit
  [/([^0-9])([.,])/g, '$1 $2 '],
  // period and comma unless followed by a digit
  [/([.,])([^0-9])/g, ' $1 $2'],
  // dash when preceded by a digit
  [/([0-9])(-)/g, '$1 $2 '],
];

export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  s = ` ${s} `;
  for (const [re, rep] of RE_13A) s = s.replace(re, rep);
  return pySplit(s).join(' ');
}

// tokenizer_intl.py: Unicode punctuation (P) not next to a digit (N), and symbols (S).
const RE_INTL: readonly [RegExp, string][] = [
  [/(\P{N})(\p{P})/gu, '$1 $2 '],
  [/(\p{P})(\P{N})/gu, ' $1 $2'],
  [/(\p{S})/gu, ' $1 '],
];

export function tokenizeIntl(line: string): string {
  let s = line;
  for (const [re, rep] of RE_INTL) s = s.replace(re, rep);
  return pySplit(s).join(' ');
}

export function tokenizeChar(line: string): string {
  return codePoints(line).join(' ');
}

export function bleuTokenize(line: string, tokenizer: BleuTokenizer): string {
  switch (tokenizer) {
    case '13a':
      return tokenize13a(line);
    case 'intl':
      return tokenizeIntl(line);
    case 'char':
      return tokenizeChar(line);
    case 'none':
      return line;
  }
}
