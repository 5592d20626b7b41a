/*
 * memory: give freed memory back to the system (glibc malloc).
 *
 * Each reload reads the geo databases, builds tries and throws the old ones
 * away. glibc raises its mmap threshold after large blocks are freed (up to
 * 32 MiB), so later blocks of that size come from the heap and its per-thread
 * arenas, where freed pages stay resident: RSS climbed by 30-50 MB a reload.
 * tune() pins the threshold (setting it turns the dynamic adjustment off) so
 * large blocks are mapped and unmapped on free; trim() returns the free pages
 * of every arena (malloc_trim also madvises free pages inside the heap).
 *
 * JS API (Node-API, C): tune(mmapThresholdBytes) -> bool, trim() -> bool.
 * Elsewhere than glibc both do nothing and return false.
 */
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value boolean(napi_env env, int value) {
  napi_value v;
  napi_get_boolean(env, value != 0, &v);
  return v;
}

static napi_value js_tune(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t threshold = 128 * 1024;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1) napi_get_value_int32(env, argv[0], &threshold);
#ifdef __GLIBC__
  return boolean(env, mallopt(M_MMAP_THRESHOLD, threshold));
#else
  (void)threshold;
  return boolean(env, 0);
#endif
}

static napi_value js_trim(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return boolean(env, malloc_trim(0));
#else
  return boolean(env, 0);
#endif
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tune", NULL, js_tune, NULL, NULL, NULL, napi_default, NULL},
      {"trim", NULL, js_trim, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
