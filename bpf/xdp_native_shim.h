/* The BPF side of the native build of bpf/tracker.bpf.c (tests and fuzzing
 * only; see bpf/xdp_native.h). The program includes this header instead of
 * libbpf's bpf_helpers.h when RT_XDP_NATIVE is defined, and then compiles
 * as an ordinary C object:
 *   - map definitions keep libbpf's __uint/__type/__array shapes, so the
 *     program's own declarations (type, key and value sizes, capacity) are
 *     what bpf/xdp_native.c reads back;
 *   - each helper the program calls becomes a call into bpf/xdp_native.cc,
 *     which keeps the maps as plain C++ structures, a settable clock, and a
 *     routing table given by the test;
 *   - the context has 64-bit data pointers (the kernel's are 32-bit
 *     offsets into its own address space);
 *   - the loader's read-only configuration is a plain variable, so one
 *     process can run the program under every configuration.
 * The upper half (types and functions) is also what the C++ side includes;
 * the helper macros exist only in the program's own translation unit. */
#ifndef RINGTRACK_BPF_XDP_NATIVE_SHIM_H_
#define RINGTRACK_BPF_XDP_NATIVE_SHIM_H_

#include <linux/bpf.h>
#include <linux/types.h>

/* The native xdp_md: frame pointers as the program casts them. */
struct rt_native_xdp_md {
  __u64 data;
  __u64 data_end;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
};

/* One map as the program declares it. */
struct rt_native_map_def {
  void *map; /* the program's map object: the key helpers are called with */
  const char *name;
  __u32 type; /* BPF_MAP_TYPE_* */
  __u32 key_size;
  __u32 value_size;
  __u32 max_entries;
};

#ifdef __cplusplus
extern "C" {
#endif

/* Defined in bpf/xdp_native.c, next to the program. */
extern const struct rt_native_map_def rt_native_maps[];
extern const int rt_native_map_count;
/* The access list template (rt_access_inner): key and value sizes. */
extern const struct rt_native_map_def rt_native_access_inner;
void rt_native_set_rodata(__u32 connect_in_kernel, __u32 xsk_redirect);
void rt_native_set_rate_config(__u64 config);
void rt_native_set_clock_offset_ns(__s64 offset);
int rt_native_run(struct rt_native_xdp_md *ctx);

/* The helpers, defined in bpf/xdp_native.cc with the kernel's semantics. */
void *rt_native_map_lookup_elem(void *map, const void *key);
long rt_native_map_update_elem(void *map, const void *key, const void *value,
                               __u64 flags);
long rt_native_redirect_map(void *map, __u64 key, __u64 flags);
long rt_native_xdp_adjust_tail(struct rt_native_xdp_md *ctx, int delta);
long rt_native_fib_lookup(void *ctx, struct bpf_fib_lookup *params, int plen,
                          __u32 flags);
__u64 rt_native_ktime_get_ns(void);

#ifdef __cplusplus
}
#endif

#ifdef RT_XDP_NATIVE /* the program's translation unit only */
#define SEC(name)
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
/* Read-only data is set by the harness between runs (rt_native_set_rodata). */
#define RT_RODATA volatile
#define xdp_md rt_native_xdp_md
#define bpf_map_lookup_elem(map, key) \
  rt_native_map_lookup_elem((void *)(map), (key))
#define bpf_map_update_elem(map, key, value, flags) \
  rt_native_map_update_elem((void *)(map), (key), (value), (flags))
#define bpf_redirect_map(map, key, flags) \
  rt_native_redirect_map((void *)(map), (key), (flags))
#define bpf_xdp_adjust_tail(ctx, delta) rt_native_xdp_adjust_tail((ctx), (delta))
#define bpf_fib_lookup(ctx, params, plen, flags) \
  rt_native_fib_lookup((ctx), (params), (plen), (flags))
#define bpf_ktime_get_ns() rt_native_ktime_get_ns()
#endif /* RT_XDP_NATIVE */

#endif /* RINGTRACK_BPF_XDP_NATIVE_SHIM_H_ */
