// The XDP program, run through BPF_PROG_TEST_RUN over crafted frames: no
// interface needed, but root (CAP_BPF) is. CI runs as root.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "bpf/tracker_shared.h"
#include "bpf/xdp_loader.h"
#include "core/connection_id.h"
#include "core/protocol.h"
#include "core/wire.h"

namespace ringtrack {
namespace {

static_assert(sizeof(rt_conn_key) == 24, "key map value layout");
static_assert(sizeof(rt_rate_key) == 16 && sizeof(rt_rate_state) == 8);
static_assert(offsetof(rt_conn_key, k0) == 8 &&
              offsetof(rt_conn_key, k1) == 16);

constexpr int kXdpDrop = 1, kXdpPass = 2, kXdpTx = 3;
constexpr uint16_t kPort = 6969;
constexpr MasterKey kKey{0x1111, 0x2222};
// A Unix time just after a key-epoch boundary.
constexpr uint32_t kBoundary =
    (1'800'000'000 / RT_KEY_EPOCH_S + 1) * RT_KEY_EPOCH_S;
constexpr uint32_t kNow = kBoundary + 60;

using Bytes = std::vector<uint8_t>;

struct FrameSpec {
  bool v6 = false;
  bool vlan = false;
  uint16_t dst_port = kPort;
  uint8_t src_last = 7;  // last byte of the source address
};

PeerEndpoint SourceOf(const FrameSpec& f) {
  if (!f.v6) return PeerEndpoint::V4(0x0a000000 | f.src_last, 0);
  uint8_t ip[16] = {0xfd, 0x12};
  ip[15] = f.src_last;
  return PeerEndpoint::V6(ip, 0);
}

// Ethernet (+ one 802.1Q tag) + IPv4/IPv6 + UDP + payload.
Bytes Frame(const FrameSpec& f, const Bytes& payload) {
  Bytes b = {0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa};
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
    b.insert(b.end(), {0x0a, 0, 0, 1});
  } else {
    b.insert(b.end(), {0x60, 0, 0, 0, static_cast<uint8_t>(udp_len >> 8),
                       static_cast<uint8_t>(udp_len), 17, 64});
    b.insert(b.end(), src.ip.begin(), src.ip.end());
    b.insert(b.end(), {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
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

class XdpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = XdpProgram::Load(XdpOptions{.ports = {kPort, 7070}});
    ASSERT_TRUE(p.ok()) << p.status() << " (these tests need root)";
    prog_ = std::move(*p);
    prog_->SetClockForTest(kNow);
    ASSERT_TRUE(prog_->UpdateKeys(ids_, kNow).ok());
  }
  int Run(const Bytes& frame, Bytes* out = nullptr) {
    Bytes scratch;
    auto r = prog_->TestRun(frame, out ? out : &scratch);
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

const FrameSpec kSpecs[] = {
    {false, false}, {false, true}, {true, false}, {true, true}};

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
    expect(Scrape(good, 0), kXdpDrop, RT_XDP_DROP_SCRAPE_LENGTH);
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
      // L2 and L4 swapped; lengths fixed.
      EXPECT_EQ(Bytes(out.begin(), out.begin() + 6),
                Bytes(in.begin() + 6, in.begin() + 12));
      EXPECT_EQ(Bytes(out.begin() + 6, out.begin() + 12),
                Bytes(in.begin(), in.begin() + 6));
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
  auto p = XdpProgram::Load(
      XdpOptions{.connect_in_kernel = false, .ports = {kPort}});
  ASSERT_TRUE(p.ok()) << p.status();
  Bytes out;
  auto r = (*p)->TestRun(Frame(kSpecs[0], Connect(1)), &out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, kXdpPass);
  EXPECT_EQ((*p)->Counters()[RT_XDP_PASS_CONNECT], 1u);
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
  auto p = XdpProgram::Load(
      XdpOptions{.rate_limit_pps = 10, .rate_burst = 5, .ports = {kPort}});
  ASSERT_TRUE(p.ok()) << p.status();
  (*p)->SetClockForTest(kNow);
  ASSERT_TRUE((*p)->UpdateKeys(ids_, kNow).ok());
  FrameSpec a = kSpecs[0], b = kSpecs[0];
  b.src_last = 99;
  Bytes out;
  int passed = 0;
  for (int i = 0; i < 50; ++i) {
    passed +=
        *(*p)->TestRun(Frame(a, Announce(IdFor(a, kNow))), &out) == kXdpPass;
  }
  EXPECT_GE(passed, 5);
  EXPECT_LE(passed, 8);  // burst, plus what 10/s refills meanwhile
  EXPECT_GE((*p)->Counters()[RT_XDP_DROP_RATE_LIMIT], 40u);
  EXPECT_EQ(*(*p)->TestRun(Frame(b, Announce(IdFor(b, kNow))), &out), kXdpPass);
}

}  // namespace
}  // namespace ringtrack
