/**
 * Tokenisation as llama.cpp's `common_tokenize(ctx, text, add_special = true)` does it for
 * the task scorers: BOS first when the model adds it, EOS last when the GGUF file asks for
 * it (`tokenizer.ggml.add_eos_token`), special tokens not parsed. The leading space a
 * SentencePiece vocabulary adds to the text is the model's tokenizer's business (llama.cpp
 * adds it whether or not special tokens are added).
 */
import type { LanguageModel } from '../models/language-model.js';

export type Tokenize = (text: string) => Promise<Int32Array>;

/** `add_eos_token` and the EOS id from a GGUF model's header, when it has one. */
function eosToAdd(model: LanguageModel): number | undefined {
  const meta = (model as { header?: { metadata?: Map<string, unknown> } }).header?.metadata;
  if (meta?.get('tokenizer.ggml.add_eos_token') !== true) return undefined;
  const eos = meta.get('tokenizer.ggml.eos_token_id');
  return typeof eos === 'number' ? eos : typeof eos === 'bigint' ? Number(eos) : undefined;
}

/** The model's tokenizer with llama.cpp's special tokens (`specials`) or without (lm-eval's remote tokenizer). */
export function tokenizer(model: LanguageModel, specials: boolean): Tokenize {
  const bos = specials && model.addsBos && model.bosToken !== undefined ? model.bosToken : undefined;
  const eos = specials ? eosToAdd(model) : undefined;
  return async (text) => {
    const t = await model.tokenize(text);
    if (bos === undefined && eos === undefined) return t;
    const out = new Int32Array(t.length + (bos !== undefined ? 1 : 0) + (eos !== undefined ? 1 : 0));
    let k = 0;
    if (bos !== undefined) out[k++] = bos;
    out.set(t, k);
    if (eos !== undefined) out[out.length - 1] = eos;
    return out;
  };
}

/** Length of the prefix all sequences share. */
export function commonPrefix(seqs: readonly Int32Array[]): number {
  const min = Math.min(...seqs.map((s) => s.length));
  const first = seqs[0]!;
  let k = 0;
  while (k < min && seqs.every((s) => s[k] === first[k])) k++;
  return k;
}
