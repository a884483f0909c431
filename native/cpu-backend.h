/*
 * Which of node-llama-cpp's CPU backend builds (libggml-cpu-<variant>.so: sse42, haswell,
 * skylakex, icelake, zen4, …) this machine runs, without trying every one at each start.
 *
 * ggml_backend_load_all_from_path() scores every variant in the directory (a dlopen, a call
 * of its ggml_backend_score(), a dlclose each: 14–20 ms for node-llama-cpp's 14 x64 builds)
 * and keeps the best. The score of a variant depends only on the CPU's features as cpuid
 * reports them (ggml-cpu/arch/x86/cpu-feats.cpp), so the choice made once holds for as long
 * as those features are the same: scripts/build-native.mjs records the chosen module with
 * cpu_signature() at install, and init() loads that module alone when the signature still
 * matches. ggml_backend_load() itself refuses a module whose score is 0 here (load_backend
 * in ggml-backend-reg.cpp), and init() then falls back to the full scan.
 *
 * Included once, by xent-llama.c.
 */
#ifndef XENT_CPU_BACKEND_H
#define XENT_CPU_BACKEND_H

#include <dlfcn.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* The cpuid words the variants' scores read (leaves 0, 1, 7.0, 7.1, 0x80000001) and the
   OS's enabled register state (XCR0), in hex; "" where there is no cpuid (the full scan
   then always runs). */
static void cpu_signature(char *out, size_t cap) {
  out[0] = '\0';
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0, max = 0;
  unsigned w[14] = {0};
  if (!__get_cpuid(0, &max, &b, &c, &d)) return;
  w[0] = b, w[1] = d, w[2] = c; /* vendor */
  if (__get_cpuid(1, &a, &b, &c, &d)) w[3] = c, w[4] = d;
  if (max >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) w[5] = b, w[6] = c, w[7] = d;
  if (max >= 7 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) w[8] = a;
  if (__get_cpuid(0x80000001u, &a, &b, &c, &d)) w[9] = c, w[10] = d;
  if (w[3] & (1u << 27)) { /* OSXSAVE: XCR0 says which vector state the OS saves */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    w[11] = lo, w[12] = hi;
  }
  w[13] = 1; /* format version */
  size_t at = 0;
  for (int i = 0; i < 14 && at + 9 < cap; i++) at += (size_t)snprintf(out + at, cap - at, "%08x", w[i]);
#endif
}

/* The file the CPU backend was loaded from ("" if none or unknown). */
static void cpu_module_path(char *out, size_t cap) {
  out[0] = '\0';
  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!cpu) return;
  void *fn = ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(cpu), "ggml_threadpool_new");
  Dl_info info;
  if (fn && dladdr(fn, &info) && info.dli_fname) snprintf(out, cap, "%s", info.dli_fname);
}

/* Loads the CPU backend: `module` alone when given and usable here, else every backend in
   `dir` (llama.cpp's own choice). */
static void load_backends(const char *dir, const char *module) {
  if (module && module[0] && access(module, R_OK) == 0 && ggml_backend_load(module) &&
      ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU))
    return;
  ggml_backend_load_all_from_path(dir);
}

/* cpuBackend() -> { signature, module }: this machine's cpu_signature() and the module the
   CPU backend came from (after init). */
static napi_value CpuBackend(napi_env env, napi_callback_info info) {
  (void)info;
  char sig[160], path[4096];
  cpu_signature(sig, sizeof sig);
  cpu_module_path(path, sizeof path);
  napi_value o, s, p;
  CHECK(napi_create_object(env, &o));
  CHECK(napi_create_string_utf8(env, sig, NAPI_AUTO_LENGTH, &s));
  CHECK(napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &p));
  CHECK(napi_set_named_property(env, o, "signature", s));
  CHECK(napi_set_named_property(env, o, "module", p));
  return o;
}

#endif
