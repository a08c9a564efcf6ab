/* bpf/tracker.bpf.c compiled natively (tests and fuzzing only), plus what
 * the harness in bpf/xdp_native.cc needs from this translation unit: the
 * program's map definitions, read back from its own declarations, and
 * setters for its global configuration. No program logic lives here. */
#define RT_XDP_NATIVE 1
#include "bpf/tracker.bpf.c"

/* __uint(name, N) declares a pointer to int[N]; __type(name, T) a T *. */
#define RT_NATIVE_UINT(m, field) ((__u32)(sizeof(*(m).field) / sizeof(int)))
#define RT_NATIVE_MAP(m, value_size)                                   \
  {&(m), #m, RT_NATIVE_UINT(m, type), (__u32)sizeof(*(m).key), \
   (__u32)(value_size), RT_NATIVE_UINT(m, max_entries)}

const struct rt_native_map_def rt_native_maps[] = {
    RT_NATIVE_MAP(rt_dests, sizeof(*rt_dests.value)),
    RT_NATIVE_MAP(rt_ifmacs, sizeof(*rt_ifmacs.value)),
    RT_NATIVE_MAP(rt_keys, sizeof(*rt_keys.value)),
    RT_NATIVE_MAP(rt_counters, sizeof(*rt_counters.value)),
    RT_NATIVE_MAP(rt_rate, sizeof(*rt_rate.value)),
    RT_NATIVE_MAP(rt_access, sizeof(__u32)), /* holds a map (an fd) */
    RT_NATIVE_MAP(rt_xsks, sizeof(*rt_xsks.value)),
};
const int rt_native_map_count =
    (int)(sizeof(rt_native_maps) / sizeof(rt_native_maps[0]));

/* Unevaluated (sizeof only): the template is a type, not an object. */
#define RT_NATIVE_INNER (*(struct rt_access_inner *)0)
const struct rt_native_map_def rt_native_access_inner = {
    0, "rt_access_inner", RT_NATIVE_UINT(RT_NATIVE_INNER, type),
    RT_NATIVE_UINT(RT_NATIVE_INNER, key_size),
    RT_NATIVE_UINT(RT_NATIVE_INNER, value_size),
    RT_NATIVE_UINT(RT_NATIVE_INNER, max_entries)};

void rt_native_set_rodata(__u32 connect_in_kernel, __u32 xsk_redirect) {
  rt_connect_in_kernel = connect_in_kernel;
  rt_xsk_redirect = xsk_redirect;
}

void rt_native_set_rate_config(__u64 config) { rt_rate_config = config; }

void rt_native_set_clock_offset_ns(__s64 offset) { rt_clock_offset_ns = offset; }

int rt_native_run(struct xdp_md *ctx) { return rt_xdp(ctx); }
