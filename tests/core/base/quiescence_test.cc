#include "core/base/quiescence.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringtrack {
namespace {

TEST(QuiescenceTest, OfflineReadersNeverHoldAGracePeriod) {
  Quiescence q(3);
  const uint64_t g = q.StartGracePeriod();
  EXPECT_TRUE(q.GracePeriodOver(g)) << "readers start offline";
  q.Online(1);
  q.Offline(1);
  EXPECT_TRUE(q.GracePeriodOver(q.StartGracePeriod()));
}

TEST(QuiescenceTest, AnOnlineReaderHoldsItUntilItsNextQuiescentPoint) {
  Quiescence q(2);
  q.Online(0);
  q.Online(1);
  const uint64_t g = q.StartGracePeriod();
  EXPECT_FALSE(q.GracePeriodOver(g));
  q.Quiescent(0);
  EXPECT_FALSE(q.GracePeriodOver(g)) << "reader 1 has not passed one yet";
  q.Offline(1);
  EXPECT_TRUE(q.GracePeriodOver(g));
  // A later grace period needs a later quiescent point.
  const uint64_t g2 = q.StartGracePeriod();
  EXPECT_GT(g2, g);
  EXPECT_FALSE(q.GracePeriodOver(g2));
  q.Quiescent(0);
  EXPECT_TRUE(q.GracePeriodOver(g2));
  EXPECT_TRUE(q.GracePeriodOver(g)) << "an older one stays over";
}

TEST(QuiescenceTest, ComingOnlineAfterTheStartDoesNotHoldIt) {
  Quiescence q(1);
  const uint64_t g = q.StartGracePeriod();
  q.Online(0);  // it can only see what was published before g
  EXPECT_TRUE(q.GracePeriodOver(g));
}

// Readers load a published object and check it between quiescent points;
// a writer replaces it, waits for the grace period, poisons the old one
// and frees it. A reader seeing poison (or ASan seeing a use after free)
// means an object was freed while still held.
TEST(QuiescenceStressTest, NoReaderSeesAFreedObject) {
  struct Object {
    std::atomic<uint64_t> magic{0x5afe5afe5afe5afeULL};
    uint64_t payload[7] = {1, 2, 3, 4, 5, 6, 7};
  };
  constexpr size_t kReaders = 4;
  // At least this many swaps, and as many more as it takes for this many
  // grace periods to have found a reader inside a batch.
  constexpr int kSwaps = 2000;
  constexpr int kOverlaps = 200;
  Quiescence q(kReaders);
  std::atomic<Object*> current{new Object};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> bad{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<size_t> started{0};
  std::vector<std::thread> readers;
  for (size_t r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      uint64_t n = 0;
      started.fetch_add(1);
      while (!done.load(std::memory_order_relaxed)) {
        q.Online(r);
        for (int batch = 0; batch < 4; ++batch) {
          // Held through the batch, as a worker may hold the access list.
          const Object* o = current.load(std::memory_order_acquire);
          for (int i = 0; i < 64; ++i) {
            uint64_t sum = 0;
            for (uint64_t v : o->payload) sum += v;
            if (o->magic.load(std::memory_order_relaxed) !=
                    0x5afe5afe5afe5afeULL ||
                sum != 28) {
              bad.fetch_add(1, std::memory_order_relaxed);
            }
            ++n;
          }
          q.Quiescent(r);
        }
        // Each round ends offline, as a worker waiting for datagrams.
        q.Offline(r);
        if (n % 8192 == 0) std::this_thread::yield();
      }
      reads.fetch_add(n, std::memory_order_relaxed);
    });
  }
  while (started.load() < kReaders) std::this_thread::yield();
  int waited = 0;  // grace periods that found a reader inside a batch
  // Bounded in time: on a starved machine the readers rarely sit inside a
  // batch when a grace period starts, so the loop runs until enough did,
  // but fails on the count below rather than spinning until ctest's timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int s = 0; s < kSwaps ||
                  (waited < kOverlaps && std::chrono::steady_clock::now() < give_up);
       ++s) {
    Object* old = current.exchange(new Object, std::memory_order_acq_rel);
    const uint64_t g = q.StartGracePeriod();
    if (!q.GracePeriodOver(g)) ++waited;
    while (!q.GracePeriodOver(g)) std::this_thread::yield();
    old->magic.store(0, std::memory_order_relaxed);
    for (uint64_t& v : old->payload) v = 0;
    delete old;
  }
  done.store(true);
  for (std::thread& t : readers) t.join();
  delete current.load();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GE(waited, kOverlaps);
}

}  // namespace
}  // namespace ringtrack
