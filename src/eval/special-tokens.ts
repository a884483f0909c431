/**
 * The special tokens a client's tokenizer needs (lm-evaluation-harness's remote tokenizer reads
 * them from GET /tokenizer_info): BOS, EOS and padding, as texts and ids, and the chat template.
 * A GGUF file names them in its metadata (`tokenizer.ggml.{bos,eos,padding}_token_id`,
 * `tokenizer.chat_template`; 0xFFFFFFFF means none); other models know only their BOS.
 *
 * lm-eval turns a special token's text back into its id by POST /tokenize of that text without
 * special tokens (lm_eval/utils.py, RemoteTokenizer.bos_token_id: `self.encode(bos)[0]`), as a
 * Hugging Face tokenizer does: special-token texts inside the text stay single tokens. llama.cpp's
 * tokenizer without `parse_special` spells "<s>" as three pieces, so `encodeWithSpecials` splits
 * the text at those texts first.
 */
import { existsSync } from 'node:fs';
import { readGgufHeader } from '../models/gguf/gguf-header.js';
import type { LanguageModel } from '../models/language-model.js';

export interface SpecialToken {
  id: number;
  text: string;
}

export interface SpecialTokens {
  bos: SpecialToken | undefined;
  eos: SpecialToken | undefined;
  pad: SpecialToken | undefined;
  chatTemplate: string | undefined;
}

function idOf(v: unknown, V: number): number | undefined {
  const n = typeof v === 'bigint' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < V ? n : undefined;
}

export async function readSpecialTokens(model: LanguageModel): Promise<SpecialTokens> {
  const V = model.vocabSize;
  let bos = model.bosToken;
  let eos: number | undefined;
  let pad: number | undefined;
  let chatTemplate: string | undefined;
  if (model.kind === 'gguf' && existsSync(model.id)) {
    const md = readGgufHeader(model.id).metadata;
    bos = idOf(md.get('tokenizer.ggml.bos_token_id'), V) ?? bos;
    eos = idOf(md.get('tokenizer.ggml.eos_token_id'), V);
    pad = idOf(md.get('tokenizer.ggml.padding_token_id'), V);
    const t = md.get('tokenizer.chat_template');
    if (typeof t === 'string') chatTemplate = t;
  }
  const ids = [bos, eos, pad].filter((x): x is number => x !== undefined);
  const pieces = await model.tokenPieces(ids);
  const named = new Map(ids.map((id, i) => [id, Buffer.from(pieces[i]!).toString('utf8')]));
  const tok = (id: number | undefined): SpecialToken | undefined =>
    id === undefined || !named.get(id) ? undefined : { id, text: named.get(id)! };
  return { bos: tok(bos), eos: tok(eos), pad: tok(pad), chatTemplate };
}

/**
 * Tokenises `text` with each special token's text kept as that token (longest text first
 * where two overlap), the pieces between tokenised by the model without BOS.
 */
export async function encodeWithSpecials(
  model: LanguageModel,
  specials: SpecialTokens,
  text: string,
): Promise<Int32Array> {
  const list = [specials.bos, specials.eos, specials.pad]
    .filter((s): s is SpecialToken => s !== undefined)
    .sort((a, b) => b.text.length - a.text.length);
  if (list.length === 0 || !list.some((s) => text.includes(s.text)))
    return model.tokenizeBytes(Buffer.from(text, 'utf8'));
  const out: number[] = [];
  let rest = text;
  while (rest.length > 0) {
    let at = -1;
    let hit: SpecialToken | undefined;
    for (const s of list) {
      const i = rest.indexOf(s.text);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        hit = s;
      }
    }
    const plain = at < 0 ? rest : rest.slice(0, at);
    if (plain.length > 0) out.push(...(await model.tokenizeBytes(Buffer.from(plain, 'utf8'))));
    if (!hit) break;
    out.push(hit.id);
    rest = rest.slice(at + hit.text.length);
  }
  return Int32Array.from(out);
}
