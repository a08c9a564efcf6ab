// libFuzzer target: the XDP program over arbitrary frames, through
// BPF_PROG_TEST_RUN (no traffic). Like tests/bpf/xdp_test.cc, it first moves
// into the private network namespace of tests/bpf/test_netns.h, so that
// connects can really be answered. For every frame:
// the verdict is DROP, PASS or TX; TX only for a valid connect to one of
// our (address, port) and our MAC; and the program never emits more bytes
// than it received. Needs root.
#include <net/if.h>
#include <sched.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "bpf/xdp_loader.h"
#include "core/connection_id.h"
#include "core/protocol.h"
#include "core/wire.h"
#include "tests/bpf/test_netns.h"

using namespace ringtrack;

namespace {

constexpr int kXdpDrop = 1, kXdpPass = 2, kXdpTx = 3;
constexpr uint16_t kPort = 6969;
const uint8_t kOurMac[6] = {0x02, 0, 0, 0, 0, 0xbb};
XdpProgram* g_prog = nullptr;
int g_ifindex = 0;

// True iff `f` is, by our own reading, a BEP 15 connect with the right
// magic to 169.254.0.1 or fd12::1 port 6969, for our MAC.
bool IsValidConnectForUs(const uint8_t* f, size_t n) {
  if (n < 14 || std::memcmp(f, kOurMac, 6) != 0) return false;
  size_t off = 12;
  uint16_t proto = wire::LoadBe16(f + off);
  off += 2;
  if (proto == 0x8100 || proto == 0x88a8) {
    if (n < off + 4) return false;
    proto = wire::LoadBe16(f + off + 2);
    off += 4;
  }
  size_t udp;
  if (proto == 0x0800) {
    if (n < off + 20 || f[off] != 0x45 || f[off + 9] != 17) return false;
    if (wire::LoadBe16(f + off + 6) & 0x3fff) return false;
    const uint8_t ours[4] = {169, 254, 0, 1};
    if (std::memcmp(f + off + 16, ours, 4) != 0) return false;
    udp = off + 20;
  } else if (proto == 0x86dd) {
    if (n < off + 40 || f[off + 6] != 17) return false;
    uint8_t ours[16] = {0xfd, 0x12};
    ours[15] = 1;
    if (std::memcmp(f + off + 24, ours, 16) != 0) return false;
    udp = off + 40;
  } else {
    return false;
  }
  if (n < udp + 8 || wire::LoadBe16(f + udp + 2) != kPort) return false;
  const size_t ulen = wire::LoadBe16(f + udp + 4);
  if (ulen < 8 + 16 || udp + ulen > n) return false;
  const uint8_t* p = f + udp + 8;
  return wire::LoadBe64(p) == protocol::kProtocolMagic &&
         wire::LoadBe32(p + 8) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_ifindex = testing::EnterTestNetns();
  if (g_ifindex == 0) std::exit(1);
  auto p = XdpProgram::Load(XdpOptions{.rate_limit_pps = 1000000});
  if (!p.ok()) {
    std::fprintf(stderr, "xdp_frame_fuzzer: %s\n",
                 std::string(p.status().message()).c_str());
    std::exit(1);
  }
  g_prog = p->release();
  std::vector<XdpDest> dests(2);
  dests[0].addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 0, 1};
  dests[1].addr = {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  dests[0].port = dests[1].port = kPort;
  if (!g_prog->SetDestinations(dests).ok() ||
      !g_prog->SetInterfaceMac(g_ifindex, {0x02, 0, 0, 0, 0, 0xbb}).ok()) {
    std::exit(1);
  }
  const uint32_t now = 1'800'000'000;
  g_prog->SetClockForTest(now);
  static ConnectionIds ids(MasterKey{1, 2}, now);
  if (!g_prog->UpdateKeys(ids, now).ok()) std::exit(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 14 || size > 4000) return -1;  // the kernel refuses these
  std::vector<uint8_t> out;
  absl::StatusOr<int> v = g_prog->TestRun({data, size}, &out, g_ifindex);
  if (!v.ok()) return 0;
  if (*v != kXdpDrop && *v != kXdpPass && *v != kXdpTx) std::abort();
  if (*v == kXdpTx) {
    if (!IsValidConnectForUs(data, size)) std::abort();
    if (out.size() > size) std::abort();
  }
  return 0;
}
