#include "core/udp/udp_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace ringtrack {
namespace {

using protocol::Action;
using protocol::Event;

constexpr uint32_t kNow = 1'800'000'000;

class UdpTrackerTest : public ::testing::Test {
 protected:
  UdpTrackerTest()
      : table_(SwarmTableConfig{.initial_slots = 1024, .seed0 = 1, .seed1 = 2}),
        ids_(MasterKey{3, 4}, kNow),
        core_(TrackerConfig{}, &table_),
        tracker_(&core_, &ids_) {}

  std::vector<uint8_t> Send(const std::vector<uint8_t>& d,
                            const PeerEndpoint& from,
                            UdpOutcome* outcome = nullptr) {
    uint8_t reply[kMaxUdpReplySize];
    const UdpResult r = tracker_.Handle(d, from, kNow, 42, reply, &stats_);
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
  Tracker core_;
  UdpTracker tracker_;
  UdpStats stats_;
  std::vector<uint8_t> parsed_;
  const PeerEndpoint alice_ = PeerEndpoint::V4(0x7f000001, 5000);
  const PeerEndpoint bob_ = PeerEndpoint::V4(0x7f000002, 5000);
};

TEST_F(UdpTrackerTest, ConnectRepliesSixteenBytesWithVerifiableId) {
  std::vector<uint8_t> c(16);
  protocol::WriteConnectRequest(c, 0xabcd);
  const auto reply = Send(c, alice_);
  ASSERT_EQ(reply.size(), 16u);
  const auto r = Parse(reply);
  EXPECT_EQ(r.action, Action::kConnect);
  EXPECT_EQ(r.transaction_id(), 0xabcdu);
  EXPECT_TRUE(ids_.Verify(r.connect.connection_id, alice_, kNow));
}

TEST_F(UdpTrackerTest, AnnounceNeedsConnectionIdOfSender) {
  const uint64_t cid = Connect(alice_);
  UdpOutcome o;
  EXPECT_TRUE(Send(AnnouncePacket(cid, 6881), bob_, &o).empty());
  EXPECT_EQ(o, UdpOutcome::kBadConnectionId);
  EXPECT_TRUE(Send(AnnouncePacket(cid ^ 1, 6881), alice_, &o).empty());
  const auto r = Parse(Send(AnnouncePacket(cid, 6881), alice_, &o));
  EXPECT_EQ(o, UdpOutcome::kAnnounce);
  EXPECT_EQ(r.action, Action::kAnnounce);
  EXPECT_EQ(r.transaction_id(), 0x5151u);
  EXPECT_EQ(r.announce.interval, 1800u);
  EXPECT_EQ(r.announce.leechers, 1u);
}

TEST_F(UdpTrackerTest, PeersUseSourceAddressAndAnnouncedPort) {
  Send(AnnouncePacket(Connect(alice_), 6881), alice_);
  const auto r = Parse(Send(AnnouncePacket(Connect(bob_), 7000), bob_));
  ASSERT_EQ(r.announce.peer_count(), 1u);
  EXPECT_EQ(r.announce.peer(0), PeerEndpoint::V4(0x7f000001, 6881));
}

TEST_F(UdpTrackerTest, PortZeroGetsError) {
  const auto r = Parse(Send(AnnouncePacket(Connect(alice_), 0), alice_));
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.error.message, "invalid port");
  EXPECT_EQ(table_.stats().peers_v4, 0u);
}

TEST_F(UdpTrackerTest, ScrapeWithNoHashesGetsErrorOnlyWhenProven) {
  std::vector<uint8_t> s(16);
  protocol::WriteScrapeRequest(s, 12345, 9, {});
  EXPECT_TRUE(Send(s, alice_).empty());  // forged ID: silence
  protocol::WriteScrapeRequest(s, Connect(alice_), 9, {});
  const auto r = Parse(Send(s, alice_));
  EXPECT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.transaction_id(), 9u);
}

TEST_F(UdpTrackerTest, ScrapeAnswersFirst74) {
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

// A datagram a receive buffer cut (HandleBatch() with wire_size beyond the
// bytes kept) gets the reply the whole datagram gets: a scrape of 200
// hashes cut at 2 048 bytes is answered for its first 74, an announce whose
// options were cut is answered; bytes_in counts the wire length.
TEST_F(UdpTrackerTest, CutDatagramsAreAnsweredAsWhole) {
  Send(AnnouncePacket(Connect(alice_), 6881, Event::kStarted, 0), alice_);
  std::vector<uint8_t> hashes(200 * 20, 1);
  std::vector<uint8_t> scrape(16 + hashes.size());
  protocol::WriteScrapeRequest(scrape, Connect(bob_), 3, hashes);
  std::vector<uint8_t> announce =
      AnnouncePacket(Connect(bob_), 7000, Event::kStarted, 1);
  for (int i = 0; i < 40; ++i) {
    announce.insert(announce.end(), {0x2, 200});
    announce.insert(announce.end(), 200, 'u');
  }
  for (const auto* d : {&scrape, &announce}) {
    const std::vector<uint8_t> whole = Send(*d, bob_);
    ASSERT_FALSE(whole.empty());
    std::vector<uint8_t> reply(kMaxUdpReplySize);
    UdpTracker::BatchItem it;
    it.datagram = std::span(*d).first(2048);
    it.wire_size = d->size();
    it.from = bob_;
    it.random = 42;
    it.reply = reply;
    const uint64_t bytes_in = stats_.bytes_in.value();
    tracker_.HandleBatch(std::span(&it, 1), kNow, &stats_);
    EXPECT_EQ(stats_.bytes_in.value(), bytes_in + d->size());
    reply.resize(it.result.reply_size);
    EXPECT_EQ(reply, whole);
  }
  EXPECT_EQ(Parse(Send(scrape, bob_)).scrape.entry_count(), 74u);
}

TEST_F(UdpTrackerTest, NumwantCappedPerFamily) {
  for (uint32_t i = 0; i < 300; ++i) {
    const auto p = PeerEndpoint::V4(0x0a000000 + i, 1);
    Send(AnnouncePacket(Connect(p), 6881), p);
  }
  const auto reply = Send(
      AnnouncePacket(Connect(alice_), 6881, Event::kNone, 1, 1000), alice_);
  EXPECT_EQ(Parse(reply).announce.peer_count(), 200u);
  EXPECT_LE(reply.size(), kMaxUdpReplySize);
  const auto dflt = Send(AnnouncePacket(Connect(alice_), 6881), alice_);
  EXPECT_EQ(Parse(dflt).announce.peer_count(), 50u);
}

TEST_F(UdpTrackerTest, StoppedRepliesCountsWithoutPeers) {
  Send(AnnouncePacket(Connect(alice_), 6881), alice_);
  const uint64_t cid = Connect(bob_);
  Send(AnnouncePacket(cid, 6881), bob_);
  const auto r = Parse(Send(AnnouncePacket(cid, 6881, Event::kStopped), bob_));
  EXPECT_EQ(r.announce.peer_count(), 0u);
  EXPECT_EQ(r.announce.leechers, 1u);
}

// From an address that has not proven itself, no datagram of any length or
// content gets a reply larger than itself; refused ones are counted.
TEST_F(UdpTrackerTest, NoAmplificationForUnprovenSenders) {
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
      stats_.outcomes[static_cast<size_t>(UdpOutcome::kBadConnectionId)].value(),
      0u);
}

TEST_F(UdpTrackerTest, AccessListRefusesWithAnErrorAndCreatesNoSwarm) {
  const PeerEndpoint from = PeerEndpoint::V4(0xa9fe0005, 40000);
  const uint64_t cid = Connect(from);
  InfoHash allowed;
  allowed.bytes.fill(1);
  std::string hex;
  for (int i = 0; i < 20; ++i) hex += "01";
  auto list = AccessList::Parse(hex, AccessList::Mode::kAllow, "test");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(core_.SetAccessList(std::move(*list)), nullptr);
  protocol::Response r = Parse(Send(AnnouncePacket(cid, 7001, Event::kStarted, 1, -1, 2), from));
  ASSERT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.error.message, "torrent not allowed");
  EXPECT_EQ(table_.stats().torrents, 0u);
  EXPECT_EQ(stats_.tracker.refused[static_cast<size_t>(Refusal::kNotAllowed)].value(), 1u);
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
  const AccessList* const in_force = core_.access_list();
  EXPECT_EQ(core_.SetAccessList(nullptr).get(), in_force)
      << "the replaced list goes back to the caller, to free after a grace "
         "period";
  r = Parse(Send(AnnouncePacket(cid, 7001, Event::kStarted, 1, -1, 2), from));
  EXPECT_EQ(r.action, Action::kAnnounce);
}

// HandleBatch() answers exactly as Handle() on each datagram in turn: two
// trackers with the same keys and seeds, one fed datagram by datagram, the
// other in batches of 1 to 70, see the same mix of connects, announces
// (valid, with a wrong connection ID, port 0, stopped, seeders, IPv6),
// scrapes and garbage, with the same randoms; every reply, outcome and
// counter, and both tables, must match.
// At the memory budget only a new torrent gets "tracker is full"; a
// newcomer to a swarm that holds peers gets them, as at the per-swarm cap.
TEST_F(UdpTrackerTest, AtTheBudgetANewcomerGetsPeersANewTorrentAnError) {
  MemoryBudget budget(4096 + 4000);
  SwarmTable table(SwarmTableConfig{.initial_slots = 64, .seed0 = 1,
                                    .seed1 = 2, .budget = &budget});
  Tracker core(TrackerConfig{}, &table);
  UdpTracker tracker(&core, &ids_);
  std::vector<uint8_t> reply(kMaxUdpReplySize);
  auto announce = [&](uint32_t address, uint8_t torrent) {
    const PeerEndpoint from = PeerEndpoint::V4(address, 6000);
    const uint64_t cid = ids_.Make(from, kNow);
    const UdpResult r = tracker.Handle(
        AnnouncePacket(cid, 6000, Event::kStarted, 1, -1, torrent), from,
        kNow, 1, reply, &stats_);
    return Parse({reply.begin(), reply.begin() + r.reply_size});
  };
  // Swarms of 10 peers until a new torrent is refused.
  uint8_t torrent = 1;
  for (;; ++torrent) {
    ASSERT_LT(torrent, 250);
    const protocol::Response r = announce(0x0a000000 + torrent * 16, torrent);
    if (r.action == Action::kError) {
      EXPECT_EQ(r.error.message, "tracker is full");
      break;
    }
    for (uint32_t k = 1; k < 10; ++k) {
      announce(0x0a000000 + torrent * 16 + k, torrent);
    }
  }
  // Newcomers to swarm 1 get its peers, stored or not.
  const uint64_t stored = table.stats().peers_v4;
  for (uint32_t k = 0; k < 20; ++k) {
    const protocol::Response r = announce(0x0b000000 + k, 1);
    ASSERT_EQ(r.action, Action::kAnnounce) << k;
    EXPECT_GE(r.announce.peer_count(), 10u) << k;
  }
  EXPECT_LT(table.stats().peers_v4, stored + 20);  // some were not stored
  EXPECT_GT(table.stats().refused.peer_memory_unstored, 0u);
  // A new torrent still gets the error.
  const protocol::Response r = announce(0x0c000001, 251);
  ASSERT_EQ(r.action, Action::kError);
  EXPECT_EQ(r.error.message, "tracker is full");
}

TEST(UdpTrackerBatchTest, BatchAnswersAsOneByOne) {
  struct Side {
    SwarmTable table{SwarmTableConfig{.initial_slots = 64, .seed0 = 1,
                                      .seed1 = 2}};
    ConnectionIds ids{MasterKey{3, 4}, kNow};
    Tracker core{TrackerConfig{}, &table};
    UdpTracker tracker{&core, &ids};
    UdpStats stats;
  };
  Side one, batch;
  std::mt19937_64 rng(7);
  std::vector<PeerEndpoint> sources;
  for (uint32_t i = 0; i < 40; ++i) {
    if (i % 5 == 4) {
      uint8_t ip[16] = {0xfd, 0x00};
      ip[15] = static_cast<uint8_t>(i);
      sources.push_back(PeerEndpoint::V6(ip, 1000));
    } else {
      sources.push_back(PeerEndpoint::V4(0x7f000100 + i, 1000));
    }
  }
  auto datagram = [&](const PeerEndpoint& from) {
    const uint32_t kind = rng() % 100;
    const uint64_t cid = kind < 5 ? rng() : one.ids.Make(from, kNow);
    if (kind < 10) {
      std::vector<uint8_t> c(16);
      protocol::WriteConnectRequest(c, static_cast<uint32_t>(rng()));
      return c;
    }
    if (kind < 18) {
      std::vector<uint8_t> hashes(20 * (1 + rng() % 3));
      for (auto& b : hashes) b = static_cast<uint8_t>(rng() % 6);
      std::vector<uint8_t> d(16 + hashes.size());
      protocol::WriteScrapeRequest(d, cid, 9, hashes);
      return d;
    }
    if (kind < 22) {
      std::vector<uint8_t> junk(rng() % 120);
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      return junk;
    }
    protocol::AnnounceRequest a;
    a.connection_id = cid;
    a.transaction_id = static_cast<uint32_t>(rng());
    a.info_hash.bytes.fill(static_cast<uint8_t>(rng() % 6));
    a.port = kind < 24 ? 0 : static_cast<uint16_t>(6000 + rng() % 4);
    const uint32_t ev = rng() % 10;
    a.event = ev == 0 ? Event::kStopped : ev == 1 ? Event::kCompleted
                                                  : Event::kStarted;
    a.left = rng() % 3 == 0 ? 0 : 1;
    a.num_want = static_cast<int32_t>(rng() % 60) - 1;
    std::vector<uint8_t> d(protocol::kAnnounceRequestSize);
    protocol::WriteAnnounceRequest(d, a);
    return d;
  };
  std::vector<std::vector<uint8_t>> replies(70,
                                            std::vector<uint8_t>(kMaxUdpReplySize));
  size_t handled = 0, announces = 0;
  while (handled < 3000) {
    const size_t n = 1 + rng() % 70;
    std::vector<std::vector<uint8_t>> data;
    std::vector<size_t> from;
    std::vector<UdpTracker::BatchItem> items;
    for (size_t j = 0; j < n; ++j) {
      from.push_back(rng() % sources.size());
      data.push_back(datagram(sources[from.back()]));
    }
    for (size_t j = 0; j < n; ++j) {
      UdpTracker::BatchItem it;
      it.datagram = data[j];
      it.from = sources[from[j]];
      it.random = rng();
      it.reply = replies[j];
      items.push_back(it);
    }
    batch.tracker.HandleBatch(std::span(items), kNow, &batch.stats);
    for (size_t j = 0; j < n; ++j) {
      std::vector<uint8_t> reply(kMaxUdpReplySize);
      const UdpResult r = one.tracker.Handle(
          items[j].datagram, items[j].from, kNow, items[j].random, reply,
          &one.stats);
      ASSERT_EQ(items[j].result.outcome, r.outcome) << handled + j;
      ASSERT_EQ(items[j].result.reply_size, r.reply_size) << handled + j;
      ASSERT_TRUE(std::equal(reply.begin(), reply.begin() + r.reply_size,
                             items[j].reply.begin()))
          << handled + j;
      announces += r.outcome == UdpOutcome::kAnnounce;
    }
    handled += n;
  }
  // The mix did reach the table, through both paths.
  EXPECT_GT(announces, 1000u);
  for (size_t o = 0; o < static_cast<size_t>(UdpOutcome::kCount); ++o) {
    EXPECT_EQ(batch.stats.outcomes[o].value(), one.stats.outcomes[o].value())
        << o;
  }
  EXPECT_EQ(batch.stats.bytes_out.value(), one.stats.bytes_out.value());
  const SwarmTableStats a = batch.table.stats(), b = one.table.stats();
  EXPECT_EQ(a.torrents, b.torrents);
  EXPECT_EQ(a.peers_v4, b.peers_v4);
  EXPECT_EQ(a.peers_v6, b.peers_v6);
  EXPECT_EQ(a.seeders, b.seeders);
  std::string why;
  EXPECT_TRUE(batch.table.CheckInvariants(&why)) << why;
}

}  // namespace
}  // namespace ringtrack
