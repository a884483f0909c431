import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { loadBrownCorpus, splitBrownDocuments } from '../../src/corpus/corpus-brown.js';
import { brownWord, detokenizeBrownDocument, detokenizeBrownLine } from '../../src/corpus/corpus-detokenize.js';

test('detokenisation examples', () => {
  assert.equal(
    detokenizeBrownLine(
      "The/at Fulton/np-tl County/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti took/vbd place/nn ./.",
    ),
    'The Fulton County said "no evidence" that any took place.',
  );
  assert.equal(
    detokenizeBrownLine(
      "``/`` Only/rb a/at handful/nn ''/'' ,/, the/at jury/nn said/vbd ,/, ``/`` considering/in ''/'' ./.",
    ),
    '"Only a handful", the jury said, "considering".',
  );
  assert.equal(
    detokenizeBrownLine('recommended/vbd that/cs :/: (/( 1/cd )/) it/pps costs/vbz $600/nns ;/. ;/.'),
    'recommended that: (1) it costs $600;',
  );
  assert.equal(
    detokenizeBrownLine("termed/vbn '/' consultants/nns '/' or/cc '/' fellows/nns '/' ?/."),
    "termed 'consultants' or 'fellows'?",
  );
  assert.equal(detokenizeBrownLine('Ivan/np Allen/np Jr./np ./.'), 'Ivan Allen Jr.');
  assert.equal(detokenizeBrownLine('a/at 1-1/2/cd mile/nn --/-- long/jj'), 'a 1-1/2 mile -- long');
  assert.equal(brownWord('1-1/2/cd'), '1-1/2');
  assert.equal(detokenizeBrownDocument('\n\n\tA/at b/nn ./.\n\n\nHead/nn-hl \nC/np d/nn ./.\n'), 'A b.\nHead\nC d.');
});

test('split: deterministic, by document, stratified by genre (i mod 10 within each genre), seed-dependent', () => {
  const docs = Array.from({ length: 500 }, (_, i) => ({
    id: `c${'abcdefghjklmnpr'[i % 15]}${String(i).padStart(3, '0')}`,
    category: `g${i % 15}`,
  }));
  const a = splitBrownDocuments(docs, 0);
  const b = splitBrownDocuments([...docs].reverse(), 0);
  assert.deepEqual([...a].sort(), [...b].sort()); // input order does not matter
  const c = splitBrownDocuments(docs, 1);
  assert.notDeepEqual([...a].sort(), [...c].sort());
  const by = (m: Map<string, string>, s: string) => [...m].filter(([, v]) => v === s).map(([k]) => k);
  // 15 genres of 33 or 34 documents: ⌈n/10⌉ = 4 test and ⌊(n−2)/10⌋+1 = 4 validation each.
  assert.deepEqual([by(a, 'train').length, by(a, 'validation').length, by(a, 'test').length], [380, 60, 60]);
  for (let g = 0; g < 15; g++) {
    const inG = docs.filter((d) => d.category === `g${g}`).map((d) => a.get(d.id));
    assert.deepEqual([inG.filter((s) => s === 'test').length, inG.filter((s) => s === 'validation').length], [4, 4]);
  }
});

test('Brown corpus: 500 documents, tags stripped, split 392/54/54 disjoint and complete', () => {
  const c = loadBrownCorpus();
  assert.equal(c.documents.length, 500);
  assert.deepEqual([c.trainIds.length, c.validationIds.length, c.testIds.length], [392, 54, 54]);
  const all = new Set([...c.trainIds, ...c.validationIds, ...c.testIds]);
  assert.equal(all.size, 500);
  // Every genre (15) appears in every part.
  for (const ids of [c.trainIds, c.validationIds, c.testIds]) {
    const cats = new Set(ids.map((id) => c.documents.find((d) => d.id === id)!.category));
    assert.equal(cats.size, 15);
  }
  const ca01 = c.documents.find((d) => d.id === 'ca01')!;
  assert.equal(ca01.category, 'news');
  assert.ok(
    ca01.text.startsWith(
      `The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place.\n`,
    ),
    ca01.text.slice(0, 200),
  );
  for (const part of [c.train, c.validation, c.test]) {
    assert.ok(!/\/(at|nn|vbd|in|np)[\s$-]/.test(part), 'a POS tag survived');
    // Quote tokens became ": no `` at all, and '' survives only inside words (4' 10'' tall).
    assert.ok(!part.includes('``'));
    assert.ok(!/(^|\s)''(\s|$)/.test(part));
  }
  // The split texts are the documents of each part, joined by blank lines.
  const testText = `${c.testIds.map((id) => c.documents.find((d) => d.id === id)!.text).join('\n\n')}\n`;
  assert.equal(c.test, testText);
  assert.ok(c.train.length > 7 * c.test.length);
  assert.equal(loadBrownCorpus(), c); // cached
  assert.throws(
    () => loadBrownCorpus({ dir: '/nonexistent-dir' }),
    (e: unknown) => e instanceof XentError && e.code === 'invalid_file' && /cats\.txt/.test(e.message),
  );
});
