/**
 * TensorFlow.js is an optional peer dependency: the main entry (src/index.ts) and
 * everything it imports must never import it, only the `xent/tfjs` subpath does.
 * Walks the static import graph of src/index.ts (relative imports, .js → .ts).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT } from '../helpers/shared.js';

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function specifiers(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

test('src/index.ts and its transitive imports never import @tensorflow/*', () => {
  const entry = join(REPO_ROOT, 'src', 'index.ts');
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of specifiers(file)) {
      if (spec.startsWith('@tensorflow/')) offenders.push(`${relative(REPO_ROOT, file)} imports ${spec}`);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (existsSync(target)) visit(target);
      }
    }
  };
  visit(entry);
  assert.ok(seen.size >= 2, 'the walk found the entry and its imports');
  assert.deepEqual(offenders, []);
  assert.ok(![...seen].some((f) => f.includes(`${join('src', 'tfjs')}`)), 'the main entry does not pull in src/tfjs');
});

test('the walk does see tfjs where it is imported (the check can fail)', () => {
  assert.ok(specifiers(join(REPO_ROOT, 'src', 'tfjs', 'tensors.ts')).includes('@tensorflow/tfjs'));
});

const built = join(REPO_ROOT, 'dist', 'tfjs', 'index.js');
test('the package subpath xent/tfjs resolves to the build and exports the ops', {
  skip: requires({ files: [built] }),
}, async () => {
  const subpath = 'xent/tfjs'; // a variable: typecheck must not need dist/ to exist
  const m = (await import(subpath)) as Record<string, unknown>;
  for (const name of [
    'sparseSoftmaxCrossEntropy',
    'softmaxCrossEntropy',
    'binaryCrossEntropyWithLogits',
    'klDivergence',
    'distillationLoss',
    'layersLoss',
  ]) {
    assert.equal(typeof m[name], 'function', name);
  }
});
