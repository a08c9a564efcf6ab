// The worst delay a request sees while the swarm table grows: two threads
// announce 2 M new torrents each, so the table grows from its 1 MiB start to
// 4 M torrents, and every announce is timed. The reference, in the same
// run, is the same work on a table created large enough never to grow.
// Counters: p50/p99/p99.9/max announce latency in ns, and sub-tables.
#include <algorithm>
#include <cstring>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/base/hash.h"
#include "core/swarm/swarm_table.h"

namespace ringtrack::bench {
namespace {

constexpr uint32_t kPerThread = 2'000'000;

InfoHash NewTorrent(uint64_t n) {
  InfoHash h;
  uint64_t x = Mix64(n + 1);
  for (size_t i = 0; i < h.bytes.size(); i += 8) {
    const size_t len = std::min<size_t>(8, h.bytes.size() - i);
    std::memcpy(h.bytes.data() + i, &x, len);
    x = Mix64(x);
  }
  return h;
}

void RunGrowth(benchmark::State& state, size_t initial_slots) {
  for (auto _ : state) {
    SwarmTableConfig c;
    c.initial_slots = initial_slots;
    c.seed0 = 5;
    c.seed1 = 6;
    auto table = std::make_unique<SwarmTable>(c);
    std::vector<std::vector<uint32_t>> lat(2);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, t] {
        std::vector<uint32_t>& mine = lat[t];
        mine.reserve(kPerThread);
        uint8_t out[1200];
        for (uint32_t i = 0; i < kPerThread; ++i) {
          AnnounceParams p;
          p.info_hash = NewTorrent(uint64_t{i} * 2 + t);
          p.peer = PeerEndpoint::V4(0x0a000000 + i, 6881);
          p.numwant = 50;
          p.now = 1000;
          const auto t0 = std::chrono::steady_clock::now();
          benchmark::DoNotOptimize(table->Announce(p, out));
          const auto t1 = std::chrono::steady_clock::now();
          mine.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0)
                  .count()));
        }
      });
    }
    for (auto& th : threads) th.join();
    std::vector<uint32_t> all = std::move(lat[0]);
    all.insert(all.end(), lat[1].begin(), lat[1].end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
      return static_cast<double>(all[static_cast<size_t>(p * (all.size() - 1))]);
    };
    state.counters["p50_ns"] = pct(0.5);
    state.counters["p99_ns"] = pct(0.99);
    state.counters["p99.9_ns"] = pct(0.999);
    state.counters["max_ns"] = static_cast<double>(all.back());
    state.counters["torrents"] = static_cast<double>(table->stats().torrents);
    state.counters["sub_tables"] = static_cast<double>(table->sub_tables());
  }
}

void BM_GrowthLatency_Growing(benchmark::State& state) {
  RunGrowth(state, SwarmTableConfig{}.initial_slots);
}
void BM_GrowthLatency_Presized(benchmark::State& state) {
  RunGrowth(state, size_t{6} << 20);  // 4 M torrents at 2/3 load
}
BENCHMARK(BM_GrowthLatency_Growing)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GrowthLatency_Presized)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ringtrack::bench
