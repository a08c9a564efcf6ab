// State file save and restore at scale: 10 M peers over 1 M torrents (10
// per torrent, a quarter seeders, IPv4), the size issue 10 asks about.
// BM_StateSave also runs one announcing thread during the save and reports
// its rate against the same thread's rate with no save running, to show
// that saving does not stop the workers.
//
//   build/bin/state_bench [--benchmark_filter=...]  (STATE_BENCH_DIR: where
//   the file goes, default /var/tmp)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/base/hash.h"
#include "core/swarm/swarm_table.h"
#include "daemon/state_file.h"

namespace ringtrack {
namespace {

constexpr uint32_t kTorrents = 1'000'000;
constexpr uint32_t kPeersPerTorrent = 10;
constexpr uint32_t kNow = 1'800'000'000;

InfoHash HashOf(uint32_t t) {
  InfoHash h;
  for (int k = 0; k < 3; ++k) {
    const uint64_t x = Mix64(uint64_t{t} * 3 + k + 1);
    std::memcpy(h.bytes.data() + 8 * k, &x, k == 2 ? 4 : 8);
  }
  return h;
}

SwarmTableConfig Config() {
  SwarmTableConfig c;
  c.seed0 = 7;
  c.seed1 = 9;
  return c;
}

std::string Path() {
  const char* dir = std::getenv("STATE_BENCH_DIR");
  return std::string(dir ? dir : "/var/tmp") + "/ringtrack_state_bench." +
         std::to_string(getpid());
}

// The 10 M-peer table, built once for all benchmarks.
SwarmTable& Filled() {
  static SwarmTable* table = [] {
    auto* t = new SwarmTable(Config());
    std::vector<uint8_t> out(64 * 6);
    uint32_t peer = 0;
    for (uint32_t i = 0; i < kTorrents; ++i) {
      AnnounceParams p;
      p.info_hash = HashOf(i);
      p.now = kNow - (i % 600);
      p.numwant = 0;
      for (uint32_t k = 0; k < kPeersPerTorrent; ++k, ++peer) {
        p.peer = PeerEndpoint::V4(0x0a000000 + peer, 6881);
        p.seeder = k % 4 == 0;
        t->Announce(p, out);
      }
    }
    return t;
  }();
  return *table;
}

// Announces to existing swarms until `stop`; returns announces done.
uint64_t AnnounceLoop(SwarmTable& t, const std::atomic<bool>& stop) {
  std::vector<uint8_t> out(50 * 6);
  uint64_t n = 0;
  AnnounceParams p;
  p.now = kNow;
  p.numwant = 50;
  while (!stop.load(std::memory_order_relaxed)) {
    const uint32_t i = static_cast<uint32_t>(Mix64(n) % kTorrents);
    p.info_hash = HashOf(i);
    p.peer = PeerEndpoint::V4(0x0a000000 + i * kPeersPerTorrent, 6881);
    p.random = n;
    p.seeder = true;  // as stored: refreshes, no role change
    t.Announce(p, out);
    ++n;
  }
  return n;
}

double AnnouncesPerSecond(SwarmTable& t, double seconds) {
  std::atomic<bool> stop{false};
  uint64_t n = 0;
  std::thread th([&] { n = AnnounceLoop(t, stop); });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  th.join();
  return n / seconds;
}

void BM_StateSave(benchmark::State& state) {
  SwarmTable& t = Filled();
  const std::string path = Path();
  const double idle_rate = AnnouncesPerSecond(t, 1.0);
  StateSaveResult last;
  double busy_rate = 0;
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    uint64_t n = 0;
    std::thread th([&] { n = AnnounceLoop(t, stop); });
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<StateSaveResult> r = SaveState(t, path, kNow);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    stop = true;
    th.join();
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    last = *r;
    busy_rate = n / s;
    state.SetIterationTime(s);
  }
  state.counters["peers"] = static_cast<double>(last.peers);
  state.counters["file_MB"] = last.bytes / 1e6;
  state.counters["peers_per_s"] = benchmark::Counter(
      static_cast<double>(last.peers) * state.iterations(),
      benchmark::Counter::kIsRate);
  state.counters["announces_per_s_idle"] = idle_rate;
  state.counters["announces_per_s_saving"] = busy_rate;
}
BENCHMARK(BM_StateSave)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(3);

void BM_StateRestore(benchmark::State& state) {
  const std::string path = Path();
  if (access(path.c_str(), R_OK) != 0) {
    if (!SaveState(Filled(), path, kNow).ok()) {
      state.SkipWithError("save failed");
      return;
    }
  }
  StateLoadResult last;
  for (auto _ : state) {
    state.PauseTiming();
    auto fresh = std::make_unique<SwarmTable>(Config());
    state.ResumeTiming();
    absl::StatusOr<StateLoadResult> r =
        LoadState(*fresh, path, kNow, nullptr, UINT64_MAX);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    last = *r;
    state.PauseTiming();
    fresh.reset();  // freeing 10 M peers is not part of a restore
    state.ResumeTiming();
  }
  state.counters["peers"] = static_cast<double>(last.restored.peers);
  state.counters["peers_per_s"] = benchmark::Counter(
      static_cast<double>(last.restored.peers) * state.iterations(),
      benchmark::Counter::kIsRate);
  unlink(path.c_str());
}
BENCHMARK(BM_StateRestore)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace ringtrack

BENCHMARK_MAIN();
