/*
 * xent's native training kernels: the compute core of the LSTM trainer (and of a fused
 * linear + cross-entropy) in C, with AVX2 + FMA and AVX-512 paths beside a plain scalar
 * reference, on a persistent thread pool. Compiled into build/native/xent-llama.node with
 * the evaluation binding (scripts/build-native.mjs) but independent of llama.cpp:
 * native/xent-llama.c's module init calls xent_train_register, which adds `train` to the
 * exports. The WebAssembly kernels (src/kernels/assembly/) stay the portable path;
 * src/kernels/native-train.ts is the typed TypeScript wrapper.
 *
 * Every function is synchronous and works in place on caller-provided typed arrays (plain,
 * or views into a WebAssembly.Memory, shared or not): no copies. Sizes are validated here
 * (errors carry `code` = invalid_argument | shape_mismatch | index_out_of_range, `arg`, and a
 * message naming the function, the argument and the shape). Letters: N rows, V vocabulary,
 * D (= H) hidden width of the output layer, B batch, T time, H hidden, G = 4H. Row-major.
 *
 *   info() -> { isa, available, refused, threads }     the implementation in use and why
 *       any wider one was refused (self-check: native/xent-train-select.c)
 *   setIsa(name) -> previous; setThreads(n) -> previous   (1 … 64 threads, default 1)
 *   sgemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias|null)
 *       C[M, N] = (accumulate ? C : 0) + bias[n] + Σ_k A(m, k)·B(k, n);
 *       A(m, k) = transA ? A[k·lda + m] : A[m·lda + k]; B(k, n) = transB ? B[n·ldb + k] : B[k·ldb + n]
 *   ceRows(z, V, targets, eps, ignoreIndex, scale, grad, lossOut, ceOut)    the trainer's rows:
 *       per row n of z [N, V] (N = targets.length): ceOut[n] = lse − z_y, lossOut[n] =
 *       (1 − ε)·ce + ε·(lse − mean z) (float64; 0 for ignored rows); with grad, z becomes
 *       scale·(softmax(z) − (1 − ε)·onehot(y) − ε/V) (zeros for ignored rows)
 *   ceStats(z, V, targets, ignoreIndex, weight|null, stats)   stats [N, 4] = max, log Σ exp(z − max),
 *       z_y, Σ w·z per row (zeros for ignored rows)
 *   ceGrad(z, V, targets, ignoreIndex, weight|null, stats, alpha, beta, gamma)   z ←
 *       α_n·softmax(z) − γ_n·w − β_n·onehot(y) (alpha, beta, gamma float64 [N])
 *   lceForward(h, w, bias|null, targets, ignoreIndex, weight|null, N, D, V, vb, stats)
 *       ceStats of Z = h·wᵀ + bias (h [N, D], w [V, D]) without holding Z: vb vocabulary rows at a time
 *   lceBackward(h, w, bias, targets, ignoreIndex, weight, N, D, V, vb, stats, alpha, beta, gamma,
 *       dh|null, dw|null, db|null, accumulate)   ceGrad of Z, block by block, through the
 *       layer: dh [N, D] (+)= dZ·w, dw [V, D] (+)= dZᵀ·h, db [V] (+)= Σ_n dZ
 *   lstmForward(xg, wHh, h, c, act, B, H, T)     xg, act [T·B, G]; h, c [(T+1)·B, H] (state 0 first)
 *   lstmBackward(act, c, dhs, wHh, dz, dh, dc, B, H, T)   dhs [T·B, H], dz [T·B, G]; dh, dc [B, H]:
 *       in, the gradient into the last state (zeros for none); out, d loss / d h_0 and d c_0
 *   colSum(a, M, N, out, accumulate)   out[n] (+)= Σ_m a[m, n]
 *   sumSq(x) -> Σ x² (float64)          scale(x, k): x ← k·x
 *   adam(p, g, m, v, stepSize, beta1, beta2, eps, bc2Sqrt, decay, l2)   in place, the formulas
 *       of src/train/adam.ts: θ ← θ·decay; g' = g + l2·θ; m ← β1·m + (1 − β1)·g';
 *       v ← β2·v + (1 − β2)·g'²; θ ← θ − stepSize·m / (√v / bc2Sqrt + eps)
 * The formulas, the blocking and the threads: xent-train-ops.c, -gemm.c, -gemm-x86.c, -pool.c.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xent-train.h"

/* One kernel call at a time per process (the pool is not re-entrant; worker_threads may each load the addon). */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
  napi_env env;
  const char *fn;
  napi_value argv[20];
  size_t argc;
} args_t;

static napi_value fail(args_t *a, const char *code, const char *arg, const char *fmt, ...) {
  char msg[512];
  int len = snprintf(msg, sizeof msg, "%s: ", a->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + len, sizeof msg - (size_t)len, fmt, ap);
  va_end(ap);
  napi_value m, c, err, v;
  napi_create_string_utf8(a->env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(a->env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(a->env, c, m, &err);
  if (arg) {
    napi_create_string_utf8(a->env, arg, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(a->env, err, "arg", v);
  }
  napi_create_string_utf8(a->env, a->fn, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(a->env, err, "fn", v);
  napi_throw(a->env, err);
  return NULL;
}

static int start(args_t *a, napi_env env, napi_callback_info info, const char *fn, size_t want) {
  a->env = env;
  a->fn = fn;
  a->argc = sizeof a->argv / sizeof a->argv[0];
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return 1;
  if (a->argc < want) {
    fail(a, "invalid_argument", NULL, "expects %zu arguments, got %zu", want, a->argc);
    return 1;
  }
  xt_select();
  return 0;
}

static int is_null(args_t *a, int i) {
  napi_valuetype t;
  return napi_typeof(a->env, a->argv[i], &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

static const char *type_name(napi_typedarray_type t) {
  return t == napi_float32_array ? "Float32Array" : t == napi_float64_array ? "Float64Array" : "Int32Array";
}

/* A typed array of the given type (or null when optional): its data and length in elements. */
static int typed(args_t *a, int i, const char *name, napi_typedarray_type want, int optional, void **data, size_t *n) {
  *data = NULL;
  *n = 0;
  if (optional && is_null(a, i)) return 0;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  bool is = false;
  napi_is_typedarray(a->env, a->argv[i], &is);
  if (!is || napi_get_typedarray_info(a->env, a->argv[i], &t, n, data, &ab, &off) != napi_ok || t != want) {
    fail(a, "invalid_argument", name, "%s must be a %s%s", name, type_name(want), optional ? " or null" : "");
    return 1;
  }
  return 0;
}
#define F32(i, name, opt, p, n) typed(&a, i, name, napi_float32_array, opt, (void **)(p), n)
#define F64(i, name, opt, p, n) typed(&a, i, name, napi_float64_array, opt, (void **)(p), n)
#define I32(i, name, p, n) typed(&a, i, name, napi_int32_array, 0, (void **)(p), n)

static int number(args_t *a, int i, const char *name, double *out) {
  if (napi_get_value_double(a->env, a->argv[i], out) != napi_ok) {
    fail(a, "invalid_argument", name, "%s must be a number", name);
    return 1;
  }
  return 0;
}

/* An integer in [lo, hi]. */
static int integer(args_t *a, int i, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  double d;
  if (number(a, i, name, &d)) return 1;
  if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d) {
    fail(a, "invalid_argument", name, "%s must be an integer in [%lld, %lld], got %.17g", name, (long long)lo,
         (long long)hi, d);
    return 1;
  }
  *out = (int64_t)d;
  return 0;
}

static int boolean(args_t *a, int i, const char *name, int *out) {
  bool b;
  if (napi_get_value_bool(a->env, a->argv[i], &b) != napi_ok) {
    fail(a, "invalid_argument", name, "%s must be a boolean", name);
    return 1;
  }
  *out = b;
  return 0;
}

/* Exactly `want` elements. */
static int length_is(args_t *a, const char *name, size_t have, int64_t want, const char *shape) {
  if ((int64_t)have != want) {
    fail(a, "shape_mismatch", name, "%s has %zu elements; %s needs %lld", name, have, shape, (long long)want);
    return 1;
  }
  return 0;
}

/* A rows × cols matrix read with row stride ld: ld ≥ cols and (rows − 1)·ld + cols elements. */
static int strided(args_t *a, const char *name, size_t have, int64_t rows, int64_t cols, int64_t ld, const char *ldname) {
  if (rows == 0 || cols == 0) return 0;
  if (ld < cols) {
    fail(a, "invalid_argument", ldname, "%s = %lld is less than the %lld columns %s has", ldname, (long long)ld,
         (long long)cols, name);
    return 1;
  }
  const int64_t need = (rows - 1) * ld + cols;
  if ((int64_t)have < need) {
    fail(a, "shape_mismatch", name, "%s has %zu elements; [%lld, %lld] with %s = %lld needs %lld", name, have,
         (long long)rows, (long long)cols, ldname, (long long)ld, (long long)need);
    return 1;
  }
  return 0;
}

/* Two regions of memory that must not overlap (an output and anything else). */
static int apart(args_t *a, const char *n1, const void *p1, size_t b1, const char *n2, const void *p2, size_t b2) {
  const char *x = (const char *)p1, *y = (const char *)p2;
  if (p1 && p2 && b1 && b2 && x < y + b2 && y < x + b1) {
    fail(a, "invalid_argument", n1, "%s and %s overlap in memory; %s must not alias another argument", n1, n2, n1);
    return 1;
  }
  return 0;
}

/* Targets in [0, V) or equal to ignoreIndex. */
static int targets_ok(args_t *a, const int32_t *t, size_t n, int64_t V, int32_t ignore) {
  for (size_t r = 0; r < n; r++)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= V)) {
      fail(a, "index_out_of_range", "targets", "targets[%zu] = %d is out of range [0, %lld) and is not ignoreIndex %d",
           r, t[r], (long long)V, ignore);
      return 1;
    }
  return 0;
}

static napi_value finish(args_t *a, napi_value result) {
  if (xt_out_of_memory) {
    xt_out_of_memory = 0;
    return fail(a, "invalid_argument", NULL, "out of memory for the kernel's scratch buffers");
  }
  return result;
}

#define BEGIN(name, nargs)                              \
  args_t a;                                             \
  if (start(&a, env, info, name, nargs)) return NULL;
#define CALL(stmt)                  \
  do {                              \
    pthread_mutex_lock(&g_lock);    \
    stmt;                           \
    pthread_mutex_unlock(&g_lock);  \
  } while (0)
#define MAXDIM (((int64_t)1 << 31) - 1)

#include "xent-train-napi.inc"
