// libFuzzer target: the XDP program in the kernel (BPF_PROG_TEST_RUN, no
// traffic) against the same source built natively (bpf/xdp_native.h).
// Inputs are tests/bpf/xdp_fuzz_case.h cases, the same as
// xdp_native_fuzzer's, whose corpus (grown with coverage feedback from the
// native build) is the useful input here: libFuzzer cannot see inside the
// kernel, so this target mutates blindly, and its job is the differential
// check. Like tests/bpf/xdp_test.cc, it first moves into the private
// network namespace of tests/bpf/test_netns.h, so that connects can really
// be answered; the native build routes by testing::TestNetnsFib, the model
// of that namespace. For every case, from the same map state:
//   - the kernel and the native build agree on every run's verdict and
//     resulting frame, and on the counters they moved;
//   - the verdict is DROP, PASS or TX; TX only for a valid connect to one
//     of our (address, port) and our MAC, never longer than the request.
// Needs root.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bpf/xdp_loader.h"
#include "bpf/xdp_native.h"
#include "tests/bpf/test_netns.h"
#include "tests/bpf/xdp_fuzz_case.h"

using namespace ringtrack;
using namespace ringtrack::testing;

namespace {

int g_ifindex = 0;
XdpNative* g_native = nullptr;
KernelXdp g_kernel[4];  // by read-only configuration (ConfigIndex)

int ConfigIndex(const XdpCase& c) {
  return (c.connect_in_kernel ? 1 : 0) | (c.xsk_redirect ? 2 : 0);
}

// The kernel program of `c`'s read-only configuration, loaded on first use.
KernelXdp& KernelFor(const XdpCase& c) {
  KernelXdp& k = g_kernel[ConfigIndex(c)];
  if (k.prog != nullptr) return k;
  auto p = XdpProgram::Load(XdpOptions{.connect_in_kernel = c.connect_in_kernel,
                                       .access_capacity = 16,
                                       .xsk_redirect = c.xsk_redirect});
  if (!p.ok()) {
    std::fprintf(stderr, "xdp_frame_fuzzer: %s\n",
                 std::string(p.status().message()).c_str());
    std::exit(1);
  }
  k.prog = std::move(*p);
  SetUpFuzzMaps(*k.prog, g_ifindex);
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_ifindex = EnterTestNetns();
  if (g_ifindex == 0) std::exit(1);
  g_native = new XdpNative(XdpOptions{.access_capacity = 16});
  g_native->SetFibLookup([](bpf_fib_lookup* p, uint32_t) {
    return TestNetnsFib(p, g_ifindex);
  });
  SetUpFuzzMaps(*g_native, g_ifindex);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<XdpCase> c = ParseXdpCase({data, size});
  if (!c) return -1;
  KernelXdp& kernel = KernelFor(*c);
  const std::string diff = CompareXdpCase(kernel, *g_native, *c, g_ifindex);
  if (!diff.empty()) {
    std::fprintf(stderr, "xdp_frame_fuzzer: kernel and native differ: %s\n",
                 diff.c_str());
    std::abort();
  }
  // Both agree; check the kernel's verdict on its own terms.
  std::vector<uint8_t> out;
  kernel.prog->SetClockForTest(c->now);
  absl::StatusOr<int> v = kernel.prog->TestRun(c->frame, &out, g_ifindex);
  if (!v.ok()) return 0;
  if (*v != kXdpDrop && *v != kXdpPass && *v != kXdpTx) std::abort();
  if (*v == kXdpTx) {
    if (!IsValidConnectForUs(c->frame)) std::abort();
    if (out.size() > c->frame.size()) std::abort();
  }
  return 0;
}
