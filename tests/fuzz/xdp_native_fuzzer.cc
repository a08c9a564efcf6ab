// libFuzzer target: the XDP program (bpf/tracker.bpf.c) built natively with
// the BPF helpers stubbed (bpf/xdp_native.h), so libFuzzer sees its
// branches, and AddressSanitizer its every access. Inputs are
// tests/bpf/xdp_fuzz_case.h cases (configuration bytes, then a frame), the
// same as xdp_frame_fuzzer's, which checks this build against the kernel.
// Routing is the test namespace's (testing::TestNetnsFib); no root needed.
// For every run of a case:
//   - the verdict is DROP, PASS or TX, and at most one counter moves;
//   - TX only when connects are answered in the kernel, for a valid connect
//     to one of our (address, port) and our MAC, counted as tx_connect;
//     the reply is no longer than the request and is a BEP 15 connect
//     response with the request's transaction ID and a connection ID that
//     core's ConnectionIds accepts for the sender now;
//   - any other verdict leaves the frame as it came.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bpf/xdp_native.h"
#include "core/udp/protocol.h"
#include "core/base/wire.h"
#include "tests/bpf/test_netns.h"
#include "tests/bpf/xdp_fuzz_case.h"

using namespace ringtrack;
using namespace ringtrack::testing;

namespace {

constexpr int kIfindex = 2;  // any: the routing model takes it as rt0
XdpNative* g_native = nullptr;

[[noreturn]] void Fail(const std::string& why, std::span<const uint8_t> out) {
  std::fprintf(stderr, "xdp_native_fuzzer: %s\n  out %s\n", why.c_str(),
               Hex(out).c_str());
  std::abort();
}

// The sender of a frame the program answered (IsValidConnectForUs holds).
PeerEndpoint SenderOf(std::span<const uint8_t> f, size_t* udp_off) {
  size_t off = 14;
  uint16_t proto = wire::LoadBe16(&f[12]);
  if (proto == 0x8100 || proto == 0x88a8) {
    proto = wire::LoadBe16(&f[16]);
    off = 18;
  }
  if (proto == 0x0800) {
    *udp_off = off + 20;
    return PeerEndpoint::V4(wire::LoadBe32(&f[off + 12]),
                            wire::LoadBe16(&f[off + 20]));
  }
  *udp_off = off + 40;
  return PeerEndpoint::V6(&f[off + 8], wire::LoadBe16(&f[off + 40]));
}

void CheckReply(const XdpCase& c, std::span<const uint8_t> in,
                std::span<const uint8_t> out) {
  if (!c.connect_in_kernel) Fail("TX with in-kernel connects off", out);
  if (!IsValidConnectForUs(in)) Fail("TX for a frame that is no connect to us", out);
  if (out.size() > in.size()) Fail("reply longer than the request", out);
  size_t udp = 0;
  const PeerEndpoint from = SenderOf(in, &udp);
  if (out.size() != udp + 8 + RT_CONNECT_RESPONSE_SIZE) Fail("reply size", out);
  const uint8_t* p = &out[udp + 8];
  if (wire::LoadBe32(p) != RT_ACTION_CONNECT ||
      wire::LoadBe32(p + 4) != wire::LoadBe32(&in[udp + 8 + RT_OFF_TRANSACTION_ID])) {
    Fail("reply action or transaction ID", out);
  }
  if (!FuzzIds().Verify(wire::LoadBe64(p + 8), from, c.now)) {
    Fail("reply's connection ID does not verify", out);
  }
  if (wire::LoadBe16(&out[udp + 4]) != 8 + RT_CONNECT_RESPONSE_SIZE ||
      wire::LoadBe16(&out[udp + 2]) != from.port) {
    Fail("reply's UDP header", out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_native = new XdpNative(XdpOptions{.access_capacity = 16});
  g_native->SetFibLookup([](bpf_fib_lookup* p, uint32_t) {
    return TestNetnsFib(p, kIfindex);
  });
  SetUpFuzzMaps(*g_native, kIfindex);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<XdpCase> c = ParseXdpCase({data, size});
  if (!c) return -1;
  XdpNative& n = *g_native;
  n.SetReadOnlyConfig(c->connect_in_kernel, c->xsk_redirect);
  n.SetRateLimit(c->pps, c->burst);
  n.SetAccessList(FuzzAccessList(c->access));
  n.ClearRateLimiter();
  n.SetClockForTest(c->now);
  std::vector<uint8_t> out;
  for (int run = 0; run < c->runs; ++run) {
    const auto before = n.Counters();
    const int v = n.Run(c->frame, &out, kIfindex);
    const auto after = n.Counters();
    int moved = 0;
    for (int i = 0; i < RT_XDP_COUNTER_MAX; ++i) {
      if (after[i] != before[i]) moved += static_cast<int>(after[i] - before[i]);
    }
    if (moved > 1) Fail("more than one counter moved", out);
    const bool tx_counted = after[RT_XDP_TX_CONNECT] != before[RT_XDP_TX_CONNECT];
    if (v == kXdpTx) {
      if (!tx_counted) Fail("TX not counted as tx_connect", out);
      CheckReply(*c, c->frame, out);
    } else if (v == kXdpDrop || v == kXdpPass) {
      if (tx_counted) Fail("tx_connect counted without TX", out);
      if (!std::equal(out.begin(), out.end(), c->frame.begin(), c->frame.end())) {
        Fail("a frame not transmitted was changed", out);
      }
    } else {
      Fail("verdict " + std::to_string(v), out);
    }
  }
  return 0;
}
