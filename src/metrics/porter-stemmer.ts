/**
 * The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", 1980) as NLTK's
 * `nltk.stem.porter.PorterStemmer` implements it, in its three modes:
 *   'NLTK_EXTENSIONS' (NLTK's default, and what Google's rouge-score uses: its tokenizer
 *                      builds `porter.PorterStemmer()` with no mode argument),
 *   'MARTIN_EXTENSIONS' (Martin Porter's later published changes),
 *   'ORIGINAL_ALGORITHM' (the 1980 paper).
 * Written from the algorithm's rules and NLTK's documented deviations; checked word by word
 * against NLTK 3.10 in test/metrics/porter-stemmer.test.ts.
 * Input is lowercased first (NLTK's to_lowercase=True). Words are plain strings; the
 * vowel/consonant rules only know a, e, i, o, u and y, as in NLTK.
 */

export type PorterMode = 'NLTK_EXTENSIONS' | 'MARTIN_EXTENSIONS' | 'ORIGINAL_ALGORITHM';

// NLTK_EXTENSIONS: irregular forms returned as-is (NLTK's `pool`).
const POOL: ReadonlyMap<string, string> = new Map([
  ['sky', 'sky'],
  ['skies', 'sky'],
  ['dying', 'die'],
  ['lying', 'lie'],
  ['tying', 'tie'],
  ['news', 'news'],
  ['innings', 'inning'],
  ['inning', 'inning'],
  ['outings', 'outing'],
  ['outing', 'outing'],
  ['cannings', 'canning'],
  ['canning', 'canning'],
  ['howe', 'howe'],
  ['proceed', 'proceed'],
  ['exceed', 'exceed'],
  ['succeed', 'succeed'],
]);

const isVowelChar = (c: string | undefined): boolean => c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u';

/** Consonant flags: y is a consonant at the start or after a vowel, a vowel after a consonant. */
function consonantFlags(w: string): boolean[] {
  const f: boolean[] = [];
  for (let i = 0; i < w.length; i++) {
    const c = w[i];
    if (isVowelChar(c)) f.push(false);
    else if (c === 'y') f.push(i === 0 ? true : !f[i - 1]);
    else f.push(true);
  }
  return f;
}

const isConsonant = (w: string, i: number): boolean => consonantFlags(w.slice(0, i + 1))[i] as boolean;

/** m in [C](VC)^m[V]: the number of vowel→consonant transitions. */
function measure(stem: string): number {
  const f = consonantFlags(stem);
  let m = 0;
  for (let i = 1; i < f.length; i++) if (!f[i - 1] && f[i]) m++;
  return m;
}

const containsVowel = (stem: string): boolean => consonantFlags(stem).some((c) => !c);

function endsDoubleConsonant(w: string): boolean {
  return w.length >= 2 && w[w.length - 1] === w[w.length - 2] && isConsonant(w, w.length - 1);
}

type Cond = ((stem: string) => boolean) | null;
type Rule = readonly [suffix: string, replacement: string, condition: Cond];

export class PorterStemmer {
  readonly mode: PorterMode;

  constructor(mode: PorterMode = 'NLTK_EXTENSIONS') {
    if (mode !== 'NLTK_EXTENSIONS' && mode !== 'MARTIN_EXTENSIONS' && mode !== 'ORIGINAL_ALGORITHM') {
      throw new TypeError(
        `PorterStemmer: mode must be NLTK_EXTENSIONS, MARTIN_EXTENSIONS or ORIGINAL_ALGORITHM, got ${String(mode)}`,
      );
    }
    this.mode = mode;
  }

  private get nltk(): boolean {
    return this.mode === 'NLTK_EXTENSIONS';
  }

  /** *o: stem ends consonant-vowel-consonant, the last not w, x or y (NLTK also accepts a 2-letter vowel-consonant stem). */
  private endsCvc(w: string): boolean {
    const n = w.length;
    if (n >= 3) {
      const f = consonantFlags(w);
      const last = w[n - 1] as string;
      if (f[n - 3] && !f[n - 2] && f[n - 1] && last !== 'w' && last !== 'x' && last !== 'y') return true;
    }
    if (this.nltk && n === 2) {
      const f = consonantFlags(w);
      return !f[0] && (f[1] as boolean);
    }
    return false;
  }

  /** The first rule whose suffix matches decides: applied if its condition holds, else the word is kept. */
  private applyRules(word: string, rules: readonly Rule[]): string {
    for (const [suffix, replacement, cond] of rules) {
      if (suffix === '*d' && endsDoubleConsonant(word)) {
        const stem = word.slice(0, -2);
        return cond === null || cond(stem) ? stem + replacement : word;
      }
      if (word.endsWith(suffix)) {
        const stem = suffix === '' ? word : word.slice(0, -suffix.length);
        return cond === null || cond(stem) ? stem + replacement : word;
      }
    }
    return word;
  }

  private step1a(w: string): string {
    if (this.nltk && w.endsWith('ies') && w.length === 4) return `${w.slice(0, -3)}ie`;
    return this.applyRules(w, [
      ['sses', 'ss', null],
      ['ies', 'i', null],
      ['ss', 'ss', null],
      ['s', '', null],
    ]);
  }

  private step1b(w: string): string {
    if (this.nltk && w.endsWith('ied')) return w.slice(0, -3) + (w.length === 4 ? 'ie' : 'i');
    if (w.endsWith('eed')) {
      const stem = w.slice(0, -3);
      return measure(stem) > 0 ? `${stem}ee` : w;
    }
    let inter: string | undefined;
    for (const suffix of ['ed', 'ing']) {
      if (w.endsWith(suffix)) {
        const s = w.slice(0, -suffix.length);
        if (containsVowel(s)) {
          inter = s;
          break;
        }
      }
    }
    if (inter === undefined) return w;
    const last = inter[inter.length - 1] as string;
    return this.applyRules(inter, [
      ['at', 'ate', null],
      ['bl', 'ble', null],
      ['iz', 'ize', null],
      ['*d', last, () => last !== 'l' && last !== 's' && last !== 'z'],
      ['', 'e', (stem) => measure(stem) === 1 && this.endsCvc(stem)],
    ]);
  }

  private step1c(w: string): string {
    const cond = this.nltk ? (stem: string) => stem.length > 1 && isConsonant(stem, stem.length - 1) : containsVowel;
    return this.applyRules(w, [['y', 'i', cond]]);
  }

  private step2(w: string): string {
    const pos = (stem: string): boolean => measure(stem) > 0;
    if (this.nltk && w.endsWith('alli') && pos(w.slice(0, -4))) return this.step2(`${w.slice(0, -4)}al`);
    const rules: Rule[] = [
      ['ational', 'ate', pos],
      ['tional', 'tion', pos],
      ['enci', 'ence', pos],
      ['anci', 'ance', pos],
      ['izer', 'ize', pos],
      this.mode === 'ORIGINAL_ALGORITHM' ? ['abli', 'able', pos] : ['bli', 'ble', pos],
      ['alli', 'al', pos],
      ['entli', 'ent', pos],
      ['eli', 'e', pos],
      ['ousli', 'ous', pos],
      ['ization', 'ize', pos],
      ['ation', 'ate', pos],
      ['ator', 'ate', pos],
      ['alism', 'al', pos],
      ['iveness', 'ive', pos],
      ['fulness', 'ful', pos],
      ['ousness', 'ous', pos],
      ['aliti', 'al', pos],
      ['iviti', 'ive', pos],
      ['biliti', 'ble', pos],
    ];
    if (this.nltk) {
      rules.push(['fulli', 'ful', pos]);
      // NLTK's condition measures word[:-3] (the stem plus 'l'), not the stem.
      rules.push(['logi', 'log', () => pos(w.slice(0, -3))]);
    }
    if (this.mode === 'MARTIN_EXTENSIONS') rules.push(['logi', 'log', pos]);
    return this.applyRules(w, rules);
  }

  private step3(w: string): string {
    const pos = (stem: string): boolean => measure(stem) > 0;
    return this.applyRules(w, [
      ['icate', 'ic', pos],
      ['ative', '', pos],
      ['alize', 'al', pos],
      ['iciti', 'ic', pos],
      ['ical', 'ic', pos],
      ['ful', '', pos],
      ['ness', '', pos],
    ]);
  }

  private step4(w: string): string {
    const gt1 = (stem: string): boolean => measure(stem) > 1;
    return this.applyRules(w, [
      ['al', '', gt1],
      ['ance', '', gt1],
      ['ence', '', gt1],
      ['er', '', gt1],
      ['ic', '', gt1],
      ['able', '', gt1],
      ['ible', '', gt1],
      ['ant', '', gt1],
      ['ement', '', gt1],
      ['ment', '', gt1],
      ['ent', '', gt1],
      ['ion', '', (stem) => measure(stem) > 1 && (stem.endsWith('s') || stem.endsWith('t'))],
      ['ou', '', gt1],
      ['ism', '', gt1],
      ['ate', '', gt1],
      ['iti', '', gt1],
      ['ous', '', gt1],
      ['ive', '', gt1],
      ['ize', '', gt1],
    ]);
  }

  private step5a(w: string): string {
    if (w.endsWith('e')) {
      const stem = w.slice(0, -1);
      const m = measure(stem);
      if (m > 1) return stem;
      if (m === 1 && !this.endsCvc(stem)) return stem;
    }
    return w;
  }

  private step5b(w: string): string {
    return this.applyRules(w, [['ll', 'l', () => measure(w.slice(0, -1)) > 1]]);
  }

  /** The stem of `word` (lowercased first). */
  stem(word: string): string {
    let s = word.toLowerCase();
    if (this.nltk) {
      const irregular = POOL.get(s);
      if (irregular !== undefined) return irregular;
    }
    if (this.mode !== 'ORIGINAL_ALGORITHM' && word.length <= 2) return s;
    s = this.step1a(s);
    s = this.step1b(s);
    s = this.step1c(s);
    s = this.step2(s);
    s = this.step3(s);
    s = this.step4(s);
    s = this.step5a(s);
    s = this.step5b(s);
    return s;
  }
}
