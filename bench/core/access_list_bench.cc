// Access lists: parsing a 1 M-entry list (what a SIGHUP reload costs before
// the pointer swap) and one lookup per announce, against the same lookup in
// an empty list (the reference cost of asking at all).
#include <memory>
#include <cstring>
#include <string>

#include "benchmark/benchmark.h"
#include "core/tracker/access_list.h"
#include "core/base/hash.h"
#include "core/swarm/swarm_table.h"
#include "core/tracker/tracker.h"

namespace ringtrack::bench {
namespace {

constexpr size_t kEntries = 1'000'000;

const std::string& ListText() {
  static const std::string* text = [] {
    auto* t = new std::string;
    t->reserve(kEntries * 41);
    static const char* d = "0123456789abcdef";
    for (uint64_t i = 0; i < kEntries; ++i) {
      uint64_t x = Mix64(i + 1);
      for (int k = 0; k < 40; ++k) {
        if (k % 16 == 0) x = Mix64(x + k);
        *t += d[(x >> (4 * (k % 16))) & 15];
      }
      *t += '\n';
    }
    return t;
  }();
  return *text;
}

void BM_AccessListLoadAndSwap1M(benchmark::State& state) {
  const std::string& text = ListText();
  SwarmTable table(SwarmTableConfig{});
  Tracker tracker(TrackerConfig{}, &table);
  for (auto _ : state) {
    auto list = AccessList::Parse(text, AccessList::Mode::kAllow, "bench");
    if (!list.ok()) state.SkipWithError("parse failed");
    // No request runs concurrently: the replaced list is freed at once.
    tracker.SetAccessList(std::move(*list)).reset();
  }
  state.counters["entries"] = static_cast<double>(kEntries);
}
BENCHMARK(BM_AccessListLoadAndSwap1M)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_AccessListLookup(benchmark::State& state) {
  auto list = AccessList::Parse(state.range(0) ? ListText() : std::string(),
                                AccessList::Mode::kAllow, "bench");
  InfoHash h;
  uint64_t i = 0;
  for (auto _ : state) {
    const uint64_t x = Mix64(++i);
    std::memcpy(h.bytes.data(), &x, 8);
    benchmark::DoNotOptimize((*list)->Allows(h));
  }
}
BENCHMARK(BM_AccessListLookup)->Arg(0)->Arg(1);

}  // namespace
}  // namespace ringtrack::bench
