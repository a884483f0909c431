/**
 * Loads ../shared/fixtures/torch_reference.json (PyTorch 1.13 float64 reference values)
 * and decodes its encoding: non-finite numbers are the strings 'NaN', 'Infinity',
 * '-Infinity'; arrays are nested row-major lists with a sibling `<name>_shape`.
 */
import { readFileSync } from 'node:fs';
import { sharedPath } from '../helpers/shared.js';

export const FIXTURE = ['fixtures', 'torch_reference.json'] as const;

export interface FixtureCase {
  name: string;
  op: string;
  inputs: Record<string, unknown>;
  params: Record<string, unknown>;
  expected: unknown;
  grad: unknown;
  [k: string]: unknown;
}

export interface Fixture {
  meta: { n_cases: number; [k: string]: unknown };
  cases: FixtureCase[];
}

export function loadFixture(): Fixture | undefined {
  const p = sharedPath(...FIXTURE);
  if (p === undefined) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as Fixture;
}

export function num(x: unknown): number {
  if (x === 'NaN') return NaN;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  if (typeof x !== 'number') throw new Error(`fixture: expected a number, got ${JSON.stringify(x)}`);
  return x;
}

/** Flattens a nested list (or a scalar) row-major into numbers. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [num(x)];
}

/** Relative difference with an absolute floor; 0 when both are the same NaN / ±Infinity. */
export function relErr(got: number, want: number, atol: number): number {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  if (!Number.isFinite(want) || !Number.isFinite(got)) return got === want ? 0 : Infinity;
  const d = Math.abs(got - want);
  return d <= atol ? 0 : d / Math.abs(want);
}

/** Asserts arrays agree elementwise within rtol (relative) / atol (absolute floor); names the first bad index. */
export function assertClose(
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol: number,
  atol: number,
): void {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length}, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const e = relErr(got[i] as number, want[i] as number, atol);
    if (!(e <= rtol)) {
      throw new Error(
        `${what}[${i}] = ${got[i]}, expected ${want[i]} (relative error ${e.toExponential(2)} > ${rtol})`,
      );
    }
  }
}
