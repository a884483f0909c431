/**
 * The llama.cpp options `xent eval` and `xent kld` share with llama-perplexity, with its
 * defaults: --flash-attn auto|on|off (-fa, default auto: on for the CPU), --batch (-b,
 * default 2048: chunks shorter than it are decoded several at a time), --ubatch (-ub,
 * default 512). They change the last digits of the figures, as they do llama-perplexity's.
 */
import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { intOption } from './options.js';

export interface LlamaCliOptions {
  /** `--flash-attn` alone is true ('on'). */
  flashAttn?: string | boolean;
  batch?: string;
  ubatch?: string;
}

export interface LlamaLoadOptions {
  flashAttention?: 'auto' | 'on' | 'off';
  batch?: number;
  ubatch?: number;
}

export function addLlamaOptions(cmd: Command): Command {
  return cmd
    .option(
      '--flash-attn [mode]',
      "llama.cpp flash attention: auto (llama-perplexity's default, on for the CPU), on or off (the older releases' reference figures)",
    )
    .option('--batch <n>', "llama.cpp logical batch, llama-perplexity's -b (default 2048)")
    .option('--ubatch <n>', "llama.cpp physical batch, llama-perplexity's -ub (default 512)");
}

/** The GGUF load options the flags ask for (absent flags: llama-perplexity's defaults). */
export function llamaLoadOptions(op: string, o: LlamaCliOptions): LlamaLoadOptions {
  const out: LlamaLoadOptions = {};
  if (o.flashAttn !== undefined) {
    const v = o.flashAttn === true ? 'on' : o.flashAttn;
    if (v !== 'auto' && v !== 'on' && v !== 'off')
      throw new XentError('invalid_argument', op, `--flash-attn must be auto, on or off, got ${JSON.stringify(v)}`, {
        arg: '--flash-attn',
        value: v,
      });
    out.flashAttention = v;
  }
  const batch = intOption(op, '--batch', o.batch, 1);
  const ubatch = intOption(op, '--ubatch', o.ubatch, 1);
  if (batch !== undefined) out.batch = batch;
  if (ubatch !== undefined) out.ubatch = ubatch;
  return out;
}

/** What the run used, for --json and the summary: as asked, and as llama.cpp resolved 'auto'. */
export function llamaRunInfo(model: unknown): {
  flash_attn: string | null;
  flash_attn_active: boolean | null;
  n_batch: number | null;
  n_ubatch: number | null;
} {
  const m = model as {
    flashAttention?: string;
    batch?: number;
    ubatch?: number;
    contextInfo?: () => { flashAttn: number } | undefined;
  };
  const info = typeof m.contextInfo === 'function' ? m.contextInfo() : undefined;
  const active =
    info && info.flashAttn >= 0
      ? info.flashAttn === 1
      : m.flashAttention === 'on'
        ? true
        : m.flashAttention === 'off'
          ? false
          : null;
  return {
    flash_attn: m.flashAttention ?? null,
    flash_attn_active: m.flashAttention === undefined ? null : active,
    n_batch: m.batch ?? null,
    n_ubatch: m.ubatch ?? null,
  };
}
