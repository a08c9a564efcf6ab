// ringtrackd with its XDP program attached to lo in generic mode: junk and
// forged IDs die in the kernel, valid clients are served (connects from
// loopback sources go up to userspace: a reply to this host's own address
// is the kernel's to route), and the program is detached at exit, however
// the daemon ends. It never replaces another XDP program.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/base/clock.h"
#include "core/udp/connection_id.h"
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace ringtrack::testing {
namespace {

using protocol::Action;
using protocol::Event;
using std::chrono::milliseconds;

std::string LoLink() {
  std::string out;
  FILE* p = popen("ip -d link show dev lo", "r");
  char buf[512];
  while (p && fgets(buf, sizeof(buf), p)) out += buf;
  if (p) pclose(p);
  return out;
}

TEST(XdpDaemonTest, FloodDiesInKernelAndClientsAreServed) {
  Daemon d({"--listen=127.0.0.1:0", "--workers=1", "--xdp=lo",
            "--xdp-mode=generic"});
  ASSERT_TRUE(d.started());
  ASSERT_NE(d.start_line().find("xdp=lo(generic)"), std::string::npos)
      << d.start_line();
  EXPECT_NE(LoLink().find("xdpgeneric"), std::string::npos);

  Client c("127.0.0.2", d.port());
  const uint64_t cid = c.Connect();
  protocol::Response r;
  ASSERT_TRUE(c.Parse(
      c.Exchange(AnnouncePacket(cid, 1, TestHash(1), 6881, Event::kStarted, 0)),
      &r));
  EXPECT_EQ(r.action, Action::kAnnounce);

  // Junk and forged IDs from another source.
  Client flood("127.0.0.3", d.port());
  std::mt19937 rng(3);
  constexpr int kJunk = 3000;
  for (int i = 0; i < kJunk; ++i) {
    std::vector<uint8_t> junk(rng() % 120);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    if (junk.size() >= 16) junk[0] = 0x7f;  // never the connect magic
    flood.Send(junk);
    flood.Send(AnnouncePacket(rng(), 2, TestHash(2), 6881, Event::kStarted, 1));
    if (i % 300 == 0) usleep(1000);
  }
  EXPECT_TRUE(flood.Receive(milliseconds(300)).empty());
  // Still serving.
  ASSERT_TRUE(c.Parse(c.Exchange(ScrapePacket(cid, 3, {TestHash(1)})), &r));
  EXPECT_EQ(r.scrape.entry(0).seeders, 1u);

  ASSERT_EQ(d.Stop(SIGTERM, milliseconds(2000)), 0);
  auto s = d.FinalStats();
  // Nothing invalid or forged reached userspace; XDP counted it all.
  EXPECT_EQ(s["invalid"], 0u);
  EXPECT_EQ(s["bad_connection_ids"], 0u);
  EXPECT_EQ(s["connects"], 1u);  // a loopback source: passed up
  EXPECT_EQ(s["xdp_pass_no_route"], 1u);
  EXPECT_EQ(s["xdp_tx_connect"], 0u);
  EXPECT_EQ(s["datagrams_received"], 3u);  // connect, announce, scrape
  EXPECT_EQ(s["xdp_drop_bad_connection_id"], uint64_t{kJunk});
  const uint64_t junk_drops =
      s["xdp_drop_short"] + s["xdp_drop_bad_magic"] +
      s["xdp_drop_unknown_action"] + s["xdp_drop_error_action"] +
      s["xdp_drop_announce_short"] + s["xdp_drop_scrape_length"] +
      s["xdp_drop_bad_connection_id"] - kJunk;
  EXPECT_GT(junk_drops, kJunk * 9u / 10);
  EXPECT_EQ(s["xdp_pass"], 2u);
  // Detached on exit.
  EXPECT_EQ(LoLink().find("prog/xdp"), std::string::npos) << LoLink();
}

TEST(XdpDaemonTest, ConnectToUserspaceWhenTurnedOff) {
  Daemon d({"--listen=127.0.0.1:0", "--workers=1", "--xdp=lo",
            "--xdp-mode=generic", "--xdp-connect=off"});
  ASSERT_TRUE(d.started());
  Client c("127.0.0.2", d.port());
  c.Connect();
  ASSERT_EQ(d.Stop(SIGTERM, milliseconds(2000)), 0);
  auto s = d.FinalStats();
  EXPECT_EQ(s["connects"], 1u);
  EXPECT_EQ(s["xdp_pass_connect"], 1u);
  EXPECT_EQ(s["xdp_tx_connect"], 0u);
}

TEST(XdpDaemonTest, RateLimitDropsAFloodingSource) {
  Daemon d({"--listen=127.0.0.1:0", "--workers=1", "--xdp=lo",
            "--xdp-mode=generic", "--xdp-rate-limit=100"});
  ASSERT_TRUE(d.started());
  Client flood("127.0.0.4", d.port());
  std::vector<uint8_t> req(16);
  protocol::WriteConnectRequest(req, 1);
  for (int i = 0; i < 2000; ++i) flood.Send(req);
  usleep(200000);
  Client calm("127.0.0.5", d.port());
  calm.Connect();  // another source is unaffected
  ASSERT_EQ(d.Stop(SIGTERM, milliseconds(2000)), 0);
  auto s = d.FinalStats();
  EXPECT_GT(s["xdp_drop_rate_limit"], 1500u);
  EXPECT_LE(s["connects"], 400u);
  EXPECT_GE(s["connects"], 1u);
}

// The program hangs off a bpf_link the process holds: however the daemon
// dies, the kernel closes the link and the interface is clean.
TEST(XdpDaemonTest, SigkillLeavesNoProgramAttached) {
  Daemon d({"--listen=127.0.0.1:0", "--workers=1", "--xdp=lo",
            "--xdp-mode=generic"});
  ASSERT_TRUE(d.started());
  ASSERT_NE(LoLink().find("prog/xdp"), std::string::npos) << LoLink();
  ASSERT_TRUE(d.Stop(SIGKILL, milliseconds(2000)).has_value());
  std::string link;
  for (int i = 0; i < 100; ++i) {  // the link is released asynchronously
    link = LoLink();
    if (link.find("prog/xdp") == std::string::npos) break;
    usleep(20000);
  }
  EXPECT_EQ(link.find("prog/xdp"), std::string::npos) << link;
}

TEST(XdpDaemonTest, RefusesToReplaceAForeignProgram) {
  // A program the daemon did not load (through iproute2, as an operator's
  // filter would be).
  ASSERT_EQ(std::system("ip link set dev lo xdpgeneric obj " RINGTRACK_BPF_OBJ
                        " sec xdp"),
            0);
  std::string err;
  EXPECT_EQ(RunDaemonToExit({"--listen=127.0.0.1:0", "--xdp=lo",
                             "--xdp-mode=generic"},
                            &err),
            1);
  EXPECT_NE(err.find("lo already has XDP program 'rt_xdp' (id "),
            std::string::npos)
      << err;
  // It is still there, untouched.
  EXPECT_NE(LoLink().find("prog/xdp"), std::string::npos);
  ASSERT_EQ(std::system("ip link set dev lo xdpgeneric off"), 0);
}

std::string StatusLine(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return "";
}

// Started as root, ringtrackd serves as nobody with no capability, and its
// XDP maps keep being refreshed through the fds it holds: the key map is
// rewritten every second and each failure would be logged; an ID minted
// seconds after the drop passes XDP and is served.
TEST(XdpDaemonTest, ServesUnprivilegedAndXdpKeepsRefreshing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string key_file =
      ::testing::TempDir() + "/rt_xdp_key_" + std::to_string(getpid());
  std::remove(key_file.c_str());
  Daemon d({"--listen=127.0.0.1:0", "--workers=1", "--xdp=lo",
            "--xdp-mode=generic", "--connection-key-file=" + key_file});
  ASSERT_TRUE(d.started());
  EXPECT_NE(d.start_line().find("user=nobody"), std::string::npos);
  EXPECT_EQ(StatusLine(d.pid(), "Uid:"), "Uid:\t65534\t65534\t65534\t65534");
  EXPECT_EQ(StatusLine(d.pid(), "CapEff:"), "CapEff:\t0000000000000000");
  EXPECT_EQ(StatusLine(d.pid(), "NoNewPrivs:"), "NoNewPrivs:\t1");
  // The daemon created the key file as root; the test reads it as root.
  absl::StatusOr<MasterKey> key = LoadMasterKeyFile(key_file, false);
  ASSERT_TRUE(key.ok()) << key.status();
  sleep(3);  // several refreshes of the XDP clock and key maps
  const uint32_t now = UnixSecondsNow();
  ConnectionIds ids(*key, now);
  Client c("127.0.0.2", d.port());
  const uint64_t cid = ids.Make(PeerEndpoint::V4(0x7f000002, 0), now);
  protocol::Response r;
  ASSERT_TRUE(c.Parse(
      c.Exchange(AnnouncePacket(cid, 1, TestHash(4), 6881, Event::kStarted, 0)),
      &r));
  EXPECT_EQ(r.action, Action::kAnnounce);
  ASSERT_EQ(d.Stop(SIGTERM, milliseconds(2000)), 0);
  auto s = d.FinalStats();
  EXPECT_EQ(s["xdp_pass"], 1u);
  EXPECT_EQ(s["announces"], 1u);
  EXPECT_EQ(d.Log().find("update failed"), std::string::npos) << d.Log();
  EXPECT_EQ(LoLink().find("prog/xdp"), std::string::npos);
  std::remove(key_file.c_str());
}

TEST(XdpDaemonTest, FailedAttachExitsOneUnlessOptional) {
  std::string err;
  EXPECT_EQ(
      RunDaemonToExit({"--listen=127.0.0.1:0", "--xdp=rt-no-such0"}, &err), 1);
  EXPECT_NE(err.find("rt-no-such0"), std::string::npos) << err;
  Daemon d({"--listen=127.0.0.1:0", "--workers=1", "--xdp=rt-no-such0",
            "--xdp-optional"});
  ASSERT_TRUE(d.started());
  EXPECT_NE(d.start_line().find("xdp=off"), std::string::npos);
  EXPECT_NE(d.Log().find("running without XDP"), std::string::npos);
  Client c("127.0.0.2", d.port());
  c.Connect();
}

}  // namespace
}  // namespace ringtrack::testing
