/*
 * xent-llama: a thin N-API binding to the llama.cpp library that node-llama-cpp
 * ships (libllama + ggml in @node-llama-cpp/<platform>/bins). It exists for one
 * reason: node-llama-cpp's public API returns next-token probabilities only as a
 * sorted Map over the whole vocabulary, which costs ~17 ms per position at
 * V = 32000. This binding decodes a llama_batch the caller lays out (tokens, positions,
 * sequence ids, which rows get logits), and for each requested (row, target) pair
 * summarises the logit row (true-token NLL, log-sum-exp, max, argmax, rank) with
 * llama-perplexity's exact arithmetic on the worker thread (row_stats, row-stats.h)
 * and/or copies the raw float32 row out. src/models/gguf/logit-scores.ts is the
 * TypeScript reference the tests compare the statistics against; the batch layouts
 * (llama-perplexity's chunks, one sequence in pieces, packed requests) are planned in
 * src/models/gguf/gguf-batches.ts.
 *
 * Exposed (all synchronous except decode, which runs llama_decode on a libuv worker
 * thread and returns a Promise):
 *   init(libDir, log, module)            load ggml backends from libDir (the CPU backend from
 *                                        `module` alone when given and usable: cpu-backend.h);
 *                                        llama_backend_init
 *   cpuBackend()                         -> { signature, module }: this CPU's cpuid signature, the
 *                                        file the CPU backend was loaded from
 *   loadModel(path)                      -> model handle (External); throws on failure
 *   modelInfo(model)                     -> { vocabSize, nCtxTrain, addBos, addEos, bos, description }
 *   tokenize(model, bytes: Uint8Array, addSpecial, parseSpecial) -> Int32Array
 *   tokenPieces(model)                   -> Array<Uint8Array> (V detokenised pieces, special tokens rendered)
 *   createContext(model, nCtx, nBatch, nUbatch, nSeqMax, nThreads, flashAttn, kvUnified) -> context handle
 *       llama_context_params as llama-perplexity's common_context_params_to_llama sets them;
 *       flashAttn −1 auto (llama.cpp resolves it: on for the CPU), 0 off, 1 on
 *   contextInfo(ctx)                     -> { nCtx, nCtxSeq, nBatch, nUbatch, nSeqMax, flashAttn (resolved: 0|1, −1 unknown) }
 *   decode(ctx, clear, tokens, pos, seqStart, seqIds, outputs, pairIndex, pairTarget, out, stats, llama) -> Promise<N>
 *       one llama_decode of N ≤ nBatch tokens (decode.h): token k at position pos[k] in the
 *       sequences seqIds[seqStart[k] … seqStart[k+1]) (seqStart null: all in sequence 0),
 *       logits for the tokens with outputs[k] ≠ 0; clear empties the KV cache first, else
 *       the batch continues what the cache holds. Then for each pair p (K pairs) the logit
 *       row of batch index pairIndex[p] is summarised for target pairTarget[p] into
 *       stats[p*5 … p*5+5), copied into out[p*V … (p+1)*V), and/or reduced to llama-perplexity's
 *       two task log-probabilities in llama[p*2 … p*2+2) (llama-task.h), each where given.
 *       Calls may overlap: they queue and run one at a time in call order, back to back.
 *   rowStats(logits, V, targets, stats, scalar) -> "scalar" | "avx2" | "avx512"
 *       row_stats on given rows (for tests: the vector and the reference implementations)
 *   llamaLogProbs(logits, V, targets, out) llama-task.h's values on given rows (for tests)
 *   freeContext(ctx), freeModel(model)
 *   train                                the native training kernels (native/xent-train*.c,
 *                                        registered by this module's init; they use no libllama)
 *
 * Shapes: N tokens per decode, K scored pairs, V vocabulary size; out is [K, V] float32,
 * stats is [K, 5] float64 (nll nats, lse, max, argmax, rank), llama is [K, 2] float32.
 */
#define _GNU_SOURCE /* dladdr (cpu-backend.h) */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>

#include "llama.h"
#include "ggml-backend.h"
#include "row-stats.h"

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, "XENT_NATIVE", "xent-llama: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int g_log_enabled = 0;
/* What llama.cpp logged about flash attention while the last context was created
   (llama_init_from_model runs on the JavaScript thread, as does this logger then):
   1 enabled, 0 disabled, −1 nothing seen. llama.h has no getter for the resolved "auto". */
static int g_flash_seen = -1;

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
  (void)user;
  if (text && strstr(text, "Flash Attention")) {
    if (strstr(text, "Flash Attention enabled")) g_flash_seen = 1;
    else if (strstr(text, "not supported")) g_flash_seen = 0;
  }
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
  struct llama_batch batch; /* n_batch tokens, n_seq_max sequence ids each */
  int32_t n_batch;
  int32_t n_seq_max;
  int32_t n_vocab;
  int32_t flash; /* resolved: 1 on, 0 off, −1 unknown */
  /* Decodes queued or running. decode may be called again before the previous call
     resolves: each call is its own libuv work item, and they run strictly in call order
     (a ticket each, `turn` wakes the next), so the next batch starts the moment the
     previous one ends, and a batch may continue the KV cache the previous one left. */
  int pending;
  int release_when_idle;
  uint64_t next_ticket; /* JavaScript thread only */
  uint64_t serving;     /* under `lock` */
  pthread_mutex_t lock;
  pthread_cond_t turn;
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

#include "cpu-backend.h"

/* ---------- init ---------- */
static napi_value Init_(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char dir[4096] = {0}, module[4096] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], dir, sizeof dir, &len) != napi_ok)
    return throw_msg(env, "XENT_NATIVE", "init(libDir): libDir must be a string");
  if (argc >= 2) {
    bool b = false;
    napi_get_value_bool(env, argv[1], &b);
    g_log_enabled = b ? 1 : 0;
  }
  napi_valuetype mt = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &mt);
  if (mt == napi_string) napi_get_value_string_utf8(env, argv[2], module, sizeof module, &len);
  llama_log_set(quiet_log, NULL);
  load_backends(dir, module);
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
  pthread_cond_destroy(&c->turn);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static napi_value CreateContext(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8)
    return throw_msg(env, "XENT_NATIVE", "createContext(model, nCtx, nBatch, nUbatch, nSeqMax, nThreads, flashAttn, kvUnified)");
  ModelBox *m = model_arg(env, argv[0]);
  if (!m) return NULL;
  int32_t n_ctx = 0, n_batch = 0, n_ubatch = 0, n_seq_max = 0, n_threads = 0, flash = -1;
  napi_get_value_int32(env, argv[1], &n_ctx);
  napi_get_value_int32(env, argv[2], &n_batch);
  napi_get_value_int32(env, argv[3], &n_ubatch);
  napi_get_value_int32(env, argv[4], &n_seq_max);
  napi_get_value_int32(env, argv[5], &n_threads);
  napi_get_value_int32(env, argv[6], &flash);
  bool unified = false;
  napi_get_value_bool(env, argv[7], &unified);
  if (n_ctx < 2 || n_batch < 1 || n_ubatch < 1 || n_seq_max < 1 || n_seq_max > 256 || n_threads < 1 || flash < -1 || flash > 1)
    return throw_msg(env, "XENT_NATIVE", "createContext: bad sizes");
  /* The parameters llama-perplexity's context gets from common_context_params_to_llama
     (llama.cpp common/common.cpp) with its defaults: -b 2048 -ub 512, -fa auto, F16 KV
     cache, swa_full off, kv_unified off (on for its multiple-choice tasks); llama-perplexity
     itself sets n_seq_max = n_batch / n_ctx and the context to n_seq_max × n_ctx tokens.
     The caller passes those values (src/models/gguf/gguf-batches.ts). */
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = (uint32_t)n_ctx;
  cp.n_batch = (uint32_t)n_batch;
  cp.n_ubatch = (uint32_t)n_ubatch;
  cp.n_seq_max = (uint32_t)n_seq_max;
  cp.n_threads = n_threads;
  cp.n_threads_batch = n_threads;
  cp.no_perf = true;
  cp.swa_full = false;
  cp.kv_unified = unified;
  cp.flash_attn_type = flash < 0 ? LLAMA_FLASH_ATTN_TYPE_AUTO : flash ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  g_flash_seen = -1;
  struct llama_context *ctx = llama_init_from_model(m->model, cp);
  if (!ctx) return throw_msg(env, "XENT_CONTEXT", "llama.cpp could not create a context");
  ContextBox *c = (ContextBox *)calloc(1, sizeof(ContextBox));
  c->ctx = ctx;
  c->owner = m;
  m->contexts++;
  c->n_batch = (int32_t)llama_n_batch(ctx);
  c->n_seq_max = (int32_t)llama_n_seq_max(ctx);
  c->n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(m->model));
  c->flash = flash >= 0 ? flash : g_flash_seen;
  c->batch = llama_batch_init(c->n_batch, 0, c->n_seq_max);
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->turn, NULL);
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

static napi_value ContextInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ContextBox *c = (ContextBox *)get_external(env, argv[0]);
  if (!c || !c->ctx) return throw_msg(env, "XENT_NATIVE", "contextInfo: context handle is invalid or freed");
  napi_value obj;
  CHECK(napi_create_object(env, &obj));
  set_int(env, obj, "nCtx", (int32_t)llama_n_ctx(c->ctx));
  set_int(env, obj, "nCtxSeq", (int32_t)llama_n_ctx_seq(c->ctx));
  set_int(env, obj, "nBatch", c->n_batch);
  set_int(env, obj, "nUbatch", (int32_t)llama_n_ubatch(c->ctx));
  set_int(env, obj, "nSeqMax", c->n_seq_max);
  set_int(env, obj, "flashAttn", c->flash);
  return obj;
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

#include "llama-task.h"
#include "decode.h"

#include "rows-napi.h"

static napi_value Register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, Init_, NULL, NULL, NULL, napi_default, NULL},
      {"cpuBackend", NULL, CpuBackend, NULL, NULL, NULL, napi_default, NULL},
      {"loadModel", NULL, LoadModel, NULL, NULL, NULL, napi_default, NULL},
      {"freeModel", NULL, FreeModel, NULL, NULL, NULL, napi_default, NULL},
      {"modelInfo", NULL, ModelInfo, NULL, NULL, NULL, napi_default, NULL},
      {"tokenize", NULL, Tokenize, NULL, NULL, NULL, napi_default, NULL},
      {"tokenPieces", NULL, TokenPieces, NULL, NULL, NULL, napi_default, NULL},
      {"createContext", NULL, CreateContext, NULL, NULL, NULL, napi_default, NULL},
      {"freeContext", NULL, FreeContext, NULL, NULL, NULL, napi_default, NULL},
      {"contextInfo", NULL, ContextInfo, NULL, NULL, NULL, napi_default, NULL},
      {"decode", NULL, Decode, NULL, NULL, NULL, napi_default, NULL},
      {"rowStats", NULL, RowStats, NULL, NULL, NULL, napi_default, NULL},
      {"llamaLogProbs", NULL, LlamaLogProbs, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_value xent_train_register(napi_env env, napi_value exports); /* native/xent-train.c: exports.train */
  return xent_train_register(env, exports);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Register)
