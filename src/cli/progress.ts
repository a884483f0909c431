/**
 * A progress bar on stderr for long work. Silent when stderr is not a TTY or when
 * the command prints --json, so piped output and CI logs stay clean.
 */
export interface ProgressOptions {
  /** Total units of work (tokens, steps, chunks). */
  total: number;
  /** Label printed before the bar. */
  label?: string;
  /** Unit name for the rate (e.g. 'tok'). */
  unit?: string;
  /** Force silence (e.g. --json). */
  silent?: boolean;
}

export class Progress {
  private readonly enabled: boolean;
  private readonly t0 = performance.now();
  private lastDraw = 0;
  private done = 0;
  private extra = '';

  constructor(private readonly opts: ProgressOptions) {
    this.enabled = !opts.silent && process.stderr.isTTY === true && !process.env.CI;
  }

  /** Sets the amount of work done so far, and an optional status text (e.g. "loss 2.31 bits"). */
  update(done: number, extra?: string): void {
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < 100 && done < this.opts.total) return;
    this.lastDraw = now;
    this.draw(now);
  }

  private draw(now: number): void {
    const { total, label = '', unit = '' } = this.opts;
    const frac = total > 0 ? Math.min(1, this.done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = (now - this.t0) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const eta = rate > 0 ? (total - this.done) / rate : Infinity;
    const line =
      `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ` +
      `${formatCount(rate)} ${unit}/s ETA ${formatDuration(eta)}${this.extra ? ` ${this.extra}` : ''}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
  }

  /** Clears the bar's line. */
  finish(): void {
    if (this.enabled) process.stderr.write('\r\x1b[K');
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

function formatCount(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(x >= 100 ? 0 : 1);
}
