/**
 * The PyTorch conformance fixtures (../shared/fixtures/torch_reference.json),
 * decoded: "NaN" / "Infinity" / "-Infinity" strings become numbers, nested lists
 * become flat arrays plus a shape.
 */
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers/shared.js';

export interface FixtureCase {
  name: string;
  op: string;
  inputs: Record<string, unknown>;
  params: Record<string, unknown>;
  expected: unknown;
  grad?: unknown;
  grad_of?: string;
  grad_wrt?: string;
  target_kind?: 'index' | 'probs';
  [key: string]: unknown;
}

export const FIXTURE_FILE = 'fixtures/torch_reference.json';

export function loadCases(op: string): FixtureCase[] {
  const file = sharedPath(FIXTURE_FILE);
  if (!file) return [];
  const all = (JSON.parse(readFileSync(file, 'utf8')) as { cases: FixtureCase[] }).cases;
  return all.filter((c) => c.op === op);
}

export function num(x: unknown): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  throw new Error(`fixture: not a number: ${JSON.stringify(x)}`);
}

/** A nested list (or a scalar) flattened to numbers, with its shape. */
export function flat(x: unknown): { data: number[]; shape: number[] } {
  const shape: number[] = [];
  let probe: unknown = x;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data: number[] = [];
  const walk = (y: unknown): void => {
    if (Array.isArray(y)) y.forEach(walk);
    else data.push(num(y));
  };
  walk(x);
  return { data, shape };
}
