// One test case for the XDP program, shared by the coverage-guided native
// fuzzer (tests/fuzz/xdp_native_fuzzer.cc), the kernel fuzzer that checks
// native against BPF_PROG_TEST_RUN (tests/fuzz/xdp_frame_fuzzer.cc), and
// the replay of their seeds (tests/bpf/xdp_native_test.cc), so a corpus
// grown by one is input for the others.
//
// A case is 4 bytes of configuration, then an Ethernet frame:
//   byte 0  bit 0: connects are not answered in the kernel
//           bit 1: AF_XDP redirect on (no socket is ever bound)
//           bits 2-3: access list: 1 allow, 2 deny (kAccessHashes), else none
//   byte 1  rate limit: low nibble packets/s (0: off), high nibble burst
//   byte 2  the frame is run (byte & 3) + 1 times in a row
//   byte 3  the clock: kNow + (int8) byte * 30 s (keys stay those of kNow)
// Every case starts from the same state: the maps below, the rate limiter
// empty, so a case gives the same verdicts every time it is run.
#ifndef RINGTRACK_TESTS_BPF_XDP_FUZZ_CASE_H_
#define RINGTRACK_TESTS_BPF_XDP_FUZZ_CASE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bpf/tracker_shared.h"
#include "bpf/xdp_loader.h"
#include "core/tracker/access_list.h"
#include "core/udp/connection_id.h"
#include "core/udp/protocol.h"
#include "core/base/wire.h"

namespace ringtrack::testing {

inline constexpr int kXdpDrop = 1, kXdpPass = 2, kXdpTx = 3;
inline constexpr uint16_t kFuzzPort = 6969;
inline constexpr std::array<uint8_t, 6> kFuzzOurMac = {0x02, 0, 0, 0, 0, 0xbb};
inline constexpr MasterKey kFuzzKey{1, 2};
inline constexpr uint32_t kNow = 1'800'000'000;  // an epoch boundary
inline constexpr size_t kCaseHeader = 4;
// The kernel runs frames of 14 bytes to about a page; so does every case.
inline constexpr size_t kMinFrame = 14, kMaxFrame = 4000;
// Listed in the access lists: the all-zero hash (also the mode entry's
// key), 00 01 .. 13, and 01 × 20, the hashes the seeds carry.
inline constexpr const char* kAccessHashes =
    "0000000000000000000000000000000000000000\n"
    "000102030405060708090a0b0c0d0e0f10111213\n"
    "0101010101010101010101010101010101010101\n";

struct XdpCase {
  bool connect_in_kernel = true;
  bool xsk_redirect = false;
  int access = 0;  // 0 none, 1 allow, 2 deny
  uint32_t pps = 0;
  uint32_t burst = 0;
  int runs = 1;
  uint32_t now = kNow;
  std::span<const uint8_t> frame;
};

// Returns the case `data` encodes, or nothing if it is too short or its
// frame's size is one the kernel refuses to run.
inline std::optional<XdpCase> ParseXdpCase(std::span<const uint8_t> data) {
  if (data.size() < kCaseHeader + kMinFrame ||
      data.size() > kCaseHeader + kMaxFrame) {
    return std::nullopt;
  }
  XdpCase c;
  c.connect_in_kernel = (data[0] & 1) == 0;
  c.xsk_redirect = (data[0] & 2) != 0;
  const int acl = (data[0] >> 2) & 3;
  c.access = acl == 1 || acl == 2 ? acl : 0;
  c.pps = data[1] & 0x0f;
  c.burst = data[1] >> 4;
  c.runs = (data[2] & 3) + 1;
  c.now = kNow + static_cast<int8_t>(data[3]) * 30;
  c.frame = data.subspan(kCaseHeader);
  return c;
}

// The access list of mode `access` (1 allow, 2 deny), or nullptr.
inline const AccessList* FuzzAccessList(int access) {
  static const auto* lists = [] {
    auto* l = new std::unique_ptr<const AccessList>[2];
    l[0] = *AccessList::Parse(kAccessHashes, AccessList::Mode::kAllow, "fuzz");
    l[1] = *AccessList::Parse(kAccessHashes, AccessList::Mode::kDeny, "fuzz");
    return l;
  }();
  return access == 1 || access == 2 ? lists[access - 1].get() : nullptr;
}

// The destinations every case is run against: 169.254.0.1 and fd12::1,
// port kFuzzPort (rt0's addresses in tests/bpf/test_netns.h).
inline std::vector<XdpDest> FuzzDestinations() {
  std::vector<XdpDest> d(2);
  d[0].addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 0, 1};
  d[1].addr = {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  d[0].port = d[1].port = kFuzzPort;
  return d;
}

inline const ConnectionIds& FuzzIds() {
  static const ConnectionIds* ids = new ConnectionIds(kFuzzKey, kNow);
  return *ids;
}

// Fills the maps every case shares: destinations, rt0's MAC, the keys of
// kNow's epochs. P is XdpProgram or XdpNative.
template <class P>
void SetUpFuzzMaps(P& p, int ifindex) {
  (void)p.SetDestinations(FuzzDestinations());
  (void)p.SetInterfaceMac(ifindex, kFuzzOurMac);
  (void)p.UpdateKeys(FuzzIds(), kNow);
}

// True iff `f` is, by our own reading, a BEP 15 connect with the right
// magic to 169.254.0.1 or fd12::1 port kFuzzPort, for our MAC: the only
// frames the program may answer.
inline bool IsValidConnectForUs(std::span<const uint8_t> frame) {
  const uint8_t* f = frame.data();
  const size_t n = frame.size();
  if (n < 14 || std::memcmp(f, kFuzzOurMac.data(), 6) != 0) return false;
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
    if (n < off + 40 || f[off + 6] != 17 || (f[off] >> 4) != 6) return false;
    uint8_t ours[16] = {0xfd, 0x12};
    ours[15] = 1;
    if (std::memcmp(f + off + 24, ours, 16) != 0) return false;
    udp = off + 40;
  } else {
    return false;
  }
  if (n < udp + 8 || wire::LoadBe16(f + udp + 2) != kFuzzPort) return false;
  const size_t ulen = wire::LoadBe16(f + udp + 4);
  if (ulen < 8 + 16 || udp + ulen > n) return false;
  const uint8_t* p = f + udp + 8;
  return wire::LoadBe64(p) == protocol::kProtocolMagic &&
         wire::LoadBe32(p + 8) == 0;
}

// Hex of `b`, for messages.
inline std::string Hex(std::span<const uint8_t> b) {
  std::string s;
  for (uint8_t x : b) absl::StrAppendFormat(&s, "%02x", x);
  return s;
}

// A kernel program under test, loaded with one read-only configuration
// (XdpOptions{connect_in_kernel, xsk_redirect, access_capacity = 16}) and
// SetUpFuzzMaps. It remembers its access list: replacing one waits for an
// RCU grace period, too slow to do for every case.
struct KernelXdp {
  std::unique_ptr<XdpProgram> prog;
  int access = 0;
};

// Runs `c` through the kernel (`kernel`, of the case's read-only
// configuration) and the native build (`native`, the same maps), from the
// same state. Returns "" iff both give the same verdict and frame on every
// run and move the same counters, and a frame not transmitted (any verdict
// but TX) is left as it came; otherwise what is wrong.
template <class Native>
std::string CompareXdpCase(KernelXdp& kernel, Native& native, const XdpCase& c,
                           int ifindex) {
  XdpProgram& k = *kernel.prog;
  (void)k.SetRateLimit(c.pps, c.burst);
  if (kernel.access != c.access) {
    (void)k.SetAccessList(FuzzAccessList(c.access));
    kernel.access = c.access;
  }
  k.ClearRateLimiterForTest();
  native.SetReadOnlyConfig(c.connect_in_kernel, c.xsk_redirect);
  native.SetRateLimit(c.pps, c.burst);
  native.SetAccessList(FuzzAccessList(c.access));
  native.ClearRateLimiter();
  native.SetClockForTest(c.now);
  const auto k0 = k.Counters();
  const auto n0 = native.Counters();
  std::vector<uint8_t> kout, nout;
  for (int run = 0; run < c.runs; ++run) {
    // Re-set before each run: the kernel's clock moves on; this keeps it
    // within c.now's second for the run.
    k.SetClockForTest(c.now);
    auto kv = k.TestRun(c.frame, &kout, ifindex);
    if (!kv.ok()) return absl::StrCat("kernel run: ", kv.status().ToString());
    const int nv = native.Run(c.frame, &nout, ifindex);
    if (*kv != nv || kout != nout) {
      return absl::StrCat("run ", run + 1, ": kernel verdict ", *kv, " ",
                          Hex(kout), "\n  native verdict ", nv, " ",
                          Hex(nout));
    }
    if (*kv != kXdpTx && !std::equal(kout.begin(), kout.end(), c.frame.begin(),
                                     c.frame.end())) {
      return absl::StrCat("run ", run + 1, ": verdict ", *kv,
                          " but the frame changed: ", Hex(kout));
    }
  }
  const auto k1 = k.Counters();
  const auto n1 = native.Counters();
  std::string diff;
  for (int i = 0; i < RT_XDP_COUNTER_MAX; ++i) {
    if (k1[i] - k0[i] != n1[i] - n0[i]) {
      absl::StrAppendFormat(&diff, "counter %s: kernel +%d, native +%d\n",
                            XdpCounterName(i), k1[i] - k0[i], n1[i] - n0[i]);
    }
  }
  return diff;
}

}  // namespace ringtrack::testing

#endif  // RINGTRACK_TESTS_BPF_XDP_FUZZ_CASE_H_
