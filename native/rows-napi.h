/*
 * The binding's entries on logit rows the caller gives (included once, by xent-llama.c):
 * rowStats and llamaLogProbs run row-stats.h's and llama-task.h's functions, which decode
 * runs on the rows llama.cpp produces, so that tests can compare them with their scalar and
 * TypeScript references on any logits.
 */
#ifndef XENT_ROWS_NAPI_H
#define XENT_ROWS_NAPI_H

/* The (logits: Float32Array, V, targets: Int32Array, out) arguments rowStats and llamaLogProbs
   share, checked once: logits holds at least n = targets.length rows of V, every target in
   [0, V), out is a typed array of `out_type` with at least n × `width` elements. Returns NULL,
   or what is wrong (the caller names itself). */
typedef struct {
  const float *logits;
  int32_t nv;
  const int32_t *targets;
  size_t n;
  void *out;
} rows_args;

static const char *read_rows_args(napi_env env, const napi_value *argv, napi_typedarray_type out_type, size_t width,
                                  rows_args *a) {
  napi_typedarray_type tt;
  size_t n_l = 0;
  void *ld = NULL, *td = NULL;
  if (napi_get_typedarray_info(env, argv[0], &tt, &n_l, &ld, NULL, NULL) != napi_ok || tt != napi_float32_array)
    return "logits must be a Float32Array";
  a->nv = 0;
  napi_get_value_int32(env, argv[1], &a->nv);
  if (napi_get_typedarray_info(env, argv[2], &tt, &a->n, &td, NULL, NULL) != napi_ok || tt != napi_int32_array)
    return "targets must be an Int32Array";
  if (a->nv < 1 || n_l < a->n * (size_t)a->nv) return "shapes disagree";
  a->logits = (const float *)ld;
  a->targets = (const int32_t *)td;
  for (size_t r = 0; r < a->n; r++)
    if (a->targets[r] < 0 || a->targets[r] >= a->nv) return "target out of range";
  size_t n_o = 0;
  if (napi_get_typedarray_info(env, argv[3], &tt, &n_o, &a->out, NULL, NULL) != napi_ok || tt != out_type)
    return out_type == napi_float64_array ? "the output must be a Float64Array" : "the output must be a Float32Array";
  if (n_o < a->n * width) return "shapes disagree";
  return NULL;
}

/* An entry's arguments: the first `want` into argv, then read_rows_args. 1 when they are
   usable; else 0, with the exception (the usage, or `op: what is wrong`) thrown. */
static int rows_entry(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *op,
                      const char *usage, napi_typedarray_type out_type, size_t width, rows_args *a) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "XENT_NATIVE", "xent-llama: N-API call failed: napi_get_cb_info");
    return 0;
  }
  if (argc < want) {
    throw_msg(env, "XENT_NATIVE", usage);
    return 0;
  }
  const char *bad = read_rows_args(env, argv, out_type, width, a);
  if (bad) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: %s", op, bad);
    throw_msg(env, "XENT_NATIVE", msg);
    return 0;
  }
  return 1;
}

/* rowStats(logits: Float32Array, V, targets: Int32Array, stats: Float64Array, scalar: bool)
   -> the implementation's name ("scalar" or "avx2"). The statistics evalChunk computes,
   for rows given by the caller: lets tests compare both implementations on any logits. */
static napi_value RowStats(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  rows_args ra;
  if (!rows_entry(env, info, 5, argv, "rowStats", "rowStats(logits, V, targets, stats, scalar)", napi_float64_array, 5, &ra))
    return NULL;
  bool scalar = false;
  napi_get_value_bool(env, argv[4], &scalar);
  row_stats_fn fn = scalar ? row_stats_scalar : row_stats;
  for (size_t r = 0; r < ra.n; r++) fn(ra.logits + r * (size_t)ra.nv, ra.nv, ra.targets[r], (double *)ra.out + r * 5);
  napi_value name;
  CHECK(napi_create_string_utf8(env, scalar ? "scalar" : row_stats_name, NAPI_AUTO_LENGTH, &name));
  return name;
}

/* llamaLogProbs(logits: Float32Array, V, targets: Int32Array, out: Float32Array): llama-perplexity's
   task arithmetic (llama-task.h) on given rows r = 0 … n−1 of [n, V] logits, for tests (decode
   computes the same on the rows it reads): out [n, 2] holds, per row, compute_logprobs'
   log p(targets[r]) and the softmax + std::log value. */
static napi_value LlamaLogProbs(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  rows_args ra;
  if (!rows_entry(env, info, 4, argv, "llamaLogProbs", "llamaLogProbs(logits, V, targets, out)", napi_float32_array, 2, &ra))
    return NULL;
  const float **rows = (const float **)malloc((ra.n ? ra.n : 1) * sizeof *rows);
  if (!rows) return throw_msg(env, "XENT_NATIVE", "llamaLogProbs: out of memory");
  for (size_t r = 0; r < ra.n; r++) rows[r] = ra.logits + r * (size_t)ra.nv;
  llama_rows(rows, ra.nv, ra.targets, ra.n, (float *)ra.out, 2);
  free(rows);
  return NULL;
}

#endif
