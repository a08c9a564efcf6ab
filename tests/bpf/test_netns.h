// The private network namespace the XDP tests and the frame fuzzer run in:
// the calling process unshares its network namespace and builds a veth
// pair rt0 (ours: 02:00:00:00:00:bb, 169.254.0.1/16, fd12::1/64) / rt1 (the
// peer: 02:00:00:00:00:aa), static neighbours for the peer's .7/.8/.9/.99,
// a gateway .254 / fd12::fe (02:00:00:00:00:fe) in front of
// 169.254.200.0/24 and fd12:0:0:c8::/64, and forwarding on (the kernel's
// FIB helper answers only there). Nothing leaves the namespace. Needs root.
#ifndef RINGTRACK_TESTS_BPF_TEST_NETNS_H_
#define RINGTRACK_TESTS_BPF_TEST_NETNS_H_

#include <net/if.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
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

}  // namespace ringtrack::testing

#endif  // RINGTRACK_TESTS_BPF_TEST_NETNS_H_
