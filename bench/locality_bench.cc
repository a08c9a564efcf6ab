// Locality-aware selection, measured (README "Locality"):
//   1. Share and connectivity: one swarm of 10 000 peers over 200
//      networks, network sizes Zipf-distributed (several exponents) or
//      taken from the libloc map's AS sizes (IPv4 addresses per AS, 200 ASes
//      drawn at random). Every peer announces once, in turn, numwant 50;
//      the bench records who was told of whom and reports, for the random
//      selection and s = ½, ¾, 0.9: the largest strongly connected
//      component's share of the peers, cross-network edges per network
//      (minimum and median), the reply's mean local share against the
//      target min(L, ⌊s·n⌋)/n and against random's expected share L/E, and
//      the announces that got fewer local peers than the target.
//   2. The libloc map: load time, heap and RSS, lookup ns (ours and
//      libloc's own lookup on the same addresses, in the same run).
//   3. Cost at 1 M stored peers: ns per announce (the tracker's map lookup
//      included) with the libloc map against without, interleaved rounds
//      in the same run, and bytes per stored peer at 10 peers per torrent.
//   4. Cost against swarm size: ns per locality reply (numwant 50) in one
//      swarm of 1 k to 100 k peers, for a requester whose network holds 1,
//      30 or a tenth of the peers, beside the random reply in the same
//      swarm. Flat rows are O(numwant); a row growing with the swarm is
//      O(swarm).
// Usage: locality_bench [--quick [--cost-only | --scale-only]]   (--quick:
// the cost section at 100 k peers instead of 1 M)
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/base/hash.h"
#include "core/netmap/libloc_reader.h"
#include "core/netmap/network_map.h"
#include "core/swarm/swarm_table.h"
#include "tools/zipf.h"

extern "C" {
#include <libloc/database.h>
#include <libloc/libloc.h>
#include <libloc/network.h>
}

namespace ringtrack {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

size_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, rss = 0;
  in >> pages >> rss;
  return rss * 4096;
}
size_t HeapInUse() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

InfoHash HashOf(uint64_t n) {
  InfoHash h;
  uint64_t x = n * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& b : h.bytes) {
    x = Mix64(x);
    b = static_cast<uint8_t>(x);
  }
  return h;
}

// Sizes of `networks` networks summing to `peers`, each at least 1, in
// proportion to `weight`.
std::vector<uint32_t> Apportion(const std::vector<double>& weight,
                                uint32_t peers) {
  const size_t k = weight.size();
  double sum = 0;
  for (double w : weight) sum += w;
  std::vector<uint32_t> size(k);
  uint32_t total = 0;
  for (size_t i = 0; i < k; ++i) {
    size[i] = std::max<uint32_t>(1, uint32_t(weight[i] / sum * (peers - k)) + 1);
    total += size[i];
  }
  // Rounding: the largest network takes the difference.
  const size_t big = std::max_element(size.begin(), size.end()) - size.begin();
  size[big] += peers - total;
  return size;
}

std::vector<double> ZipfWeights(size_t k, double a) {
  std::vector<double> w(k);
  for (size_t i = 0; i < k; ++i) w[i] = 1.0 / std::pow(double(i + 1), a);
  return w;
}

// IPv4 addresses per AS in the libloc database, for ASes holding any.
std::vector<double> LibLocAsSizes() {
  std::vector<double> out;
  FILE* f = fopen(kDefaultLibLocPath, "rb");
  if (f == nullptr) return out;
  loc_ctx* ctx = nullptr;
  loc_new(&ctx);
  loc_database* db = nullptr;
  if (loc_database_new(ctx, &db, f) != 0) return out;
  loc_database_enumerator* en = nullptr;
  loc_database_enumerator_new(&en, db, LOC_DB_ENUMERATE_NETWORKS, 0);
  loc_database_enumerator_set_family(en, AF_INET);
  std::vector<double> by_asn(1 << 22, 0.0);
  for (;;) {
    loc_network* n = nullptr;
    if (loc_database_enumerator_next_network(en, &n) != 0 || n == nullptr) break;
    const uint32_t asn = loc_network_get_asn(n);
    unsigned len = loc_network_prefix(n);
    if (len > 32) len -= 96;
    if (asn != 0 && asn < by_asn.size()) by_asn[asn] += std::ldexp(1.0, 32 - len);
    loc_network_unref(n);
  }
  for (double v : by_asn) {
    if (v > 0) out.push_back(v);
  }
  loc_database_enumerator_unref(en);
  loc_database_unref(db);
  loc_unref(ctx);
  fclose(f);
  return out;
}

// ---- 1. Share and connectivity ----------------------------------------

constexpr uint32_t kPeers = 10'000;
constexpr uint32_t kNetworks = 200;
constexpr uint32_t kNumwant = 50;

// Strongly connected components (Tarjan, iterative); returns the largest
// one's size.
uint32_t LargestScc(const std::vector<std::vector<uint32_t>>& g) {
  const uint32_t n = g.size();
  std::vector<int32_t> index(n, -1), low(n, 0);
  std::vector<char> on(n, 0);
  std::vector<uint32_t> stack;
  std::vector<std::pair<uint32_t, uint32_t>> call;  // node, next edge
  int32_t next = 0;
  uint32_t best = 0;
  for (uint32_t root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    call.push_back({root, 0});
    index[root] = low[root] = next++;
    stack.push_back(root);
    on[root] = 1;
    while (!call.empty()) {
      auto& [v, e] = call.back();
      if (e < g[v].size()) {
        const uint32_t w = g[v][e++];
        if (index[w] < 0) {
          index[w] = low[w] = next++;
          stack.push_back(w);
          on[w] = 1;
          call.push_back({w, 0});
        } else if (on[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const uint32_t done = v;
      call.pop_back();
      if (!call.empty()) {
        low[call.back().first] = std::min(low[call.back().first], low[done]);
      }
      if (low[done] == index[done]) {
        uint32_t size = 0;
        for (;;) {
          const uint32_t w = stack.back();
          stack.pop_back();
          on[w] = 0;
          ++size;
          if (w == done) break;
        }
        best = std::max(best, size);
      }
    }
  }
  return best;
}

struct SwarmResult {
  double scc_share = 0;
  uint32_t cross_min = 0;
  double cross_median = 0;
  uint32_t networks_without_cross = 0;  // of those with outside peers
  double local_share = 0;               // mean, of the reply
  double target_share = 0;              // mean min(L, floor(s·n)) / n
  double random_share = 0;              // mean L / E
  uint32_t short_of_target = 0;         // announces below the target
};

SwarmResult RunSwarm(const std::vector<uint32_t>& sizes, double share,
                     uint64_t seed) {
  // Network k is 10.k.0.0/16; 10 % of peers are seeders.
  NetworkMap::Builder b;
  for (uint32_t k = 0; k < kNetworks; ++k) {
    const NetworkId id = b.Network("n" + std::to_string(k));
    const uint8_t ip[4] = {10, uint8_t(k), 0, 0};
    b.Add(AddressFamily::kV4, ip, 16, id);
  }
  const auto map = std::move(b).Build();
  std::vector<PeerEndpoint> peer;
  std::vector<uint32_t> net;
  std::vector<bool> seeder;
  std::mt19937_64 rng(seed);
  for (uint32_t k = 0; k < kNetworks; ++k) {
    for (uint32_t j = 0; j < sizes[k]; ++j) {
      peer.push_back(PeerEndpoint::V4(0x0a000000u | k << 16 | j, 6881));
      net.push_back(k);
      seeder.push_back(rng() % 10 == 0);
    }
  }
  const uint32_t n = peer.size();
  SwarmTableConfig c;
  c.initial_slots = 64;
  SwarmTable table(c);
  std::vector<uint8_t> out(kNumwant * 6);
  const InfoHash ih = HashOf(seed);
  // Everyone joins first (numwant 0), with the map as the daemon has it.
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  auto params = [&](uint32_t i, uint32_t numwant) {
    AnnounceParams p;
    p.info_hash = ih;
    p.peer = peer[i];
    p.seeder = seeder[i];
    p.numwant = numwant;
    p.now = 1000;
    p.random = rng();
    if (share > 0) {
      p.locality = {map.get(), map->Lookup(peer[i]),
                    uint32_t(share * 65536 + 0.5)};
    }
    return p;
  };
  for (uint32_t i : order) table.Announce(params(i, 0), out);
  // Eligible peers per network, by the requester's role.
  std::vector<uint32_t> leechers_in(kNetworks, 0), all_in(kNetworks, 0);
  uint32_t leechers = 0;
  for (uint32_t i = 0; i < n; ++i) {
    ++all_in[net[i]];
    if (!seeder[i]) {
      ++leechers_in[net[i]];
      ++leechers;
    }
  }
  // Peer index of network k's first peer: networks are laid out in order.
  std::vector<uint32_t> base(kNetworks + 1, 0);
  for (uint32_t k = 0; k < kNetworks; ++k) base[k + 1] = base[k] + sizes[k];
  std::vector<std::vector<uint32_t>> g(n);
  std::vector<uint64_t> cross(kNetworks, 0);
  SwarmResult r;
  std::shuffle(order.begin(), order.end(), rng);
  for (uint32_t i : order) {
    const AnnounceResult res = table.Announce(params(i, kNumwant), out);
    uint32_t local = 0;
    for (uint32_t k = 0; k < res.peers_written; ++k) {
      const uint8_t* e = &out[6 * k];
      const uint32_t ip = uint32_t{e[0]} << 24 | uint32_t{e[1]} << 16 |
                          uint32_t{e[2]} << 8 | e[3];
      const uint32_t k_net = (ip >> 16) & 0xff;
      const uint32_t j = (ip & 0xffff);
      g[i].push_back(base[k_net] + j);
      if (k_net == net[i]) {
        ++local;
      } else {
        ++cross[net[i]];
      }
    }
    // L: eligible peers of the requester's network (not itself); E: all
    // eligible peers.
    const uint32_t L = seeder[i] ? leechers_in[net[i]] : all_in[net[i]] - 1;
    const uint32_t E = seeder[i] ? leechers : n - 1;
    const uint32_t got = res.peers_written;
    const uint32_t target =
        share > 0 ? std::min<uint32_t>(L, uint32_t(std::floor(share * got)))
                  : 0;
    r.local_share += got ? double(local) / got : 0;
    r.target_share += got ? double(target) / got : 0;
    r.random_share += E ? double(L) / E : 0;
    r.short_of_target += local < target;
  }
  r.local_share /= n;
  r.target_share /= n;
  r.random_share /= n;
  r.scc_share = double(LargestScc(g)) / n;
  std::vector<uint64_t> per(cross.begin(), cross.end());
  std::sort(per.begin(), per.end());
  r.cross_min = per.front();
  r.cross_median = per[per.size() / 2];
  for (uint32_t k = 0; k < kNetworks; ++k) {
    r.networks_without_cross += all_in[k] < n && cross[k] == 0;
  }
  return r;
}

void ShareAndConnectivity(const std::vector<double>& libloc_sizes) {
  std::printf(
      "== 1. One swarm of %u peers over %u networks, numwant %u, every peer "
      "announcing once\n",
      kPeers, kNetworks, kNumwant);
  std::printf(
      "%-22s %-6s %9s %13s %11s %9s %9s %9s %8s\n", "sizes", "s",
      "largest", "cross edges", "networks", "local", "target", "random",
      "short");
  std::printf("%-22s %-6s %9s %13s %11s %9s %9s %9s %8s\n", "", "",
              "SCC", "min / median", "w/o cross", "share", "share", "share",
              "of tgt");
  struct Dist {
    std::string name;
    std::vector<uint32_t> sizes;
  };
  std::vector<Dist> dists;
  for (double a : {0.5, 1.0, 1.5}) {
    char name[64];
    std::snprintf(name, sizeof(name), "Zipf a=%.1f", a);
    dists.push_back({name, Apportion(ZipfWeights(kNetworks, a), kPeers)});
  }
  if (!libloc_sizes.empty()) {
    std::mt19937_64 rng(3);
    std::vector<double> w(kNetworks);
    for (double& x : w) x = libloc_sizes[rng() % libloc_sizes.size()];
    std::sort(w.rbegin(), w.rend());
    dists.push_back({"libloc AS sizes", Apportion(w, kPeers)});
  }
  for (const Dist& d : dists) {
    std::printf("%-22s largest network %u peers, smallest %u\n", d.name.c_str(),
                *std::max_element(d.sizes.begin(), d.sizes.end()),
                *std::min_element(d.sizes.begin(), d.sizes.end()));
    for (double s : {0.0, 0.5, 0.75, 0.9}) {
      const SwarmResult r = RunSwarm(d.sizes, s, 11);
      std::printf("%-22s %-6s %8.2f%% %6u / %-6.0f %11u %8.1f%% %8.1f%% %8.1f%% %8u\n",
                  "", s == 0 ? "random" : (s == 0.5 ? "1/2" : s == 0.75 ? "3/4" : "0.9"),
                  100 * r.scc_share, r.cross_min, r.cross_median,
                  r.networks_without_cross, 100 * r.local_share,
                  100 * r.target_share, 100 * r.random_share,
                  r.short_of_target);
    }
  }
}

// ---- 2. The libloc map --------------------------------------------------

std::unique_ptr<const NetworkMap> LibLocMap() {
  std::printf("\n== 2. The libloc map (%s)\n", kDefaultLibLocPath);
  malloc_trim(0);
  const size_t rss0 = RssBytes(), heap0 = HeapInUse();
  const auto t0 = Clock::now();
  auto m = LoadLibLocNetworkMap(kDefaultLibLocPath);
  const auto t1 = Clock::now();
  if (!m.ok()) {
    std::printf("  not loaded: %s\n", std::string(m.status().message()).c_str());
    return nullptr;
  }
  malloc_trim(0);
  const size_t rss1 = RssBytes(), heap1 = HeapInUse();
  const NetworkMap& map = **m;
  std::printf(
      "  %zu networks (AS groups), %zu IPv4 and %zu IPv6 ranges after "
      "flattening\n",
      map.networks(), map.ranges_v4(), map.ranges_v6());
  std::printf("  load: %.2f s; the map holds %.1f MiB (MemoryBytes), heap +%.1f "
              "MiB, RSS after load +%.1f MiB\n",
              Seconds(t0, t1), map.MemoryBytes() / 1048576.0,
              (double(heap1) - double(heap0)) / 1048576.0,
              (double(rss1) - double(rss0)) / 1048576.0);
  // Lookups: random IPv4 and random IPv6 in 2000::/4, ours vs libloc's.
  constexpr int kLookups = 1 << 20;
  std::mt19937_64 rng(5);
  std::vector<PeerEndpoint> v4(kLookups), v6(kLookups / 4);
  for (auto& p : v4) p = PeerEndpoint::V4(uint32_t(rng()), 1);
  for (auto& p : v6) {
    p.family = AddressFamily::kV6;
    const uint64_t hi = (rng() & 0x0fffffffffffffffULL) | 0x2000000000000000ULL;
    for (int k = 0; k < 8; ++k) p.ip[k] = uint8_t(hi >> (56 - 8 * k));
  }
  auto time_ours = [&](const std::vector<PeerEndpoint>& v) {
    uint64_t sink = 0;
    const auto a = Clock::now();
    for (const auto& p : v) sink += map.Lookup(p);
    const auto b = Clock::now();
    asm volatile("" : : "r"(sink));
    return Seconds(a, b) * 1e9 / v.size();
  };
  FILE* f = fopen(kDefaultLibLocPath, "rb");
  loc_ctx* ctx = nullptr;
  loc_new(&ctx);
  loc_database* db = nullptr;
  loc_database_new(ctx, &db, f);
  auto time_libloc = [&](const std::vector<PeerEndpoint>& v, size_t count) {
    uint64_t sink = 0;
    const auto a = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      in6_addr addr{};
      if (v[i].family == AddressFamily::kV4) {
        addr.s6_addr[10] = addr.s6_addr[11] = 0xff;
        std::memcpy(addr.s6_addr + 12, v[i].ip.data(), 4);
      } else {
        std::memcpy(addr.s6_addr, v[i].ip.data(), 16);
      }
      loc_network* n = nullptr;
      if (loc_database_lookup(db, &addr, &n) == 0 && n != nullptr) {
        sink += loc_network_get_asn(n);
        loc_network_unref(n);
      }
    }
    const auto b = Clock::now();
    asm volatile("" : : "r"(sink));
    return Seconds(a, b) * 1e9 / count;
  };
  const double o4 = time_ours(v4), o6 = time_ours(v6);
  const double l4 = time_libloc(v4, 1 << 16), l6 = time_libloc(v6, 1 << 16);
  std::printf("  lookup, random addresses: IPv4 %.0f ns (libloc's own lookup "
              "%.0f ns, %.1fx), IPv6 %.0f ns (libloc %.0f ns, %.1fx)\n",
              o4, l4, l4 / o4, o6, l6, l6 / o6);
  loc_database_unref(db);
  loc_unref(ctx);
  fclose(f);
  return std::move(*m);
}

// ---- 3. Cost at 1 M stored peers ----------------------------------------

// N peers at random IPv4 addresses (most inside the libloc map) over N/10
// torrents drawn by Zipf(1.0), 30 % seeders; timed announces are refreshes
// of random stored peers with numwant 50, and with a map each one first
// looks its network up, as Tracker::ShapedParamsOf does.
void Cost(const NetworkMap* map, uint32_t peers) {
  std::printf("\n== 3. Cost at %u stored peers (Zipf 1.0 over %u torrents)\n",
              peers, peers / 10);
  auto fill = [&](const NetworkMap* m, std::unique_ptr<SwarmTable>* out_table) {
    SwarmTableConfig c;
    c.seed0 = 5;
    c.seed1 = 6;
    *out_table = std::make_unique<SwarmTable>(c);
    const ZipfSampler zipf(std::max(1u, peers / 10), 1.0);
    uint8_t out[1200];
    std::vector<AnnounceParams> ops(1 << 16);
    auto params = [&](uint32_t peer) {
      AnnounceParams p;
      p.info_hash = HashOf(zipf.Sample(Mix64(peer)));
      p.peer = PeerEndpoint::V4(static_cast<uint32_t>(Mix64(peer ^ 77)), 6881);
      p.seeder = Mix64(peer ^ 1) % 10 < 3;
      p.numwant = 50;
      p.now = 1000;
      return p;
    };
    for (uint32_t i = 0; i < peers; ++i) {
      AnnounceParams p = params(i);
      p.random = i;
      if (m) p.locality = {m, m->Lookup(p.peer)};
      (*out_table)->Announce(p, out);
    }
    std::mt19937_64 rng(9);
    for (auto& p : ops) {
      p = params(uint32_t(rng() % peers));
      p.random = rng();
    }
    return ops;
  };
  std::unique_ptr<SwarmTable> plain, mapped;
  auto ops = fill(nullptr, &plain);
  fill(map, &mapped);
  auto run = [&](SwarmTable* t, const NetworkMap* m, int count,
                 uint32_t share_q16 = kDefaultLocalityShareQ16) {
    uint8_t out[1200];
    uint64_t sink = 0;
    const auto a = Clock::now();
    for (int i = 0; i < count; ++i) {
      AnnounceParams p = ops[i & (ops.size() - 1)];
      if (m) p.locality = {m, m->Lookup(p.peer), share_q16};
      sink += t->Announce(p, out).peers_written;
    }
    const auto b = Clock::now();
    asm volatile("" : : "r"(sink));
    return Seconds(a, b) * 1e9 / count;
  };
  std::vector<double> without, lookup_only, with, mapped_table_only;
  for (int round = 0; round < 7; ++round) {
    without.push_back(run(plain.get(), nullptr, 1 << 19));
    lookup_only.push_back(run(mapped.get(), map, 1 << 19, 0));
    mapped_table_only.push_back(run(mapped.get(), nullptr, 1 << 19));
    with.push_back(run(mapped.get(), map, 1 << 19));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double w0 = median(without), wl = median(lookup_only),
               w1 = median(with);
  std::printf("  ns per announce, median of 7 interleaved rounds: without a "
              "map %.0f ns; with the libloc map %.0f ns (%.3fx), of which the "
              "requester's lookup and tags alone (s = 0) %.0f ns (%.3fx)\n",
              w0, w1, w1 / w0, wl, wl / w0);
  std::printf("  the table filled with the map (indexed blocks), announced "
              "to without it: %.0f ns (%.3fx): what the index's cache "
              "footprint costs alone\n",
              median(mapped_table_only), median(mapped_table_only) / w0);
  std::printf("  table bytes per stored peer (budget) at Zipf sizes: without a "
              "map %.2f, with it %.2f\n",
              double(plain->MemoryBytes()) / peers,
              double(mapped->MemoryBytes()) / peers);
  // 10 peers per torrent (uniform), as bench/memory_bench.sh fills.
  for (const NetworkMap* m : {static_cast<const NetworkMap*>(nullptr), map}) {
    SwarmTableConfig c;
    SwarmTable t(c);
    uint8_t out[1200];
    const uint32_t n = peers, torrents = peers / 10;
    std::mt19937_64 rng(7);
    for (uint32_t i = 0; i < n; ++i) {
      AnnounceParams p;
      p.info_hash = HashOf(rng() % torrents);
      p.peer = PeerEndpoint::V4(static_cast<uint32_t>(Mix64(i ^ 99)), 6881);
      p.seeder = i % 4 == 0;
      p.numwant = 0;
      p.now = 1000;
      if (m) p.locality = {m, m->Lookup(p.peer)};
      t.Announce(p, out);
    }
    std::printf("  10 peers per torrent, %s: %.2f bytes per stored peer "
                "(budget)\n",
                m ? "with the map" : "without a map",
                double(t.MemoryBytes()) / t.stats().peers_v4);
  }
}

// ---- 4. Cost against swarm size ------------------------------------------

void ScaleWithSwarm() {
  std::printf("\n== 4. ns per reply of 50 against swarm size (one swarm, "
              "IPv4 leechers; the requester's network holds L of them)\n");
  // 10.1/16 holds one peer, 10.2/16 thirty, 10.3/16 a tenth of the swarm;
  // the rest are outside the map.
  auto parsed = NetworkMap::Parse(
      "10.1.0.0/16 one\n10.2.0.0/16 thirty\n10.3.0.0/16 tenth\n", "bench");
  const NetworkMap& map = **parsed;
  std::printf("  %8s  %10s  %10s  %10s  %10s\n", "peers", "random",
              "L = 1", "L = 30", "L = 10 %");
  for (uint32_t size : {1000u, 10000u, 100000u}) {
    MemoryBudget budget(uint64_t{1} << 34);
    PeerSetContext ctx;
    ctx.budget = &budget;
    ctx.map = &map;
    ctx.max_per_swarm = 1 << 20;
    PeerSet set;
    std::mt19937_64 rng(size);
    for (uint32_t i = 0; i < size; ++i) {
      uint32_t ip;
      if (i == 0) {
        ip = 0x0a010001;
      } else if (i <= 30) {
        ip = 0x0a020000 + i;
      } else if (i % 10 == 0) {
        ip = 0x0a030000 + i;
      } else {
        ip = 0x0c000000 + i;
      }
      PeerAnnounce a;
      a.peer = PeerEndpoint::V4(ip, 6881);
      a.now = 1000;
      a.network = map.Lookup(a.peer);
      set.Announce(a, ctx);
    }
    uint8_t out[50 * 6];
    auto time_of = [&](uint32_t requester_ip, bool locality) {
      const PeerEndpoint self = PeerEndpoint::V4(requester_ip, 7000);
      const Locality loc{&map, map.Lookup(self)};
      constexpr int kReplies = 20000;
      uint64_t sink = 0;
      std::vector<double> rounds;
      for (int round = 0; round < 5; ++round) {
        const auto a = Clock::now();
        for (int k = 0; k < kReplies; ++k) {
          sink += locality ? set.Select(self, false, 50, rng(), out, loc,
                                        nullptr)
                           : set.Select(self, false, 50, rng(), out);
        }
        rounds.push_back(Seconds(a, Clock::now()) * 1e9 / kReplies);
      }
      asm volatile("" : : "r"(sink));
      std::sort(rounds.begin(), rounds.end());
      return rounds[2];
    };
    std::printf("  %8u  %7.0f ns  %7.0f ns  %7.0f ns  %7.0f ns\n", size,
                time_of(0x0c0f0000, false), time_of(0x0a01ffff, true),
                time_of(0x0a02ffff, true), time_of(0x0a03ffff, true));
    set.Clear(&budget);
  }
}

}  // namespace
}  // namespace ringtrack

int main(int argc, char** argv) {
  using namespace ringtrack;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const bool cost_only = argc > 2 && std::strcmp(argv[2], "--cost-only") == 0;
  const bool scale_only = argc > 2 && std::strcmp(argv[2], "--scale-only") == 0;
  if (!scale_only) {
    if (!cost_only) ShareAndConnectivity(LibLocAsSizes());
    const auto map = LibLocMap();
    if (map) Cost(map.get(), quick ? 100'000 : 1'000'000);
  }
  ScaleWithSwarm();
  return 0;
}
