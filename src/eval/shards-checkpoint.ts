/**
 * Shards scored but not yet folded, saved beside an evaluation checkpoint
 * (`<checkpoint>.shards`), so that a restarted sharded run does not send them again.
 * The checkpoint (checkpoint.ts) holds the folded prefix (windows 0 … windowsDone−1);
 * this file holds finished windows ≥ windowsDone, each as its per-position scores
 * (JSON numbers round-trip doubles exactly, so folding them later gives the same bits).
 * Written atomically with the same fingerprint; one that does not match, or that is
 * unreadable, is ignored (its shards are simply scored again).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { atomicWriteFileSync } from '../io/atomic-write.js';
import type { PositionScores } from '../models/language-model.js';
import type { EvalFingerprint } from './checkpoint.js';

export const SHARDS_FORMAT = 'xent-eval-shards/1';

interface SavedShard {
  nats: number[];
  rank: number[];
  top1: number[];
  /** null where NaN (unknown). */
  top1Prob: Array<number | null>;
}

export function shardsFile(checkpoint: string): string {
  return `${checkpoint}.shards`;
}

export function saveShards(
  file: string,
  fingerprint: EvalFingerprint,
  shards: ReadonlyMap<number, PositionScores>,
): void {
  const out: Record<string, SavedShard> = {};
  for (const [w, s] of shards) {
    out[String(w)] = {
      nats: Array.from(s.nats),
      rank: Array.from(s.rank),
      top1: Array.from(s.top1),
      top1Prob: Array.from(s.top1Prob, (p) => (Number.isFinite(p) ? p : null)),
    };
  }
  atomicWriteFileSync(file, JSON.stringify({ format: SHARDS_FORMAT, fingerprint, shards: out }));
}

/** The saved shards for this run (empty when absent, foreign or unreadable). */
export function loadShards(file: string, fingerprint: EvalFingerprint): Map<number, PositionScores> {
  const out = new Map<number, PositionScores>();
  if (!existsSync(file)) return out;
  let j: { format?: unknown; fingerprint?: EvalFingerprint; shards?: Record<string, SavedShard> };
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return out;
  }
  if (
    j.format !== SHARDS_FORMAT ||
    JSON.stringify(j.fingerprint) !== JSON.stringify(fingerprint) ||
    typeof j.shards !== 'object' ||
    j.shards === null
  )
    return out;
  for (const [k, s] of Object.entries(j.shards)) {
    const w = Number(k);
    const n = s?.nats?.length;
    if (
      !Number.isInteger(w) ||
      w < 0 ||
      !n ||
      s.rank?.length !== n ||
      s.top1?.length !== n ||
      s.top1Prob?.length !== n ||
      !s.nats.every(Number.isFinite)
    )
      continue;
    out.set(w, {
      nats: Float64Array.from(s.nats),
      rank: Int32Array.from(s.rank),
      top1: Int32Array.from(s.top1),
      top1Prob: Float64Array.from(s.top1Prob, (p) => p ?? NaN),
    });
  }
  return out;
}

export function removeShards(file: string): void {
  rmSync(file, { force: true });
}
