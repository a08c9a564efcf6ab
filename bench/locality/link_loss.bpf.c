// Random packet loss on bench/locality/download_bench.py's slow link. The
// kernel here has no netem (CONFIG_NET_SCH_NETEM is off), so the slow
// link is a tbf rate limit plus this tc egress program, which drops
// LOSS_PER_MILLION of every million packets at random (compiled in by the
// bench with -DLOSS_PER_MILLION=N).
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#ifndef LOSS_PER_MILLION
#define LOSS_PER_MILLION 10000
#endif

SEC("tc")
int link_loss(struct __sk_buff *skb) {
  return bpf_get_prandom_u32() % 1000000 < LOSS_PER_MILLION ? TC_ACT_SHOT
                                                             : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
