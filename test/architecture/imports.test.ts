/**
 * The import direction of src/ (docs/ARCHITECTURE.md is the map): every import between
 * folders goes downwards, as the "may import" column of the layer table in
 * docs/ARCHITECTURE.md says (the test reads that table, so the document and the rule
 * cannot drift apart); no cycle between files; the browser-safe layers import no Node
 * module statically; bench/ and src/ import nothing from test/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers/shared.js';

const SRC = join(REPO_ROOT, 'src');

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      // AssemblyScript sources compile to WebAssembly separately; generated/ is their output.
      if (p === join(SRC, 'kernels', 'assembly') || p === join(SRC, 'kernels', 'generated')) continue;
      walk(p, out);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

interface Edge {
  from: string;
  to: string;
  line: number;
  typeOnly: boolean;
}

const STATIC_IMPORT = /^[ \t]*import\s+(type\s+)?(?:[^'";]*?\bfrom\s*)?['"]([^'"]+)['"]/gm;
const RE_EXPORT = /^[ \t]*export\s+(type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url/g;

/** Every module specifier a file imports (static, re-exports, dynamic and `new URL(…, import.meta.url)`), with its line. */
function importsOf(file: string): Array<{ spec: string; line: number; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  const lineAt = (i: number): number => text.slice(0, i).split('\n').length;
  const out: Array<{ spec: string; line: number; typeOnly: boolean }> = [];
  for (const re of [STATIC_IMPORT, RE_EXPORT]) {
    for (const m of text.matchAll(re)) out.push({ spec: m[2]!, line: lineAt(m.index), typeOnly: Boolean(m[1]) });
  }
  for (const m of text.matchAll(DYNAMIC)) out.push({ spec: (m[1] ?? m[2])!, line: lineAt(m.index), typeOnly: false });
  return out;
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length > 1 ? rel[0]! : '(root)';
}

/** The layer table of docs/ARCHITECTURE.md: folder → the folders it may import. */
function layerTable(): Map<string, Set<string>> {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
  const table = new Map<string, Set<string>>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`src\/([a-z-]*)\/?`\s*\|\s*([^|]*)\|/.exec(line);
    if (!m) continue;
    const may = new Set([...m[2]!.matchAll(/`([a-z-]+|\(root\))`/g)].map((x) => x[1]!).filter((x) => x !== 'nothing'));
    table.set(m[1] === '' ? '(root)' : m[1]!, may);
  }
  return table;
}

const files = walk(SRC);
const edges: Edge[] = [];
const nodeImports: Array<{ file: string; spec: string; line: number }> = [];
for (const f of files) {
  for (const { spec, line, typeOnly } of importsOf(f)) {
    if (spec.startsWith('node:')) nodeImports.push({ file: f, spec, line });
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
    if (relative(SRC, target).startsWith('..')) continue; // a data path such as models/brown-lstm
    edges.push({ from: f, to: target, line, typeOnly });
  }
}

test('docs/ARCHITECTURE.md lists every folder of src/ in its layer table', () => {
  const table = layerTable();
  const folders = new Set(files.map(layerOf));
  for (const f of folders) assert.ok(table.has(f), `src/${f}/ is missing from the layer table of docs/ARCHITECTURE.md`);
  for (const f of table.keys()) assert.ok(folders.has(f), `docs/ARCHITECTURE.md lists src/${f}/, which does not exist`);
});

test('imports between folders of src/ only go downwards (the layer table of docs/ARCHITECTURE.md)', () => {
  const table = layerTable();
  const bad: string[] = [];
  for (const e of edges) {
    const a = layerOf(e.from);
    const b = layerOf(e.to);
    if (a === b) continue;
    if (!table.get(a)?.has(b))
      bad.push(`${relative(REPO_ROOT, e.from)}:${e.line} imports ${relative(REPO_ROOT, e.to)} (${a} → ${b})`);
  }
  assert.deepEqual(bad, [], `upward or sideways imports:\n${bad.join('\n')}`);
});

test('the table itself has no cycle, so "downwards" is well defined', () => {
  const table = layerTable();
  const state = new Map<string, number>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 2) return;
    assert.notEqual(state.get(n), 1, `layer cycle: ${[...path, n].join(' → ')}`);
    state.set(n, 1);
    for (const m of table.get(n) ?? []) visit(m, [...path, n]);
    state.set(n, 2);
  };
  for (const n of table.keys()) visit(n, []);
});

test('no import cycle between files of src/', () => {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (e.typeOnly) continue; // type-only imports vanish at run time
    (graph.get(e.from) ?? graph.set(e.from, []).get(e.from)!).push(e.to);
  }
  const state = new Map<string, number>();
  const cycles: string[] = [];
  const visit = (n: string, path: string[]): void => {
    const s = state.get(n);
    if (s === 2) return;
    if (s === 1) {
      const from = path.indexOf(n);
      cycles.push([...path.slice(from), n].map((p) => relative(REPO_ROOT, p)).join(' → '));
      return;
    }
    state.set(n, 1);
    for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
    state.set(n, 2);
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test('the browser-safe layers import no Node module statically', () => {
  const browserSafe = new Set(['core', 'kernels', 'loss', 'metrics', 'tokenizers', 'results', 'tfjs']);
  const bad = nodeImports
    .filter((n) => browserSafe.has(layerOf(n.file)))
    .map((n) => `${relative(REPO_ROOT, n.file)}:${n.line} imports ${n.spec}`);
  assert.deepEqual(bad, [], `Node imports in browser-safe layers:\n${bad.join('\n')}`);
});

test('nothing src/index.ts reaches imports a Node module (the loss library bundles for browsers)', () => {
  const runtime = new Map<string, string[]>();
  for (const e of edges) if (!e.typeOnly) (runtime.get(e.from) ?? runtime.set(e.from, []).get(e.from)!).push(e.to);
  const seen = new Set<string>();
  const stack = [join(SRC, 'index.ts')];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(runtime.get(f) ?? []));
  }
  const bad = nodeImports
    .filter((n) => seen.has(n.file))
    .map((n) => `${relative(REPO_ROOT, n.file)}:${n.line} imports ${n.spec}`);
  assert.deepEqual(bad, [], `reachable from src/index.ts:\n${bad.join('\n')}`);
});

test('src/ and bench/ import nothing from test/', () => {
  const bad: string[] = [];
  for (const dir of ['src', 'bench']) {
    const all = dir === 'src' ? files : walk(join(REPO_ROOT, dir));
    for (const f of all) {
      for (const { spec, line } of importsOf(f)) {
        if (!spec.startsWith('.')) continue;
        const t = relative(REPO_ROOT, resolve(dirname(f), spec));
        if (t.startsWith('test/')) bad.push(`${relative(REPO_ROOT, f)}:${line} imports ${t}`);
      }
    }
  }
  assert.deepEqual(bad, [], bad.join('\n'));
});
