// Integration tests: the built ringtrackd on an ephemeral loopback port, over
// IPv4 and IPv6, once per io path, driven over real UDP.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>
#include <string>
#include <tuple>

#include "core/base/clock.h"
#include "core/udp/connection_id.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace ringtrack::testing {
namespace {

using protocol::Action;
using protocol::Event;
using std::chrono::milliseconds;

constexpr char kKeyHex[] = "000102030405060708090a0b0c0d0e0f";
constexpr MasterKey kKey{0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL};

struct Param {
  const char* io;
  AddressFamily family;
};

// Keeps ctest's test names readable (no raw bytes of the parameter).
void PrintTo(const Param& p, std::ostream* os) {
  *os << p.io << (p.family == AddressFamily::kV4 ? "/v4" : "/v6");
}

std::string ParamName(const ::testing::TestParamInfo<Param>& p) {
  return std::string(p.param.io) +
         (p.param.family == AddressFamily::kV4 ? "_v4" : "_v6");
}

class RingtrackdTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    key_file_ = ::testing::TempDir() + "/rt_key_" + std::to_string(getpid());
    std::ofstream(key_file_) << kKeyHex << "\n";
    chmod(key_file_.c_str(), 0600);  // ringtrackd refuses a readable key
    const bool v4 = GetParam().family == AddressFamily::kV4;
    daemon_ = std::make_unique<Daemon>(std::vector<std::string>{
        v4 ? "--listen=127.0.0.1:0" : "--listen=[::1]:0",
        std::string("--io=") + GetParam().io, "--workers=2",
        // 30 peers of one test client share a swarm below.
        "--max_memory=64M", "--max_peers_per_source=64",
        "--connection_key_file=" + key_file_});
    ASSERT_TRUE(daemon_->started());
    ASSERT_NE(daemon_->start_line().find(std::string("io=") + GetParam().io),
              std::string::npos)
        << daemon_->start_line();
  }
  void TearDown() override {
    daemon_.reset();
    std::remove(key_file_.c_str());
  }

  bool v4() const { return GetParam().family == AddressFamily::kV4; }
  // Client n: its own source address on IPv4 (127.0.0.n), its own port on
  // IPv6 (only ::1 exists on lo).
  std::unique_ptr<Client> MakeClient(int n) {
    return std::make_unique<Client>(
        v4() ? "127.0.0." + std::to_string(n) : "::1", daemon_->port());
  }
  PeerEndpoint EndpointOf(const Client& c, int n, uint16_t port) {
    if (v4()) return PeerEndpoint::V4(0x7f000000 + n, port);
    uint8_t ip[16] = {};
    ip[15] = 1;
    (void)c;
    return PeerEndpoint::V6(ip, port);
  }
  protocol::Response MustParse(Client& c, const std::vector<uint8_t>& reply) {
    replies_.push_back(reply);  // the response aliases it
    protocol::Response r;
    EXPECT_TRUE(c.Parse(replies_.back(), &r)) << "no or malformed reply";
    return r;
  }

  std::string key_file_;
  std::unique_ptr<Daemon> daemon_;
  std::vector<std::vector<uint8_t>> replies_;
};

TEST_P(RingtrackdTest, ConnectGetsSixteenByteReply) {
  auto c = MakeClient(2);
  std::vector<uint8_t> req(16);
  protocol::WriteConnectRequest(req, 0xfeedbeef);
  const auto reply = c->Exchange(req);
  ASSERT_EQ(reply.size(), 16u);
  const auto r = MustParse(*c, reply);
  EXPECT_EQ(r.action, Action::kConnect);
  EXPECT_EQ(r.transaction_id(), 0xfeedbeefu);
  // The ID is what core/ computes from the shared key file.
  ConnectionIds ids(kKey, UnixSecondsNow());
  EXPECT_TRUE(ids.Verify(r.connect.connection_id, EndpointOf(*c, 2, 0),
                         UnixSecondsNow()));
}

TEST_P(RingtrackdTest, AnnounceCountsAndPeerLists) {
  const InfoHash h = TestHash(1);
  std::vector<std::unique_ptr<Client>> clients;
  for (int n = 2; n <= 6; ++n) clients.push_back(MakeClient(n));
  for (size_t i = 0; i < clients.size(); ++i) {
    Client& c = *clients[i];
    const bool seeder = i == 0;
    const auto r = MustParse(
        c, c.Exchange(AnnouncePacket(c.Connect(), 100 + i, h,
                                     static_cast<uint16_t>(7000 + i),
                                     Event::kStarted, seeder ? 0 : 1000)));
    ASSERT_EQ(r.action, Action::kAnnounce);
    EXPECT_EQ(r.transaction_id(), 100 + i);
    EXPECT_EQ(r.announce.interval, 1800u);
    EXPECT_EQ(r.announce.seeders, 1u);
    EXPECT_EQ(r.announce.leechers, i);
    // Everyone before, never itself.
    ASSERT_EQ(r.announce.peer_count(), i);
    std::set<uint16_t> ports;
    for (size_t k = 0; k < r.announce.peer_count(); ++k) {
      const PeerEndpoint p = r.announce.peer(k);
      EXPECT_EQ(p.family, GetParam().family);
      EXPECT_NE(p.port, 7000 + i);
      ports.insert(p.port);
      if (v4()) {  // the peer's address is its source address
        EXPECT_EQ(p.ip[3], 2 + (p.port - 7000));
      }
    }
    EXPECT_EQ(ports.size(), i);
  }
}

TEST_P(RingtrackdTest, NumwantStoppedCompletedAndScrape) {
  const InfoHash h = TestHash(2);
  auto a = MakeClient(2), b = MakeClient(3);
  const uint64_t ca = a->Connect(), cb = b->Connect();
  // 30 leechers from client a on distinct ports.
  for (int p = 0; p < 30; ++p) {
    const auto r = MustParse(*a, a->Exchange(AnnouncePacket(
                                     ca, p, h, 8000 + p, Event::kStarted, 5)));
    ASSERT_EQ(r.action, Action::kAnnounce);
  }
  auto r = MustParse(
      *b, b->Exchange(AnnouncePacket(cb, 1, h, 9000, Event::kStarted, 5, 7)));
  EXPECT_EQ(r.announce.peer_count(), 7u);
  r = MustParse(
      *b, b->Exchange(AnnouncePacket(cb, 2, h, 9000, Event::kNone, 5, 0)));
  EXPECT_EQ(r.announce.peer_count(), 0u);
  r = MustParse(
      *b, b->Exchange(AnnouncePacket(cb, 3, h, 9000, Event::kNone, 5, -1)));
  EXPECT_EQ(r.announce.peer_count(), 30u);
  EXPECT_EQ(r.announce.leechers, 31u);
  // completed: counted once even if repeated.
  for (int k = 0; k < 2; ++k) {
    r = MustParse(
        *b, b->Exchange(AnnouncePacket(cb, 4, h, 9000, Event::kCompleted, 0)));
    EXPECT_EQ(r.announce.seeders, 1u);
    EXPECT_EQ(r.announce.leechers, 30u);
  }
  auto s = MustParse(*b, b->Exchange(ScrapePacket(cb, 5, {h})));
  ASSERT_EQ(s.action, Action::kScrape);
  ASSERT_EQ(s.scrape.entry_count(), 1u);
  EXPECT_EQ(s.scrape.entry(0).seeders, 1u);
  EXPECT_EQ(s.scrape.entry(0).completed, 1u);
  EXPECT_EQ(s.scrape.entry(0).leechers, 30u);
  // stopped: counts, no peers, and the peer is gone.
  r = MustParse(
      *b, b->Exchange(AnnouncePacket(cb, 6, h, 9000, Event::kStopped, 0)));
  EXPECT_EQ(r.action, Action::kAnnounce);
  EXPECT_EQ(r.announce.peer_count(), 0u);
  EXPECT_EQ(r.announce.seeders, 0u);
  s = MustParse(*a, a->Exchange(ScrapePacket(ca, 7, {h})));
  EXPECT_EQ(s.scrape.entry(0).seeders, 0u);
  EXPECT_EQ(s.scrape.entry(0).leechers, 30u);
}

TEST_P(RingtrackdTest, ScrapeOf1And74And75Hashes) {
  auto c = MakeClient(2);
  const uint64_t cid = c->Connect();
  MustParse(*c, c->Exchange(AnnouncePacket(cid, 1, TestHash(500), 6881,
                                           Event::kStarted, 0)));
  for (size_t n : {1, 74, 75}) {
    std::vector<InfoHash> hashes;
    for (size_t i = 0; i < n; ++i) hashes.push_back(TestHash(500 + i));
    const auto reply = c->Exchange(ScrapePacket(cid, 40 + n, hashes));
    const auto s = MustParse(*c, reply);
    ASSERT_EQ(s.action, Action::kScrape);
    EXPECT_EQ(s.transaction_id(), 40 + n);
    EXPECT_EQ(s.scrape.entry_count(), std::min<size_t>(n, 74));
    EXPECT_EQ(s.scrape.entry(0).seeders, 1u);
    if (n > 1) {
      EXPECT_EQ(s.scrape.entry(1).seeders, 0u);
    }
  }
}

TEST_P(RingtrackdTest, ErrorsForPortZeroAndEmptyScrape) {
  auto c = MakeClient(2);
  const uint64_t cid = c->Connect();
  auto r = MustParse(*c, c->Exchange(AnnouncePacket(cid, 9, TestHash(3), 0,
                                                    Event::kStarted, 1)));
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.transaction_id(), 9u);
  r = MustParse(*c, c->Exchange(ScrapePacket(cid, 10, {})));
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.transaction_id(), 10u);
}

TEST_P(RingtrackdTest, BadConnectionIdsGetNoReply) {
  auto c = MakeClient(2);
  const uint32_t now = UnixSecondsNow();
  ConnectionIds ids(kKey, now);
  const PeerEndpoint me = EndpointOf(*c, 2, 0);
  ConnectionIds old_ids(kKey, now - 200);
  const uint64_t expired = old_ids.Make(me, now - 200);
  const uint64_t future = ids.Make(me, now + 60);
  const uint64_t other_addr = ids.Make(
      v4() ? PeerEndpoint::V4(0x7f000009, 0) : PeerEndpoint::V4(0x7f000001, 0),
      now);
  const uint64_t forged = (uint64_t{now} << 32) | 0x5eadbeef;
  const uint64_t other_key = ConnectionIds(MasterKey{7, 7}, now).Make(me, now);
  for (uint64_t bad : {expired, future, other_addr, forged, other_key}) {
    EXPECT_TRUE(c->Exchange(AnnouncePacket(bad, 1, TestHash(4), 6881,
                                           Event::kStarted, 1),
                            milliseconds(300))
                    .empty());
    EXPECT_TRUE(
        c->Exchange(ScrapePacket(bad, 2, {TestHash(4)}), milliseconds(300))
            .empty());
  }
  // The same client with a good ID is served, and the forged ones were
  // counted.
  const auto r = MustParse(
      *c, c->Exchange(AnnouncePacket(ids.Make(me, now), 3, TestHash(4), 6881,
                                     Event::kStarted, 1)));
  EXPECT_EQ(r.action, Action::kAnnounce);
  ASSERT_EQ(daemon_->Stop(SIGTERM, milliseconds(2000)), 0);
  EXPECT_EQ(daemon_->FinalStats()["bad_connection_ids"], 10u);
}

TEST_P(RingtrackdTest, SurvivesFloodOfJunk) {
  auto flood = MakeClient(3);
  std::mt19937 rng(99);
  const auto good = AnnouncePacket(flood->Connect(), 1, TestHash(5), 6881,
                                   Event::kStarted, 1);
  constexpr int kFlood = 5000;
  for (int i = 0; i < kFlood; ++i) {
    std::vector<uint8_t> d;
    if (i % 3 == 0) {  // a truncated announce
      d.assign(good.begin(), good.begin() + rng() % good.size());
    } else {
      d.resize(rng() % 300);
      for (auto& b : d) b = static_cast<uint8_t>(rng());
      if (d.size() >= 16 && i % 2) d[8] = d[9] = d[10] = 0, d[11] = rng() % 5;
    }
    flood->Send(d);
    if (i % 500 == 0) usleep(1000);  // bounded rate: stay within buffers
  }
  // Nothing in the flood earns a reply.
  EXPECT_TRUE(flood->Receive(milliseconds(500)).empty());
  // And real clients are still served.
  auto c = MakeClient(2);
  const auto r =
      MustParse(*c, c->Exchange(AnnouncePacket(c->Connect(), 2, TestHash(5),
                                               6881, Event::kStarted, 1)));
  EXPECT_EQ(r.action, Action::kAnnounce);
  ASSERT_EQ(daemon_->Stop(SIGTERM, milliseconds(2000)), 0);
  auto stats = daemon_->FinalStats();
  EXPECT_GT(stats["invalid"], kFlood / 4u);
  EXPECT_GT(stats["invalid_too_short"], 0u);
  EXPECT_EQ(stats["invalid"] + stats["bad_connection_ids"] + stats["connects"] +
                stats["announces"],
            stats["datagrams_received"]);
}

TEST_P(RingtrackdTest, FiftyPipelinedAnnouncesAllAnswered) {
  auto c = MakeClient(2);
  const uint64_t cid = c->Connect();
  std::set<uint32_t> sent, got;
  for (uint32_t i = 0; i < 50; ++i) {
    const uint32_t tid = 0x1000 + i * 7;
    sent.insert(tid);
    c->Send(AnnouncePacket(cid, tid, TestHash(6 + i % 5), 6881, Event::kStarted,
                           1));
  }
  for (int i = 0; i < 50; ++i) {
    const auto reply = c->Receive();
    protocol::Response r;
    ASSERT_TRUE(c->Parse(reply, &r)) << "reply " << i << " missing";
    EXPECT_EQ(r.action, Action::kAnnounce);
    got.insert(r.transaction_id());
  }
  EXPECT_EQ(got, sent);
}

TEST_P(RingtrackdTest, StopsGracefullyWithinASecond) {
  auto c = MakeClient(2);
  c->Connect();
  const auto t0 = std::chrono::steady_clock::now();
  const std::optional<int> status = daemon_->Stop(SIGINT, milliseconds(1000));
  ASSERT_TRUE(status.has_value()) << "still running after 1 s";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
  EXPECT_EQ(daemon_->FinalStats()["connects"], 1u);
}

// A restarted daemon (say by systemd) must get its port back at once: no
// request or registered file may keep the old sockets alive after exit.
TEST_P(RingtrackdTest, PortIsFreeRightAfterExit) {
  auto c = MakeClient(2);
  const uint64_t cid = c->Connect();
  for (uint32_t i = 0; i < 20; ++i) {
    c->Send(AnnouncePacket(cid, i, TestHash(i), 6881, Event::kStarted, 1));
  }
  ASSERT_EQ(daemon_->Stop(SIGTERM, milliseconds(2000)), 0);
  const std::string addr =
      (v4() ? "127.0.0.1:" : "[::1]:") + std::to_string(daemon_->port());
  Daemon again({"--listen=" + addr, std::string("--io=") + GetParam().io,
                "--workers=2"});
  ASSERT_TRUE(again.started());
  std::vector<uint8_t> req(16);
  protocol::WriteConnectRequest(req, 5);
  Client c2(v4() ? "127.0.0.3" : "::1", again.port());
  EXPECT_EQ(c2.Exchange(req).size(), 16u);
}

INSTANTIATE_TEST_SUITE_P(IoPaths, RingtrackdTest,
                         ::testing::Values(Param{"uring", AddressFamily::kV4},
                                           Param{"uring", AddressFamily::kV6},
                                           Param{"mmsg", AddressFamily::kV4},
                                           Param{"mmsg", AddressFamily::kV6}),
                         ParamName);

// A wildcard listener answers from the address each request was sent to:
// a connected client talking to 127.0.0.2 (or 127.0.0.1) gets its
// connect, announce and scrape replies. Both io paths.
class WildcardTest : public ::testing::TestWithParam<const char*> {};

TEST_P(WildcardTest, RepliesComeFromTheAddressTheRequestWentTo) {
  Daemon d({"--listen=0.0.0.0:0", std::string("--io=") + GetParam(),
            "--workers=1"});
  ASSERT_TRUE(d.started());
  for (const char* server : {"127.0.0.2", "127.0.0.1", "127.0.0.3"}) {
    Client c("127.0.0.9", d.port(), server);
    const uint64_t cid = c.Connect();
    protocol::Response r;
    ASSERT_TRUE(c.Parse(c.Exchange(AnnouncePacket(cid, 1, TestHash(9), 7000,
                                                  Event::kStarted, 5)),
                        &r))
        << server;
    EXPECT_EQ(r.action, Action::kAnnounce);
    ASSERT_TRUE(c.Parse(c.Exchange(ScrapePacket(cid, 2, {TestHash(9)})), &r));
    EXPECT_EQ(r.action, Action::kScrape);
  }
}

INSTANTIATE_TEST_SUITE_P(IoPaths, WildcardTest,
                         ::testing::Values("uring", "mmsg"));

// An oversized datagram (MSG_TRUNC) and a flood past the receive buffer
// ring (ENOBUFS) are counted, nothing is leaked, and service goes on.
TEST(RingtrackdEdgeTest, OversizedDatagramAndBufferRingFlood) {
  Daemon d({"--listen=127.0.0.1:0", "--io=uring", "--workers=1",
            "--ring-buffers=64"});
  ASSERT_TRUE(d.started());
  Client c("127.0.0.1", d.port());
  c.Send(std::vector<uint8_t>(4000, 0x41));
  // 20 rounds of 3000 connects sent without reading: far more than 64
  // buffers, so the multishot receive runs dry and is re-armed.
  std::vector<uint8_t> req(protocol::kConnectRequestSize);
  protocol::WriteConnectRequest(req, 77);
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 3000; ++k) c.Send(req);
    while (!c.Receive(std::chrono::milliseconds(20)).empty()) {
    }
  }
  // Still serving, with every buffer back in the ring: 64 × 3 requests in
  // a row are all answered.
  for (int k = 0; k < 64 * 3; ++k) ASSERT_NE(c.Connect(), 0u) << k;
  ASSERT_TRUE(d.Stop(SIGTERM, std::chrono::seconds(5)).has_value());
  const auto stats = d.FinalStats();
  EXPECT_EQ(stats.at("truncated"), 1u);
  EXPECT_GT(stats.at("no_buffers"), 0u);
  EXPECT_EQ(stats.at("cq_overflows"), 0u);
  EXPECT_EQ(stats.at("sq_full"), 0u);
}

// With more receive buffers than reply slots (64 per socket), one turn of
// the io_uring loop may take more datagrams than it has reply buffers: it
// answers and sends what it holds, then goes on. Bursts of 200 pipelined
// announces are each answered once, with their own transaction ID.
TEST(RingtrackdEdgeTest, BurstsLargerThanTheReplyBatchAreAllAnswered) {
  Daemon d({"--listen=127.0.0.1:0", "--io=uring", "--workers=1",
            "--ring-buffers=1024"});
  ASSERT_TRUE(d.started());
  Client c("127.0.0.1", d.port());
  const uint64_t cid = c.Connect();
  ASSERT_NE(cid, 0u);
  size_t answered = 0;
  for (uint32_t burst = 0; burst < 5; ++burst) {
    std::set<uint32_t> sent, got;
    for (uint32_t i = 0; i < 200; ++i) {
      const uint32_t tid = burst * 1000 + i;
      sent.insert(tid);
      c.Send(AnnouncePacket(cid, tid, TestHash(20 + i % 7), 6881,
                            Event::kStarted, i % 2));
    }
    for (;;) {
      const auto reply = c.Receive(std::chrono::milliseconds(500));
      if (reply.empty()) break;
      protocol::Response r;
      ASSERT_TRUE(c.Parse(reply, &r));
      ASSERT_EQ(r.action, Action::kAnnounce);
      ASSERT_TRUE(got.insert(r.transaction_id()).second)
          << "answered twice: " << r.transaction_id();
    }
    EXPECT_EQ(got, sent) << "burst " << burst;
    answered += got.size();
  }
  ASSERT_TRUE(d.Stop(SIGTERM, std::chrono::seconds(5)).has_value());
  const auto stats = d.FinalStats();
  EXPECT_EQ(stats.at("announces"), answered);
  EXPECT_EQ(stats.at("send_errors"), 0u);
}

TEST(RingtrackdSignalTest, HupDoesNotStopAndQuitStopsCleanly) {
  Daemon d({"--listen=127.0.0.1:0", "--workers=1"});
  ASSERT_TRUE(d.started());
  ASSERT_FALSE(d.Stop(SIGHUP, std::chrono::milliseconds(500)).has_value());
  Client c("127.0.0.1", d.port());
  EXPECT_NE(c.Connect(), 0u);
  const auto status = d.Stop(SIGQUIT, std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_NE(d.Log().find("final "), std::string::npos);
}

TEST(RingtrackdCommandLineTest, UnsafeKeyFileExitsOneSayingWhy) {
  const std::string key = ::testing::TempDir() + "/rt_open_key_" +
                          std::to_string(getpid());
  std::ofstream(key) << kKeyHex << "\n";
  chmod(key.c_str(), 0644);
  std::string err;
  EXPECT_EQ(RunDaemonToExit({"--listen=127.0.0.1:0",
                             "--connection-key-file=" + key},
                            &err),
            1);
  EXPECT_NE(err.find("group or others"), std::string::npos) << err;
  std::remove(key.c_str());
}

TEST(RingtrackdCommandLineTest, BadFlagValueExitsTwoNamingTheFlag) {
  std::string err;
  EXPECT_EQ(RunDaemonToExit({"--max-memory=12X"}, &err), 2);
  EXPECT_NE(err.find("max_memory"), std::string::npos) << err;
  EXPECT_EQ(RunDaemonToExit({"--max-peers-per-source=0"}, &err), 2);
  EXPECT_NE(err.find("--max_peers_per_source"), std::string::npos) << err;
  EXPECT_EQ(RunDaemonToExit({"--workers=many"}, &err), 2);
  EXPECT_NE(err.find("workers"), std::string::npos) << err;
  EXPECT_EQ(RunDaemonToExit({"--listen=nowhere"}, &err), 2);
  EXPECT_NE(err.find("--listen"), std::string::npos) << err;
  EXPECT_EQ(RunDaemonToExit({"--io=epoll"}, &err), 2);
  EXPECT_EQ(RunDaemonToExit({"--no-such-flag"}, &err), 2);
}

TEST(RingtrackdCommandLineTest, PortInUseExitsOne) {
  Daemon first({"--listen=127.0.0.1:0", "--workers=1"});
  ASSERT_TRUE(first.started());
  std::string err;
  EXPECT_EQ(
      RunDaemonToExit(
          {"--listen=127.0.0.1:" + std::to_string(first.port()), "--workers=1"},
          &err),
      1);
  EXPECT_NE(err.find("already in use"), std::string::npos) << err;
}

TEST(RingtrackdCommandLineTest, RepeatedListenServesEveryAddress) {
  Daemon d({"--listen=127.0.0.1:0", "--listen", "[::1]:0", "--workers=1"});
  ASSERT_TRUE(d.started());
  EXPECT_NE(d.start_line().find("[::1]:"), std::string::npos) << d.start_line();
}

}  // namespace
}  // namespace ringtrack::testing
