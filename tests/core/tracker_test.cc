#include "core/tracker.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace ringtrack {
namespace {

using protocol::Action;
using protocol::Event;

constexpr uint32_t kNow = 1'800'000'000;

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest()
      : table_(SwarmTableConfig{.initial_slots = 1024, .seed0 = 1, .seed1 = 2}),
        ids_(MasterKey{3, 4}, kNow),
        tracker_(TrackerConfig{}, &table_, &ids_) {}

  std::vector<uint8_t> Send(const std::vector<uint8_t>& d,
                            const PeerEndpoint& from,
                            Outcome* outcome = nullptr) {
    uint8_t reply[kMaxReplySize];
    const HandleResult r = tracker_.Handle(d, from, kNow, 42, reply, &stats_);
    if (outcome) *outcome = r.outcome;
    return {reply, reply + r.reply_size};
  }
  std::vector<uint8_t> AnnouncePacket(uint64_t cid, uint16_t port,
                                      Event ev = Event::kStarted,
                                      uint64_t left = 1, int32_t numwant = -1,
                                      uint8_t torrent = 1) {
    protocol::AnnounceRequest a;
    a.connection_id = cid;
    a.transaction_id = 0x5151;
    a.info_hash.bytes.fill(torrent);
    a.port = port;
    a.event = ev;
    a.left = left;
    a.num_want = numwant;
    std::vector<uint8_t> b(protocol::kAnnounceRequestSize);
    protocol::WriteAnnounceRequest(b, a);
    return b;
  }
  // The response aliases parsed_, which keeps the bytes alive.
  protocol::Response Parse(const std::vector<uint8_t>& b,
                           AddressFamily f = AddressFamily::kV4) {
    parsed_ = b;
    protocol::Response r;
    EXPECT_EQ(protocol::ParseResponse(parsed_, f, &r),
              protocol::ResponseParseError::kNone);
    return r;
  }
  uint64_t Connect(const PeerEndpoint& from) {
    std::vector<uint8_t> c(16);
    protocol::WriteConnectRequest(c, 7);
    return Parse(Send(c, from)).connect.connection_id;
  }

  SwarmTable table_;
  ConnectionIds ids_;
  Tracker tracker_;
  TrackerStats stats_;
  std::vector<uint8_t> parsed_;
  const PeerEndpoint alice_ = PeerEndpoint::V4(0x7f000001, 5000);
  const PeerEndpoint bob_ = PeerEndpoint::V4(0x7f000002, 5000);
};

TEST_F(TrackerTest, ConnectRepliesSixteenBytesWithVerifiableId) {
  std::vector<uint8_t> c(16);
  protocol::WriteConnectRequest(c, 0xabcd);
  const auto reply = Send(c, alice_);
  ASSERT_EQ(reply.size(), 16u);
  const auto r = Parse(reply);
  EXPECT_EQ(r.action, Action::kConnect);
  EXPECT_EQ(r.transaction_id(), 0xabcdu);
  EXPECT_TRUE(ids_.Verify(r.connect.connection_id, alice_, kNow));
}

TEST_F(TrackerTest, AnnounceNeedsConnectionIdOfSender) {
  const uint64_t cid = Connect(alice_);
  Outcome o;
  EXPECT_TRUE(Send(AnnouncePacket(cid, 6881), bob_, &o).empty());
  EXPECT_EQ(o, Outcome::kBadConnectionId);
  EXPECT_TRUE(Send(AnnouncePacket(cid ^ 1, 6881), alice_, &o).empty());
  const auto r = Parse(Send(AnnouncePacket(cid, 6881), alice_, &o));
  EXPECT_EQ(o, Outcome::kAnnounce);
  EXPECT_EQ(r.action, Action::kAnnounce);
  EXPECT_EQ(r.transaction_id(), 0x5151u);
  EXPECT_EQ(r.announce.interval, 1800u);
  EXPECT_EQ(r.announce.leechers, 1u);
}

TEST_F(TrackerTest, PeersUseSourceAddressAndAnnouncedPort) {
  Send(AnnouncePacket(Connect(alice_), 6881), alice_);
  const auto r = Parse(Send(AnnouncePacket(Connect(bob_), 7000), bob_));
  ASSERT_EQ(r.announce.peer_count(), 1u);
  EXPECT_EQ(r.announce.peer(0), PeerEndpoint::V4(0x7f000001, 6881));
}

TEST_F(TrackerTest, PortZeroGetsError) {
  const auto r = Parse(Send(AnnouncePacket(Connect(alice_), 0), alice_));
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.error.message, "invalid port");
  EXPECT_EQ(table_.stats().peers_v4, 0u);
}

TEST_F(TrackerTest, ScrapeWithNoHashesGetsErrorOnlyWhenProven) {
  std::vector<uint8_t> s(16);
  protocol::WriteScrapeRequest(s, 12345, 9, {});
  EXPECT_TRUE(Send(s, alice_).empty());  // forged ID: silence
  protocol::WriteScrapeRequest(s, Connect(alice_), 9, {});
  const auto r = Parse(Send(s, alice_));
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.transaction_id(), 9u);
}

TEST_F(TrackerTest, ScrapeAnswersFirst74) {
  Send(AnnouncePacket(Connect(alice_), 6881, Event::kStarted, 0), alice_);
  std::vector<uint8_t> hashes(75 * 20, 1);  // every hash is torrent 1
  std::vector<uint8_t> s(16 + hashes.size());
  protocol::WriteScrapeRequest(s, Connect(bob_), 3, hashes);
  const auto reply = Send(s, bob_);
  EXPECT_EQ(reply.size(), 8u + 74 * 12);
  const auto r = Parse(reply);
  EXPECT_EQ(r.scrape.entry_count(), 74u);
  EXPECT_EQ(r.scrape.entry(73).seeders, 1u);
}

TEST_F(TrackerTest, NumwantCappedPerFamily) {
  for (uint32_t i = 0; i < 300; ++i) {
    const auto p = PeerEndpoint::V4(0x0a000000 + i, 1);
    Send(AnnouncePacket(Connect(p), 6881), p);
  }
  const auto reply = Send(
      AnnouncePacket(Connect(alice_), 6881, Event::kNone, 1, 1000), alice_);
  EXPECT_EQ(Parse(reply).announce.peer_count(), 200u);
  EXPECT_LE(reply.size(), kMaxReplySize);
  const auto dflt = Send(AnnouncePacket(Connect(alice_), 6881), alice_);
  EXPECT_EQ(Parse(dflt).announce.peer_count(), 50u);
}

TEST_F(TrackerTest, StoppedRepliesCountsWithoutPeers) {
  Send(AnnouncePacket(Connect(alice_), 6881), alice_);
  const uint64_t cid = Connect(bob_);
  Send(AnnouncePacket(cid, 6881), bob_);
  const auto r = Parse(Send(AnnouncePacket(cid, 6881, Event::kStopped), bob_));
  EXPECT_EQ(r.announce.peer_count(), 0u);
  EXPECT_EQ(r.announce.leechers, 1u);
}

// From an address that has not proven itself, no datagram of any length or
// content gets a reply larger than itself; refused ones are counted.
TEST_F(TrackerTest, NoAmplificationForUnprovenSenders) {
  std::mt19937 rng(3);
  uint64_t replies = 0;
  for (int n = 0; n < 20000; ++n) {
    std::vector<uint8_t> d(rng() % 200);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    if (d.size() >= 16 && n % 2) {  // make the action plausible
      d[8] = d[9] = d[10] = 0;
      d[11] = static_cast<uint8_t>(rng() % 4);
    }
    if (d.size() >= 16 && n % 7 == 0) {  // a real connect, with trailing junk
      protocol::WriteConnectRequest(d, 1);
    }
    const auto reply = Send(d, alice_);
    EXPECT_LE(reply.size(), d.size());
    replies += !reply.empty();
  }
  EXPECT_GT(replies, 0u);  // the real connects were answered
  EXPECT_GT(stats_.invalid[static_cast<size_t>(protocol::ParseError::kTooShort)]
                .value(),
            0u);
  EXPECT_GT(
      stats_.outcomes[static_cast<size_t>(Outcome::kBadConnectionId)].value(),
      0u);
}

TEST_F(TrackerTest, AccessListRefusesWithAnErrorAndCreatesNoSwarm) {
  const PeerEndpoint from = PeerEndpoint::V4(0xa9fe0005, 40000);
  const uint64_t cid = Connect(from);
  InfoHash allowed;
  allowed.bytes.fill(1);
  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "01";
  auto list = AccessList::Parse(hex, AccessList::Mode::kAllow, "test");
  ASSERT_TRUE(list.ok());
  tracker_.SetAccessList(std::move(*list));
  protocol::Response r = Parse(Send(AnnouncePacket(cid, 7001, Event::kStarted, 1, -1, 2), from));
  ASSERT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.error.message, "torrent not allowed");
  EXPECT_EQ(table_.stats().torrents, 0u);
  EXPECT_EQ(stats_.not_allowed.value(), 1u);
  r = Parse(Send(AnnouncePacket(cid, 7001, Event::kStarted, 1, -1, 1), from));
  EXPECT_EQ(r.action, Action::kAnnounce);
  EXPECT_EQ(table_.stats().torrents, 1u);
  // A scrape naming any refused hash is refused whole.
  std::vector<uint8_t> hashes(40, 1);
  std::fill(hashes.begin() + 20, hashes.end(), 2);
  std::vector<uint8_t> scrape(16 + 40);
  protocol::WriteScrapeRequest(scrape, cid, 9, hashes);
  r = Parse(Send(scrape, from));
  EXPECT_EQ(r.action, Action::kError);
  // Without a list, everything is served again.
  tracker_.SetAccessList(nullptr);
  r = Parse(Send(AnnouncePacket(cid, 7001, Event::kStarted, 1, -1, 2), from));
  EXPECT_EQ(r.action, Action::kAnnounce);
}

}  // namespace
}  // namespace ringtrack
