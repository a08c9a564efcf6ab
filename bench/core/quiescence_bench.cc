// Quiescence: what a worker pays per batch to report it (Online() before
// the batch, Offline() before it blocks again, or Quiescent() between
// batches of a loop that does not block), against a reference batch that
// reports nothing. The batch itself is one access-list-style pointer load,
// so the difference is the whole cost.
#include <atomic>

#include "benchmark/benchmark.h"
#include "core/base/quiescence.h"

namespace ringtrack::bench {
namespace {

std::atomic<const int*> g_published{nullptr};
const int g_object = 42;

void BM_BatchWithoutQuiescence(benchmark::State& state) {
  g_published.store(&g_object);
  for (auto _ : state) {
    benchmark::DoNotOptimize(*g_published.load(std::memory_order_acquire));
  }
}
BENCHMARK(BM_BatchWithoutQuiescence);

void BM_BatchOnlineOffline(benchmark::State& state) {
  Quiescence q(4);
  g_published.store(&g_object);
  for (auto _ : state) {
    q.Online(0);
    benchmark::DoNotOptimize(*g_published.load(std::memory_order_acquire));
    q.Offline(0);
  }
}
BENCHMARK(BM_BatchOnlineOffline);

void BM_BatchQuiescent(benchmark::State& state) {
  Quiescence q(4);
  q.Online(0);
  g_published.store(&g_object);
  for (auto _ : state) {
    benchmark::DoNotOptimize(*g_published.load(std::memory_order_acquire));
    q.Quiescent(0);
  }
}
BENCHMARK(BM_BatchQuiescent);

// The reclaimer's side: start a grace period and find it over (every
// reader offline), as a reload does when the workers are idle.
void BM_GracePeriodAllOffline(benchmark::State& state) {
  Quiescence q(8);
  for (auto _ : state) {
    benchmark::DoNotOptimize(q.GracePeriodOver(q.StartGracePeriod()));
  }
}
BENCHMARK(BM_GracePeriodAllOffline);

}  // namespace
}  // namespace ringtrack::bench
