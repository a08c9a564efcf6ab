// The native build of the XDP program (bpf/xdp_native.h) against the
// kernel's run of the same source (BPF_PROG_TEST_RUN): the checked-in seeds
// of the XDP fuzzers, and every one-byte change and truncation of them,
// must give the same verdict, frame and counters in both, from the same map
// state (tests/bpf/xdp_fuzz_case.h). The seeds must also reach the
// program's decisions that matter (answered, passed, rate-limited, refused
// by the access list), so that agreeing means something. Runs in the
// private network namespace of tests/bpf/test_netns.h; needs root.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "bpf/xdp_loader.h"
#include "bpf/xdp_native.h"
#include "tests/bpf/test_netns.h"
#include "tests/bpf/xdp_fuzz_case.h"

namespace ringtrack {
namespace {

using Bytes = std::vector<uint8_t>;

int g_ifindex = 0;

class NetnsSetup : public ::testing::Environment {
 public:
  void SetUp() override {
    g_ifindex = testing::EnterTestNetns();
    ASSERT_GT(g_ifindex, 0);
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new NetnsSetup);

std::map<std::string, Bytes> Seeds() {
  std::map<std::string, Bytes> seeds;
  for (const auto& e : std::filesystem::directory_iterator(RINGTRACK_XDP_SEEDS)) {
    std::ifstream f(e.path(), std::ios::binary);
    seeds[e.path().filename()] =
        Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return seeds;
}

class XdpNativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    native_.SetFibLookup([](bpf_fib_lookup* p, uint32_t) {
      return testing::TestNetnsFib(p, g_ifindex);
    });
    testing::SetUpFuzzMaps(native_, g_ifindex);
  }

  testing::KernelXdp& KernelFor(const testing::XdpCase& c) {
    testing::KernelXdp& k =
        kernel_[(c.connect_in_kernel ? 1 : 0) | (c.xsk_redirect ? 2 : 0)];
    if (k.prog == nullptr) {
      auto p = XdpProgram::Load(XdpOptions{.connect_in_kernel = c.connect_in_kernel,
                                           .access_capacity = 16,
                                           .xsk_redirect = c.xsk_redirect});
      EXPECT_TRUE(p.ok()) << p.status() << " (this test needs root)";
      if (p.ok()) {
        k.prog = std::move(*p);
        testing::SetUpFuzzMaps(*k.prog, g_ifindex);
      }
    }
    return k;
  }

  // "" iff kernel and native agree on `input` (or it is no case).
  std::string Compare(const Bytes& input) {
    const auto c = testing::ParseXdpCase(input);
    if (!c) return "";
    testing::KernelXdp& k = KernelFor(*c);
    if (k.prog == nullptr) return "no kernel program";
    return testing::CompareXdpCase(k, native_, *c, g_ifindex);
  }

  XdpNative native_{XdpOptions{.access_capacity = 16}};
  testing::KernelXdp kernel_[4];
};

TEST_F(XdpNativeTest, SeedsAgreeWithKernel) {
  const auto seeds = Seeds();
  ASSERT_GE(seeds.size(), 10u);
  for (const auto& [name, input] : seeds) {
    ASSERT_TRUE(testing::ParseXdpCase(input).has_value()) << name;
    EXPECT_EQ(Compare(input), "") << name;
  }
}

TEST_F(XdpNativeTest, SeedsReachEveryDecision) {
  // Counters the seeds move in the native build, which agrees with the
  // kernel (above).
  const auto before = native_.Counters();
  for (const auto& [name, input] : Seeds()) {
    const auto c = testing::ParseXdpCase(input);
    ASSERT_TRUE(c.has_value()) << name;
    native_.SetReadOnlyConfig(c->connect_in_kernel, c->xsk_redirect);
    native_.SetRateLimit(c->pps, c->burst);
    native_.SetAccessList(testing::FuzzAccessList(c->access));
    native_.ClearRateLimiter();
    native_.SetClockForTest(c->now);
    Bytes out;
    for (int run = 0; run < c->runs; ++run) native_.Run(c->frame, &out, g_ifindex);
  }
  const auto after = native_.Counters();
  for (int counter : {RT_XDP_PASS, RT_XDP_PASS_OTHER, RT_XDP_TX_CONNECT,
                      RT_XDP_PASS_CONNECT, RT_XDP_PASS_NO_ROUTE,
                      RT_XDP_DROP_RATE_LIMIT, RT_XDP_DROP_NOT_ALLOWED,
                      RT_XDP_DROP_BAD_CONN_ID}) {
    EXPECT_GT(after[counter], before[counter]) << XdpCounterName(counter);
  }
}

TEST_F(XdpNativeTest, EveryByteChangeAndTruncationOfTheSeedsAgrees) {
  int cases = 0;
  for (const auto& [name, seed] : Seeds()) {
    for (size_t cut = testing::kCaseHeader + testing::kMinFrame; cut < seed.size();
         ++cut) {
      const Bytes input(seed.begin(), seed.begin() + cut);
      ASSERT_EQ(Compare(input), "") << name << " cut to " << cut;
      ++cases;
    }
    for (size_t i = 0; i < seed.size(); ++i) {
      for (uint8_t flip : {0x01, 0x80, 0xff}) {
        Bytes input = seed;
        input[i] ^= flip;
        ASSERT_EQ(Compare(input), "")
            << name << " byte " << i << " ^ " << int{flip} << ": "
            << testing::Hex(input);
        ++cases;
      }
    }
  }
  EXPECT_GT(cases, 5000);
}

}  // namespace
}  // namespace ringtrack
