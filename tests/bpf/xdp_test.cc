// The XDP program, run through BPF_PROG_TEST_RUN over crafted frames (no
// traffic is sent). The test process first moves into a network namespace of
// its own with a veth pair, link-local and ULA addresses, static neighbours
// and one route through a gateway, so the program's FIB lookups see a real
// routing table; frames are run as if received on that veth. Needs root
// (CAP_BPF, CAP_SYS_ADMIN for unshare). CI runs as root.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>

#include <random>
#include <vector>

#include "bpf/tracker_shared.h"
#include "bpf/xdp_loader.h"
#include "absl/strings/str_format.h"
#include "core/tracker/access_list.h"
#include "core/udp/connection_id.h"
#include "core/udp/protocol.h"
#include "core/base/wire.h"
#include "tests/bpf/test_netns.h"

#include <cstdlib>

namespace ringtrack {
namespace {

using Bytes = std::vector<uint8_t>;

static_assert(sizeof(rt_conn_key) == 24, "key map value layout");
static_assert(sizeof(rt_rate_key) == 16 && sizeof(rt_rate_state) == 8);
static_assert(offsetof(rt_conn_key, k0) == 8 &&
              offsetof(rt_conn_key, k1) == 16);

constexpr int kXdpDrop = 1, kXdpPass = 2, kXdpTx = 3;
// Our interface's MAC, the sender's, and the gateway's (see NetnsSetup).
const Bytes kOurMac = {0x02, 0, 0, 0, 0, 0xbb};
const Bytes kPeerMac = {0x02, 0, 0, 0, 0, 0xaa};
const Bytes kGatewayMac = {0x02, 0, 0, 0, 0, 0xfe};
constexpr uint16_t kPort = 6969;
constexpr MasterKey kKey{0x1111, 0x2222};
// A Unix time just after a key-epoch boundary.
constexpr uint32_t kBoundary =
    (1'800'000'000 / RT_KEY_EPOCH_S + 1) * RT_KEY_EPOCH_S;
constexpr uint32_t kNow = kBoundary + 60;


struct FrameSpec {
  bool v6 = false;
  bool vlan = false;
  uint16_t dst_port = kPort;
  uint8_t src_last = 7;    // last byte of the source address
  uint8_t src_net = 0;     // IPv4 169.254.<net>.<last>, IPv6 fd12:0:0:<net>::<last>
  uint8_t dst_last = 1;    // ours is 1
  Bytes dst_mac = kOurMac;
  // A source given whole (16 bytes; IPv4 as ::ffff:a.b.c.d), if not empty.
  Bytes src_override;
};

PeerEndpoint SourceOf(const FrameSpec& f) {
  if (!f.src_override.empty()) {
    if (!f.v6) {
      return PeerEndpoint::V4(wire::LoadBe32(&f.src_override[12]), 0);
    }
    return PeerEndpoint::V6(f.src_override.data(), 0);
  }
  if (!f.v6) return PeerEndpoint::V4(0xa9fe0000 | (f.src_net << 8) | f.src_last, 0);
  uint8_t ip[16] = {0xfd, 0x12};
  ip[7] = f.src_net;
  ip[15] = f.src_last;
  return PeerEndpoint::V6(ip, 0);
}

// Ethernet (+ one 802.1Q tag) + IPv4/IPv6 + UDP + payload.
Bytes Frame(const FrameSpec& f, const Bytes& payload) {
  Bytes b = f.dst_mac;
  b.insert(b.end(), kPeerMac.begin(), kPeerMac.end());
  if (f.vlan) b.insert(b.end(), {0x81, 0x00, 0x00, 0x2a});
  b.insert(b.end(), {static_cast<uint8_t>(f.v6 ? 0x86 : 0x08),
                     static_cast<uint8_t>(f.v6 ? 0xdd : 0x00)});
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
  const PeerEndpoint src = SourceOf(f);
  if (!f.v6) {
    const uint16_t tot = 20 + udp_len;
    b.insert(b.end(), {0x45, 0, static_cast<uint8_t>(tot >> 8),
                       static_cast<uint8_t>(tot), 0, 1, 0x40, 0, 64, 17, 0, 0});
    b.insert(b.end(), src.ip.begin(), src.ip.begin() + 4);
    b.insert(b.end(), {169, 254, 0, f.dst_last});
  } else {
    b.insert(b.end(), {0x60, 0, 0, 0, static_cast<uint8_t>(udp_len >> 8),
                       static_cast<uint8_t>(udp_len), 17, 64});
    b.insert(b.end(), src.ip.begin(), src.ip.end());
    b.insert(b.end(), {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       f.dst_last});
  }
  b.insert(b.end(), {0xc3, 0x50, static_cast<uint8_t>(f.dst_port >> 8),
                     static_cast<uint8_t>(f.dst_port),
                     static_cast<uint8_t>(udp_len >> 8),
                     static_cast<uint8_t>(udp_len), 0, 0});
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

size_t PayloadOffset(const FrameSpec& f) {
  return 14 + (f.vlan ? 4 : 0) + (f.v6 ? 40 : 20) + 8;
}

Bytes Connect(uint32_t tid, size_t trailing = 0) {
  Bytes b(16 + trailing, 0x5a);
  protocol::WriteConnectRequest(b, tid);
  return b;
}
Bytes Announce(uint64_t cid) {
  protocol::AnnounceRequest a;
  a.connection_id = cid;
  a.transaction_id = 9;
  a.port = 6881;
  Bytes b(protocol::kAnnounceRequestSize);
  protocol::WriteAnnounceRequest(b, a);
  return b;
}
Bytes Scrape(uint64_t cid, size_t hashes, size_t extra = 0) {
  Bytes h(hashes * 20, 0x33);
  Bytes b(16 + h.size());
  protocol::WriteScrapeRequest(b, cid, 5, h);
  b.resize(b.size() + extra, 0);
  return b;
}

uint16_t Checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The namespace the whole test binary runs in (see the file comment).
int g_ifindex = 0;

void Sh(const std::string& cmd) {
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

class NetnsSetup : public ::testing::Environment {
 public:
  void SetUp() override {
    g_ifindex = testing::EnterTestNetns();
    ASSERT_GT(g_ifindex, 0);
  }
};
const auto* const kEnv =
    ::testing::AddGlobalTestEnvironment(new NetnsSetup);

XdpDest Dest(bool v6, uint16_t port) {
  XdpDest d;
  d.port = port;
  if (!v6) {
    d.addr[10] = d.addr[11] = 0xff;
    d.addr[12] = 169;
    d.addr[13] = 254;
    d.addr[15] = 1;
  } else {
    d.addr[0] = 0xfd;
    d.addr[1] = 0x12;
    d.addr[15] = 1;
  }
  return d;
}

// Loads the program serving ports 6969 and 7070 on our two addresses, with
// rt0's MAC recorded, its clock at kNow and keys for kNow.
std::unique_ptr<XdpProgram> LoadForTest(const XdpOptions& options,
                                        const ConnectionIds& ids) {
  auto p = XdpProgram::Load(options);
  EXPECT_TRUE(p.ok()) << p.status() << " (these tests need root)";
  if (!p.ok()) return nullptr;
  EXPECT_TRUE((*p)->SetDestinations({Dest(false, kPort), Dest(true, kPort),
                                     Dest(false, 7070), Dest(true, 7070)})
                  .ok());
  std::array<uint8_t, 6> mac;
  std::copy(kOurMac.begin(), kOurMac.end(), mac.begin());
  EXPECT_TRUE((*p)->SetInterfaceMac(g_ifindex, mac).ok());
  (*p)->SetClockForTest(kNow);
  EXPECT_TRUE((*p)->UpdateKeys(ids, kNow).ok());
  return std::move(*p);
}

class XdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prog_ = LoadForTest(XdpOptions{}, ids_);
    ASSERT_NE(prog_, nullptr);
  }
  int Run(const Bytes& frame, Bytes* out = nullptr) {
    Bytes scratch;
    auto r = prog_->TestRun(frame, out ? out : &scratch, g_ifindex);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : -1;
  }
  uint64_t Count(int c) { return prog_->Counters()[c]; }
  uint64_t IdFor(const FrameSpec& f, uint32_t t) {
    return ids_.Make(SourceOf(f), t);
  }

  ConnectionIds ids_{kKey, kNow};
  std::unique_ptr<XdpProgram> prog_;
};

FrameSpec Spec(bool v6, bool vlan) {
  FrameSpec f;
  f.v6 = v6;
  f.vlan = vlan;
  return f;
}
const FrameSpec kSpecs[] = {Spec(false, false), Spec(false, true),
                            Spec(true, false), Spec(true, true)};

TEST_F(XdpTest, EachDropReasonAndPass) {
  for (const FrameSpec& f : kSpecs) {
    SCOPED_TRACE(::testing::Message() << "v6=" << f.v6 << " vlan=" << f.vlan);
    const uint64_t good = IdFor(f, kNow - 5);
    auto expect = [&](const Bytes& payload, int verdict, int counter) {
      const uint64_t before = Count(counter);
      EXPECT_EQ(Run(Frame(f, payload)), verdict);
      EXPECT_EQ(Count(counter), before + 1) << XdpCounterName(counter);
    };
    expect(Announce(good), kXdpPass, RT_XDP_PASS);
    expect(Scrape(good, 1), kXdpPass, RT_XDP_PASS);
    expect(Scrape(good, 75), kXdpPass, RT_XDP_PASS);  // userspace takes 74
    expect(Bytes(15, 0), kXdpDrop, RT_XDP_DROP_SHORT);
    Bytes bad_magic = Connect(1);
    bad_magic[7] ^= 1;
    expect(bad_magic, kXdpDrop, RT_XDP_DROP_BAD_MAGIC);
    Bytes unknown = Announce(good);
    unknown[11] = 4;
    expect(unknown, kXdpDrop, RT_XDP_DROP_UNKNOWN_ACTION);
    Bytes error = Announce(good);
    error[11] = 3;
    expect(error, kXdpDrop, RT_XDP_DROP_ERROR_ACTION);
    Bytes short_announce = Announce(good);
    short_announce.resize(97);
    expect(short_announce, kXdpDrop, RT_XDP_DROP_ANNOUNCE_SHORT);
    // An empty scrape goes up: userspace answers it with an error, as it
    // does without XDP.
    expect(Scrape(good, 0), kXdpPass, RT_XDP_PASS);
    expect(Scrape(good ^ 1, 0), kXdpDrop, RT_XDP_DROP_BAD_CONN_ID);
    expect(Scrape(good, 1, 1), kXdpDrop, RT_XDP_DROP_SCRAPE_LENGTH);
    expect(Scrape(good, 2, 19), kXdpDrop, RT_XDP_DROP_SCRAPE_LENGTH);
    expect(Announce(good ^ 1), kXdpDrop, RT_XDP_DROP_BAD_CONN_ID);
    // Another port is none of our business: passed and not counted.
    FrameSpec other = f;
    other.dst_port = 53;
    const auto before = prog_->Counters();
    EXPECT_EQ(Run(Frame(other, Bytes(3, 0))), kXdpPass);
    EXPECT_EQ(prog_->Counters(), before);
  }
}

TEST_F(XdpTest, ConnectionIdsForgedExpiredFutureAndAfterRotation) {
  for (const FrameSpec& f : kSpecs) {
    // Issued in the previous key epoch (before kBoundary), still in window.
    EXPECT_EQ(Run(Frame(f, Announce(IdFor(f, kBoundary - 30)))), kXdpPass);
    EXPECT_EQ(Run(Frame(f, Announce(IdFor(f, kNow)))), kXdpPass);
    EXPECT_EQ(Run(Frame(f, Announce(IdFor(f, kNow - 121)))), kXdpDrop);
    EXPECT_EQ(Run(Frame(f, Announce(IdFor(f, kNow + 6)))), kXdpDrop);
    EXPECT_EQ(Run(Frame(f, Announce(IdFor(f, kNow + 4)))), kXdpPass);
    // Another source's ID, another key's ID, a made-up tag.
    FrameSpec other = f;
    other.src_last = 8;
    EXPECT_EQ(Run(Frame(f, Announce(IdFor(other, kNow)))), kXdpDrop);
    ConnectionIds stranger(MasterKey{5, 5}, kNow);
    EXPECT_EQ(Run(Frame(f, Announce(stranger.Make(SourceOf(f), kNow)))),
              kXdpDrop);
    EXPECT_EQ(Run(Frame(f, Announce((uint64_t{kNow} << 32) | 0xabad1dea))),
              kXdpDrop);
  }
  // After the keys move on (e+2), the old epoch's IDs no longer verify.
  const uint32_t later = kNow + 2 * RT_KEY_EPOCH_S;
  prog_->SetClockForTest(later);
  ASSERT_TRUE(prog_->UpdateKeys(ids_, later).ok());
  ConnectionIds fresh(kKey, later);
  EXPECT_EQ(
      Run(Frame(kSpecs[0], Announce(fresh.Make(SourceOf(kSpecs[0]), later)))),
      kXdpPass);
}

TEST_F(XdpTest, ConnectReplyMatchesCoreByteForByte) {
  for (const FrameSpec& f : kSpecs) {
    for (size_t trailing : {0, 7, 40}) {
      SCOPED_TRACE(::testing::Message() << "v6=" << f.v6 << " vlan=" << f.vlan
                                        << " trailing=" << trailing);
      const Bytes in = Frame(f, Connect(0xc0ffee, trailing));
      Bytes out;
      const uint64_t tx_before = Count(RT_XDP_TX_CONNECT);
      ASSERT_EQ(Run(in, &out), kXdpTx);
      EXPECT_EQ(Count(RT_XDP_TX_CONNECT), tx_before + 1);
      const size_t off = PayloadOffset(f);
      ASSERT_EQ(out.size(), off + 16);
      // The payload is exactly what core/ serializes for this source.
      Bytes want(16);
      protocol::WriteConnectResponse(want, 0xc0ffee, IdFor(f, kNow));
      EXPECT_EQ(Bytes(out.begin() + off, out.end()), want);
      // L2 from the FIB (the sender is its own next hop here), L4 swapped,
      // lengths fixed.
      EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), kPeerMac);
      EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12), kOurMac);
      const size_t udp = off - 8;
      EXPECT_EQ(wire::LoadBe16(&out[udp]), kPort);
      EXPECT_EQ(wire::LoadBe16(&out[udp + 2]), 0xc350);
      EXPECT_EQ(wire::LoadBe16(&out[udp + 4]), 24);
      const size_t l3 = 14 + (f.vlan ? 4 : 0);
      if (!f.v6) {
        EXPECT_EQ(Bytes(out.begin() + l3 + 12, out.begin() + l3 + 16),
                  Bytes(in.begin() + l3 + 16, in.begin() + l3 + 20));
        EXPECT_EQ(wire::LoadBe16(&out[l3 + 2]), 44);
        EXPECT_EQ(Checksum(&out[l3], 20), 0xffff) << "IPv4 header checksum";
        EXPECT_EQ(wire::LoadBe16(&out[udp + 6]), 0);  // no UDP checksum: ok
      } else {
        EXPECT_EQ(Bytes(out.begin() + l3 + 8, out.begin() + l3 + 24),
                  Bytes(in.begin() + l3 + 24, in.begin() + l3 + 40));
        EXPECT_EQ(wire::LoadBe16(&out[l3 + 4]), 24);
        // Pseudo header + UDP header + payload sums to 0xffff.
        uint32_t pseudo = Checksum(&out[l3 + 8], 32) + 24 + 17;
        EXPECT_EQ(Checksum(&out[udp], 24, pseudo), 0xffff) << "UDP checksum";
        EXPECT_NE(wire::LoadBe16(&out[udp + 6]), 0);
      }
    }
  }
}

TEST_F(XdpTest, ConnectPassesWhenInKernelRepliesAreOff) {
  auto p = LoadForTest(XdpOptions{.connect_in_kernel = false}, ids_);
  ASSERT_NE(p, nullptr);
  Bytes out;
  auto r = p->TestRun(Frame(kSpecs[0], Connect(1)), &out, g_ifindex);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kXdpPass);
  EXPECT_EQ(p->Counters()[RT_XDP_PASS_CONNECT], 1u);
}

TEST_F(XdpTest, AnotherHostsAddressOrMacPassesUntouched) {
  for (const FrameSpec& base : kSpecs) {
    FrameSpec other_ip = base;
    other_ip.dst_last = 2;  // not one of ours
    FrameSpec other_mac = base;
    other_mac.dst_mac = {0x02, 0, 0, 0, 0, 0xcc};
    for (const FrameSpec& f : {other_ip, other_mac}) {
      for (const Bytes& payload :
           {Connect(1), Announce(1), Bytes(5, 0), Scrape(IdFor(f, kNow), 1)}) {
        const Bytes in = Frame(f, payload);
        Bytes out;
        EXPECT_EQ(Run(in, &out), kXdpPass);
        out.resize(in.size());
        EXPECT_EQ(out, in) << "the frame must pass unchanged";
      }
    }
  }
  EXPECT_EQ(Count(RT_XDP_TX_CONNECT), 0u);
  EXPECT_EQ(Count(RT_XDP_PASS_NOT_OURS), 16u);  // the wrong-MAC frames
}

TEST_F(XdpTest, BogusSourcesArePassedToTheKernelNotAnswered) {
  const std::vector<Bytes> v4 = {
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 224, 0, 0, 1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255, 255},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 0, 1},  // ours
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 9, 9}};  // no neigh
  const std::vector<Bytes> v6 = {
      Bytes(16, 0),
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
      {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4},
      {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},   // ours
      {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9}};  // no neigh
  for (bool is_v6 : {false, true}) {
    for (const Bytes& src : is_v6 ? v6 : v4) {
      FrameSpec f;
      f.v6 = is_v6;
      f.src_override = src;
      const Bytes in = Frame(f, Connect(3));
      Bytes out;
      EXPECT_EQ(Run(in, &out), kXdpPass);
      out.resize(in.size());
      EXPECT_EQ(out, in);
    }
  }
  EXPECT_EQ(Count(RT_XDP_TX_CONNECT), 0u);
  EXPECT_EQ(Count(RT_XDP_PASS_NO_ROUTE), 12u);
}

TEST_F(XdpTest, WithoutForwardingConnectsGoToTheKernel) {
  Sh("sysctl -qw net.ipv4.conf.rt0.forwarding=0");
  Sh("sysctl -qw net.ipv6.conf.all.forwarding=0");
  for (const FrameSpec& f : kSpecs) {
    EXPECT_EQ(Run(Frame(f, Connect(1))), kXdpPass);
  }
  Sh("sysctl -qw net.ipv4.conf.rt0.forwarding=1");
  Sh("sysctl -qw net.ipv6.conf.all.forwarding=1");
  EXPECT_EQ(Count(RT_XDP_PASS_NO_ROUTE), 4u);
  EXPECT_EQ(Count(RT_XDP_TX_CONNECT), 0u);
}

TEST_F(XdpTest, ReplyGoesToTheRoutedNextHopNotTheSendersMac) {
  for (bool v6 : {false, true}) {
    FrameSpec f;
    f.v6 = v6;
    f.src_net = 200;  // behind the gateway (see NetnsSetup)
    f.src_last = 5;
    const Bytes in = Frame(f, Connect(0xbeef));
    Bytes out;
    ASSERT_EQ(Run(in, &out), kXdpTx) << "v6=" << v6;
    EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), kGatewayMac);
    EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12), kOurMac);
    Bytes want(16);
    protocol::WriteConnectResponse(want, 0xbeef, IdFor(f, kNow));
    EXPECT_EQ(Bytes(out.end() - 16, out.end()), want);
  }
}

TEST_F(XdpTest, SpoofedTrafficCannotSpendAVictimsRate) {
  auto p = LoadForTest(XdpOptions{.rate_limit_pps = 10, .rate_burst = 5}, ids_);
  ASSERT_NE(p, nullptr);
  FrameSpec victim = kSpecs[0];
  Bytes out;
  // A spoofer floods announces and scrapes "from" the victim: it cannot
  // know the victim's connection ID, so all of it dies as forged.
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(*p->TestRun(Frame(victim, Announce(0x1234 + i)), &out, g_ifindex),
              kXdpDrop);
  }
  EXPECT_EQ(p->Counters()[RT_XDP_DROP_RATE_LIMIT], 0u);
  EXPECT_EQ(p->Counters()[RT_XDP_DROP_BAD_CONN_ID], 500u);
  // The victim's own verified requests still get its full burst.
  int passed = 0;
  for (int i = 0; i < 5; ++i) {
    passed += *p->TestRun(Frame(victim, Announce(IdFor(victim, kNow))), &out,
                          g_ifindex) == kXdpPass;
  }
  EXPECT_EQ(passed, 5);
}

TEST_F(XdpTest, Ipv6SourcesShareOneBudgetPerSlash64) {
  auto p = LoadForTest(XdpOptions{.rate_limit_pps = 10, .rate_burst = 5}, ids_);
  ASSERT_NE(p, nullptr);
  Bytes out;
  int passed = 0;
  for (int host = 7; host < 7 + 40; ++host) {  // fd12::7 .. fd12::2e
    FrameSpec f = kSpecs[2];
    f.src_last = static_cast<uint8_t>(host);
    passed += *p->TestRun(Frame(f, Announce(IdFor(f, kNow))), &out,
                          g_ifindex) == kXdpPass;
  }
  EXPECT_GE(passed, 5);
  EXPECT_LE(passed, 8);
  FrameSpec other = kSpecs[2];
  other.src_net = 1;  // fd12:0:0:1::7, another /64
  EXPECT_EQ(*p->TestRun(Frame(other, Announce(IdFor(other, kNow))), &out,
                        g_ifindex),
            kXdpPass);
}

TEST(XdpLoadTest, RatesTheArithmeticCannotHoldAreRefused) {
  auto p = XdpProgram::Load(XdpOptions{.rate_limit_pps = RT_XDP_MAX_RATE_PPS + 1});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("packets/s"), std::string::npos);
  EXPECT_FALSE(
      XdpProgram::Load(XdpOptions{.rate_limit_pps = 10,
                                  .rate_burst = RT_XDP_MAX_RATE_BURST + 1})
          .ok());
}

TEST(XdpAttachTest, ForeignProgramIsNotReplacedAndLinksDetachOnClose) {
  auto mine = XdpProgram::Load(XdpOptions{});
  ASSERT_TRUE(mine.ok());
  {
    auto foreign = XdpProgram::Load(XdpOptions{});
    ASSERT_TRUE(foreign.ok());
    ASSERT_TRUE((*foreign)->Attach("rt1", XdpMode::kGeneric).ok());
    auto refused = (*mine)->Attach("rt1", XdpMode::kGeneric);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(refused.status().message().find("'rt_xdp' (id "),
              std::string::npos)
        << refused.status();
  }  // the foreign object closes its link: rt1 is free again
  EXPECT_TRUE((*mine)->Attach("rt1", XdpMode::kGeneric).ok());
}

TEST_F(XdpTest, TruncatedHeadersAtEveryLayerNeverMisparse) {
  for (const FrameSpec& f : kSpecs) {
    const Bytes full = Frame(f, Announce(IdFor(f, kNow)));
    for (size_t len = 14; len < full.size(); ++len) {
      const int v = Run(Bytes(full.begin(), full.begin() + len));
      // Cut inside a header, or the UDP length overruns the frame: passed
      // to the kernel's own checks, never dropped as garbage nor answered.
      EXPECT_EQ(v, kXdpPass) << "len " << len;
    }
    const Bytes connect = Frame(f, Connect(1));
    for (size_t len = 14; len < connect.size(); ++len) {
      EXPECT_NE(Run(Bytes(connect.begin(), connect.begin() + len)), kXdpTx);
    }
  }
}

TEST_F(XdpTest, IpOptionsAndFragmentsPassUnparsed) {
  Bytes frag = Frame(kSpecs[0], Bytes(5, 0));  // would be "short"
  frag[14 + 6] = 0x20;                         // more fragments
  const uint64_t other = Count(RT_XDP_PASS_OTHER);
  EXPECT_EQ(Run(frag), kXdpPass);
  Bytes opts = Frame(kSpecs[0], Bytes(5, 0));
  opts[14] = 0x46;  // IHL 6: options
  EXPECT_EQ(Run(opts), kXdpPass);
  EXPECT_EQ(Count(RT_XDP_PASS_OTHER), other + 2);
  // Found by tests/fuzz/xdp_frame_fuzzer: a connect in a packet whose IP
  // version field is not 4 (or 6) is the kernel's to judge, not answered.
  Bytes v12 = Frame(kSpecs[0], Connect(1));
  v12[14] = 0xc5;
  EXPECT_EQ(Run(v12), kXdpPass);
  Bytes v6_as_v4 = Frame(kSpecs[2], Connect(1));
  v6_as_v4[14] = 0x40;
  EXPECT_EQ(Run(v6_as_v4), kXdpPass);
  EXPECT_EQ(Count(RT_XDP_TX_CONNECT), 0u);
}

TEST_F(XdpTest, RandomFramesGetOnlySaneVerdicts) {
  std::mt19937 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const FrameSpec& f = kSpecs[rng() % 4];
    Bytes payload(rng() % 120);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    if (payload.size() >= 12 && (i & 1))
      payload[8] = payload[9] = payload[10] = 0;
    Bytes frame = Frame(f, payload);
    if (i % 3 == 0) {  // scramble headers too
      for (int k = 0; k < 4; ++k)
        frame[rng() % frame.size()] = static_cast<uint8_t>(rng());
    }
    Bytes out;
    const int v = Run(frame, &out);
    ASSERT_TRUE(v == kXdpDrop || v == kXdpPass || v == kXdpTx) << v;
    if (v == kXdpTx) {  // only a connect with the right magic is answered
      ASSERT_GE(out.size(), 16u);
      EXPECT_EQ(wire::LoadBe32(&out[out.size() - 16]), 0u);
    }
  }
}

TEST_F(XdpTest, RateLimitPerSource) {
  auto p = LoadForTest(XdpOptions{.rate_limit_pps = 10, .rate_burst = 5}, ids_);
  ASSERT_NE(p, nullptr);
  FrameSpec a = kSpecs[0], b = kSpecs[0];
  b.src_last = 99;
  Bytes out;
  int passed = 0;
  for (int i = 0; i < 50; ++i) {
    passed += *p->TestRun(Frame(a, Announce(IdFor(a, kNow))), &out,
                          g_ifindex) == kXdpPass;
  }
  EXPECT_GE(passed, 5);
  EXPECT_LE(passed, 8);  // burst, plus what 10/s refills meanwhile
  EXPECT_GE(p->Counters()[RT_XDP_DROP_RATE_LIMIT], 40u);
  // Connects count too.
  int connects = 0;
  for (int i = 0; i < 50; ++i) {
    connects += *p->TestRun(Frame(b, Connect(i)), &out, g_ifindex) == kXdpTx;
  }
  EXPECT_GE(connects, 5);
  EXPECT_LE(connects, 8);
  // Changed live (a reload): off, then back on for a fresh source.
  ASSERT_TRUE(p->SetRateLimit(0, 0).ok());
  int unlimited = 0;
  for (int i = 0; i < 50; ++i) {
    unlimited += *p->TestRun(Frame(a, Announce(IdFor(a, kNow))), &out,
                             g_ifindex) == kXdpPass;
  }
  EXPECT_EQ(unlimited, 50);
  ASSERT_TRUE(p->SetRateLimit(1, 1).ok());
  FrameSpec c = kSpecs[0];
  c.src_last = 77;
  int limited = 0;
  for (int i = 0; i < 20; ++i) {
    limited += *p->TestRun(Frame(c, Announce(IdFor(c, kNow))), &out,
                           g_ifindex) == kXdpPass;
  }
  EXPECT_EQ(limited, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(p->SetRateLimit(RT_XDP_MAX_RATE_PPS + 1, 0)));
}

InfoHash HashN(uint8_t n) {
  InfoHash h;
  h.bytes.fill(n);
  return h;
}
Bytes AnnounceFor(uint64_t cid, const InfoHash& h) {
  protocol::AnnounceRequest a;
  a.connection_id = cid;
  a.transaction_id = 9;
  a.info_hash = h;
  a.port = 6881;
  Bytes b(protocol::kAnnounceRequestSize);
  protocol::WriteAnnounceRequest(b, a);
  return b;
}
Bytes ScrapeOf(uint64_t cid, const std::vector<InfoHash>& hashes) {
  Bytes h;
  for (const InfoHash& x : hashes) h.insert(h.end(), x.bytes.begin(), x.bytes.end());
  Bytes b(16 + h.size());
  protocol::WriteScrapeRequest(b, cid, 5, h);
  return b;
}
std::unique_ptr<const AccessList> List(const std::vector<InfoHash>& hashes,
                                       AccessList::Mode mode) {
  std::string text;
  for (const InfoHash& h : hashes) {
    for (uint8_t b : h.bytes) absl::StrAppendFormat(&text, "%02x", b);
    text += "\n";
  }
  auto l = AccessList::Parse(text, mode, "test");
  EXPECT_TRUE(l.ok()) << l.status();
  return std::move(*l);
}

TEST_F(XdpTest, AccessListMirrorDropsRefusedHashesOnly) {
  auto p = LoadForTest(XdpOptions{.access_capacity = 16}, ids_);
  ASSERT_NE(p, nullptr);
  const InfoHash a = HashN(0xa1), b = HashN(0xb2), zero = HashN(0);
  Bytes out;
  auto verdict = [&](const FrameSpec& f, const Bytes& payload) {
    return *p->TestRun(Frame(f, payload), &out, g_ifindex);
  };
  for (const FrameSpec& f : kSpecs) {
    const uint64_t id = IdFor(f, kNow);
    // No list yet: everything passes.
    EXPECT_EQ(verdict(f, AnnounceFor(id, b)), kXdpPass);

    auto allow = List({a}, AccessList::Mode::kAllow);
    ASSERT_TRUE(p->SetAccessList(allow.get()).ok());
    EXPECT_EQ(p->access_list_size(), 1u);
    const uint64_t before = p->Counters()[RT_XDP_DROP_NOT_ALLOWED];
    EXPECT_EQ(verdict(f, AnnounceFor(id, a)), kXdpPass);
    EXPECT_EQ(verdict(f, AnnounceFor(id, b)), kXdpDrop);
    EXPECT_EQ(verdict(f, AnnounceFor(id, zero)), kXdpDrop);  // the mode key is not a listing
    EXPECT_EQ(verdict(f, ScrapeOf(id, {a})), kXdpPass);
    EXPECT_EQ(verdict(f, ScrapeOf(id, {a, b})), kXdpDrop);
    std::vector<InfoHash> many(RT_MAX_SCRAPE_HASHES, a);
    EXPECT_EQ(verdict(f, ScrapeOf(id, many)), kXdpPass);
    many.back() = b;  // the last of 74 is checked too
    EXPECT_EQ(verdict(f, ScrapeOf(id, many)), kXdpDrop);
    EXPECT_EQ(p->Counters()[RT_XDP_DROP_NOT_ALLOWED], before + 4);
    // A forged ID is still dropped for its ID, not counted as refused.
    EXPECT_EQ(verdict(f, AnnounceFor(id ^ 1, b)), kXdpDrop);
    EXPECT_EQ(p->Counters()[RT_XDP_DROP_NOT_ALLOWED], before + 4);

    // Swapped whole to a deny list, the zero hash listed too.
    auto deny = List({b, zero}, AccessList::Mode::kDeny);
    ASSERT_TRUE(p->SetAccessList(deny.get()).ok());
    EXPECT_EQ(verdict(f, AnnounceFor(id, a)), kXdpPass);
    EXPECT_EQ(verdict(f, AnnounceFor(id, b)), kXdpDrop);
    EXPECT_EQ(verdict(f, AnnounceFor(id, zero)), kXdpDrop);
    EXPECT_EQ(verdict(f, ScrapeOf(id, {a, HashN(7)})), kXdpPass);

    // Past the capacity: no mirror (userspace enforces), all pass here.
    std::vector<InfoHash> big;
    for (int i = 1; i <= 16; ++i) big.push_back(HashN(static_cast<uint8_t>(i)));
    auto too_big = List(big, AccessList::Mode::kDeny);
    const absl::Status s = p->SetAccessList(too_big.get());
    EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
    EXPECT_EQ(p->access_list_size(), 0u);
    EXPECT_EQ(verdict(f, AnnounceFor(id, b)), kXdpPass);

    // Back to a list, then to none.
    ASSERT_TRUE(p->SetAccessList(allow.get()).ok());
    EXPECT_EQ(verdict(f, AnnounceFor(id, b)), kXdpDrop);
    ASSERT_TRUE(p->SetAccessList(nullptr).ok());
    EXPECT_EQ(verdict(f, AnnounceFor(id, b)), kXdpPass);
  }
}

// --io xdp: with no AF_XDP socket on the queue, what the program would hand
// to userspace still goes up the stack (the redirect falls back to PASS).
TEST_F(XdpTest, XskRedirectWithoutASocketPassesUp) {
  auto p = LoadForTest(XdpOptions{.xsk_redirect = true}, ids_);
  ASSERT_NE(p, nullptr);
  Bytes out;
  for (const FrameSpec& f : kSpecs) {
    EXPECT_EQ(*p->TestRun(Frame(f, Announce(IdFor(f, kNow))), &out, g_ifindex),
              kXdpPass);
    EXPECT_EQ(*p->TestRun(Frame(f, Announce(IdFor(f, kNow) ^ 1)), &out, g_ifindex),
              kXdpDrop);  // forged IDs are still dropped
  }
  EXPECT_EQ(p->Counters()[RT_XDP_PASS], 4u);
}

TEST_F(XdpTest, AccessListNeedsAMirrorLoadedAtStart) {
  auto allow = List({HashN(1)}, AccessList::Mode::kAllow);
  EXPECT_TRUE(absl::IsFailedPrecondition(prog_->SetAccessList(allow.get())));
  EXPECT_EQ(Run(Frame(kSpecs[0], AnnounceFor(IdFor(kSpecs[0], kNow), HashN(2)))),
            kXdpPass);
}

}  // namespace
}  // namespace ringtrack
