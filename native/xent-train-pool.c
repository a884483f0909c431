/*
 * The training kernels' persistent thread pool: xt_set_threads(n) fixes the count, the
 * workers (n − 1 of them; the calling thread is part 0) start on first use and stay, so a
 * kernel call costs a wake-up, not a thread creation. xt_run(fn, arg) is a fork-join:
 * every thread runs fn(arg, part, nparts) and the call returns when all have finished.
 *
 * Waiting: a worker spins briefly on the generation counter (a training step issues its
 * kernels back to back), then sleeps on a futex; the caller does the same on the count of
 * unfinished parts. The machine may be shared with other work, so spinning stays short.
 *
 * Calls are serialised by the N-API layer (one kernel at a time per process); fn must not
 * call xt_run itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "xent-train.h"

#define SPIN_ROUNDS 4000

static struct {
  _Atomic int generation; /* bumped per task: the workers' wake-up word */
  _Atomic int pending;    /* parts not yet finished */
  xt_task_fn fn;
  void *arg;
  int nparts;
  int started;  /* workers running */
  int threads;  /* the count xt_set_threads chose */
  pthread_t tid[XT_MAX_THREADS];
  int born[XT_MAX_THREADS];
} P = {.threads = 1};

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic int *word, int val) {
#ifdef __linux__
  syscall(SYS_futex, (int *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
  (void)word;
  (void)val;
  sched_yield();
#endif
}

static void futex_wake(_Atomic int *word) {
#ifdef __linux__
  syscall(SYS_futex, (int *)word, FUTEX_WAKE_PRIVATE, XT_MAX_THREADS, NULL, NULL, 0);
#else
  (void)word;
#endif
}

/* Waits until *word != val: spins, then sleeps. */
static int wait_change(_Atomic int *word, int val) {
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    const int v = atomic_load_explicit(word, memory_order_acquire);
    if (v != val) return v;
    cpu_relax();
  }
  for (;;) {
    const int v = atomic_load_explicit(word, memory_order_acquire);
    if (v != val) return v;
    futex_wait(word, val);
  }
}

static void *worker(void *p) {
  const int part = (int)(intptr_t)p;
  /* the generation before this worker's first task: read by its creator, which bumps it only
     after creating the worker (the worker itself may start after the bump) */
  int seen = P.born[part];
  for (;;) { /* runs until the process exits */
    seen = wait_change(&P.generation, seen);
    if (part < P.nparts) {
      P.fn(P.arg, part, P.nparts);
      if (atomic_fetch_sub_explicit(&P.pending, 1, memory_order_acq_rel) == 1) futex_wake(&P.pending);
    }
  }
  return NULL;
}

int xt_threads(void) { return P.threads; }

void xt_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > XT_MAX_THREADS) n = XT_MAX_THREADS;
  P.threads = n;
}

static void ensure_workers(int n) {
  while (P.started < n - 1) {
    const int part = P.started + 1;
    P.born[part] = atomic_load(&P.generation);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    const int rc = pthread_create(&P.tid[part], &at, worker, (void *)(intptr_t)part);
    pthread_attr_destroy(&at);
    if (rc != 0) {
      P.threads = P.started + 1; /* no more threads to be had: run with those that exist */
      return;
    }
    P.started++;
  }
}

void xt_run(xt_task_fn fn, void *arg) {
  int n = P.threads;
  if (n > 1) ensure_workers(n);
  n = P.threads < P.started + 1 ? P.threads : P.started + 1;
  if (n <= 1) {
    fn(arg, 0, 1);
    return;
  }
  P.fn = fn;
  P.arg = arg;
  P.nparts = n;
  atomic_store_explicit(&P.pending, n - 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&P.generation, 1, memory_order_release);
  futex_wake(&P.generation);
  fn(arg, 0, n);
  int left;
  while ((left = atomic_load_explicit(&P.pending, memory_order_acquire)) != 0) wait_change(&P.pending, left);
}

int64_t xt_range(int64_t n, int64_t align, int part, int nparts) {
  const int64_t blocks = (n + align - 1) / align;
  const int64_t lo = blocks * part / nparts * align;
  return lo < n ? lo : n;
}

static struct {
  float *p;
  size_t floats;
} scratch[XT_SLOTS];

_Atomic int xt_out_of_memory;

float *xt_scratch(int slot, size_t floats) {
  if (scratch[slot].floats < floats) {
    free(scratch[slot].p);
    /* round up to whole cache lines; aligned_alloc needs a multiple of the alignment */
    const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
    scratch[slot].p = (float *)aligned_alloc(64, bytes);
    scratch[slot].floats = scratch[slot].p ? floats : 0;
    if (!scratch[slot].p) atomic_store(&xt_out_of_memory, 1);
  }
  return scratch[slot].p;
}
