/*
 * xent-llama: a thin N-API binding to the llama.cpp library that node-llama-cpp
 * ships (libllama + ggml in @node-llama-cpp/<platform>/bins). It exists for one
 * reason: node-llama-cpp's public API returns next-token probabilities only as a
 * sorted Map over the whole vocabulary, which costs ~17 ms per position at
 * V = 32000. This binding hands the raw float32 logits of every requested position
 * to JavaScript in one Float32Array (for full distributions), and summarises each row
 * (true-token NLL, log-sum-exp, max, argmax, rank) with llama-perplexity's exact
 * arithmetic on the worker thread (row_stats). src/models/gguf/logit-scores.ts is the
 * TypeScript reference the tests compare this against.
 *
 * Exposed (all synchronous except evalChunk, which runs llama_decode on a libuv
 * worker thread and returns a Promise):
 *   init(libDir)                         load ggml backends from libDir; llama_backend_init
 *   loadModel(path)                      -> model handle (External); throws on failure
 *   modelInfo(model)                     -> { vocabSize, nCtxTrain, addBos, addEos, bos, description }
 *   tokenize(model, bytes: Uint8Array, addSpecial, parseSpecial) -> Int32Array
 *   tokenPieces(model)                   -> Array<Uint8Array> (V detokenised pieces, special tokens rendered)
 *   createContext(model, nCtx, nBatch, nThreads, flashAttention) -> context handle
 *   evalChunk(ctx, tokens: Int32Array, first, out: Float32Array|null, stats: Float64Array|null) -> Promise<number>
 *       fresh KV cache; decodes tokens[0..T) at positions 0..T-1 with logits requested
 *       for positions first..T-2 (T-1-first rows), copied row-major into out[(T-1-first)*V]
 *       and/or summarised per row into stats[(T-1-first)*5] (row_stats below).
 *       Calls may overlap: they queue and run one at a time, back to back.
 *   rowStats(logits, V, targets, stats, scalar) -> "scalar" | "avx2" | "avx512"
 *       row_stats on given rows (for tests: the vector and the reference implementations)
 *   freeContext(ctx), freeModel(model)
 *
 * Shapes: T tokens per chunk, V vocabulary size; out is [T-1-first, V] float32.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>

#include "llama.h"
#include "ggml-backend.h"

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, "XENT_NATIVE", "xent-llama: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int g_log_enabled = 0;

static void row_stats_select(void); /* picks the row-statistics implementation, at init */

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
  (void)user;
  if (g_log_enabled || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/* A model outlives its contexts: contexts count as references, so that whichever
   finalizer the garbage collector runs first, llama_model_free comes last. */
typedef struct {
  struct llama_model *model;
  int contexts;
  int released; /* JS dropped or freed it; free when contexts reaches 0 */
} ModelBox;

typedef void (*threadpool_free_fn)(struct ggml_threadpool *);

typedef struct {
  struct llama_context *ctx;
  void *owner; /* ModelBox */
  struct ggml_threadpool *threadpool; /* persistent CPU threads, as llama-perplexity attaches */
  threadpool_free_fn threadpool_free;
  struct llama_batch batch;
  int32_t n_ctx;
  int32_t n_vocab;
  /* Chunks queued or running. evalChunk may be called again before the previous call
     resolves: each call is its own libuv work item, and `decode` serialises them, so the
     next chunk starts the moment the previous one ends instead of after a round trip
     through the JavaScript thread. Chunks are independent (each clears the KV cache), so
     the order in which two queued work items take the lock does not matter. */
  int pending;
  int release_when_idle;
  pthread_mutex_t decode;
} ContextBox;

static napi_value throw_msg(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static void *get_external(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* ---------- init ---------- */
static napi_value Init_(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char dir[4096] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], dir, sizeof dir, &len) != napi_ok)
    return throw_msg(env, "XENT_NATIVE", "init(libDir): libDir must be a string");
  if (argc >= 2) {
    bool b = false;
    napi_get_value_bool(env, argv[1], &b);
    g_log_enabled = b ? 1 : 0;
  }
  llama_log_set(quiet_log, NULL);
  ggml_backend_load_all_from_path(dir);
  llama_backend_init();
  row_stats_select();
  napi_value n;
  CHECK(napi_create_int32(env, (int32_t)ggml_backend_dev_count(), &n));
  return n;
}

/* ---------- model ---------- */
static void model_maybe_free(ModelBox *m) {
  if (m->released && m->contexts == 0) {
    if (m->model) llama_model_free(m->model);
    m->model = NULL;
  }
}

static void model_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  ModelBox *m = (ModelBox *)data;
  m->released = 2; /* the box itself is freed by the last context when contexts remain */
  if (m->contexts == 0) {
    if (m->model) llama_model_free(m->model);
    free(m);
  }
}

static napi_value LoadModel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok)
    return throw_msg(env, "XENT_NATIVE", "loadModel(path): path must be a string");
  char *path = (char *)malloc(len + 1);
  napi_get_value_string_utf8(env, argv[0], path, len + 1, &len);
  struct llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  struct llama_model *model = llama_model_load_from_file(path, mp);
  free(path);
  if (!model) return throw_msg(env, "XENT_LOAD", "llama.cpp could not load the model");
  ModelBox *box = (ModelBox *)calloc(1, sizeof(ModelBox));
  box->model = model;
  napi_value ext;
  CHECK(napi_create_external(env, box, model_finalize, NULL, &ext));
  return ext;
}

static napi_value FreeModel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ModelBox *m = (ModelBox *)get_external(env, argv[0]);
  if (m && m->model && !m->released) {
    m->released = 1;
    model_maybe_free(m);
  }
  return NULL;
}

static ModelBox *model_arg(napi_env env, napi_value v) {
  ModelBox *m = (ModelBox *)get_external(env, v);
  if (!m || !m->model || m->released) {
    napi_throw_error(env, "XENT_NATIVE", "xent-llama: model handle is invalid or freed");
    return NULL;
  }
  return m;
}

static void set_int(napi_env env, napi_value obj, const char *key, int32_t v) {
  napi_value n;
  napi_create_int32(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

static void set_bool(napi_env env, napi_value obj, const char *key, bool v) {
  napi_value n;
  napi_get_boolean(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

static napi_value ModelInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ModelBox *m = model_arg(env, argv[0]);
  if (!m) return NULL;
  const struct llama_vocab *vocab = llama_model_get_vocab(m->model);
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  set_int(env, obj, "vocabSize", llama_vocab_n_tokens(vocab));
  set_int(env, obj, "nCtxTrain", llama_model_n_ctx_train(m->model));
  set_bool(env, obj, "addBos", llama_vocab_get_add_bos(vocab));
  set_bool(env, obj, "addEos", llama_vocab_get_add_eos(vocab));
  set_int(env, obj, "bos", llama_vocab_bos(vocab));
  char desc[256] = {0};
  llama_model_desc(m->model, desc, sizeof desc);
  napi_value s;
  CHECK(napi_create_string_utf8(env, desc, NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, obj, "description", s));
  return obj;
}

static napi_value Tokenize(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_msg(env, "XENT_NATIVE", "tokenize(model, bytes, addSpecial, parseSpecial)");
  ModelBox *m = model_arg(env, argv[0]);
  if (!m) return NULL;
  napi_typedarray_type tt;
  size_t n_bytes = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, argv[1], &tt, &n_bytes, &data, NULL, NULL) != napi_ok || tt != napi_uint8_array)
    return throw_msg(env, "XENT_NATIVE", "tokenize: bytes must be a Uint8Array");
  if (n_bytes > INT32_MAX) return throw_msg(env, "XENT_TOO_LONG", "tokenize: text longer than 2 GiB");
  bool add_special = false, parse_special = false;
  napi_get_value_bool(env, argv[2], &add_special);
  napi_get_value_bool(env, argv[3], &parse_special);
  const struct llama_vocab *vocab = llama_model_get_vocab(m->model);
  /* First call with a capacity guess; a negative result is the exact count needed. */
  int32_t cap = (int32_t)n_bytes + 2;
  llama_token *toks = (llama_token *)malloc(sizeof(llama_token) * (size_t)cap);
  int32_t n = llama_tokenize(vocab, (const char *)data, (int32_t)n_bytes, toks, cap, add_special, parse_special);
  if (n < 0 && n != INT32_MIN) {
    cap = -n;
    toks = (llama_token *)realloc(toks, sizeof(llama_token) * (size_t)cap);
    n = llama_tokenize(vocab, (const char *)data, (int32_t)n_bytes, toks, cap, add_special, parse_special);
  }
  if (n < 0) {
    free(toks);
    return throw_msg(env, "XENT_TOKENIZE", "llama_tokenize failed");
  }
  napi_value ab, arr;
  void *abdata = NULL;
  CHECK(napi_create_arraybuffer(env, sizeof(int32_t) * (size_t)n, &abdata, &ab));
  if (n > 0) memcpy(abdata, toks, sizeof(int32_t) * (size_t)n);
  free(toks);
  CHECK(napi_create_typedarray(env, napi_int32_array, (size_t)n, ab, 0, &arr));
  return arr;
}

static napi_value TokenPieces(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ModelBox *m = model_arg(env, argv[0]);
  if (!m) return NULL;
  const struct llama_vocab *vocab = llama_model_get_vocab(m->model);
  int32_t nv = llama_vocab_n_tokens(vocab);
  napi_value arr;
  CHECK(napi_create_array_with_length(env, (size_t)nv, &arr));
  char buf[512];
  for (int32_t t = 0; t < nv; t++) {
    int32_t n = llama_token_to_piece(vocab, t, buf, (int32_t)sizeof buf, 0, true);
    char *p = buf;
    char *heap = NULL;
    if (n < 0) {
      heap = (char *)malloc((size_t)(-n));
      n = llama_token_to_piece(vocab, t, heap, -n, 0, true);
      p = heap;
    }
    if (n < 0) n = 0;
    napi_value ab, u8;
    void *d = NULL;
    CHECK(napi_create_arraybuffer(env, (size_t)n, &d, &ab));
    if (n > 0) memcpy(d, p, (size_t)n);
    free(heap);
    CHECK(napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &u8));
    CHECK(napi_set_element(env, arr, (uint32_t)t, u8));
  }
  return arr;
}

/* ---------- context ---------- */
static void context_release(ContextBox *c) {
  if (c->ctx) {
    llama_free(c->ctx);
    llama_batch_free(c->batch);
    c->ctx = NULL;
    if (c->threadpool && c->threadpool_free) c->threadpool_free(c->threadpool);
    c->threadpool = NULL;
    ModelBox *m = (ModelBox *)c->owner;
    m->contexts--;
    if (m->released == 2 && m->contexts == 0) {
      if (m->model) llama_model_free(m->model);
      free(m);
    } else {
      model_maybe_free(m);
    }
  }
}

static void context_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  ContextBox *c = (ContextBox *)data;
  context_release(c);
  pthread_mutex_destroy(&c->decode);
  free(c);
}

static napi_value CreateContext(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_msg(env, "XENT_NATIVE", "createContext(model, nCtx, nBatch, nThreads, flashAttention)");
  ModelBox *m = model_arg(env, argv[0]);
  if (!m) return NULL;
  int32_t n_ctx = 0, n_batch = 0, n_threads = 0;
  napi_get_value_int32(env, argv[1], &n_ctx);
  napi_get_value_int32(env, argv[2], &n_batch);
  napi_get_value_int32(env, argv[3], &n_threads);
  bool flash = false;
  napi_get_value_bool(env, argv[4], &flash);
  if (n_ctx < 2 || n_batch < 1 || n_threads < 1) return throw_msg(env, "XENT_NATIVE", "createContext: bad sizes");
  /* The same parameters llama-perplexity passes with -c n_ctx -b n_ctx -t n_threads:
     one sequence, the whole chunk in one (u)batch, library defaults for the KV cache.
     Flash attention is explicit: this engine's "auto" turns it on for CPU, which moves
     stories260K's GPL-3 chunk 1 from 114.1428 (the reference llama-perplexity figure,
     reproduced with it off) to 114.1603. */
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = (uint32_t)n_ctx;
  cp.n_batch = (uint32_t)n_batch;
  cp.n_ubatch = (uint32_t)(n_batch < 512 ? n_batch : 512);
  cp.n_seq_max = 1;
  cp.n_threads = n_threads;
  cp.n_threads_batch = n_threads;
  cp.no_perf = true;
  cp.flash_attn_type = flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  struct llama_context *ctx = llama_init_from_model(m->model, cp);
  if (!ctx) return throw_msg(env, "XENT_CONTEXT", "llama.cpp could not create a context");
  ContextBox *c = (ContextBox *)calloc(1, sizeof(ContextBox));
  c->ctx = ctx;
  c->owner = m;
  m->contexts++;
  c->n_ctx = n_ctx;
  c->n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(m->model));
  c->batch = llama_batch_init(n_ctx, 0, 1);
  pthread_mutex_init(&c->decode, NULL);
  /* A persistent threadpool (common_threadpools::init in llama.cpp's common/common.cpp
     does the same for llama-perplexity); without one, ggml starts fresh threads for
     every decode. The CPU backend is a dynamically loaded module: reach its functions
     through the backend registry. */
  {
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (cpu) {
      ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
      typedef struct ggml_threadpool *(*threadpool_new_fn)(struct ggml_threadpool_params *);
      threadpool_new_fn tp_new = (threadpool_new_fn)ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new");
      threadpool_free_fn tp_free = (threadpool_free_fn)ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free");
      if (tp_new && tp_free) {
        struct ggml_threadpool_params tpp = ggml_threadpool_params_default(n_threads);
        struct ggml_threadpool *tp = tp_new(&tpp);
        if (tp) {
          llama_attach_threadpool(ctx, tp, NULL);
          c->threadpool = tp;
          c->threadpool_free = tp_free;
        }
      }
    }
  }
  napi_value ext;
  CHECK(napi_create_external(env, c, context_finalize, NULL, &ext));
  return ext;
}

static napi_value FreeContext(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ContextBox *c = (ContextBox *)get_external(env, argv[0]);
  if (c && c->pending > 0) c->release_when_idle = 1;
  else if (c) context_release(c);
  return NULL;
}

typedef struct {
  ContextBox *c;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref ctx_ref, tokens_ref, out_ref, stats_ref; /* ctx_ref: the context outlives its queued chunks */
  const int32_t *tokens;
  int32_t n_tokens, first;
  float *out;    /* optional [rows, V] raw logits */
  double *stats; /* optional [rows, 5]: nll, lse, max, argmax, rank (see row_stats) */
  int32_t status; /* 0 ok, else llama_decode's code, or -1000 for a missing logits row */
  int32_t n_out;
} EvalJob;

/*
 * Per-row statistics with llama-perplexity's own arithmetic (log_softmax() in
 * tools/perplexity/perplexity.cpp): float max, Σ expf(l − max) in double, and
 * nll = −((l[t] − max) − log Σ) with the first subtraction in float. Computing this here,
 * on the worker thread, keeps the results equal to llama.cpp's and leaves the
 * JavaScript thread free; the raw logits are still copied out when the caller wants them.
 *   st[0] nll (nats)  st[1] lse = max + log Σ  st[2] max  st[3] argmax (first on ties)
 *   st[4] rank = #{v : l_v > l_t}
 * A NaN or +Inf logit gives st[0] = NaN and st[3] = the first offending column.
 *
 * Two implementations, chosen once at init (row_stats_select):
 *  - row_stats_scalar: the reference; libm's expf per element, summed in index order,
 *    which is llama.cpp's loop exactly (bit-identical sums).
 *  - row_stats_avx2 (x86-64 with AVX2 + FMA): the same expf values, computed 4 at a time
 *    (expf4_avx2 below), summed into 8 double accumulators. The sum then differs from
 *    llama.cpp's only by the order of double additions (~1e-16 relative), and the row is
 *    read twice at 8 floats per instruction instead of one libm call per element: at
 *    V = 32000 the statistics of a ctx-128 chunk fall from ~8 ms to under 1 ms, which is
 *    otherwise as long as the decode itself.
 */
static void row_stats_finish(const float *row, int32_t nv, float mx, float lt, double sum, int32_t am, int32_t above, double *st) {
  if (!(sum == sum) || sum > 1.7e308 || mx != mx || lt != lt || mx == INFINITY) {
    int32_t bad = -1;
    for (int32_t v = 0; v < nv && bad < 0; v++)
      if (row[v] != row[v] || row[v] == INFINITY) bad = v;
    st[0] = NAN;
    st[1] = NAN;
    st[2] = NAN;
    st[3] = bad;
    st[4] = -1;
    return;
  }
  const double ls = log(sum);
  st[0] = -((double)(lt - mx) - ls);
  st[1] = (double)mx + ls;
  st[2] = mx;
  st[3] = am;
  st[4] = above;
}

static void row_stats_scalar(const float *row, int32_t nv, int32_t t, double *st) {
  float mx = row[0];
  int32_t am = 0;
  for (int32_t v = 1; v < nv; v++)
    if (row[v] > mx) {
      mx = row[v];
      am = v;
    }
  /* Σ expf(l − max) in double, in index order as llama.cpp sums, fused with the rank
     count: V is read twice (max, then sum + rank), not three times. */
  const float lt = row[t];
  double sum = 0.0;
  int32_t above = 0;
  for (int32_t v = 0; v < nv; v++) {
    sum += expf(row[v] - mx);
    above += row[v] > lt;
  }
  row_stats_finish(row, nv, mx, lt, sum, am, above, st);
}

typedef void (*row_stats_fn)(const float *, int32_t, int32_t, double *);
static row_stats_fn row_stats = row_stats_scalar;
static const char *row_stats_name = "scalar";

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define XENT_ROW_STATS_AVX2 1

/*
 * expf, 4 lanes: the algorithm of glibc's expf (since 2.27; from Arm's
 * optimized-routines, sysdeps/ieee754/flt-32/e_expf.c) with the operations fused as in
 * glibc's FMA build (__expf_fma, which glibc's resolver picks on CPUs with FMA): with
 * N = 32, z = x·N/ln2 = k + r, expf(x) = 2^(k/N) · 2^(r/N), 2^(r/N) ≈ C0 r³ + C1 r² + C2 r + 1
 * in double, rounded once to float. The table T[j] = bits(2^(j/N)) − (j << 47) and the
 * constants are the published ones. Inputs below log(2^-150) give 0, as glibc's.
 * Whether this equals the libm expf the process actually uses is not assumed:
 * row_stats_select() compares them on a sweep of 160,000 inputs and keeps the scalar path
 * unless every one is bit-identical. native/check-expf.c compares every float in
 * [−103.28, 0] (1.12e9 inputs): no difference for either vector version on glibc 2.36.
 */
static uint64_t g_exp2f_tab[32];
#define EXPF_INVLN2N 0x1.71547652b82fep+5 /* N / ln 2 */
#define EXPF_SHIFT 0x1.8p+52
#define EXPF_C0 0x1.c6af84b912394p-20 /* 0x1.c6af84b912394p-5 / N³ */
#define EXPF_C1 0x1.ebfce50fac4f3p-13 /* 0x1.ebfce50fac4f3p-3 / N² */
#define EXPF_C2 0x1.62e42ff0c52d6p-6  /* 0x1.62e42ff0c52d6p-1 / N */
#define EXPF_UFLOW (-0x1.9fe368p6)   /* log(2^-150) */

__attribute__((target("avx2,fma"))) static inline __m256d expf4_avx2(__m128 x) {
  const __m256d xd = _mm256_cvtps_pd(x);
  const __m256d invln2n = _mm256_set1_pd(EXPF_INVLN2N), shift = _mm256_set1_pd(EXPF_SHIFT);
  const __m256d z = _mm256_fmadd_pd(invln2n, xd, shift);
  const __m256i ki = _mm256_castpd_si256(z);
  const __m256d kd = _mm256_sub_pd(z, shift);
  const __m256d r = _mm256_fmsub_pd(invln2n, xd, kd);
  const __m256i j = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
  __m256i t = _mm256_i64gather_epi64((const long long *)g_exp2f_tab, j, 8);
  t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
  const __m256d s = _mm256_castsi256_pd(t);
  const __m256d zc = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C0), _mm256_set1_pd(EXPF_C1));
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C2), _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(zc, r2, y);
  y = _mm256_mul_pd(y, s);
  /* Round to float (as glibc returns float), back to double for the sum. */
  __m256d f = _mm256_cvtps_pd(_mm256_cvtpd_ps(y));
  /* x < log(2^-150), −inf included: 0. NaN compares false and stays NaN. */
  const __m256d under = _mm256_cmp_pd(xd, _mm256_set1_pd(EXPF_UFLOW), _CMP_LT_OQ);
  return _mm256_andnot_pd(under, f);
}

__attribute__((target("avx2,fma"))) static void row_stats_avx2(const float *row, int32_t nv, int32_t t, double *st) {
  const int32_t n8 = nv & ~7;
  /* Pass 1: max. */
  float mx = row[0];
  if (n8 >= 8) {
    __m256 m0 = _mm256_loadu_ps(row), m1 = m0;
    int32_t v = 8;
    for (; v + 16 <= n8; v += 16) {
      m0 = _mm256_max_ps(m0, _mm256_loadu_ps(row + v));
      m1 = _mm256_max_ps(m1, _mm256_loadu_ps(row + v + 8));
    }
    for (; v < n8; v += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(row + v));
    m0 = _mm256_max_ps(m0, m1);
    float lanes[8];
    _mm256_storeu_ps(lanes, m0);
    mx = lanes[0];
    for (int k = 1; k < 8; k++)
      if (lanes[k] > mx) mx = lanes[k];
  }
  for (int32_t v = n8; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  /* Pass 2: Σ expf(l − max), rank and the first argmax. */
  const float lt = row[t];
  const __m256 mxv = _mm256_set1_ps(mx), ltv = _mm256_set1_ps(lt);
  __m256d a0 = _mm256_setzero_pd(), a1 = a0;
  __m256i cnt = _mm256_setzero_si256();
  int32_t am = -1;
  for (int32_t v = 0; v < n8; v += 8) {
    const __m256 x = _mm256_loadu_ps(row + v);
    const __m256 d = _mm256_sub_ps(x, mxv);
    a0 = _mm256_add_pd(a0, expf4_avx2(_mm256_castps256_ps128(d)));
    a1 = _mm256_add_pd(a1, expf4_avx2(_mm256_extractf128_ps(d, 1)));
    cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(_mm256_cmp_ps(x, ltv, _CMP_GT_OQ)));
    if (am < 0) {
      const int eq = _mm256_movemask_ps(_mm256_cmp_ps(x, mxv, _CMP_EQ_OQ));
      if (eq) am = v + __builtin_ctz((unsigned)eq);
    }
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(a0, a1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  int32_t c8[8];
  _mm256_storeu_si256((__m256i *)c8, cnt);
  int32_t above = 0;
  for (int k = 0; k < 8; k++) above += c8[k];
  for (int32_t v = n8; v < nv; v++) {
    sum += expf(row[v] - mx);
    above += row[v] > lt;
    if (am < 0 && row[v] == mx) am = v;
  }
  if (am < 0) am = 0; /* no element equals max only when the row holds NaN; reported below */
  row_stats_finish(row, nv, mx, lt, sum, am, above, st);
}

/* The same expf, 8 lanes (AVX-512F): the 32-entry table sits in four registers and is
   read with two two-register permutes instead of a gather. */
__attribute__((target("avx512f"))) static inline __m512d expf8_avx512(__m256 x, __m512d t0, __m512d t1, __m512d t2, __m512d t3) {
  const __m512d xd = _mm512_cvtps_pd(x);
  const __m512d invln2n = _mm512_set1_pd(EXPF_INVLN2N), shift = _mm512_set1_pd(EXPF_SHIFT);
  const __m512d z = _mm512_fmadd_pd(invln2n, xd, shift);
  const __m512i ki = _mm512_castpd_si512(z);
  const __m512d kd = _mm512_sub_pd(z, shift);
  const __m512d r = _mm512_fmsub_pd(invln2n, xd, kd);
  /* j = ki mod 32: permutex2var reads index bits 0–3; bit 4 picks the pair. */
  const __m512d lo = _mm512_permutex2var_pd(t0, ki, t1);
  const __m512d hi = _mm512_permutex2var_pd(t2, ki, t3);
  const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
  __m512i t = _mm512_castpd_si512(_mm512_mask_blend_pd(upper, lo, hi));
  t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
  const __m512d s = _mm512_castsi512_pd(t);
  const __m512d zc = _mm512_fmadd_pd(r, _mm512_set1_pd(EXPF_C0), _mm512_set1_pd(EXPF_C1));
  const __m512d r2 = _mm512_mul_pd(r, r);
  __m512d y = _mm512_fmadd_pd(r, _mm512_set1_pd(EXPF_C2), _mm512_set1_pd(1.0));
  y = _mm512_fmadd_pd(zc, r2, y);
  y = _mm512_mul_pd(y, s);
  const __m512d f = _mm512_cvtps_pd(_mm512_cvtpd_ps(y));
  const __mmask8 under = _mm512_cmp_pd_mask(xd, _mm512_set1_pd(EXPF_UFLOW), _CMP_LT_OQ);
  return _mm512_maskz_mov_pd((__mmask8)~under, f);
}

__attribute__((target("avx512f"))) static void row_stats_avx512(const float *row, int32_t nv, int32_t t, double *st) {
  const int32_t n16 = nv & ~15;
  float mx = row[0];
  if (n16 >= 16) {
    __m512 m0 = _mm512_loadu_ps(row), m1 = m0;
    int32_t v = 16;
    for (; v + 32 <= n16; v += 32) {
      m0 = _mm512_max_ps(m0, _mm512_loadu_ps(row + v));
      m1 = _mm512_max_ps(m1, _mm512_loadu_ps(row + v + 16));
    }
    for (; v < n16; v += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(row + v));
    mx = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
  }
  for (int32_t v = n16; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  const float lt = row[t];
  const __m512 mxv = _mm512_set1_ps(mx), ltv = _mm512_set1_ps(lt);
  const __m512d t0 = _mm512_loadu_pd((const double *)g_exp2f_tab), t1 = _mm512_loadu_pd((const double *)g_exp2f_tab + 8);
  const __m512d t2 = _mm512_loadu_pd((const double *)g_exp2f_tab + 16), t3 = _mm512_loadu_pd((const double *)g_exp2f_tab + 24);
  __m512d a0 = _mm512_setzero_pd(), a1 = a0;
  int32_t above = 0;
  int32_t am = -1;
  for (int32_t v = 0; v < n16; v += 16) {
    const __m512 x = _mm512_loadu_ps(row + v);
    const __m512 d = _mm512_sub_ps(x, mxv);
    a0 = _mm512_add_pd(a0, expf8_avx512(_mm512_castps512_ps256(d), t0, t1, t2, t3));
    a1 = _mm512_add_pd(a1, expf8_avx512(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)), t0, t1, t2, t3));
    above += __builtin_popcount((unsigned)_mm512_cmp_ps_mask(x, ltv, _CMP_GT_OQ));
    if (am < 0) {
      const unsigned eq = (unsigned)_mm512_cmp_ps_mask(x, mxv, _CMP_EQ_OQ);
      if (eq) am = v + __builtin_ctz(eq);
    }
  }
  double lanes[8];
  _mm512_storeu_pd(lanes, _mm512_add_pd(a0, a1));
  double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (int32_t v = n16; v < nv; v++) {
    sum += expf(row[v] - mx);
    above += row[v] > lt;
    if (am < 0 && row[v] == mx) am = v;
  }
  if (am < 0) am = 0;
  row_stats_finish(row, nv, mx, lt, sum, am, above, st);
}

__attribute__((target("avx512f"))) static void expf8_avx512_store(const float *x, double *out) {
  const __m512d t0 = _mm512_loadu_pd((const double *)g_exp2f_tab), t1 = _mm512_loadu_pd((const double *)g_exp2f_tab + 8);
  const __m512d t2 = _mm512_loadu_pd((const double *)g_exp2f_tab + 16), t3 = _mm512_loadu_pd((const double *)g_exp2f_tab + 24);
  _mm512_storeu_pd(out, expf8_avx512(_mm256_loadu_ps(x), t0, t1, t2, t3));
}

__attribute__((target("avx2,fma"))) static void expf4_avx2_store(const float *x, double *out) {
  _mm256_storeu_pd(out, expf4_avx2(_mm_loadu_ps(x)));
}

/* 1 when the vector expf (8 lanes when wide, else 4) equals this process's libm expf,
   bit for bit, on a sweep of inputs over [−110, 0] (row_stats only passes l − max ≤ 0)
   plus −inf and the edges. */
static int expf_vector_matches_libm(int wide) {
  float xs[8];
  double got[8];
  uint32_t state = 12345u;
  for (int i = 0; i < 20000; i++) {
    for (int k = 0; k < 8; k++) {
      state = state * 1664525u + 1013904223u;
      const int mode = (i + k) & 3;
      /* uniform on [−110, 0], on [−1, 0], near 0, and around the underflow threshold */
      const float u = (float)(state >> 8) / 16777216.0f;
      xs[k] = mode == 0 ? -110.0f * u : mode == 1 ? -u : mode == 2 ? -1e-6f * u : -103.0f - 1.5f * u;
    }
    if (i == 0) {
      const float edge[8] = {0.0f, -INFINITY, -0.0f, -87.5f, -88.0f, -0x1.9fe368p6f, -0x1p-149f, -103.28f};
      memcpy(xs, edge, sizeof xs);
    }
    if (wide) {
      expf8_avx512_store(xs, got);
    } else {
      expf4_avx2_store(xs, got);
      expf4_avx2_store(xs + 4, got + 4);
    }
    for (int k = 0; k < 8; k++) {
      const float want = expf(xs[k]);
      /* glibc flushes −103.97 < x < −103.28 to its smallest subnormal; either way the
         term is ≤ 2^-149, below the last bit of any row sum (which is ≥ 1). */
      if (xs[k] < -103.28f) {
        if (!(got[k] >= 0.0 && got[k] <= 0x1p-148)) return 0;
        continue;
      }
      if ((float)got[k] != want || (want == 0.0f && got[k] != 0.0)) return 0;
    }
  }
  return 1;
}

static void exp2f_table_init(void) {
  for (int j = 0; j < 32; j++) {
    const double v = (double)exp2l((long double)j / 32.0L);
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    g_exp2f_tab[j] = b - ((uint64_t)j << 47);
  }
}
#endif

static void row_stats_select(void) {
  const char *env = getenv("XENT_NATIVE_ROW_STATS");
  if (env && strcmp(env, "scalar") == 0) return;
#ifdef XENT_ROW_STATS_AVX2
  __builtin_cpu_init();
  exp2f_table_init();
  const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && !(env && strcmp(env, "avx2") == 0) && expf_vector_matches_libm(1)) {
    row_stats = row_stats_avx512;
    row_stats_name = "avx512";
  } else if (avx2 && expf_vector_matches_libm(0)) {
    row_stats = row_stats_avx2;
    row_stats_name = "avx2";
  }
#endif
}

static void eval_locked(EvalJob *j, ContextBox *c);

static void eval_execute(napi_env env, void *data) {
  (void)env;
  EvalJob *j = (EvalJob *)data;
  ContextBox *c = j->c;
  pthread_mutex_lock(&c->decode);
  eval_locked(j, c);
  pthread_mutex_unlock(&c->decode);
}

static void eval_locked(EvalJob *j, ContextBox *c) {
  llama_memory_clear(llama_get_memory(c->ctx), true);
  struct llama_batch *b = &c->batch;
  b->n_tokens = j->n_tokens;
  for (int32_t k = 0; k < j->n_tokens; k++) {
    b->token[k] = j->tokens[k];
    b->pos[k] = k;
    b->n_seq_id[k] = 1;
    b->seq_id[k][0] = 0;
    b->logits[k] = (k >= j->first && k <= j->n_tokens - 2) ? 1 : 0;
  }
  int32_t rc = llama_decode(c->ctx, *b);
  if (rc != 0) {
    j->status = rc;
    return;
  }
  const size_t nv = (size_t)c->n_vocab;
  int32_t rows = j->n_tokens - 1 - j->first;
  for (int32_t r = 0; r < rows; r++) {
    const float *row = llama_get_logits_ith(c->ctx, j->first + r);
    if (!row) {
      j->status = -1000;
      return;
    }
    if (j->out) memcpy(j->out + (size_t)r * nv, row, nv * sizeof(float));
    if (j->stats) row_stats(row, (int32_t)nv, j->tokens[j->first + 1 + r], j->stats + (size_t)r * 5);
  }
  j->n_out = rows;
}

static void eval_complete(napi_env env, napi_status st, void *data) {
  EvalJob *j = (EvalJob *)data;
  ContextBox *c = j->c;
  c->pending--;
  napi_delete_reference(env, j->ctx_ref);
  if (c->pending == 0 && c->release_when_idle) context_release(c);
  if (st != napi_ok || j->status != 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "llama_decode failed (status %d)", (int)(st != napi_ok ? -2000 : j->status));
    napi_value m, code, err;
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, "XENT_DECODE", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, m, &err);
    napi_reject_deferred(env, j->deferred, err);
  } else {
    napi_value n;
    napi_create_int32(env, j->n_out, &n);
    napi_resolve_deferred(env, j->deferred, n);
  }
  napi_delete_reference(env, j->tokens_ref);
  if (j->out_ref) napi_delete_reference(env, j->out_ref);
  if (j->stats_ref) napi_delete_reference(env, j->stats_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value EvalChunk(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_msg(env, "XENT_NATIVE", "evalChunk(ctx, tokens, first, out, stats)");
  ContextBox *c = (ContextBox *)get_external(env, argv[0]);
  if (!c || !c->ctx || c->release_when_idle) return throw_msg(env, "XENT_NATIVE", "evalChunk: context handle is invalid or freed");
  napi_typedarray_type tt;
  size_t n_tok = 0, n_out = 0, n_stats = 0;
  void *tdata = NULL, *odata = NULL, *sdata = NULL;
  if (napi_get_typedarray_info(env, argv[1], &tt, &n_tok, &tdata, NULL, NULL) != napi_ok || tt != napi_int32_array)
    return throw_msg(env, "XENT_NATIVE", "evalChunk: tokens must be an Int32Array");
  int32_t first = 0;
  napi_get_value_int32(env, argv[2], &first);
  napi_valuetype vt;
  napi_typeof(env, argv[3], &vt);
  int has_out = vt != napi_null && vt != napi_undefined;
  if (has_out && (napi_get_typedarray_info(env, argv[3], &tt, &n_out, &odata, NULL, NULL) != napi_ok || tt != napi_float32_array))
    return throw_msg(env, "XENT_NATIVE", "evalChunk: out must be a Float32Array or null");
  int has_stats = 0;
  if (argc >= 5) {
    napi_typeof(env, argv[4], &vt);
    has_stats = vt != napi_null && vt != napi_undefined;
    if (has_stats && (napi_get_typedarray_info(env, argv[4], &tt, &n_stats, &sdata, NULL, NULL) != napi_ok || tt != napi_float64_array))
      return throw_msg(env, "XENT_NATIVE", "evalChunk: stats must be a Float64Array or null");
  }
  if (n_tok < 2 || (int64_t)n_tok > c->n_ctx) return throw_msg(env, "XENT_NATIVE", "evalChunk: token count must be in [2, n_ctx]");
  if (first < 0 || first > (int32_t)n_tok - 2) return throw_msg(env, "XENT_NATIVE", "evalChunk: first must be in [0, T-2]");
  const int32_t *toks = (const int32_t *)tdata;
  for (size_t k = 0; k < n_tok; k++)
    if (toks[k] < 0 || toks[k] >= c->n_vocab) return throw_msg(env, "XENT_NATIVE", "evalChunk: token id out of range");
  size_t rows = n_tok - 1 - (size_t)first;
  if (has_out && n_out < rows * (size_t)c->n_vocab) return throw_msg(env, "XENT_NATIVE", "evalChunk: out is too small for [T-1-first, V]");
  if (has_stats && n_stats < rows * 5) return throw_msg(env, "XENT_NATIVE", "evalChunk: stats is too small for [T-1-first, 5]");

  EvalJob *j = (EvalJob *)calloc(1, sizeof(EvalJob));
  j->c = c;
  j->tokens = toks;
  j->n_tokens = (int32_t)n_tok;
  j->first = first;
  j->out = has_out ? (float *)odata : NULL;
  j->stats = has_stats ? (double *)sdata : NULL;
  /* Keep the typed arrays alive (and their memory in place) while the worker reads and writes them. */
  CHECK(napi_create_reference(env, argv[0], 1, &j->ctx_ref));
  CHECK(napi_create_reference(env, argv[1], 1, &j->tokens_ref));
  if (has_out) CHECK(napi_create_reference(env, argv[3], 1, &j->out_ref));
  if (has_stats) CHECK(napi_create_reference(env, argv[4], 1, &j->stats_ref));
  napi_value promise, name;
  CHECK(napi_create_promise(env, &j->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "xent-llama-eval", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, eval_execute, eval_complete, j, &j->work));
  c->pending++;
  CHECK(napi_queue_async_work(env, j->work));
  return promise;
}

/* rowStats(logits: Float32Array, V, targets: Int32Array, stats: Float64Array, scalar: bool)
   -> the implementation's name ("scalar" or "avx2"). The statistics evalChunk computes,
   for rows given by the caller: lets tests compare both implementations on any logits. */
static napi_value RowStats(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_msg(env, "XENT_NATIVE", "rowStats(logits, V, targets, stats, scalar)");
  napi_typedarray_type tt;
  size_t n_l = 0, n_t = 0, n_s = 0;
  void *ld = NULL, *td = NULL, *sd = NULL;
  if (napi_get_typedarray_info(env, argv[0], &tt, &n_l, &ld, NULL, NULL) != napi_ok || tt != napi_float32_array)
    return throw_msg(env, "XENT_NATIVE", "rowStats: logits must be a Float32Array");
  int32_t nv = 0;
  napi_get_value_int32(env, argv[1], &nv);
  if (napi_get_typedarray_info(env, argv[2], &tt, &n_t, &td, NULL, NULL) != napi_ok || tt != napi_int32_array)
    return throw_msg(env, "XENT_NATIVE", "rowStats: targets must be an Int32Array");
  if (napi_get_typedarray_info(env, argv[3], &tt, &n_s, &sd, NULL, NULL) != napi_ok || tt != napi_float64_array)
    return throw_msg(env, "XENT_NATIVE", "rowStats: stats must be a Float64Array");
  bool scalar = false;
  napi_get_value_bool(env, argv[4], &scalar);
  if (nv < 1 || n_l < n_t * (size_t)nv || n_s < n_t * 5) return throw_msg(env, "XENT_NATIVE", "rowStats: shapes disagree");
  const int32_t *tg = (const int32_t *)td;
  for (size_t r = 0; r < n_t; r++)
    if (tg[r] < 0 || tg[r] >= nv) return throw_msg(env, "XENT_NATIVE", "rowStats: target out of range");
  row_stats_fn fn = scalar ? row_stats_scalar : row_stats;
  for (size_t r = 0; r < n_t; r++) fn((const float *)ld + r * (size_t)nv, nv, tg[r], (double *)sd + r * 5);
  napi_value name;
  CHECK(napi_create_string_utf8(env, scalar ? "scalar" : row_stats_name, NAPI_AUTO_LENGTH, &name));
  return name;
}

static napi_value Register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, Init_, NULL, NULL, NULL, napi_default, NULL},
      {"loadModel", NULL, LoadModel, NULL, NULL, NULL, napi_default, NULL},
      {"freeModel", NULL, FreeModel, NULL, NULL, NULL, napi_default, NULL},
      {"modelInfo", NULL, ModelInfo, NULL, NULL, NULL, napi_default, NULL},
      {"tokenize", NULL, Tokenize, NULL, NULL, NULL, napi_default, NULL},
      {"tokenPieces", NULL, TokenPieces, NULL, NULL, NULL, napi_default, NULL},
      {"createContext", NULL, CreateContext, NULL, NULL, NULL, napi_default, NULL},
      {"freeContext", NULL, FreeContext, NULL, NULL, NULL, napi_default, NULL},
      {"evalChunk", NULL, EvalChunk, NULL, NULL, NULL, napi_default, NULL},
      {"rowStats", NULL, RowStats, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value xent_train_register(napi_env env, napi_value exports); /* native/xent-train.c: exports.train */
  return xent_train_register(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Register)
