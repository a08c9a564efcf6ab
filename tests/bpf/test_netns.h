// The private network namespace the XDP tests and the frame fuzzer run in:
// the calling process unshares its network namespace and builds a veth
// pair rt0 (ours: 02:00:00:00:00:bb, 169.254.0.1/16, fd12::1/64) / rt1 (the
// peer: 02:00:00:00:00:aa), static neighbours for the peer's .7/.8/.9/.99,
// a gateway .254 / fd12::fe (02:00:00:00:00:fe) in front of
// 169.254.200.0/24 and fd12:0:0:c8::/64, and forwarding on (the kernel's
// FIB helper answers only there). Nothing leaves the namespace. Needs root.
#ifndef RINGTRACK_TESTS_BPF_TEST_NETNS_H_
#define RINGTRACK_TESTS_BPF_TEST_NETNS_H_

#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ringtrack::testing {

// Returns rt0's ifindex, or 0 (with a message on stderr) on failure.
inline int EnterTestNetns() {
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET) (needs root)");
    return 0;
  }
  std::string setup =
      "ip link set lo up && "
      "ip link add rt0 address 02:00:00:00:00:bb type veth peer name rt1 "
      "address 02:00:00:00:00:aa && "
      "ip link set rt0 up && ip link set rt1 up && "
      "ip addr add 169.254.0.1/16 dev rt0 && "
      "ip addr add fd12::1/64 dev rt0 nodad && ";
  for (const char* last : {"7", "8", "9", "99"}) {
    setup += std::string("ip neigh add 169.254.0.") + last +
             " lladdr 02:00:00:00:00:aa dev rt0 && ip neigh add fd12::" + last +
             " lladdr 02:00:00:00:00:aa dev rt0 && ";
  }
  setup +=
      "ip neigh add 169.254.0.254 lladdr 02:00:00:00:00:fe dev rt0 && "
      "ip neigh add fd12::fe lladdr 02:00:00:00:00:fe dev rt0 && "
      "ip route add 169.254.200.0/24 via 169.254.0.254 dev rt0 && "
      "ip route add fd12:0:0:c8::/64 via fd12::fe dev rt0 && "
      "sysctl -qw net.ipv4.conf.rt0.forwarding=1 "
      "net.ipv6.conf.all.forwarding=1";
  if (std::system(setup.c_str()) != 0) {
    std::fprintf(stderr, "test netns setup failed: %s\n", setup.c_str());
    return 0;
  }
  return static_cast<int>(if_nametoindex("rt0"));
}

// What the kernel's bpf_fib_lookup (BPF_FIB_LOOKUP_OUTPUT) answers in the
// namespace EnterTestNetns builds, for the native build of the XDP program
// (bpf/xdp_native.h), with `rt0` the namespace's rt0 ifindex: success
// toward the static neighbours and through the gateway, out of rt0, with
// rt0's MAC as source; any other destination fails (our own addresses are
// local, the rest of the link has no neighbour, anything else no route).
// Only success and its MACs matter to the program. Keep in step with
// EnterTestNetns: the differential test compares the two.
inline long TestNetnsFib(bpf_fib_lookup* p, int rt0) {
  static const uint8_t kOurs[6] = {0x02, 0, 0, 0, 0, 0xbb};
  static const uint8_t kPeer[6] = {0x02, 0, 0, 0, 0, 0xaa};
  static const uint8_t kGateway[6] = {0x02, 0, 0, 0, 0, 0xfe};
  if (static_cast<int>(p->ifindex) != rt0) return BPF_FIB_LKUP_RET_FWD_DISABLED;
  const uint8_t* mac = nullptr;
  if (p->family == 2 /* AF_INET */) {
    uint8_t a[4];
    std::memcpy(a, &p->ipv4_dst, 4);
    if (a[0] != 169 || a[1] != 254) return BPF_FIB_LKUP_RET_NOT_FWDED;
    if (a[2] == 200) {
      mac = kGateway;
    } else if (a[2] == 0 && (a[3] == 7 || a[3] == 8 || a[3] == 9 || a[3] == 99)) {
      mac = kPeer;
    } else if (a[2] == 0 && a[3] == 254) {
      mac = kGateway;
    } else if (a[2] == 0 && a[3] == 1) {
      return BPF_FIB_LKUP_RET_NOT_FWDED;  // ours: local
    } else {
      return BPF_FIB_LKUP_RET_NO_NEIGH;
    }
  } else if (p->family == 10 /* AF_INET6 */) {
    uint8_t a[16];
    std::memcpy(a, p->ipv6_dst, 16);
    static const uint8_t kC8[8] = {0xfd, 0x12, 0, 0, 0, 0, 0, 0xc8};
    static const uint8_t kLink[8] = {0xfd, 0x12, 0, 0, 0, 0, 0, 0};
    static const uint8_t kHostHigh[7] = {};
    if (std::memcmp(a, kC8, 8) == 0) {
      mac = kGateway;
    } else if (std::memcmp(a, kLink, 8) != 0) {
      return BPF_FIB_LKUP_RET_NOT_FWDED;  // no route (fe80::/64: no neighbour)
    } else if (std::memcmp(a + 8, kHostHigh, 7) != 0) {
      return BPF_FIB_LKUP_RET_NO_NEIGH;
    } else if (a[15] == 0x7 || a[15] == 0x8 || a[15] == 0x9 || a[15] == 0x99) {
      mac = kPeer;
    } else if (a[15] == 0xfe) {
      mac = kGateway;
    } else if (a[15] == 1 || a[15] == 0) {
      return BPF_FIB_LKUP_RET_NOT_FWDED;  // ours, and the anycast fd12::
    } else {
      return BPF_FIB_LKUP_RET_NO_NEIGH;
    }
  } else {
    return BPF_FIB_LKUP_RET_NOT_FWDED;
  }
  std::memcpy(p->dmac, mac, 6);
  std::memcpy(p->smac, kOurs, 6);
  return BPF_FIB_LKUP_RET_SUCCESS;
}

}  // namespace ringtrack::testing

#endif  // RINGTRACK_TESTS_BPF_TEST_NETNS_H_
