#include "core/swarm/state_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "core/udp/protocol.h"
#include "core/base/wire.h"

namespace ringtrack::state {
namespace {

PeerRecord Peer4(uint32_t ip, uint16_t port, uint32_t seen, bool seeder,
                 bool counted) {
  PeerRecord r;
  r.peer = PeerEndpoint::V4(ip, port);
  r.last_seen = seen;
  r.seeder = seeder;
  r.counted = counted;
  return r;
}

PeerRecord Peer6(uint8_t tag, uint16_t port, uint32_t seen, bool seeder) {
  uint8_t ip[16] = {0xfd, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, tag};
  PeerRecord r;
  r.peer = PeerEndpoint::V6(ip, port);
  r.last_seen = seen;
  r.seeder = seeder;
  r.counted = seeder;
  return r;
}

std::vector<SwarmRecord> SampleSwarms() {
  std::vector<SwarmRecord> v(3);
  v[0].info_hash.bytes.fill(0x11);
  v[0].completed = 7;
  v[0].peers = {Peer4(0x7f000001, 6881, 1000, true, true),
                Peer6(1, 51413, 990, false),
                Peer4(0x7f000002, 6882, 995, false, true)};
  v[1].info_hash.bytes.fill(0x22);
  v[1].completed = 0;
  v[1].peers = {Peer6(2, 1, 4000000000u, true)};
  v[2].info_hash.bytes.fill(0x33);
  v[2].completed = 123456;
  v[2].peers = {Peer4(0x01020304, 65535, 1, false, false)};
  return v;
}

std::vector<uint8_t> Encode(const std::vector<SwarmRecord>& swarms,
                            uint64_t saved_at = 1234) {
  std::vector<uint8_t> out;
  AppendHeader(saved_at, &out);
  uint64_t peers = 0;
  for (const SwarmRecord& r : swarms) {
    AppendSwarm(r, &out);
    peers += r.peers.size();
  }
  Checksum sum;
  sum.Update(out);
  AppendTrailer(swarms.size(), peers, sum, &out);
  return out;
}

// A peer list in a canonical order (the encoder writes IPv4 first).
auto Canonical(std::vector<PeerRecord> v) {
  std::vector<std::tuple<int, std::array<uint8_t, 16>, uint16_t, uint32_t,
                         bool, bool>>
      out;
  for (const PeerRecord& p : v) {
    out.emplace_back(static_cast<int>(p.peer.family), p.peer.ip, p.peer.port,
                     p.last_seen, p.seeder, p.counted);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StateFormatTest, RoundTripsEveryField) {
  const std::vector<SwarmRecord> in = SampleSwarms();
  const std::vector<uint8_t> file = Encode(in, 987654321);
  absl::StatusOr<FileInfo> info = Verify(file);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->version, kVersion);
  EXPECT_EQ(info->saved_at, 987654321u);
  EXPECT_EQ(info->swarms, 3u);
  EXPECT_EQ(info->peers, 5u);
  std::vector<SwarmRecord> out;
  ASSERT_TRUE(ForEachRecord(file, [&](const SwarmRecord& r) {
                out.push_back(r);
              }).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].info_hash, in[i].info_hash);
    EXPECT_EQ(out[i].completed, in[i].completed);
    EXPECT_EQ(Canonical(out[i].peers), Canonical(in[i].peers));
  }
}

TEST(StateFormatTest, ExactBytesOfOneRecord) {
  SwarmRecord r;
  r.info_hash.bytes.fill(0xab);
  r.completed = 0x01020304;
  r.peers = {Peer4(0xc0000201, 0x1a2b, 0x0a0b0c0d, true, true)};
  std::vector<uint8_t> out;
  AppendSwarm(r, &out);
  ASSERT_EQ(out.size(), kSwarmHeaderSize + kPeerV4Size);
  EXPECT_EQ(out[0], 0xab);
  EXPECT_EQ(wire::LoadBe32(&out[20]), 0x01020304u);
  EXPECT_EQ(wire::LoadBe32(&out[24]), 1u);  // IPv4 peers
  EXPECT_EQ(wire::LoadBe32(&out[28]), 0u);  // IPv6 peers
  const std::vector<uint8_t> peer(out.begin() + 32, out.end());
  EXPECT_EQ(peer, (std::vector<uint8_t>{0xc0, 0x00, 0x02, 0x01, 0x1a, 0x2b,
                                        kFlagSeeder | kFlagCounted, 0x0a, 0x0b,
                                        0x0c, 0x0d}));
}

TEST(StateFormatTest, ChecksumDoesNotDependOnHowBytesAreFed) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  Checksum whole;
  whole.Update(data);
  for (size_t piece : {1, 3, 8, 31, 32, 33, 100, 999}) {
    Checksum parts;
    for (size_t at = 0; at < data.size(); at += piece) {
      parts.Update(std::span<const uint8_t>(data).subspan(
          at, std::min(piece, data.size() - at)));
    }
    EXPECT_EQ(parts.Finish(), whole.Finish()) << "pieces of " << piece;
  }
  // Appending a zero byte changes it (the length is covered).
  std::vector<uint8_t> longer = data;
  longer.push_back(0);
  Checksum l;
  l.Update(longer);
  EXPECT_NE(l.Finish(), whole.Finish());
}

TEST(StateFormatTest, EveryFlippedByteIsRefused) {
  const std::vector<uint8_t> good = Encode(SampleSwarms());
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= bit;
      EXPECT_FALSE(Verify(bad).ok()) << "byte " << i << " bit " << int{bit};
    }
  }
}

TEST(StateFormatTest, EveryTruncationIsRefused) {
  const std::vector<uint8_t> good = Encode(SampleSwarms());
  for (size_t n = 0; n < good.size(); ++n) {
    const absl::StatusOr<FileInfo> info =
        Verify(std::span<const uint8_t>(good).first(n));
    ASSERT_FALSE(info.ok()) << n;
    if (n >= kMagic.size()) {
      EXPECT_TRUE(absl::IsDataLoss(info.status())) << n << " " << info.status();
    }
  }
}

TEST(StateFormatTest, ForeignAndOtherVersionSayWhich) {
  std::vector<uint8_t> foreign(100, 'x');
  absl::StatusOr<FileInfo> f = Verify(foreign);
  EXPECT_TRUE(absl::IsInvalidArgument(f.status()));
  EXPECT_NE(f.status().message().find("not a ringtrack state file"),
            std::string::npos);

  std::vector<uint8_t> v2 = Encode(SampleSwarms());
  wire::StoreBe32(&v2[8], kVersion + 1);
  absl::StatusOr<FileInfo> v = Verify(v2);
  EXPECT_TRUE(absl::IsFailedPrecondition(v.status()));
  EXPECT_NE(v.status().message().find("version 2"), std::string::npos);
}

// A record whose counts lie (with a checksum to match, as only a buggy
// writer could make) is caught without reading past the end.
TEST(StateFormatTest, LyingCountsNeverOverrun) {
  for (uint32_t n4 : {2u, 1000u, 0xffffffffu}) {
    std::vector<uint8_t> file = Encode({SampleSwarms()[2]});
    wire::StoreBe32(&file[kHeaderSize + 24], n4);
    Checksum sum;
    sum.Update(std::span<const uint8_t>(file).first(file.size() - 8));
    wire::StoreBe64(&file[file.size() - 8], sum.Finish());
    ASSERT_TRUE(Verify(file).ok());
    int visited = 0;
    const absl::Status s =
        ForEachRecord(file, [&](const SwarmRecord&) { ++visited; });
    EXPECT_TRUE(absl::IsDataLoss(s)) << n4 << " " << s;
    EXPECT_EQ(visited, 0);
  }
}

TEST(StateFormatTest, EmptyTableIsAValidFile) {
  const std::vector<uint8_t> file = Encode({});
  EXPECT_EQ(file.size(), kHeaderSize + kTrailerSize);
  ASSERT_TRUE(Verify(file).ok());
  int visited = 0;
  EXPECT_TRUE(ForEachRecord(file, [&](const SwarmRecord&) { ++visited; }).ok());
  EXPECT_EQ(visited, 0);
}

// Snapshot → file → restore into a fresh table gives the same swarms.
TEST(StateFormatTest, TableSnapshotRestoresIntoAFreshTable) {
  SwarmTableConfig c;
  c.initial_slots = 64;
  c.seed0 = 1;
  c.seed1 = 2;
  c.peer_timeout_s = 100;
  SwarmTable a(c);
  std::vector<uint8_t> out(200 * 18);
  auto announce = [&](SwarmTable& t, uint8_t torrent, const PeerEndpoint& p,
                      bool seeder, uint32_t now, protocol::Event ev) {
    AnnounceParams ap;
    ap.info_hash.bytes.fill(torrent);
    ap.peer = p;
    ap.seeder = seeder;
    ap.now = now;
    ap.event = ev;
    ap.numwant = 200;
    return t.Announce(ap, out);
  };
  for (uint8_t t = 1; t <= 20; ++t) {
    for (uint32_t i = 0; i < t; ++i) {
      announce(a, t, PeerEndpoint::V4(0x7f000000 + i, 1000 + t), i % 3 == 0,
               1000 + i, protocol::Event::kNone);
    }
    announce(a, t, Peer6(t, 7000, 0, false).peer, false, 1010,
             protocol::Event::kNone);
    // A download counted: a leecher turning seeder.
    announce(a, t, Peer6(t, 7000, 0, false).peer, true, 1020,
             protocol::Event::kCompleted);
  }
  std::vector<uint8_t> file;
  AppendHeader(1050, &file);
  uint64_t swarms = 0, peers = 0;
  a.ForEachSwarm(1050, [&](const SwarmRecord& r) {
    AppendSwarm(r, &file);
    ++swarms;
    peers += r.peers.size();
  });
  EXPECT_EQ(swarms, 20u);
  EXPECT_EQ(peers, 210u + 20u);
  Checksum sum;
  sum.Update(file);
  AppendTrailer(swarms, peers, sum, &file);
  ASSERT_TRUE(Verify(file).ok());

  // Restored at 1090 with a 100 s timeout: peers seen at 1000..1019 are
  // all alive (4 s resolution), so everything comes back.
  SwarmTable b(c);
  RestoreCounts counts;
  ASSERT_TRUE(ForEachRecord(file, [&](const SwarmRecord& r) {
                b.Restore(r, 1090, &counts);
              }).ok());
  EXPECT_EQ(counts.swarms, 20u);
  EXPECT_EQ(counts.peers, 230u);
  EXPECT_EQ(counts.expired, 0u);
  std::string why;
  ASSERT_TRUE(b.CheckInvariants(&why)) << why;
  for (uint8_t t = 1; t <= 20; ++t) {
    InfoHash h;
    h.bytes.fill(t);
    const SwarmCounts ca = a.Scrape(h), cb = b.Scrape(h);
    EXPECT_EQ(cb.seeders, ca.seeders) << int{t};
    EXPECT_EQ(cb.leechers, ca.leechers) << int{t};
    EXPECT_EQ(cb.completed, ca.completed) << int{t};
    EXPECT_EQ(cb.completed, 1u);
  }
  // Peer by peer (endpoint, role, counted flag, last seen), the same.
  std::map<InfoHash, std::vector<PeerRecord>, bool (*)(const InfoHash&,
                                                       const InfoHash&)>
      snap_a([](const InfoHash& x, const InfoHash& y) {
        return x.bytes < y.bytes;
      });
  auto snap_b = snap_a;
  a.ForEachSwarm(1050, [&](const SwarmRecord& r) { snap_a[r.info_hash] = r.peers; });
  b.ForEachSwarm(1050, [&](const SwarmRecord& r) { snap_b[r.info_hash] = r.peers; });
  ASSERT_EQ(snap_a.size(), snap_b.size());
  for (const auto& [h, peers] : snap_a) {
    EXPECT_EQ(Canonical(snap_b[h]), Canonical(peers));
  }
  // The records hold the endpoints as announced (the file's ports are
  // host-order numbers, whatever order the table keeps them in).
  for (uint8_t t = 1; t <= 20; ++t) {
    InfoHash h;
    h.bytes.fill(t);
    std::vector<PeerEndpoint> v4;
    for (const PeerRecord& r : snap_a[h]) {
      if (r.peer.family == AddressFamily::kV4) v4.push_back(r.peer);
    }
    ASSERT_EQ(v4.size(), t);
    for (uint32_t i = 0; i < t; ++i) {
      EXPECT_NE(std::find(v4.begin(), v4.end(),
                          PeerEndpoint::V4(0x7f000000 + i, 1000 + t)),
                v4.end())
          << int{t} << " " << i;
    }
  }

  // The restored entries remember they were counted: the same client
  // completing again does not count twice.
  announce(b, 1, Peer6(1, 7000, 0, false).peer, false, 1091,
           protocol::Event::kNone);
  announce(b, 1, Peer6(1, 7000, 0, false).peer, true, 1092,
           protocol::Event::kCompleted);
  InfoHash h1;
  h1.bytes.fill(1);
  EXPECT_EQ(b.Scrape(h1).completed, 1u);

  // Restored later: peers older than the timeout are dropped, and a swarm
  // left with none is not created.
  SwarmTable late(c);
  RestoreCounts lc;
  ASSERT_TRUE(ForEachRecord(file, [&](const SwarmRecord& r) {
                late.Restore(r, 1112, &lc);
              }).ok());
  EXPECT_GT(lc.expired, 0u);
  EXPECT_EQ(lc.peers + lc.expired, 230u);
  EXPECT_EQ(late.stats().peers_v4 + late.stats().peers_v6, lc.peers);
  ASSERT_TRUE(late.CheckInvariants(&why)) << why;
}

TEST(StateFormatTest, RestoreStopsAtTheBudget) {
  MemoryBudget budget(2 << 20);
  SwarmTableConfig c;
  c.initial_slots = 1024;
  c.budget = &budget;
  c.peer_timeout_s = 100;
  SwarmTable t(c);
  RestoreCounts counts;
  SwarmRecord r;
  for (uint32_t s = 0; s < 200000 && counts.refused == 0; ++s) {
    r.info_hash.bytes.fill(0);
    wire::StoreBe32(r.info_hash.bytes.data(), s);
    r.peers = {Peer4(0x0a000000 + s, 1, 50, false, false)};
    t.Restore(r, 60, &counts);
  }
  EXPECT_GT(counts.refused, 0u);
  EXPECT_LE(budget.used(), budget.limit());
  std::string why;
  ASSERT_TRUE(t.CheckInvariants(&why)) << why;
}

}  // namespace
}  // namespace ringtrack::state
