// The memory budget under a flood, in simulated time: does the tracker keep
// serving legitimate peers while a flood holds its budget, and how soon
// does it store them again once the flood stops?
//
// In-process, over core's Tracker (connection IDs, codec, SwarmTable,
// SourceLimiter) with the daemon's defaults: a 64 MiB budget, interval
// 1800 s, peer timeout 3600 s, 8 peers per source per swarm, 1 new torrent
// per second per source (burst 100), and the sweep visiting the whole table
// every 60 s. The clock is simulated, one step a second, so real announce
// rounds pass in seconds of CPU.
//
// Legitimate peers: 100 swarms, each with a seeder that has announced
// every interval since before the flood, and 1 000 leechers (10 a swarm),
// each from its own /24 (or /48), which arrive during the flood's first
// round, at a random phase, and then announce every interval: newcomers to
// existing swarms while the flood holds the budget. The seeders announce
// alone for one interval, then the flood runs for --flood_s seconds at
// --flood_rate announces a second (the sweep, the flood's first half, the
// legitimate announces due, the flood's second half, each second), then
// stops; three rounds follow.
//
// Floods (each in a fresh table): "ipv4": 65 000 IPv4 sources (10.0.0.0 +
// n, 254 /24s); "ipv6": 2 000 /64s of one /48. Every flood announce is a
// new peer (random source and port) for one of 1 M info hashes, so the
// flood creates torrents and joins its own, and never re-announces.
//
// For each window it prints the leechers' announces, the share answered
// with peers (an announce reply with at least one peer), the share after
// which the leecher is stored, and the leechers found evicted (one counted
// as stored whose next announce stored it anew). It uses only API that
// older versions of core have too, so the same file measures a checkout
// before a policy change, as the reference.
//
//   build/bin/budget_bench [--flood=ipv4|ipv6|both] [--flood_s=1800]
//                          [--flood_rate=20000]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/udp/connection_id.h"
#include "core/base/hash.h"
#include "core/base/memory_budget.h"
#include "core/udp/protocol.h"
#include "core/swarm/source_limiter.h"
#include "core/swarm/swarm_table.h"
#include "core/udp/udp_tracker.h"

namespace ringtrack {
namespace {

constexpr uint32_t kStart = 1'800'000'000;
constexpr uint32_t kInterval = 1800;
constexpr uint32_t kTimeout = 3600;
constexpr uint32_t kSweepPeriod = 60;
constexpr size_t kBudget = size_t{64} << 20;
constexpr uint32_t kSwarms = 100;
constexpr uint32_t kPeersPerSwarm = 10;
constexpr uint32_t kFloodHashes = 1'000'000;

InfoHash HashOf(uint64_t n) {
  InfoHash h;
  for (int k = 0; k < 3; ++k) {
    const uint64_t x = Mix64(n * 3 + k + 1);
    std::memcpy(h.bytes.data() + 8 * k, &x, k == 2 ? 4 : 8);
  }
  return h;
}

enum class Flood { kV4, kV6 };

// One window's counts of legitimate announces.
struct Window {
  const char* name;
  uint32_t from, to;  // seconds since the start, [from, to)
  uint64_t announces = 0, with_peers = 0, stored = 0, evicted = 0;
};

struct LegitPeer {
  PeerEndpoint ep;
  uint32_t swarm = 0;
  uint32_t first = 0;   // its first announce, seconds since the start
  bool seeder = false;  // seeders are there before the flood, uncounted
  bool stored = false;  // as far as its announces showed
};

class Simulation {
 public:
  Simulation(Flood flood, uint32_t flood_s, uint32_t flood_rate)
      : flood_(flood),
        flood_s_(flood_s),
        flood_rate_(flood_rate),
        budget_(kBudget),
        limiter_(SourceLimiterConfig{.rate_per_s = 1, .burst = 100,
                                     .seed0 = 7, .seed1 = 8}),
        table_(TableConfig(&budget_, &limiter_)),
        ids_(MasterKey{1, 2}, kStart),
        tracker_(TrackerConfig{.interval_s = kInterval}, &table_),
        udp_(&tracker_, &ids_),
        reply_(kMaxUdpReplySize),
        rng_(42) {
    for (uint32_t i = 0; i < kSwarms; ++i) {
      LegitPeer p;
      p.ep = NewLegitEndpoint();
      p.swarm = i;
      p.first = static_cast<uint32_t>(rng_() % kInterval);
      p.seeder = true;
      legit_.push_back(p);
    }
    for (uint32_t i = 0; i < kSwarms * kPeersPerSwarm; ++i) {
      LegitPeer p;
      p.ep = NewLegitEndpoint();
      p.swarm = i / kPeersPerSwarm;
      p.first = kInterval + static_cast<uint32_t>(rng_() % kInterval);
      legit_.push_back(p);
    }
    const uint32_t stop = kInterval + flood_s_;
    windows_ = {
        {"during the flood", kInterval, stop},
        {"1st minute after it stops", stop, stop + 60},
        {"round 1 after (0-30 min)", stop, stop + kInterval},
        {"round 2 after (30-60 min)", stop + kInterval, stop + 2 * kInterval},
        {"round 3 after (60-90 min)", stop + 2 * kInterval,
         stop + 3 * kInterval},
    };
  }

  void Run() {
    const uint32_t stop = kInterval + flood_s_;
    const uint32_t end = stop + 3 * kInterval;
    for (uint32_t t = 0; t < end; ++t) {
      const uint32_t now = kStart + t;
      ids_.Refresh(now);
      table_.Sweep(now,
                   std::max<size_t>(64, table_.capacity() / kSweepPeriod));
      const bool flooding = t >= kInterval && t < stop;
      if (flooding) {
        for (uint32_t k = 0; k < flood_rate_ / 2; ++k) FloodAnnounce(now);
      }
      for (LegitPeer& p : legit_) {
        if (t >= p.first && (t - p.first) % kInterval == 0) {
          LegitAnnounce(p, t);
        }
      }
      if (flooding) {
        for (uint32_t k = flood_rate_ / 2; k < flood_rate_; ++k) {
          FloodAnnounce(now);
        }
      }
      if (t == stop - 1) {
        at_stop_ = table_.stats();
        budget_used_at_stop_ = budget_.used();
      }
    }
  }

  void Print() const {
    std::printf(
        "flood: %s, %u s at %u announces/s (%.1f M), budget %zu MiB\n",
        flood_ == Flood::kV4 ? "65 000 IPv4 sources (254 /24s)"
                             : "2 000 /64s of one /48",
        flood_s_, flood_rate_, flood_s_ * static_cast<double>(flood_rate_) / 1e6,
        kBudget >> 20);
    std::printf(
        "at the stop: %.1f MiB charged, %llu torrents, %llu peers\n",
        budget_used_at_stop_ / 1048576.0,
        static_cast<unsigned long long>(at_stop_.torrents),
        static_cast<unsigned long long>(at_stop_.peers_v4 +
                                        at_stop_.peers_v6));
    std::printf("| window | leechers' announces | answered with peers |"
                " stored | leechers evicted |\n|---|---|---|---|---|\n");
    for (const Window& w : windows_) {
      const double n = w.announces ? static_cast<double>(w.announces) : 1;
      std::printf("| %s | %llu | %.2f %% | %.2f %% | %llu |\n", w.name,
                  static_cast<unsigned long long>(w.announces),
                  100.0 * w.with_peers / n, 100.0 * w.stored / n,
                  static_cast<unsigned long long>(w.evicted));
    }
    std::printf("\n");
  }

 private:
  static SwarmTableConfig TableConfig(MemoryBudget* budget,
                                      SourceLimiter* limiter) {
    SwarmTableConfig c;
    c.seed0 = 3;
    c.seed1 = 4;
    c.peer_timeout_s = kTimeout;
    c.budget = budget;
    c.limiter = limiter;
    return c;
  }

  // A legitimate peer's address: each in its own /24 (100.64.0.0/10) or
  // /48 (2001:db8:8000::/33), never a flood's.
  PeerEndpoint NewLegitEndpoint() {
    const uint32_t n = next_legit_++;
    if (flood_ == Flood::kV4) {
      return PeerEndpoint::V4(0x64400000 + (n << 8) + 1, 6881);
    }
    uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(0x80 | (n >> 16)),
                      static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    ip[15] = 1;
    return PeerEndpoint::V6(ip, 6881);
  }

  PeerEndpoint FloodEndpoint() {
    const uint64_t r = rng_();
    const uint16_t port = static_cast<uint16_t>(1024 + (r >> 48) % 64000);
    if (flood_ == Flood::kV4) {
      return PeerEndpoint::V4(0x0a000000 + static_cast<uint32_t>(r % 65000),
                              port);
    }
    // 2001:db8:1::/48, /64s 0 .. 1 999, random interface IDs.
    const uint32_t net = static_cast<uint32_t>(r % 2000);
    uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01,
                      static_cast<uint8_t>(net >> 8), static_cast<uint8_t>(net)};
    const uint64_t iid = rng_();
    std::memcpy(ip + 8, &iid, 8);
    return PeerEndpoint::V6(ip, port);
  }

  // Handles one announce; returns the reply parsed (nullopt-like: action
  // kError for an error reply).
  protocol::Response Announce(const PeerEndpoint& from, const InfoHash& h,
                              protocol::Event ev, bool seeder, uint32_t now) {
    protocol::AnnounceRequest a;
    a.connection_id = ids_.Make(from, now);
    a.transaction_id = 1;
    a.info_hash = h;
    a.port = from.port;
    a.event = ev;
    a.left = seeder ? 0 : 1;
    a.num_want = 50;
    uint8_t req[protocol::kAnnounceRequestSize];
    protocol::WriteAnnounceRequest(req, a);
    const UdpResult r =
        udp_.Handle(req, from, now, rng_(), reply_, &stats_);
    protocol::Response resp;
    resp.action = protocol::Action::kError;
    if (r.reply_size == 0 ||
        protocol::ParseResponse({reply_.data(), r.reply_size}, from.family,
                                &resp) != protocol::ResponseParseError::kNone) {
      resp.action = protocol::Action::kError;
    }
    return resp;
  }

  void FloodAnnounce(uint32_t now) {
    Announce(FloodEndpoint(), HashOf(uint64_t{1} << 40 | rng_() % kFloodHashes),
             protocol::Event::kStarted, false, now);
  }

  uint64_t StoredPeers() const {
    const SwarmTableStats s = table_.stats();
    return s.peers_v4 + s.peers_v6;
  }

  void LegitAnnounce(LegitPeer& p, uint32_t t) {
    const uint32_t now = kStart + t;
    const uint64_t before = StoredPeers();
    const protocol::Response r = Announce(
        p.ep, HashOf(p.swarm),
        p.stored ? protocol::Event::kNone : protocol::Event::kStarted,
        p.seeder, now);
    const bool added = StoredPeers() == before + 1;
    const bool evicted = p.stored && added;
    if (added) p.stored = true;
    if (p.seeder) return;
    const bool with_peers = r.action == protocol::Action::kAnnounce &&
                            r.announce.peer_count() > 0;
    for (Window& w : windows_) {
      if (t < w.from || t >= w.to) continue;
      ++w.announces;
      w.with_peers += with_peers;
      w.stored += p.stored;
      w.evicted += evicted;
    }
  }

  const Flood flood_;
  const uint32_t flood_s_, flood_rate_;
  MemoryBudget budget_;
  SourceLimiter limiter_;
  SwarmTable table_;
  ConnectionIds ids_;
  Tracker tracker_;
  UdpTracker udp_;
  UdpStats stats_;
  std::vector<uint8_t> reply_;
  std::mt19937_64 rng_;
  std::vector<LegitPeer> legit_;
  uint32_t next_legit_ = 0;
  std::vector<Window> windows_;
  SwarmTableStats at_stop_;
  size_t budget_used_at_stop_ = 0;
};

uint32_t FlagValue(int argc, char** argv, std::string_view name,
                   uint32_t fallback) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, name.size()) == name && a.size() > name.size() &&
        a[name.size()] == '=') {
      return static_cast<uint32_t>(std::strtoul(argv[i] + name.size() + 1,
                                                nullptr, 10));
    }
  }
  return fallback;
}

}  // namespace
}  // namespace ringtrack

int main(int argc, char** argv) {
  using ringtrack::Flood;
  std::string which = "both";
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).substr(0, 8) == "--flood=") {
      which = argv[i] + 8;
    }
  }
  const uint32_t flood_s = ringtrack::FlagValue(argc, argv, "--flood_s", 1800);
  const uint32_t rate = ringtrack::FlagValue(argc, argv, "--flood_rate", 20000);
  for (Flood f : {Flood::kV4, Flood::kV6}) {
    if (which != "both" && which != (f == Flood::kV4 ? "ipv4" : "ipv6")) {
      continue;
    }
    auto sim = std::make_unique<ringtrack::Simulation>(f, flood_s, rate);
    sim->Run();
    sim->Print();
  }
  return 0;
}
