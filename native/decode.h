/*
 * decode(): one llama_decode of a batch the caller lays out, then the scored rows
 * (included once, by xent-llama.c, after ContextBox and the helpers it uses).
 *
 * The caller (src/models/gguf/gguf-batches.ts) decides the layout: llama-perplexity's
 * chunks (n_seq sequences side by side, or one sequence in n_ubatch pieces with the KV
 * cache carried across calls), or packed requests sharing a prefix. This file only checks
 * the arrays, fills the llama_batch, decodes, and reads each requested row once, right
 * after its decode: llama.cpp's output buffer holds the rows of one call, never a chunk's.
 *
 * Calls run strictly in the order they were made (tickets), each on a libuv worker thread,
 * so a later call may continue the KV cache an earlier one filled.
 */
#ifndef XENT_DECODE_H
#define XENT_DECODE_H

typedef struct {
  ContextBox *c;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref refs[11]; /* the context and every typed array the worker reads or writes */
  int n_refs;
  uint64_t ticket;
  int clear;
  int32_t n_tokens, n_pairs;
  const int32_t *tokens, *pos;
  const int32_t *seq_start, *seq_ids; /* CSR: token k's sequences are seq_ids[seq_start[k] … seq_start[k+1]) */
  const uint8_t *outputs;             /* [N] 1 = llama.cpp computes this token's logits */
  const int32_t *pair_index, *pair_target; /* [K] batch index of the row, true next token */
  float *out;                         /* optional [K, V] raw logits */
  double *stats;                      /* optional [K, 5]: nll, lse, max, argmax, rank (row_stats) */
  float *llama;                       /* optional [K, 2]: llama-perplexity's task log-probabilities (llama-task.h) */
  const float **rows;                 /* [K] with llama: the rows read, for llama_rows */
  int32_t status; /* 0 ok, else llama_decode's code, or -1000 for a missing logits row */
} DecodeJob;

static void decode_run(DecodeJob *j, ContextBox *c) {
  if (j->clear) llama_memory_clear(llama_get_memory(c->ctx), true);
  struct llama_batch *b = &c->batch;
  b->n_tokens = j->n_tokens;
  for (int32_t k = 0; k < j->n_tokens; k++) {
    b->token[k] = j->tokens[k];
    b->pos[k] = j->pos[k];
    if (j->seq_start) {
      const int32_t s0 = j->seq_start[k], n = j->seq_start[k + 1] - s0;
      b->n_seq_id[k] = n;
      for (int32_t s = 0; s < n; s++) b->seq_id[k][s] = j->seq_ids[s0 + s];
    } else {
      b->n_seq_id[k] = 1;
      b->seq_id[k][0] = 0;
    }
    b->logits[k] = (int8_t)(j->outputs[k] != 0);
  }
  const int32_t rc = llama_decode(c->ctx, *b);
  if (rc != 0) {
    j->status = rc;
    return;
  }
  const size_t nv = (size_t)c->n_vocab;
  for (int32_t p = 0; p < j->n_pairs; p++) {
    const float *row = llama_get_logits_ith(c->ctx, j->pair_index[p]);
    if (!row) {
      j->status = -1000;
      return;
    }
    if (j->out) memcpy(j->out + (size_t)p * nv, row, nv * sizeof(float));
    if (j->stats) row_stats(row, (int32_t)nv, j->pair_target[p], j->stats + (size_t)p * 5);
    if (j->llama) j->rows[p] = row;
  }
  /* On the decode's own threads, as llama-perplexity runs compute_logprobs on its workers
     between decodes: the rows are read where llama.cpp left them, never copied. */
  if (j->llama) llama_rows(j->rows, (int32_t)nv, j->pair_target, (size_t)j->n_pairs, j->llama, llama_n_threads_batch(c->ctx));
}

static void decode_execute(napi_env env, void *data) {
  (void)env;
  DecodeJob *j = (DecodeJob *)data;
  ContextBox *c = j->c;
  /* libuv's pool takes work items in queue (= ticket) order, so the ticket this one waits
     for is already running or done: waiting cannot deadlock. */
  pthread_mutex_lock(&c->lock);
  while (c->serving != j->ticket) pthread_cond_wait(&c->turn, &c->lock);
  pthread_mutex_unlock(&c->lock);
  decode_run(j, c);
  pthread_mutex_lock(&c->lock);
  c->serving++;
  pthread_cond_broadcast(&c->turn);
  pthread_mutex_unlock(&c->lock);
}

static void decode_free(napi_env env, DecodeJob *j) {
  for (int i = 0; i < j->n_refs; i++) napi_delete_reference(env, j->refs[i]);
  if (j->work) napi_delete_async_work(env, j->work);
  free(j->rows);
  free(j);
}

static void decode_complete(napi_env env, napi_status st, void *data) {
  DecodeJob *j = (DecodeJob *)data;
  ContextBox *c = j->c;
  c->pending--;
  if (c->pending == 0 && c->release_when_idle) context_release(c);
  if (st != napi_ok || j->status != 0) {
    char msg[200];
    const int32_t s = st != napi_ok ? -2000 : j->status;
    snprintf(msg, sizeof msg, "llama_decode failed (status %d%s)", (int)s,
             s == 1 ? ": no room in the KV cache for the batch" : s == -1000 ? ": a requested logits row is missing" : "");
    napi_value m, code, err;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, "XENT_DECODE", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &err);
    napi_reject_deferred(env, j->deferred, err);
  } else {
    napi_value n;
    napi_create_int32(env, j->n_tokens, &n);
    napi_resolve_deferred(env, j->deferred, n);
  }
  decode_free(env, j);
}

/* The data of a typed array of the given type, or NULL with *len = 0 for null/undefined
   when `nullable`; returns 0 on a type mismatch. */
static int typed_arg(napi_env env, napi_value v, napi_typedarray_type want, int nullable, void **data, size_t *len) {
  napi_valuetype vt;
  *data = NULL;
  *len = 0;
  if (napi_typeof(env, v, &vt) != napi_ok) return 0;
  if (vt == napi_null || vt == napi_undefined) return nullable;
  napi_typedarray_type tt;
  if (napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL) != napi_ok || tt != want) return 0;
  return 1;
}

/* decode(ctx, clear, tokens, pos, seqStart, seqIds, outputs, pairIndex, pairTarget, out, stats, llama) */
static napi_value Decode(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 12)
    return throw_msg(env, "XENT_NATIVE", "decode(ctx, clear, tokens, pos, seqStart, seqIds, outputs, pairIndex, pairTarget, out, stats, llama)");
  ContextBox *c = (ContextBox *)get_external(env, argv[0]);
  if (!c || !c->ctx || c->release_when_idle) return throw_msg(env, "XENT_NATIVE", "decode: context handle is invalid or freed");
  bool clear = false;
  napi_get_value_bool(env, argv[1], &clear);
  void *d[10];
  size_t n[10];
  static const napi_typedarray_type types[10] = {napi_int32_array, napi_int32_array, napi_int32_array, napi_int32_array,
                                                napi_uint8_array, napi_int32_array, napi_int32_array, napi_float32_array,
                                                napi_float64_array, napi_float32_array};
  static const int nullable[10] = {0, 0, 1, 1, 0, 0, 0, 1, 1, 1};
  static const char *names[10] = {"tokens (Int32Array)", "pos (Int32Array)", "seqStart (Int32Array or null)",
                                  "seqIds (Int32Array or null)", "outputs (Uint8Array)", "pairIndex (Int32Array)",
                                  "pairTarget (Int32Array)", "out (Float32Array or null)", "stats (Float64Array or null)",
                                  "llama (Float32Array or null)"};
  char msg[200];
  for (int i = 0; i < 10; i++) {
    if (!typed_arg(env, argv[i + 2], types[i], nullable[i], &d[i], &n[i])) {
      snprintf(msg, sizeof msg, "decode: %s has the wrong type", names[i]);
      return throw_msg(env, "XENT_NATIVE", msg);
    }
  }
  const int32_t *tokens = (const int32_t *)d[0], *pos = (const int32_t *)d[1];
  const int32_t *seq_start = (const int32_t *)d[2], *seq_ids = (const int32_t *)d[3];
  const uint8_t *outputs = (const uint8_t *)d[4];
  const int32_t *pair_index = (const int32_t *)d[5], *pair_target = (const int32_t *)d[6];
  const size_t N = n[0], K = n[5];
  if (N < 1 || N > (size_t)c->n_batch) {
    snprintf(msg, sizeof msg, "decode: %zu tokens, but a batch holds 1 to %d", N, (int)c->n_batch);
    return throw_msg(env, "XENT_NATIVE", msg);
  }
  if (n[1] != N || n[4] != N || n[6] != K) return throw_msg(env, "XENT_NATIVE", "decode: tokens, pos and outputs (and pairIndex, pairTarget) must have equal lengths");
  if ((seq_start == NULL) != (seq_ids == NULL)) return throw_msg(env, "XENT_NATIVE", "decode: seqStart and seqIds go together");
  if (seq_start && (n[2] != N + 1 || seq_start[0] != 0)) return throw_msg(env, "XENT_NATIVE", "decode: seqStart must have N + 1 entries starting at 0");
  for (size_t k = 0; k < N; k++) {
    if (tokens[k] < 0 || tokens[k] >= c->n_vocab) return throw_msg(env, "XENT_NATIVE", "decode: token id out of range");
    if (pos[k] < 0) return throw_msg(env, "XENT_NATIVE", "decode: negative position");
    if (seq_start) {
      const int32_t s0 = seq_start[k], s1 = seq_start[k + 1];
      if (s1 - s0 < 1 || s1 - s0 > c->n_seq_max || (size_t)s1 > n[3])
        return throw_msg(env, "XENT_NATIVE", "decode: each token needs 1 to nSeqMax sequence ids within seqIds");
      for (int32_t s = s0; s < s1; s++)
        if (seq_ids[s] < 0 || seq_ids[s] >= c->n_seq_max) return throw_msg(env, "XENT_NATIVE", "decode: sequence id out of range [0, nSeqMax)");
    }
  }
  for (size_t p = 0; p < K; p++) {
    if (pair_index[p] < 0 || (size_t)pair_index[p] >= N || !outputs[pair_index[p]])
      return throw_msg(env, "XENT_NATIVE", "decode: pairIndex must name batch rows that have outputs set");
    if (pair_target[p] < 0 || pair_target[p] >= c->n_vocab) return throw_msg(env, "XENT_NATIVE", "decode: target id out of range");
  }
  if (d[7] && n[7] < K * (size_t)c->n_vocab) return throw_msg(env, "XENT_NATIVE", "decode: out is too small for [K, V]");
  if (d[8] && n[8] < K * 5) return throw_msg(env, "XENT_NATIVE", "decode: stats is too small for [K, 5]");
  if (d[9] && n[9] < K * 2) return throw_msg(env, "XENT_NATIVE", "decode: llama is too small for [K, 2]");

  DecodeJob *j = (DecodeJob *)calloc(1, sizeof(DecodeJob));
  j->c = c;
  j->clear = clear;
  j->n_tokens = (int32_t)N;
  j->n_pairs = (int32_t)K;
  j->tokens = tokens;
  j->pos = pos;
  j->seq_start = seq_start;
  j->seq_ids = seq_ids;
  j->outputs = outputs;
  j->pair_index = pair_index;
  j->pair_target = pair_target;
  j->out = (float *)d[7];
  j->stats = (double *)d[8];
  j->llama = (float *)d[9];
  if (j->llama && K > 0 && !(j->rows = (const float **)malloc(K * sizeof *j->rows))) {
    free(j);
    return throw_msg(env, "XENT_NATIVE", "decode: out of memory");
  }
  /* Keep the context and the typed arrays alive (and their memory in place) while the worker uses them. */
  const int keep[11] = {0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  for (int i = 0; i < 11; i++) {
    napi_valuetype vt;
    napi_typeof(env, argv[keep[i]], &vt);
    if (vt == napi_null || vt == napi_undefined) continue;
    if (napi_create_reference(env, argv[keep[i]], 1, &j->refs[j->n_refs]) != napi_ok) {
      decode_free(env, j);
      return throw_msg(env, "XENT_NATIVE", "decode: N-API reference failed");
    }
    j->n_refs++;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "xent-llama-decode", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, decode_execute, decode_complete, j, &j->work) != napi_ok) {
    decode_free(env, j);
    return throw_msg(env, "XENT_NATIVE", "decode: N-API async work failed");
  }
  j->ticket = c->next_ticket++;
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    c->next_ticket--; /* nothing was queued after it: the ticket is free again */
    decode_free(env, j);
    return throw_msg(env, "XENT_NATIVE", "decode: queueing failed");
  }
  c->pending++;
  return promise;
}

#endif
