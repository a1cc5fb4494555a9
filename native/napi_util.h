// Small N-API helpers shared by the addon's files (netlink.c, tracer.c, execwatch.c).
#ifndef EGRESSWATCH_NAPI_UTIL_H
#define EGRESSWATCH_NAPI_UTIL_H
#include <stdint.h>
#include <node_api.h>

static inline napi_value make_int(napi_env env, int32_t x) {
  napi_value v;
  napi_create_int32(env, x, &v);
  return v;
}

/** An int32 argument, or `fallback` when it is not a number. */
static inline int32_t arg_int(napi_env env, napi_value v, int32_t fallback) {
  int32_t x;
  return napi_get_value_int32(env, v, &x) == napi_ok ? x : fallback;
}

static inline napi_value make_string(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

#endif
